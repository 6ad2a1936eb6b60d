"""Trigger ahead: start runs whose variables are known before their tests' turn.

A session of twelve ten-minute schedules then takes about ten minutes, not two hours: each
test waits only for its own run, which has been executing on the controller meanwhile. At most
``window`` runs are unfinished at once (``1`` gives strictly one run at a time). A test whose
run was not planned (variables computed from fixtures) triggers at its own setup. No pytest
import here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Protocol

from ..api.errors import AlreadyRunning, LeapworkError
from .runner import RunHandle, Runner, RunRequest


class Planner(Protocol):
    """What the session asks of a trigger-ahead plan (this module's, or the xdist one's)."""

    def plan(self, entries: list[tuple[str, RunRequest]]) -> None: ...

    def take(self, key: str, request: RunRequest) -> RunHandle: ...

    def not_taken(self) -> list[RunHandle]: ...

    def release(self, key: str) -> list[RunHandle]: ...


class TriggerAhead:
    def __init__(self, runner: Runner, window: int) -> None:
        self._runner = runner
        self._window = window
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, RunRequest] = OrderedDict()
        self._started: dict[str, Future[RunHandle]] = {}
        self._taken: set[str] = set()
        # runNow requests on their way: counted in flight before the controller answers, so
        # two threads starting runs at once cannot both see room in the window.
        self._starting = 0
        # A run frees its place as soon as the controller says it finished.
        runner.on_end_noticed.append(lambda _handle: self.fill())
        runner.on_finished.append(lambda _handle: self.fill())

    def plan(self, entries: list[tuple[str, RunRequest]]) -> None:
        """Queue runs in the order their tests will run, and start the first ``window``.

        Tests already planned or run are left as they are.
        """
        with self._lock:
            for key, request in entries:
                if key not in self._started and key not in self._taken:
                    self._pending[key] = request
        self.fill()

    def take(self, key: str, request: RunRequest) -> RunHandle:
        """The run for test ``key``: the one started ahead, or one started now."""
        with self._lock:
            self._pending.pop(key, None)
            future = self._started.pop(key, None)
            self._taken.add(key)
        if future is not None:
            try:
                handle = future.result()
            except AlreadyRunning:
                # Refused because another run of this schedule was executing: no run was
                # made, so trying again at the test's own turn cannot duplicate one.
                handle = None
            if handle is not None and handle.request == request:
                return handle
            if handle is not None:
                # The variables changed since planning (a hook, a fixture): this run is not
                # the one the test asks for.
                self._runner.stop(handle, "superseded")
        # The test's own turn: it starts now whatever the window, so it never waits on others.
        try:
            return self._start(request)
        except AlreadyRunning:
            if request.flow is not None:  # a temporary schedule: nothing of ours to wait for
                raise
            self._runner.wait_until_idle(request.schedule)
            return self._start(request)

    def release(self, key: str) -> list[RunHandle]:
        """Test ``key`` is over without having taken its run: it is never started now, and
        the run already started for it is returned (to be stopped). A start still on its
        way is stopped as soon as the controller answers it."""
        with self._lock:
            self._pending.pop(key, None)
            future = self._started.pop(key, None)
            self._taken.add(key)
        if future is None:
            return []
        if not future.done():
            future.add_done_callback(self._stop_late)
            return []
        if future.exception() is not None:
            return []
        return [future.result()]

    def _stop_late(self, future: Future[RunHandle]) -> None:
        if future.exception() is None:
            self._runner.stop(future.result(), "its test ended before it took its run")

    def _start(self, request: RunRequest, reserved: bool = False) -> RunHandle:
        if not reserved:
            with self._lock:
                self._starting += 1
        try:
            return self._runner.start(request)
        finally:
            with self._lock:
                self._starting -= 1

    def not_taken(self) -> list[RunHandle]:
        """Runs started ahead whose tests never asked for them (``-x``, Ctrl-C, a crash)."""
        with self._lock:
            futures = list(self._started.values())
            self._pending.clear()
        handles = []
        for future in futures:
            if future.done() and future.exception() is None:
                handles.append(future.result())
        return handles

    def fill(self) -> None:
        """Start planned runs until ``window`` runs are unfinished."""
        while True:
            with self._lock:
                in_flight = sum(1 for h in self._runner.active() if not h.over)
                if not self._pending or in_flight + self._starting >= self._window:
                    return
                key, request = self._pending.popitem(last=False)
                future: Future[RunHandle] = Future()
                self._started[key] = future
                self._starting += 1  # reserved under the lock that checked the room
            try:
                future.set_result(self._start(request, reserved=True))
            except LeapworkError as exc:
                future.set_exception(exc)
            except BaseException as exc:
                # Never leave a test waiting on a start that will not come.
                future.set_exception(LeapworkError(f"starting the run failed: {exc!r}"))
                raise
