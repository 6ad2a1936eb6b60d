"""Under pytest-xdist: one trigger-ahead plan for the whole session, shared by the workers.

Every worker collects every test, so every worker knows the same plan. What they share is
who does what with it, in a lock-guarded event log in a directory the xdist controller makes
(``filelock`` guards it, on every platform): a worker *claims* a test's run before it
triggers it, writes the RunId once the controller answered, *takes* the run when the test
comes to it, and writes that the run *ended* once it noticed. So:

- the runs known at collection start as early as without xdist: each worker, right after its
  collection, triggers the next unclaimed runs while fewer than ``--leapwork-max-in-flight``
  runs of the whole session are unfinished, and again each time one of its runs ends;
- whichever worker gets a test takes its run: the run it triggered itself, a run another
  worker triggered (followed from here on, or its result read if it has ended), or, where no
  one triggered it yet, one it triggers now. A test's schedule is triggered once, whatever
  ``--dist`` does with the test (``worksteal`` included);
- a worker that crashes cannot stop its runs: the xdist controller stops them from the
  worker's run ledger (``ledger.py``), and runs nobody took are stopped at the session end.

No per-test hook here: the cost is per session, plus a few file operations per marked test.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..api.errors import AlreadyRunning, LeapworkError
from ..api.models import LeapworkRun, Schedule
from .ledger import RunLedger

if TYPE_CHECKING:
    from ..runs.runner import RunHandle, Runner, RunRequest


#: Key of xdist's workeroutput carrying the runs a worker stopped.
CLAIM_WAIT_SECONDS = 0.02


# -- the shared log ------------------------------------------------------------------------


@dataclass
class Entry:
    """What the session knows about one test's run."""

    claimed_by: str | None = None  # the worker that triggers (or triggered) the run
    taken_by: str | None = None  # the worker that runs the test
    run: dict[str, Any] | None = None  # run id, schedule, trigger time, request
    failed: tuple[str, str] | None = None  # (error class, message) of a refused runNow
    over: bool = False  # seen finished: its place in the window is free
    ended: bool = False  # followed to its end: its result is written

    @property
    def open(self) -> bool:
        """Nobody has claimed the run nor taken the test."""
        return self.claimed_by is None and self.taken_by is None

    @property
    def in_flight(self) -> bool:
        return self.claimed_by is not None and self.failed is None and not self.over


@dataclass
class PlanState:
    entries: dict[str, Entry] = field(default_factory=dict)
    key_of_run: dict[str, str] = field(default_factory=dict)
    over_runs: set[str] = field(default_factory=set)
    ended_runs: set[str] = field(default_factory=set)
    #: (test, worker) of every take, in order: owners read it to hand their runs over.
    takes: list[tuple[str, str]] = field(default_factory=list)

    def entry(self, key: str) -> Entry:
        return self.entries.setdefault(key, Entry())

    def in_flight(self) -> int:
        return sum(1 for e in self.entries.values() if e.in_flight)

    def apply(self, event: list[Any]) -> None:
        kind, key = event[0], event[1]
        if kind == "claim":
            entry = self.entry(key)
            entry.claimed_by, entry.run, entry.failed = event[2], None, None
            entry.over = entry.ended = False
        elif kind == "take":
            self.entry(key).taken_by = event[2]
            self.takes.append((key, event[2]))
        elif kind == "run":
            entry = self.entry(key)
            entry.run = event[2]
            run_id = entry.run["run_id"]
            self.key_of_run[run_id] = key
            entry.ended = run_id in self.ended_runs
            entry.over = entry.ended or run_id in self.over_runs
        elif kind == "fail":
            self.entry(key).failed = (event[2], event[3])
        elif kind in ("over", "end"):  # the key is the run id
            (self.ended_runs if kind == "end" else self.over_runs).add(key)
            owner = self.entries.get(self.key_of_run.get(key, ""))
            if owner is not None and owner.run is not None and owner.run["run_id"] == key:
                owner.over = True
                owner.ended = owner.ended or kind == "end"
        elif kind == "reset":
            self.entries[key] = Entry()


class PlanLog:
    """The event log in the shared directory, read incrementally under the file lock."""

    def __init__(self, directory: str) -> None:
        from filelock import FileLock  # only sessions under xdist with marked tests need it

        self.directory = directory
        self.path = os.path.join(directory, "plan.log")
        self._file_lock = FileLock(os.path.join(directory, "plan.lock"))
        self._thread_lock = threading.RLock()
        self._offset = 0
        self.state = PlanState()

    @contextmanager
    def locked(self) -> Iterator[PlanState]:
        """The state, up to date and owned by this thread until the block ends."""
        with self._thread_lock, self._file_lock:
            self._read_new()
            yield self.state

    def append(self, *event: Any) -> None:
        """Add an event (inside ``locked``)."""
        line = (json.dumps(list(event)) + "\n").encode()
        with open(self.path, "ab") as file:
            file.write(line)
        self._offset += len(line)
        self.state.apply(list(event))

    def _read_new(self) -> None:
        try:
            with open(self.path, "rb") as file:
                file.seek(self._offset)
                data = file.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        for line in data.splitlines():
            if line:
                self.state.apply(json.loads(line))

    def result_path(self, run_id: str) -> str:
        # A RunId is the controller's word: only letters, digits and dashes reach a file name.
        return os.path.join(self.directory, f"run-{re.sub(r'[^A-Za-z0-9-]', '_', run_id)}.json")


def _request_data(request: RunRequest) -> dict[str, Any]:
    return {
        "schedule": request.schedule,
        "variables": dict(request.variables),
        "timeout": request.timeout,
        "label": request.label,
        # One flow on one agent (leapwork_flow): the same run only with the same target.
        "flow": asdict(request.flow) if request.flow is not None else None,
    }


# -- a worker's side -----------------------------------------------------------------------


class SharedPlan:
    """The trigger-ahead plan of one xdist worker, coordinated with the others."""

    def __init__(self, runner: Runner, window: int, directory: str, worker: str) -> None:
        self._runner = runner
        self._window = window
        self._worker = worker
        self._log = PlanLog(directory)
        self._requests: dict[str, RunRequest] = {}
        self._queue: deque[str] = deque()
        #: Runs this worker triggered, by test.
        self._mine: dict[str, Future[RunHandle]] = {}
        #: Tests this worker took: their runs are its own to follow, whoever takes them later.
        self._taken: set[str] = set()
        self._takes_seen = 0
        runner.on_end_noticed.append(self._over)
        runner.on_finished.append(self._ended)

    # -- Planner --------------------------------------------------------------------------

    def plan(self, entries: list[tuple[str, RunRequest]]) -> None:
        for key, request in entries:
            if key not in self._requests:
                self._requests[key] = request
                self._queue.append(key)
        self.fill()

    def take(self, key: str, request: RunRequest) -> RunHandle:
        """The run for test ``key``, wherever it was triggered; triggered now if nowhere.

        A run triggered at its test's turn waits for room in the session's window: other
        workers' tests hold the rest of it. A test taken again (pytest-rerunfailures) gets a
        new run, as without xdist.
        """
        with self._log.locked() as state:
            again = state.entry(key).taken_by is not None
            self._log.append("take", key, self._worker)
            self._taken.add(key)
        while True:
            with self._log.locked() as state:
                claimed = state.entry(key).claimed_by is not None and not again
                own_turn = not claimed and state.in_flight() < self._window
                if own_turn:
                    self._log.append("claim", key, self._worker)
            if claimed or own_turn:
                break
            time.sleep(CLAIM_WAIT_SECONDS)
        if own_turn:
            return self._trigger_now(key, request)
        handle = self._follow(key, request)
        if handle.request != request:
            # The variables changed since planning (a hook, a fixture): not the run asked for.
            self._runner.stop(handle, "superseded")
            with self._log.locked():
                self._log.append("claim", key, self._worker)
            return self._trigger_now(key, request)
        return handle

    def release(self, key: str) -> list[RunHandle]:
        """Test ``key`` ended without taking its run (another fixture failed or skipped):
        nobody triggers it now, and its run, wherever it was triggered, is returned to be
        stopped. A run another worker is still triggering is left to the session's end."""
        with self._log.locked() as state:
            entry = state.entry(key)
            mine = entry.claimed_by == self._worker
            if not (mine or entry.claimed_by is None or entry.run is not None):
                return []  # another worker's runNow is on its way
            run, ended = (None, True) if mine else (entry.run, entry.ended)
            self._log.append("take", key, self._worker)
            self._taken.add(key)
        handle = self._triggered(key) if mine else None
        if handle is None and run is not None and not ended:
            handle = self._adopt(run, ended)
        return [handle] if handle is not None else []

    def not_taken(self) -> list[RunHandle]:
        """Runs this worker triggered and still follows whose tests never came (``-x``)."""
        active = self._runner.active()
        handles = [self._triggered(key) for key in list(self._mine)]
        return [h for h in handles if h is not None and h in active]

    # -- triggering -----------------------------------------------------------------------

    def fill(self) -> None:
        """Trigger planned runs nobody claimed, while the session has room in its window."""
        while True:
            with self._log.locked() as state:
                self._hand_over(state)
                if state.in_flight() >= self._window:
                    return
                while self._queue and not state.entry(self._queue[0]).open:
                    self._queue.popleft()
                if not self._queue:
                    return
                key = self._queue.popleft()
                self._log.append("claim", key, self._worker)
            try:
                self._trigger(key, self._requests[key])
            except LeapworkError:
                continue  # written down for the test that takes it

    def _trigger(self, key: str, request: RunRequest) -> RunHandle:
        """runNow for a claimed test; the outcome written down for whoever takes the test."""
        future: Future[RunHandle] = Future()
        self._mine[key] = future
        try:
            handle = self._runner.start(request)
        except BaseException as exc:
            error = exc if isinstance(exc, LeapworkError) else LeapworkError(repr(exc))
            future.set_exception(error)
            with self._log.locked():
                self._log.append("fail", key, type(error).__name__, str(error))
            raise
        with self._log.locked():
            self._log.append(
                "run",
                key,
                {
                    "run_id": handle.run_id,
                    "schedule": asdict(handle.schedule),
                    "at": time.time(),
                    "request": _request_data(request),
                    "by": self._worker,
                },
            )
        future.set_result(handle)
        return handle

    def _trigger_now(self, key: str, request: RunRequest) -> RunHandle:
        """The test's own turn: it starts now whatever the window, so it never waits on others."""
        try:
            return self._trigger(key, request)
        except AlreadyRunning:
            self._runner.wait_until_idle(request.schedule)
            with self._log.locked():
                self._log.append("claim", key, self._worker)
            return self._trigger(key, request)

    # -- following ------------------------------------------------------------------------

    def _follow(self, key: str, request: RunRequest) -> RunHandle:
        """The run another trigger made for ``key``: wait for its RunId, then follow it."""
        give_up = time.monotonic() + request.timeout
        while True:
            with self._log.locked() as state:
                entry = state.entry(key)
                claimed_by, run, failed, ended = (
                    entry.claimed_by,
                    entry.run,
                    entry.failed,
                    entry.ended,
                )
                if claimed_by is None:  # its triggering worker crashed: the test's turn now
                    self._log.append("claim", key, self._worker)
            if claimed_by is None:
                return self._trigger_now(key, request)
            if claimed_by == self._worker and key in self._mine:
                try:
                    return self._mine[key].result()
                except AlreadyRunning:
                    # No run was made: trying again at the test's own turn cannot duplicate one.
                    with self._log.locked():
                        self._log.append("claim", key, self._worker)
                    return self._trigger_now(key, request)
            if failed is not None:
                if failed[0] == AlreadyRunning.__name__:
                    with self._log.locked():
                        self._log.append("claim", key, self._worker)
                    return self._trigger_now(key, request)
                raise LeapworkError(failed[1])
            if run is not None:
                return self._adopt(run, ended)
            if time.monotonic() > give_up:
                raise LeapworkError(f"worker {claimed_by} never started the run it claimed")
            time.sleep(CLAIM_WAIT_SECONDS)

    def _adopt(self, run: dict[str, Any], ended: bool) -> RunHandle:
        from ..runs.runner import RunHandle, RunRequest
        from ..runs.targets import FlowTarget

        data = dict(run["request"])
        flow = data.pop("flow", None)
        request = RunRequest(**data, flow=FlowTarget(**flow) if flow else None)
        schedule = Schedule(**run["schedule"])
        if ended:
            try:
                with open(self._log.result_path(run["run_id"]), encoding="utf-8") as file:
                    data = json.load(file)
            except (OSError, ValueError):
                data = {}
            if "run" in data:
                result = LeapworkRun.from_dict(data["run"])
                return RunHandle.ended_elsewhere(request, schedule, result)
        age = max(0.0, time.time() - run["at"])
        handle = self._runner.adopt(request, schedule, run["run_id"], age)
        # Should the triggering worker crash now, the run is this worker's to stop, not its.
        owner = os.path.join(self._log.directory, f"{run['by']}.runs")
        RunLedger(owner).ended(handle)
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
        with self._log.locked():
            self._log.append("over", handle.run_id)
        self.fill()

    def _ended(self, handle: RunHandle) -> None:
        """A run followed here ended: its result for the taker, its window slot freed."""
        data: dict[str, Any] = (
            {"run": handle.result.to_dict()}
            if handle.result is not None
            else {"error": str(handle.error)}
        )
        path = self._log.result_path(handle.run_id)
        with open(path + ".tmp", "w", encoding="utf-8") as file:
            json.dump(data, file)
        os.replace(path + ".tmp", path)
        with self._log.locked():
            self._log.append("end", handle.run_id)
        self.fill()

    def release_untaken(self) -> None:
        """At this worker's end: leave the runs of tests it did not take to whoever takes them.

        Another worker may still be running those tests; runs nobody takes are stopped by
        the xdist controller once every worker is done.
        """
        with self._log.locked() as state:
            for key in list(self._mine):
                handle = self._triggered(key)
                if handle is None or key in self._taken:
                    continue
                self._runner.release(handle)
                if not handle.over and state.entry(key).taken_by is None:
                    # Nobody follows it now, so nobody would see it end: it must not hold a
                    # place in the window that a test on another worker may be waiting for.
                    self._log.append("over", handle.run_id)
