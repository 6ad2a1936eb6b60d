"""A run's life on the controller: trigger, follow, collect, stop. ``Runner`` is the front.

The rooms behind it each do one job: ``poller`` follows every run in flight from one thread,
``collecting`` reads a finished run's flows and ends its handle, ``stopping`` stops runs with
every call bounded, ``recovery`` finds the run of a cut-off runNow; ``handle`` holds the data
and ``bounds`` every wait. No pytest import here: a script can drive runs the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..api.errors import LeapworkError
from ..api.models import LeapworkRun, Schedule
from .bounds import (
    DEADLINE_SLACK_SECONDS,
    LATE_ITEMS_GRACE_SECONDS,
    LATE_ITEMS_SETTLE_SECONDS,
    LOOKUP_PATIENCE_SECONDS,
    RUN_STATUSES,
    SILENCE_SECONDS,
    START_GRACE_SECONDS,
    STOP_ATTEMPTS,
    STOP_GRACE_SECONDS,
    STOP_PAUSE_SECONDS,
    WAIT_SLICE_SECONDS,
)
from .cadence import poll_delay
from .calls import BoundedCalls
from .collecting import Collector, Listeners, notify
from .handle import RunHandle, RunRequest, TriggerOutcome, UnansweredTrigger
from .poller import Poller, collect_by
from .recovery import KnownRuns, Recovery
from .schedules import ScheduleDirectory
from .stopping import RunStopper

if TYPE_CHECKING:  # requests is imported only once a run is made
    from ..api.client import LeapworkClient

__all__ = [
    "DEADLINE_SLACK_SECONDS",
    "LATE_ITEMS_GRACE_SECONDS",
    "LATE_ITEMS_SETTLE_SECONDS",
    "LOOKUP_PATIENCE_SECONDS",
    "RUN_STATUSES",
    "SILENCE_SECONDS",
    "START_GRACE_SECONDS",
    "STOP_ATTEMPTS",
    "STOP_GRACE_SECONDS",
    "STOP_PAUSE_SECONDS",
    "WAIT_SLICE_SECONDS",
    "RunHandle",
    "RunRequest",
    "Runner",
    "TriggerOutcome",
    "UnansweredTrigger",
]

log = logging.getLogger("pytest_leapwork")


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
        self._clock = clock
        self._closed = False
        #: RunIds other processes of the session were given (xdist workers' ledgers).
        self.known_elsewhere: Callable[[], set[str]] = set
        #: Called with each run once it is triggered, and once it has ended (any way).
        self.on_started: Listeners = []
        self.on_finished: Listeners = []
        #: Called once the controller says a run finished, before its flows are collected:
        #: the run no longer occupies the controller, so a window may start the next one.
        self.on_end_noticed: Listeners = []
        self._known = KnownRuns()
        self._calls = BoundedCalls(client, self.status_client, clock)
        self._collector = Collector(
            client,
            self._calls,
            clock,
            self.on_finished,
            done_counts_as_passed=done_counts_as_passed,
            keyframes_for_passed=keyframes_for_passed,
        )
        self._stopper = RunStopper(self._calls, self._collector, clock)
        self._poller = Poller(
            status_client=self.status_client,
            collector=self._collector,
            stopper=self._stopper,
            calls=self._calls,
            clock=clock,
            poll_interval=poll_interval,
            workers=workers,
            on_end_noticed=self.on_end_noticed,
        )
        self._recovery = Recovery(client, self._calls, self._known, clock)

    @property
    def poll_interval(self) -> float:
        return self._poller.poll_interval

    @property
    def done_counts_as_passed(self) -> bool:
        return self._collector.done_counts_as_passed

    @property
    def keyframes_for_passed(self) -> bool:
        return self._collector.keyframes_for_passed

    # -- triggering and following ---------------------------------------------------------

    def start(self, request: RunRequest) -> RunHandle:
        """Resolve the schedule and trigger it; the handle is then followed in the background."""
        if request.flow is not None:
            schedule = request.flow.temporary_schedule()
        else:
            schedule = self.schedules.resolve(request.schedule)
        if self._closed:
            raise RuntimeError("runner is closed")
        # The schedule's runs just before the runNow: should it be cut off, the run it made
        # is told from another session's by not being among them (one bounded GET).
        before = None if request.flow is not None else self._recovery.snapshot(schedule)
        trigger = UnansweredTrigger(request, schedule, before)
        self._known.asked(trigger)
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
        self._known.answered(trigger, run_id)
        if self._closed:  # the session ended while this runNow was on its way
            log.info("stopping run %s: triggered after the session ended", run_id)
            self.stop_run_id(run_id, self._clock() + STOP_GRACE_SECONDS, schedule.title)
            raise RuntimeError("runner is closed")
        now = self._clock()
        handle = RunHandle(request=request, schedule=schedule, run_id=run_id, triggered_at=now)
        handle.next_poll_at = now + poll_delay(0.0, self.poll_interval)
        log.info("triggered %r (%s) as run %s", schedule.title, request.label or "-", run_id)
        self._poller.follow(handle)
        notify(self.on_started, handle)
        return handle

    def adopt(self, request: RunRequest, schedule: Schedule, run_id: str, age: float) -> RunHandle:
        """Follow a run triggered elsewhere ``age`` seconds ago (by another xdist worker)."""
        now = self._clock()
        handle = RunHandle(request, schedule, run_id, triggered_at=now - age)
        handle.next_poll_at = now
        self._known.given(run_id)
        if self._closed:
            raise RuntimeError("runner is closed")
        self._poller.follow(handle)
        notify(self.on_started, handle)
        return handle

    def release(self, handle: RunHandle) -> None:
        """Stop following a run without stopping it: another process follows it now."""
        self._poller.release(handle)

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
        return self._poller.active()

    def wait(
        self, handle: RunHandle, on_tick: Callable[[RunHandle], None] | None = None
    ) -> LeapworkRun:
        """Block until the run ended; the run, or the error that ended following it.

        Waits in short slices so that Ctrl-C reaches the main thread at once, calling
        ``on_tick`` after each (progress display). Should the poller be stuck on a controller
        that does not answer, the run is stopped from here once its deadline has passed, or
        given up once it was seen Finished ``COLLECT_SECONDS`` ago.
        """
        while not handle.wait_done(WAIT_SLICE_SECONDS):
            if on_tick is not None:
                on_tick(handle)
            now = self._clock()
            if now >= handle.deadline + DEADLINE_SLACK_SECONDS:
                self.stop(handle, "timeout")
            elif handle.finished_seen_at is not None and (
                now >= collect_by(handle) + DEADLINE_SLACK_SECONDS
            ):
                # Seen Finished, yet its flows never came (whatever the poller is up to):
                # no test waits on a finished run past the bound of collecting it.
                self._poller.give_up_collecting(handle)
        return handle.outcome()

    def _poll(self, handle: RunHandle) -> None:
        """One look at ``handle`` now, on the calling thread (a fake clock's tests step it)."""
        self._poller.poll(handle)

    # -- stopping -------------------------------------------------------------------------

    def stop(self, handle: RunHandle, reason: str) -> None:
        """Stop a run on the controller and end it with ``reason`` (e.g. ``"interrupted"``).

        Bounded: on a timeout, by the run's deadline plus ``STOP_GRACE_SECONDS``; otherwise by
        ``STOP_GRACE_SECONDS`` from now. A stop already under way elsewhere is waited for.
        """
        self._stopper.stop(handle, reason)

    def status_of(self, run_id: str, until: float) -> str:
        """A run's status, asked before the monotonic time ``until`` at most."""
        return self._calls.status_of(run_id, until)

    def stop_run_id(self, run_id: str, until: float, title: str = "") -> str | None:
        """Stop a run and make sure it stopped; None, or why it could not be stopped.

        A stop answered ``OperationCompleted: false`` is checked against the run's status
        (a run that ended meanwhile needs no stop) and asked again, ``STOP_ATTEMPTS`` times
        at most, all before the monotonic time ``until``.
        """
        return self._calls.stop_run_id(run_id, until, title)

    def stop_all(self, reason: str) -> list[RunHandle]:
        """Stop every run still in flight, concurrently; the handles that had to be stopped."""
        unfinished = [h for h in self.active() if not h.done]
        if unfinished:
            self._stopper.stop_all(unfinished, reason)
        return unfinished

    # -- cut-off triggers -----------------------------------------------------------------

    def unanswered(self, label: str | None = None) -> list[UnansweredTrigger]:
        """runNow requests with no answer: cut off, or still on their way (of test ``label``)."""
        triggers = self._known.unanswered()
        return [t for t in triggers if label is None or t.request.label == label]

    def forget(self, trigger: UnansweredTrigger) -> None:
        self._known.forget(trigger)

    def find_and_stop(self, trigger: UnansweredTrigger) -> TriggerOutcome:
        """Look for the run an unanswered runNow made, and stop it; or name what is known.

        The controller lists a schedule's latest runs (``GET /schedules/{id}/runIds``, newest
        first). A run that was not among them just before the runNow was sent, and that no
        process of the session was given, is the cut-off trigger's where it is the only one:
        it is stopped. Several such runs, or no list from before the runNow, and nothing is
        stopped (another session may run the schedule too): the outcome names the unfinished
        candidates. Where the controller does not list runs, or no such run shows up within
        ``LOOKUP_PATIENCE_SECONDS`` (404s and 500s asked again meanwhile), the outcome says so
        with the schedule's own status: a cut-off runNow ends stopped or named, never silent.
        """
        return self._recovery.find_and_stop(trigger, lambda: self.known_elsewhere())

    def close(self) -> None:
        """Stop following: nothing is asked or logged from here on; requests still waiting
        for a silent controller are abandoned (daemon threads)."""
        if self._closed:
            return
        self._closed = True
        # The bounded calls stay open: a run whose runNow is answered after this is stopped.
        self._poller.close()
        self.client.close()
        if self.status_client is not self.client:
            self.status_client.close()
