"""Everything pytest-xdist: the shared plan, the workers' ledgers, the hooks of both sides."""
