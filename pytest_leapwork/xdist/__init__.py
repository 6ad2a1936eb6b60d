"""Everything pytest-xdist: the shared plan, the workers' ledgers, the hooks of both sides.

The plugin asks only who this process is and registers that side's hooks.
"""

from __future__ import annotations

from typing import Any

from .keys import is_worker, runs_workers, worker_input

__all__ = ["is_worker", "register_controller", "register_worker", "runs_workers", "worker_input"]


def register_worker(config: Any, session: Any) -> None:
    from .worker import register

    register(config, session)


def register_controller(config: Any, session: Any, reporting: Any) -> None:
    from .controller import register

    register(config, session, reporting)
