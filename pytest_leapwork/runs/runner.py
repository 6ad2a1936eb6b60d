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
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from ..api.errors import (
    AccessKeyRejected,
    ControllerHTTPError,
    ControllerServerError,
    InvalidResponse,
    LeapworkError,
    MethodNotAllowed,
    NotFound,
    RunLost,
)
from ..api.models import FINISHED, TEMPORARY, FlowResult, LeapworkRun, Schedule
from ..threads import DaemonPool, OutOfTime, call_within, start_daemon
from .cadence import poll_delay
from .schedules import ScheduleDirectory

if TYPE_CHECKING:  # requests is imported only once a run is made
    from ..api.client import LeapworkClient
    from ..flows import FlowTarget

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
#: Stopping a run (and collecting the flows it ran) may take this long after its deadline, or
#: after the interrupt that stops it; every request of the stop is bounded by it.
STOP_GRACE_SECONDS = 10.0
#: Stops a controller answers with ``OperationCompleted: false`` are asked again this often.
STOP_ATTEMPTS = 3
STOP_PAUSE_SECONDS = 0.5
#: A request still unanswered this long when the deadline passes is why nothing was heard
#: (a controller in health answers a status request in well under a second).
SILENCE_SECONDS = 1.0
#: After an interrupted runNow, the controller's run list is looked at for this long.
LOOKUP_PATIENCE_SECONDS = 2.0
#: The run statuses the controller is known to answer (the API evidence lists no other).
RUN_STATUSES = frozenset({"Queued", "Executing", FINISHED})


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
    #: Why the plugin stopped (or tried to stop) the run.
    stop_reason: str | None = None
    #: The request the poller is waiting for about this run, and since when.
    asking: tuple[str, float] | None = None
    #: Whether the poller stopped the run for passing its deadline while a look was stuck.
    overdue_stop: bool = False
    #: Items the controller counts for the run so far, and how many of them failed.
    items_total: int | None = None
    items_failed: int | None = None
    finished_seen_at: float | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    ending: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stopping: threading.Lock = field(default_factory=threading.Lock, repr=False)

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


@dataclass(frozen=True)
class UnansweredTrigger:
    """A runNow that was cut off (Ctrl-C, pytest-timeout) before the controller answered.

    The controller may have made the run anyway: its RunId is unknown.
    """

    request: RunRequest
    schedule: Schedule


@dataclass(frozen=True)
class TriggerOutcome:
    """What became of an unanswered trigger: the run found and stopped, or why not."""

    trigger: UnansweredTrigger
    run_id: str | None
    #: None when the run was found and stopped; else what the plugin could not do.
    problem: str | None


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
        status_client: LeapworkClient | None = None,
    ) -> None:
        self.client = client
        #: Status reads: a client that does not repeat requests itself, so that a 429 or a
        #: silence is seen at once (the next poll asks again anyway).
        self.status_client = status_client or client
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
        self._poll_pool: DaemonPool | None = None
        self._fetch_pool: DaemonPool | None = None
        #: Bounded calls (stops, lookups): daemon threads, so a silent controller never
        #: holds up the end of the process.
        self._calls = DaemonPool("leapwork-call")
        #: RunIds this runner was given, and runNow requests not answered (yet).
        self._known_run_ids: set[str] = set()
        #: RunIds other processes of the session were given (xdist workers' ledgers).
        self.known_elsewhere: Callable[[], set[str]] = set
        self._unanswered: dict[int, UnansweredTrigger] = {}
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
        else:
            schedule = self.schedules.resolve(request.schedule)
        trigger = UnansweredTrigger(request, schedule)
        with self._lock:
            if self._closed:
                raise RuntimeError("runner is closed")
            self._unanswered[id(trigger)] = trigger
        try:
            if request.flow is not None:
                run_id = self.client.run_flow(
                    request.flow.flow_id, request.flow.agent_id, request.variables
                )
            else:
                run_id = self.client.run_now(schedule.id, request.variables)
        except LeapworkError:
            self.forget(trigger)
            raise
        # Anything else (Ctrl-C, pytest-timeout) cut the request off: the trigger stays
        # unanswered, for ``find_and_stop`` to look for the run it may have made.
        with self._lock:
            self._unanswered.pop(id(trigger), None)  # found by ``find_and_stop`` meanwhile?
            self._known_run_ids.add(run_id.lower())
            closed = self._closed
        if closed:  # the session ended while this runNow was on its way
            log.info("stopping run %s: triggered after the session ended", run_id)
            self.stop_run_id(run_id, self._clock() + STOP_GRACE_SECONDS, schedule.title)
            raise RuntimeError("runner is closed")
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
            self._known_run_ids.add(run_id.lower())
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

    def now(self) -> float:
        """The runner's clock (monotonic seconds), which deadlines are counted on."""
        return self._clock()

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
        """Stop a run on the controller and end it with ``reason`` (e.g. ``"interrupted"``).

        Bounded: on a timeout, by the run's deadline plus ``STOP_GRACE_SECONDS``; otherwise by
        ``STOP_GRACE_SECONDS`` from now. A stop already under way elsewhere is waited for.
        """
        if handle.done:
            return
        if not handle.stopping.acquire(blocking=False):
            handle.wait_done(STOP_GRACE_SECONDS)
            return
        try:
            if handle.done:
                return
            now = self._clock()
            until = (max(now, handle.deadline) if reason == "timeout" else now) + STOP_GRACE_SECONDS
            cause = self._silence(handle, now) if reason == "timeout" else None
            handle.stop_reason = reason
            if cause is not None and handle.status == FINISHED:
                # The controller said the run finished; its flows could not be read.
                self._fail(
                    handle,
                    RunLost(
                        f"run {handle.run_id} finished, but the controller gave no usable "
                        f"answer about its flows before its timeout of "
                        f"{handle.request.timeout:g}s passed: {cause}"
                    ),
                )
                return
            handle.stop_error = self.stop_run_id(handle.run_id, until, handle.schedule.title)
            if cause is not None:
                # Nothing usable was heard of the run lately: its outcome is unknown, not
                # a timeout (its flows may well have passed).
                self._fail(
                    handle,
                    RunLost(
                        f"the controller gave no usable answer about run {handle.run_id} "
                        f"before its timeout of {handle.request.timeout:g}s passed: {cause}; "
                        f"{self._stop_outcome(handle)}"
                    ),
                )
                return
            self._collect_after_stop(handle, reason, until)
        finally:
            handle.stopping.release()

    def _silence(self, handle: RunHandle, now: float) -> str | None:
        """Why nothing usable was heard of a run by its deadline, if that is the case."""
        asking = handle.asking
        if asking is not None and now - asking[1] >= SILENCE_SECONDS:
            return f"the controller did not answer {asking[0]} for {now - asking[1]:.1f}s"
        if handle.poll_error is not None:
            return str(handle.poll_error)
        return None

    @staticmethod
    def _stop_outcome(handle: RunHandle) -> str:
        if handle.stop_error is None:
            return "it was stopped"
        return (
            f"it could not be stopped ({handle.stop_error}) and may still be executing on "
            "the controller"
        )

    def status_of(self, run_id: str, until: float) -> str:
        """A run's status, asked before the monotonic time ``until`` at most."""
        return self._within(
            until, partial(self.status_client.run_status, run_id), "GET /run/{id}/status"
        )

    def stop_run_id(self, run_id: str, until: float, title: str = "") -> str | None:
        """Stop a run and make sure it stopped; None, or why it could not be stopped.

        A stop answered ``OperationCompleted: false`` is checked against the run's status
        (a run that ended meanwhile needs no stop) and asked again, ``STOP_ATTEMPTS`` times
        at most, all before the monotonic time ``until``.
        """
        status = "unknown"
        for attempt in range(1, STOP_ATTEMPTS + 1):
            try:
                if self._within(until, lambda: self.client.stop_run(run_id), "PUT /run/{id}/stop"):
                    log.info("stopped run %s of %r", run_id, title)
                    return None
                status = self.status_of(run_id, until)
            except LeapworkError as exc:
                log.warning("could not stop run %s: %s", run_id, exc)
                return str(exc)
            if status == FINISHED:
                return None  # it ended on its own meanwhile
            if attempt < STOP_ATTEMPTS and self._clock() + STOP_PAUSE_SECONDS < until:
                time.sleep(STOP_PAUSE_SECONDS)
            else:
                break
        problem = (
            f"PUT /run/{{id}}/stop answered OperationCompleted false {attempt} times and "
            f"the run still says {status}"
        )
        log.warning("could not stop run %s: %s", run_id, problem)
        return problem

    def _within(self, until: float, call: Callable[[], T], what: str) -> T:
        """``call()``, given until the monotonic time ``until`` at most."""
        try:
            return call_within(self._calls, until - self._clock(), call, what)
        except OutOfTime:
            raise LeapworkError(f"{what}: no answer in time (the controller is silent)") from None

    def stop_all(self, reason: str) -> list[RunHandle]:
        """Stop every run still in flight, concurrently; the handles that had to be stopped."""
        unfinished = [h for h in self.active() if not h.done]
        if not unfinished:
            return []
        pool = DaemonPool("leapwork-stop", max_workers=min(8, len(unfinished)))
        try:
            # Each stop is bounded by its grace: waiting for all of them is bounded too.
            for future in [pool.submit(self.stop, h, reason) for h in unfinished]:
                future.result()
        finally:
            pool.shutdown(wait=False)
        return unfinished

    def unanswered(self, label: str | None = None) -> list[UnansweredTrigger]:
        """runNow requests with no answer: cut off, or still on their way (of test ``label``)."""
        with self._lock:
            triggers = list(self._unanswered.values())
        return [t for t in triggers if label is None or t.request.label == label]

    def forget(self, trigger: UnansweredTrigger) -> None:
        with self._lock:
            self._unanswered.pop(id(trigger), None)

    def find_and_stop(self, trigger: UnansweredTrigger) -> TriggerOutcome:
        """Look for the run an unanswered runNow may have made, and stop it.

        The controller lists a schedule's latest runs (``GET /schedules/{id}/runIds``, newest
        first): the newest one this runner was never given and that has not finished is taken
        for the run of the cut-off trigger. Where the controller does not list runs, or no
        such run shows up within ``LOOKUP_PATIENCE_SECONDS``, the outcome says so (the
        schedule's own status tells whether any run of it is still going).
        """
        self.forget(trigger)
        until = self._clock() + STOP_GRACE_SECONDS
        patience = self._clock() + LOOKUP_PATIENCE_SECONDS
        schedule = trigger.schedule
        if not schedule.id:
            # A flow's temporary schedule is named only in the answer that never came.
            why = "the temporary schedule of a flow run cannot be looked up without its RunId"
            return TriggerOutcome(trigger, None, why)
        while True:
            try:
                run_id = self._unknown_unfinished_run(schedule.id, until)
            except LeapworkError as exc:
                why = f"its runs could not be listed: {exc}"
                return TriggerOutcome(trigger, None, self._still_running(schedule, until, why))
            if run_id is not None:
                with self._lock:
                    self._known_run_ids.add(run_id.lower())
                stopped = self.stop_run_id(run_id, until, schedule.title)
                return TriggerOutcome(trigger, run_id, stopped)
            if self._clock() + 0.2 >= min(patience, until):
                why = "no run of it was found that this session did not know"
                return TriggerOutcome(trigger, None, self._still_running(schedule, until, why))
            time.sleep(0.2)

    def _unknown_unfinished_run(self, schedule_id: str, until: float) -> str | None:
        ids = self._within(
            until, lambda: self.client.schedule_run_ids(schedule_id), "GET /schedules/{id}/runIds"
        )
        elsewhere = {run_id.lower() for run_id in self.known_elsewhere()}
        for run_id in ids:
            with self._lock:
                if run_id.lower() in self._known_run_ids | elsewhere:
                    continue
            if self.status_of(run_id, until) != FINISHED:
                return run_id
        return None

    def _still_running(self, schedule: Schedule, until: float, why: str) -> str | None:
        """None when no run of the schedule is left at all; else what is known (``why``)."""
        try:
            status = self._within(
                until,
                lambda: self.client.schedule_status(schedule.id),
                "GET /schedules/{id}/status",
            )
        except LeapworkError:
            return why
        return None if status == FINISHED else f"{why}, and the schedule says {status}"

    def close(self) -> None:
        """Stop following: nothing is asked or logged from here on; requests still waiting
        for a silent controller are abandoned (daemon threads)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()  # the poller sees ``_closed`` and returns; nothing joins it
        # ``_calls`` stays open: a run whose runNow is answered after this is still stopped.
        for pool in (self._poll_pool, self._fetch_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
        if self.status_client is not self.client:
            self.status_client.close()

    # -- the poller -----------------------------------------------------------------------

    def _ensure_poller(self) -> None:
        if self._thread is None:
            self._poll_pool = DaemonPool("leapwork-poll", self._workers)
            self._fetch_pool = DaemonPool("leapwork-fetch", self._workers)
            self._thread = start_daemon("leapwork-poller", self._loop)

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
                # A look stuck on a silent controller must not keep a run executing past its
                # deadline until a test waits for it: stop it from here (once).
                stuck = [h for h in self._active if h.busy and not h.overdue_stop]
                overdue = [h for h in stuck if now >= h.deadline + DEADLINE_SLACK_SECONDS]
                for handle in overdue:
                    handle.overdue_stop = True
                waits += [h.deadline + DEADLINE_SLACK_SECONDS - now for h in stuck]
            try:
                for handle in due:
                    future = self._poll_pool.submit(self._poll, handle)
                    future.add_done_callback(partial(self._after_poll, handle))
                for handle in overdue:
                    self._calls.submit(self.stop, handle, "timeout")
            except RuntimeError:  # closed meanwhile: its pools refuse new work
                return
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
        if self._closed:
            return  # the session is over: nothing more is asked, or logged
        try:
            self._poll_once(handle)
        except AccessKeyRejected as exc:
            self._fail_and_stop(handle, exc)
        except RunLost as exc:
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
            # run finishes or its timeout passes (asking again when the controller says).
            self._poll_failed(handle, exc)
            if not self._closed:
                log.warning("run %s: %s (still following)", handle.run_id, exc)
        except Exception as exc:  # never let a bug leave a test waiting forever
            if self._closed:
                return
            log.exception("run %s: unexpected error", handle.run_id)
            self._fail_and_stop(
                handle, LeapworkError(f"internal error following run {handle.run_id}: {exc!r}")
            )
        finally:
            handle.asking = None
        if not handle.done and not self._closed:
            now = self._clock()
            if now >= handle.deadline:
                self.stop(handle, "timeout")
            elif handle.next_poll_at <= now:
                delay = poll_delay(now - handle.triggered_at, self.poll_interval)
                handle.next_poll_at = min(now + delay, handle.deadline)

    def _poll_failed(self, handle: RunHandle, error: LeapworkError) -> None:
        """Remember why a look failed; wait as long as the controller asks before the next."""
        handle.poll_error = error
        if isinstance(error, ControllerHTTPError) and error.retry_after:
            handle.next_poll_at = self._clock() + error.retry_after

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
                self._poll_failed(handle, exc)
                return
            if handle.seen and isinstance(exc, NotFound):
                # The controller knew the run and has forgotten it (a restart): final.
                raise RunLost(f"run {handle.run_id} is unknown to the controller: {exc}") from None
            raise
        handle.seen, handle.poll_error = True, None
        handle.status = status
        log.debug("run %s (%s): %s", handle.run_id, handle.schedule.title, status)
        if status not in RUN_STATUSES:
            # Not an answer to act on: keep asking, and say so should the deadline come.
            handle.poll_error = InvalidResponse(
                f"GET /run/{{id}} answered an unknown Status {status!r} (expected Queued, "
                "Executing or Finished)"
            )
            return
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
        handle.asking = ("GET /run/{id}/runItemIds", self._clock())
        ids = self.client.run_item_ids(handle.run_id)
        expected = handle.items_total
        handle.asking = ("GET /runItems/{id} and keyframes", self._clock())
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
        handle.asking = ("GET /run/{id}", self._clock())
        client = self.status_client
        if self._run_summary_supported:
            try:
                summary = client.run_summary(handle.run_id)
            except MethodNotAllowed:
                self._run_summary_supported = False
            except NotFound:
                # The run is not created yet, or there is no such endpoint: ask the status,
                # which raises NotFound again in the first case.
                status = client.run_status(handle.run_id)
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
        return client.run_status(handle.run_id)

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

    def _collect_after_stop(self, handle: RunHandle, reason: str, until: float) -> None:
        """After a stop, collect whatever flows ran, so the report says how far it got."""
        known = list(handle.flows)

        def collect() -> list[str]:
            ids = self.client.run_item_ids(handle.run_id)
            self._fetch_items(handle, ids)
            return ids

        try:
            ids = self._within(until, collect, "collecting the flows after the stop")
        except (LeapworkError, RuntimeError) as exc:  # RuntimeError: the runner was closed
            log.debug("run %s: could not collect flows after stop: %s", handle.run_id, exc)
            ids = known
        self._finish(handle, ids, stopped_reason=reason)

    def _finish(self, handle: RunHandle, ids: list[str], stopped_reason: str | None = None) -> None:
        with handle.ending:
            if handle.done:  # a stop and a poll may race to end the same run
                return
            # A poll can see the end a stop caused before the stop's answer arrives: the run
            # is still the one the plugin stopped.
            self._set_result(handle, ids, stopped_reason or handle.stop_reason)
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

    def _fail_and_stop(self, handle: RunHandle, error: LeapworkError) -> None:
        """End following a run that may still execute: stop it first, and say how that went."""
        handle.stop_reason = "it could not be followed"
        handle.stop_error = self.stop_run_id(
            handle.run_id, self._clock() + STOP_GRACE_SECONDS, handle.schedule.title
        )
        if handle.stop_error is None:
            note = f"; run {handle.run_id} was stopped"
        else:
            note = (
                f"; the plugin can no longer stop run {handle.run_id} ({handle.stop_error}): "
                "it may still be executing on the controller"
            )
        error.args = (f"{error}{note}",)
        self._fail(handle, error)

    def _fail(self, handle: RunHandle, error: LeapworkError) -> None:
        with handle.ending:
            if handle.done:
                return
            handle.error = error
            handle._done.set()
        self._notify(self.on_finished, handle)
