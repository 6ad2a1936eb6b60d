"""Under pytest-xdist: one trigger-ahead plan for the whole session, shared by the workers.

Every worker collects every test, so every worker knows the same plan. What they share is
who does what with it, in the event log of ``store.py``: the planning policy is the one of a
session without xdist (``pytest_leapwork.runs.planning``), each worker a planner of its own
over the shared store. So:

- the runs known at collection start as early as without xdist: each worker, right after its
  collection, triggers the next unclaimed runs while fewer than ``--leapwork-max-in-flight``
  runs of the whole session are unfinished, and again each time one of its runs ends;
- whichever worker gets a test takes its run: the run it triggered itself, a run another
  worker triggered (followed from here on, or its result read if it has ended), or, where no
  one triggered it yet, one it triggers now once the session's window has room. A test's
  schedule is triggered once, whatever ``--dist`` does with the test (``worksteal`` included);
- a worker that crashes cannot stop its runs: the xdist controller stops them from the
  worker's run ledger (``ledger.py``), and runs nobody took are stopped at the session end.

No per-test hook here: the cost is per session, plus a few file operations per marked test.
"""

from __future__ import annotations

from ..runs.planning import Planner
from ..runs.runner import Runner
from .store import PlanLog


def shared_plan(runner: Runner, window: int, directory: str, worker: str) -> Planner:
    """The planner of xdist worker ``worker``, over the log in ``directory``."""
    return Planner(runner, window, PlanLog(directory), worker)
