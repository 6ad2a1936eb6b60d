"""Trigger ahead: start runs whose variables are known before their tests' turn.

A session of twelve ten-minute schedules then takes about ten minutes, not two hours: each
test waits only for its own run, which has been executing on the controller meanwhile. At most
``window`` runs are unfinished at once (``1`` gives strictly one run at a time). A test whose
run was not planned (variables computed from fixtures) triggers at its own turn.

One policy, two stores (``plan_store``): a session without xdist keeps its plan in memory,
with one worker; xdist workers share one plan in a file log, each as a worker of its own. A
planner *claims* a test's run before it triggers it, writes the run down once the controller
answered, *takes* it when the test comes, and writes that the run is *over* (its place in the
window free) and *ended* (its result saved). So whichever worker gets a test takes its run:
the one it triggered, one another worker triggered (followed from here on, or its result read
if it has ended), or one triggered now. No pytest import here.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future

from ..api.errors import AlreadyRunning, LeapworkError
from .plan_state import PlanState, RunRecord
from .plan_store import MemoryStore, PlanStore
from .runner import RunHandle, Runner, RunRequest

#: How often a planner looks again at a plan it waits on (another worker's runNow, room).
CLAIM_WAIT_SECONDS = 0.02
#: The worker name of a session without xdist.
ALONE = "main"


class Planner:
    """The trigger-ahead plan of one worker (the whole session, without xdist)."""

    def __init__(self, runner: Runner, window: int, store: PlanStore, worker: str = ALONE) -> None:
        self._runner = runner
        self._window = window
        self._store = store
        self._worker = worker
        self._requests: dict[str, RunRequest] = {}
        self._queue: deque[str] = deque()
        #: Runs this worker claimed, by test: resolved once the controller answered.
        self._mine: dict[str, Future[RunHandle]] = {}
        #: Tests this worker took: their runs are its own to follow, whoever takes them later.
        self._taken: set[str] = set()
        self._takes_seen = 0
        # A run frees its place as soon as the controller says it finished.
        runner.on_end_noticed.append(self._over)
        runner.on_finished.append(self._ended)

    # -- what the session asks ------------------------------------------------------------

    def plan(self, entries: list[tuple[str, RunRequest]]) -> None:
        """Queue runs in the order their tests will run, and start the first ``window``.

        Tests already claimed or taken are left as they are.
        """
        with self._store.locked():
            for key, request in entries:
                if key not in self._requests:
                    self._queue.append(key)
                self._requests[key] = request
        self.fill()

    def take(self, key: str, request: RunRequest) -> RunHandle:
        """The run for test ``key``, wherever it was triggered; triggered now if nowhere.

        A test taken again (pytest-rerunfailures) gets a new run. At the test's own turn, a
        shared store waits for room in the session's window (``PlanStore.shared``).
        """
        with self._store.locked() as state:
            again = state.entry(key).taken_by is not None
            self._store.append("take", key, self._worker)
            self._taken.add(key)
        while True:
            with self._store.locked() as state:
                claimed = state.entry(key).claimed_by is not None and not again
                room = not self._store.shared or state.in_flight() < self._window
                own_turn = not claimed and room
                if own_turn:
                    future = self._claim(key)
            if claimed or own_turn:
                break
            time.sleep(CLAIM_WAIT_SECONDS)
        if own_turn:
            return self._trigger_now(key, request, future)
        handle = self._follow(key, request)
        if handle.request != request:
            # The variables changed since planning (a hook, a fixture): not the run asked for.
            self._runner.stop(handle, "superseded")
            return self._retry(key, request)
        return handle

    def release(self, key: str) -> list[RunHandle]:
        """Test ``key`` ended without taking its run (another fixture failed or skipped):
        nobody triggers it now, and its run, wherever it was triggered, is returned to be
        stopped. A start of this worker's still on its way is stopped once the controller
        answers it; one of another worker's is left to the session's end."""
        with self._store.locked() as state:
            entry = state.entry(key)
            mine = entry.claimed_by == self._worker
            if not (mine or entry.claimed_by is None or entry.run is not None):
                return []
            run, ended = (None, True) if mine else (entry.run, entry.ended)
            self._store.append("take", key, self._worker)
            self._taken.add(key)
            future = self._mine.get(key) if mine else None
        if future is not None:
            if not future.done():
                future.add_done_callback(self._stop_late)
                return []
            return [] if future.exception() is not None else [future.result()]
        if run is not None and not ended:
            return [self._adopt(run, ended)]
        return []

    def not_taken(self) -> list[RunHandle]:
        """Runs this worker triggered and still follows whose tests never came (``-x``,
        Ctrl-C, a crash). Nothing more is triggered from the plan."""
        with self._store.locked():
            self._queue.clear()
            handles = [self._triggered(k) for k in self._mine if k not in self._taken]
        active = self._runner.active()
        return [h for h in handles if h is not None and h in active]

    def release_untaken(self) -> None:
        """At an xdist worker's end: leave the runs of tests it did not take to whoever
        takes them. Another worker may still be running those tests; runs nobody takes are
        stopped by the xdist controller once every worker is done."""
        if not self._store.shared:
            return
        with self._store.locked() as state:
            for key in list(self._mine):
                handle = self._triggered(key)
                if handle is None or key in self._taken:
                    continue
                self._runner.release(handle)
                if not handle.over and state.entry(key).taken_by is None:
                    # Nobody follows it now, so nobody would see it end: it must not hold a
                    # place in the window that a test on another worker may be waiting for.
                    self._store.append("over", handle.run_id)

    # -- triggering -----------------------------------------------------------------------

    def fill(self) -> None:
        """Trigger planned runs nobody claimed, while the session has room in its window."""
        while True:
            with self._store.locked() as state:
                self._hand_over(state)
                if state.in_flight() >= self._window:
                    return
                while self._queue and not state.entry(self._queue[0]).open:
                    self._queue.popleft()
                if not self._queue:
                    return
                key = self._queue.popleft()
                future = self._claim(key)
            try:
                self._trigger(key, self._requests[key], future)
            except LeapworkError:
                continue  # written down for the test that takes it

    def _claim(self, key: str) -> Future[RunHandle]:
        """Claim the run of ``key`` for this worker (inside ``locked``): the future of its start.

        Claim and future are made together, so a take of the same test in another thread
        waits on the future instead of polling the plan.
        """
        self._store.append("claim", key, self._worker)
        future: Future[RunHandle] = Future()
        self._mine[key] = future
        return future

    def _trigger(self, key: str, request: RunRequest, future: Future[RunHandle]) -> RunHandle:
        """runNow for a claimed test; the outcome written down for whoever takes the test."""
        try:
            handle = self._runner.start(request)
        except BaseException as exc:
            error = (
                exc
                if isinstance(exc, LeapworkError)
                else LeapworkError(f"starting the run failed: {exc!r}")
            )
            # Written before the future says it: a taker that claims anew must not get it.
            with self._store.locked():
                self._store.append("fail", key, type(error).__name__, str(error))
            future.set_exception(error)  # never leave a take waiting on a start that failed
            raise
        record = RunRecord(handle.run_id, handle.schedule, time.time(), request, self._worker)
        with self._store.locked():
            self._store.append("run", key, record)
        future.set_result(handle)
        return handle

    def _trigger_now(self, key: str, request: RunRequest, future: Future[RunHandle]) -> RunHandle:
        """The test's own turn. A schedule that refuses a second run (HTTP 410) is triggered
        again once the session's runs of it ended; a flow run is the test's error, since its
        temporary schedule is no run of this session's to wait for."""
        try:
            return self._trigger(key, request, future)
        except AlreadyRunning:
            if request.flow is not None:
                raise
            self._wait_until_idle(request.schedule)
            with self._store.locked():
                future = self._claim(key)
            return self._trigger(key, request, future)

    def _retry(self, key: str, request: RunRequest) -> RunHandle:
        """The run made for ``key`` is not the test's (refused, superseded): one at its turn."""
        with self._store.locked():
            future = self._claim(key)
        return self._trigger_now(key, request, future)

    def _wait_until_idle(self, reference: str) -> None:
        """Wait until no run of the schedule the plan knows of is unfinished, whoever follows it."""
        self._runner.wait_until_idle(reference)  # this worker's own: woken as they end
        schedule_id = self._runner.schedules.resolve(reference).id
        while True:
            with self._store.locked() as state:
                if not state.busy(schedule_id):
                    return
            time.sleep(CLAIM_WAIT_SECONDS)

    def _stop_late(self, future: Future[RunHandle]) -> None:
        if future.exception() is None:
            self._runner.stop(future.result(), "its test ended before it took its run")

    # -- following ------------------------------------------------------------------------

    def _follow(self, key: str, request: RunRequest) -> RunHandle:
        """The run a claim made for ``key``: this worker's, or another's once it has its RunId."""
        give_up = self._runner.now() + request.timeout
        while True:
            with self._store.locked() as state:
                entry = state.entry(key)
                claimed_by, run, failed, ended = (
                    entry.claimed_by,
                    entry.run,
                    entry.failed,
                    entry.ended,
                )
                future = self._mine.get(key) if claimed_by == self._worker else None
                if claimed_by is None:  # its triggering worker crashed: the test's turn now
                    future = self._claim(key)
            if claimed_by is None:
                assert future is not None
                return self._trigger_now(key, request, future)
            if future is not None:
                try:
                    return future.result()
                except AlreadyRunning:
                    # No run was made: trying again at the test's own turn cannot duplicate one.
                    return self._retry(key, request)
            if failed is not None:
                if failed[0] == AlreadyRunning.__name__:
                    return self._retry(key, request)
                raise LeapworkError(failed[1])
            if run is not None:
                return self._adopt(run, ended)
            if self._runner.now() > give_up:
                raise LeapworkError(f"worker {claimed_by} never started the run it claimed")
            time.sleep(CLAIM_WAIT_SECONDS)

    def _adopt(self, run: RunRecord, ended: bool) -> RunHandle:
        """Follow a run another worker triggered, or read its result if it has ended."""
        if ended:
            result = self._store.load_result(run.run_id)
            if result is not None:
                return RunHandle.ended_elsewhere(run.request, run.schedule, result)
        age = max(0.0, time.time() - run.at)
        handle = self._runner.adopt(run.request, run.schedule, run.run_id, age)
        self._store.adopted(handle, run.by)
        return handle

    def _hand_over(self, state: PlanState) -> None:
        """Stop following the runs this worker triggered that another worker took."""
        new, self._takes_seen = state.takes[self._takes_seen :], len(state.takes)
        for key, worker in new:
            handle = self._triggered(key)
            if worker != self._worker and handle is not None and key not in self._taken:
                self._runner.release(handle)

    def _triggered(self, key: str) -> RunHandle | None:
        """The run this worker triggered for ``key``, if it did and the controller said yes."""
        future = self._mine.get(key)
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result()

    def _over(self, handle: RunHandle) -> None:
        """A run followed here was seen finished: its place in the window is free."""
        with self._store.locked():
            self._store.append("over", handle.run_id)
        self.fill()

    def _ended(self, handle: RunHandle) -> None:
        """A run followed here ended: its result for the taker, its place in the window free."""
        self._store.save_result(handle)
        with self._store.locked():
            self._store.append("end", handle.run_id)
        self.fill()


def in_process(runner: Runner, window: int) -> Planner:
    """The plan of a session without xdist: in memory, one worker."""
    return Planner(runner, window, MemoryStore())
