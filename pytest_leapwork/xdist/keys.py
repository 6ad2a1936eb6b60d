"""The keys of xdist's workerinput and workeroutput this plugin uses, and who is who."""

from __future__ import annotations

from typing import Any

# Keys of xdist's workerinput, set by the xdist controller for each worker.
#: The controller (URL and key) every worker talks to: the controller process's, so that one
#: emulator serves the whole session.
WORKER_CONTROLLER = "leapwork_controller"
WORKER_KEY = "leapwork_key"
#: The pid of the xdist controller: a worker whose parent is no longer it has lost it.
WORKER_PARENT = "leapwork_parent_pid"
#: The directory the workers share: the plan's event log, their run ledgers and pid files.
WORKER_LEDGER = "leapwork_ledger_dir"
#: Key of xdist's workeroutput carrying the runs a worker stopped.
STOPPED_OUTPUT = "leapwork_stopped"
#: Key of xdist's workeroutput carrying every run a worker triggered that no test reported.
RUNS_OUTPUT = "leapwork_runs"
#: Key of xdist's workerinput carrying the --dist mode (a worker's own option says "no").
DIST_INPUT = "leapwork_dist"


def is_worker(config: Any) -> bool:
    """Whether this process is an xdist worker (xdist gives workers their ``workerinput``)."""
    return hasattr(config, "workerinput")


def worker_input(config: Any) -> dict[str, Any] | None:
    """An xdist worker's ``workerinput`` (what its controller gave it); None elsewhere."""
    return getattr(config, "workerinput", None)


def runs_workers(config: Any) -> bool:
    """Whether this process is an xdist controller that starts workers."""
    return not is_worker(config) and getattr(config.option, "dist", "no") != "no"
