"""Where a trigger-ahead plan keeps its events: the store interface, and the in-memory store.

The planning policy (``planning.Planner``) is written once, over this interface. A session
without xdist keeps its plan in memory (this module); xdist workers share a lock-guarded file
log (``pytest_leapwork.xdist.store``). No pytest import here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from .plan_state import PlanState

if TYPE_CHECKING:
    from ..api.models import LeapworkRun
    from .runner import RunHandle


class PlanStore(Protocol):
    """The operations of a plan's event log."""

    #: Other processes plan over this store too. Their tests then hold places in the window,
    #: so a test's own turn waits for room in it; alone, a test's own turn starts its run at
    #: once, whatever the window, so that it never waits on runs started for later tests.
    shared: bool

    def locked(self) -> AbstractContextManager[PlanState]:
        """The state, up to date and owned by this thread until the block ends."""
        ...

    def append(self, *event: Any) -> None:
        """Add an event (inside ``locked``)."""
        ...

    def save_result(self, handle: RunHandle) -> None:
        """A run followed here ended: its result, for a planner that takes it elsewhere."""
        ...

    def load_result(self, run_id: str) -> LeapworkRun | None:
        """The result another planner saved, if it could."""
        ...

    def adopted(self, handle: RunHandle, by: str) -> None:
        """A run worker ``by`` triggered is followed here from now on."""
        ...


class MemoryStore:
    """The plan of one process: its state behind a lock, nothing written anywhere."""

    shared = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.state = PlanState()

    @contextmanager
    def locked(self) -> Iterator[PlanState]:
        with self._lock:
            yield self.state

    def append(self, *event: Any) -> None:
        self.state.apply(list(event))

    def save_result(self, handle: RunHandle) -> None:
        """Nothing to save: this process follows every run of its plan itself."""

    def load_result(self, run_id: str) -> LeapworkRun | None:
        return None

    def adopted(self, handle: RunHandle, by: str) -> None:
        """Never happens: one process, one worker."""
