"""Features a session switches on with an option: schedule selection, artifacts."""
