"""Calls to the controller that the engine gives a deadline: stops, status checks, look-ups.

Each runs on a daemon thread of the package and is waited for until a monotonic time at most,
whatever the controller does. No pytest import here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ..api.errors import LeapworkError
from ..api.models import FINISHED
from ..threads import DaemonPool, OutOfTime, call_within
from . import bounds

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..api.client import LeapworkClient

log = logging.getLogger("pytest_leapwork")
T = TypeVar("T")


class BoundedCalls:
    """Calls to the controller given until a monotonic time at most, on daemon threads."""

    def __init__(
        self,
        client: LeapworkClient,
        status_client: LeapworkClient,
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self.status_client = status_client
        self._clock = clock
        #: Daemon threads, so a silent controller never holds up the end of the process;
        #: never shut down: a run whose runNow is answered after the end is still stopped.
        self._pool = DaemonPool("leapwork-call")

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run ``fn`` in the background (a stop the poller starts)."""
        return self._pool.submit(fn, *args)

    def within(self, until: float, call: Callable[[], T], what: str) -> T:
        """``call()``, given until the monotonic time ``until`` at most."""
        try:
            return call_within(self._pool, until - self._clock(), call, what)
        except OutOfTime:
            raise LeapworkError(f"{what}: no answer in time (the controller is silent)") from None

    def status_of(self, run_id: str, until: float) -> str:
        """A run's status, asked before the monotonic time ``until`` at most."""
        return self.within(
            until, partial(self.status_client.run_status, run_id), "GET /run/{id}/status"
        )

    def stop_run_id(self, run_id: str, until: float, title: str = "") -> str | None:
        """Stop a run and make sure it stopped; None, or why it could not be stopped.

        A stop answered ``OperationCompleted: false`` is checked against the run's status
        (a run that ended meanwhile needs no stop) and asked again, ``STOP_ATTEMPTS`` times
        at most, all before the monotonic time ``until``.
        """
        status = "unknown"
        for attempt in range(1, bounds.STOP_ATTEMPTS + 1):
            try:
                if self.within(until, lambda: self.client.stop_run(run_id), "PUT /run/{id}/stop"):
                    log.info("stopped run %s of %r", run_id, title)
                    return None
                status = self.status_of(run_id, until)
            except LeapworkError as exc:
                log.warning("could not stop run %s: %s", run_id, exc)
                return str(exc)
            if status == FINISHED:
                return None  # it ended on its own meanwhile
            if attempt < bounds.STOP_ATTEMPTS and self._clock() + bounds.STOP_PAUSE_SECONDS < until:
                time.sleep(bounds.STOP_PAUSE_SECONDS)
            else:
                break
        problem = (
            f"PUT /run/{{id}}/stop answered OperationCompleted false {attempt} times and "
            f"the run still says {status}"
        )
        log.warning("could not stop run %s: %s", run_id, problem)
        return problem
