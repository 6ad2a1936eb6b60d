"""A run's life on the controller: trigger, follow, collect, stop.

One poller thread follows every run in flight: status requests on an adaptive schedule
(``cadence``: often while a run is young, at most every poll interval), then, once the
controller says ``Finished``, the run's item ids and the items themselves, each item followed
at once by its keyframes where the flow did not pass, all concurrently over the shared
connection pool. No pytest import here: a script can drive runs the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from .cadence import poll_delay
from .errors import (
    AccessKeyRejected,
    ControllerServerError,
    LeapworkError,
    MethodNotAllowed,
    NotFound,
    RunLost,
)
from .models import FINISHED, TEMPORARY, FlowResult, LeapworkRun, Schedule
from .schedules import ScheduleDirectory

if TYPE_CHECKING:  # requests is imported only once a run is made
    from .client import LeapworkClient
    from .flows import FlowTarget

log = logging.getLogger("pytest_leapwork")
T = TypeVar("T")

#: Slices a waiting test sleeps in, so that Ctrl-C is not held up.
WAIT_SLICE_SECONDS = 0.2
#: A run still unended this long after its deadline is stopped by the waiting test itself.
DEADLINE_SLACK_SECONDS = 0.5
#: How long after runNow a 404/500 on a run still means "not created yet".
START_GRACE_SECONDS = 30.0
#: Without a run summary, a finished run's item ids must read the same this far apart.
LATE_ITEMS_SETTLE_SECONDS = 1.0
#: How long after Finished items may keep arriving (a run with no items at all included).
LATE_ITEMS_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class RunRequest:
    """What to run: a schedule reference (title or id), its variables and its time limit."""

    schedule: str
    variables: Mapping[str, str]
    timeout: float
    label: str = ""
    #: One flow on one agent (``leapwork_flow``) instead of the schedule.
    flow: FlowTarget | None = None


@dataclass(eq=False)
class RunHandle:
    """A run triggered on the controller and followed until it ends."""

    request: RunRequest
    schedule: Schedule
    run_id: str
    triggered_at: float
    status: str = "Queued"
    flows: dict[str, FlowResult] = field(default_factory=dict)
    result: LeapworkRun | None = None
    error: LeapworkError | None = None
    # Poller bookkeeping.
    next_poll_at: float = 0.0
    busy: bool = False
    finished_ids: list[str] | None = None
    #: Whether the controller has answered about the run at least once.
    seen: bool = False
    #: Why the last look at the run failed, if it did.
    poll_error: LeapworkError | None = None
    #: Why stopping the run failed, if it did.
    stop_error: str | None = None
    #: Items the controller counts for the run so far, and how many of them failed.
    items_total: int | None = None
    items_failed: int | None = None
    finished_seen_at: float | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    ending: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def over(self) -> bool:
        """Ended, or seen finished on the controller (its flows may still be collected)."""
        return self.done or self.finished_seen_at is not None

    @property
    def deadline(self) -> float:
        return self.triggered_at + self.request.timeout

    def wait_done(self, seconds: float) -> bool:
        return self._done.wait(seconds)

    def outcome(self) -> LeapworkRun:
        """The ended run, or the error that ended following it."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    @classmethod
    def ended_elsewhere(
        cls, request: RunRequest, schedule: Schedule, run: LeapworkRun
    ) -> RunHandle:
        """The handle of a run another process followed to its end (an xdist worker)."""
        handle = cls(request, schedule, run.run_id, triggered_at=0.0, status=FINISHED, result=run)
        handle._done.set()
        return handle

    def wait_quietly(self) -> None:
        """Wait for the end, in slices so that Ctrl-C is not held up."""
        while not self._done.wait(WAIT_SLICE_SECONDS):
            pass


class Runner:
    """Triggers runs and follows all of them from one poller thread."""

    def __init__(
        self,
        client: LeapworkClient,
        *,
        poll_interval: float = 10.0,
        done_counts_as_passed: bool = True,
        keyframes_for_passed: bool = False,
        workers: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.schedules = ScheduleDirectory(client)
        self.poll_interval = poll_interval
        self._run_summary_supported = True
        self.done_counts_as_passed = done_counts_as_passed
        self.keyframes_for_passed = keyframes_for_passed
        self._clock = clock
        self._workers = workers
        self._lock = threading.Lock()
        self._active: list[RunHandle] = []
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._poll_pool: ThreadPoolExecutor | None = None
        self._fetch_pool: ThreadPoolExecutor | None = None
        #: Called with each run once it is triggered, and once it has ended (any way).
        self.on_started: list[Callable[[RunHandle], None]] = []
        self.on_finished: list[Callable[[RunHandle], None]] = []
        #: Called once the controller says a run finished, before its flows are collected:
        #: the run no longer occupies the controller, so a window may start the next one.
        self.on_end_noticed: list[Callable[[RunHandle], None]] = []

    # -- public ---------------------------------------------------------------------------

    def start(self, request: RunRequest) -> RunHandle:
        """Resolve the schedule and trigger it; the handle is then followed in the background."""
        if request.flow is not None:
            schedule = request.flow.temporary_schedule()
            run_id = self.client.run_flow(
                request.flow.flow_id, request.flow.agent_id, request.variables
            )
        else:
            schedule = self.schedules.resolve(request.schedule)
            run_id = self.client.run_now(schedule.id, request.variables)
        now = self._clock()
        handle = RunHandle(
            request=request,
            schedule=schedule,
            run_id=run_id,
            triggered_at=now,
            next_poll_at=now + poll_delay(0.0, self.poll_interval),
        )
        log.info("triggered %r (%s) as run %s", schedule.title, request.label or "-", run_id)
        with self._lock:
            if self._closed:
                raise RuntimeError("runner is closed")
            self._active.append(handle)
            self._ensure_poller()
        self._notify(self.on_started, handle)
        self._wake.set()
        return handle

    def adopt(self, request: RunRequest, schedule: Schedule, run_id: str, age: float) -> RunHandle:
        """Follow a run triggered elsewhere ``age`` seconds ago (by another xdist worker)."""
        now = self._clock()
        handle = RunHandle(request, schedule, run_id, triggered_at=now - age, next_poll_at=now)
        with self._lock:
            if self._closed:
                raise RuntimeError("runner is closed")
            self._active.append(handle)
            self._ensure_poller()
        self._notify(self.on_started, handle)
        self._wake.set()
        return handle

    def release(self, handle: RunHandle) -> None:
        """Stop following a run without stopping it: another process follows it now."""
        with self._lock:
            if handle in self._active:
                self._active.remove(handle)

    def wait_until_idle(self, schedule_reference: str) -> None:
        """Wait for this session's unfinished runs of a schedule (one that refuses a second run)."""
        schedule = self.schedules.resolve(schedule_reference)
        for handle in self.active():
            if handle.schedule.id == schedule.id and not handle.done:
                handle.wait_quietly()

    def active(self) -> list[RunHandle]:
        with self._lock:
            return list(self._active)

    def wait(
        self, handle: RunHandle, on_tick: Callable[[RunHandle], None] | None = None
    ) -> LeapworkRun:
        """Block until the run ended; the run, or the error that ended following it.

        Waits in short slices so that Ctrl-C reaches the main thread at once, calling
        ``on_tick`` after each (progress display). Should the poller be stuck on a controller
        that does not answer, the run is stopped from here once its deadline has passed.
        """
        while not handle.wait_done(WAIT_SLICE_SECONDS):
            if on_tick is not None:
                on_tick(handle)
            if self._clock() >= handle.deadline + DEADLINE_SLACK_SECONDS:
                self.stop(handle, "timeout")
        return handle.outcome()

    def stop(self, handle: RunHandle, reason: str) -> None:
        """Stop a run on the controller and end it with ``reason`` (e.g. ``"interrupted"``)."""
        if handle.done:
            return
        try:
            self.client.stop_run(handle.run_id)
            log.info("stopped run %s of %r (%s)", handle.run_id, handle.schedule.title, reason)
        except LeapworkError as exc:
            handle.stop_error = str(exc)
            log.warning("could not stop run %s: %s", handle.run_id, exc)
        if reason == "timeout" and handle.poll_error is not None:
            # Nothing was heard of the run lately: its outcome is unknown, not a timeout.
            stopped = (
                f"it could not be stopped: {handle.stop_error}"
                if handle.stop_error
                else "it was stopped"
            )
            self._fail(
                handle,
                RunLost(
                    f"no answer about run {handle.run_id} until its timeout of "
                    f"{handle.request.timeout:g}s passed ({handle.poll_error}); {stopped}"
                ),
            )
            return
        self._collect_after_stop(handle, reason)

    def stop_all(self, reason: str) -> list[RunHandle]:
        """Stop every run still in flight, concurrently; the handles that had to be stopped."""
        unfinished = [h for h in self.active() if not h.done]
        if not unfinished:
            return []
        with ThreadPoolExecutor(max_workers=min(8, len(unfinished))) as pool:
            list(pool.map(lambda h: self.stop(h, reason), unfinished))
        return unfinished

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for pool in (self._poll_pool, self._fetch_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    # -- the poller -----------------------------------------------------------------------

    def _ensure_poller(self) -> None:
        if self._thread is None:
            self._poll_pool = ThreadPoolExecutor(self._workers, thread_name_prefix="leapwork-poll")
            self._fetch_pool = ThreadPoolExecutor(
                self._workers, thread_name_prefix="leapwork-fetch"
            )
            self._thread = threading.Thread(target=self._loop, name="leapwork-poller", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        assert self._poll_pool is not None
        while True:
            with self._lock:
                if self._closed:
                    return
                self._active = [h for h in self._active if not h.done]
                now = self._clock()
                due = [h for h in self._active if not h.busy and h.next_poll_at <= now]
                for handle in due:
                    handle.busy = True
                waits = [h.next_poll_at - now for h in self._active if not h.busy]
            for handle in due:
                future = self._poll_pool.submit(self._poll, handle)
                future.add_done_callback(partial(self._after_poll, handle))
            timeout = max(0.0, min(waits)) if waits else None
            self._wake.wait(timeout)
            self._wake.clear()

    def _after_poll(self, handle: RunHandle, _future: object = None) -> None:
        handle.busy = False
        self._wake.set()

    def _notify(self, listeners: list[Callable[[RunHandle], None]], handle: RunHandle) -> None:
        for listener in list(listeners):
            try:
                listener(handle)
            except Exception:  # a listener must not stop the poller or a test
                log.exception("run listener failed")

    def _poll(self, handle: RunHandle) -> None:
        """One look at a run; schedules the next look or ends the run."""
        try:
            self._poll_once(handle)
        except (AccessKeyRejected, RunLost) as exc:
            self._fail(handle, exc)
        except NotFound as exc:
            handle.poll_error = exc
            # Item ids and items may lag behind the status in the first seconds, too.
            if self._clock() - handle.triggered_at > START_GRACE_SECONDS:
                self._fail(
                    handle, RunLost(f"run {handle.run_id} is unknown to the controller: {exc}")
                )
        except LeapworkError as exc:
            # Trouble while following is not the schedule's fault: keep following until the
            # run finishes or its timeout passes.
            handle.poll_error = exc
            log.warning("run %s: %s (still following)", handle.run_id, exc)
        except Exception as exc:  # never let a bug leave a test waiting forever
            log.exception("run %s: unexpected error", handle.run_id)
            self._fail(
                handle, LeapworkError(f"internal error following run {handle.run_id}: {exc!r}")
            )
        if not handle.done:
            now = self._clock()
            if now >= handle.deadline:
                self.stop(handle, "timeout")
            elif handle.next_poll_at <= now:
                delay = poll_delay(now - handle.triggered_at, self.poll_interval)
                handle.next_poll_at = min(now + delay, handle.deadline)

    def _poll_once(self, handle: RunHandle) -> None:
        now = self._clock()
        if now >= handle.deadline:
            self.stop(handle, "timeout")
            return
        try:
            status = self._read_status(handle)
        except (NotFound, ControllerServerError) as exc:
            # Right after runNow the controller may not know the run yet (404 or 500).
            if not handle.seen and now - handle.triggered_at < START_GRACE_SECONDS:
                log.debug("run %s not visible yet: %s", handle.run_id, exc)
                handle.poll_error = exc
                return
            if handle.seen and isinstance(exc, NotFound):
                # The controller knew the run and has forgotten it (a restart): final.
                raise RunLost(f"run {handle.run_id} is unknown to the controller: {exc}") from None
            raise
        handle.seen, handle.poll_error = True, None
        handle.status = status
        log.debug("run %s (%s): %s", handle.run_id, handle.schedule.title, status)
        if status != FINISHED:
            return
        self._collect_finished(handle, now)

    def _collect_finished(self, handle: RunHandle, now: float) -> None:
        """Collect a finished run's items, until the list is complete.

        Items can reach RunItemIds after the run says Finished. The run summary's ``Total``
        says how many to expect; where a controller does not give it, the ids must read the
        same twice, ``LATE_ITEMS_SETTLE_SECONDS`` apart. Either way the wait is bounded.
        """
        if handle.finished_seen_at is None:
            handle.finished_seen_at = now
            self._notify(self.on_end_noticed, handle)
        ids = self.client.run_item_ids(handle.run_id)
        expected = handle.items_total
        self._fetch_items(handle, ids)
        recheck = min(self.poll_interval, 0.5)
        if any(not handle.flows[i].finished for i in ids):
            handle.next_poll_at = now + recheck
            return
        if expected is not None:
            complete = len(ids) >= expected
        else:
            complete = bool(ids) and handle.finished_ids == ids
            recheck = LATE_ITEMS_SETTLE_SECONDS
        if complete or now - handle.finished_seen_at >= LATE_ITEMS_GRACE_SECONDS:
            self._finish(handle, ids)
            return
        handle.finished_ids = ids
        handle.next_poll_at = now + recheck

    def _read_status(self, handle: RunHandle) -> str:
        """The run's status, from the run summary where the controller has one.

        ``GET /run/{id}`` costs the same one request as ``GET /run/{id}/status`` and also
        counts the run's items, for progress and to know when late items have all arrived.
        A controller without it (405, or 404 for a run the status endpoint knows, or no
        ``Status`` in it) is asked the plain status from then on.
        """
        if self._run_summary_supported:
            try:
                summary = self.client.run_summary(handle.run_id)
            except MethodNotAllowed:
                self._run_summary_supported = False
            except NotFound:
                # The run is not created yet, or there is no such endpoint: ask the status,
                # which raises NotFound again in the first case.
                status = self.client.run_status(handle.run_id)
                self._run_summary_supported = False
                return status
            else:
                if summary.status is not None:
                    handle.items_total, handle.items_failed = summary.total, summary.failed
                    if handle.request.flow is not None and summary.schedule_title:
                        # The temporary schedule the controller made for the flow: its name.
                        handle.schedule = Schedule(
                            summary.schedule_id or "", summary.schedule_title, True, TEMPORARY
                        )
                    return summary.status
                self._run_summary_supported = False
        return self.client.run_status(handle.run_id)

    def _fetch_items(self, handle: RunHandle, ids: list[str]) -> None:
        """Fetch every item not yet known to be finished, and keyframes of those not passed."""
        wanted = [i for i in ids if i not in handle.flows or not handle.flows[i].finished]
        for item_id, flow in zip(wanted, self._map(self._fetch_flow, wanted), strict=True):
            handle.flows[item_id] = flow

    def _fetch_flow(self, item_id: str) -> FlowResult:
        """One item and, right after it on the same thread, its keyframes if they are wanted.

        One pipeline rather than all items, then all keyframes: no phase waits for the
        slowest request of the one before.
        """
        flow = self.client.run_item(item_id)
        flow.done_counts_as_passed = self.done_counts_as_passed
        if flow.finished and (self.keyframes_for_passed or not flow.passed):
            flow.keyframes = self.client.keyframes(flow.run_item_id or item_id)
        return flow

    def _map(self, function: Callable[[str], T], args: list[str]) -> list[T]:
        """``function`` over ``args``, concurrently over the shared connection pool."""
        if len(args) <= 1 or self._fetch_pool is None:
            return [function(a) for a in args]
        futures: list[Future[T]] = [self._fetch_pool.submit(function, a) for a in args]
        return [f.result() for f in futures]

    def _collect_after_stop(self, handle: RunHandle, reason: str) -> None:
        """After a stop, collect whatever flows ran, so the report says how far it got."""
        try:
            ids = self.client.run_item_ids(handle.run_id)
            self._fetch_items(handle, ids)
        except LeapworkError as exc:
            log.debug("run %s: could not collect flows after stop: %s", handle.run_id, exc)
            ids = list(handle.flows)
        self._finish(handle, ids, stopped_reason=reason)

    def _finish(self, handle: RunHandle, ids: list[str], stopped_reason: str | None = None) -> None:
        with handle.ending:
            if handle.done:  # a stop and a poll may race to end the same run
                return
            self._set_result(handle, ids, stopped_reason)
            handle._done.set()
        self._notify(self.on_finished, handle)

    def _set_result(self, handle: RunHandle, ids: list[str], stopped_reason: str | None) -> None:
        handle.result = LeapworkRun(
            run_id=handle.run_id,
            schedule_id=handle.schedule.id,
            schedule_title=handle.schedule.title,
            variables=dict(handle.request.variables),
            flows=[handle.flows[i] for i in ids if i in handle.flows],
            elapsed=self._clock() - handle.triggered_at,
            stopped_reason=stopped_reason,
            stop_error=handle.stop_error if stopped_reason else None,
        )
        log.info(
            "run %s of %r ended: %s",
            handle.run_id,
            handle.schedule.title,
            stopped_reason or ("passed" if handle.result.passed else "failed"),
        )

    def _fail(self, handle: RunHandle, error: LeapworkError) -> None:
        with handle.ending:
            if handle.done:
                return
            handle.error = error
            handle._done.set()
        self._notify(self.on_finished, handle)
