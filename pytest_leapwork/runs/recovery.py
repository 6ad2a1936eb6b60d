"""Recovery of a cut-off runNow: the run it made is found and stopped, or named.

A runNow cut off before its answer (Ctrl-C, pytest-timeout) may have made a run whose RunId
nobody knows. ``KnownRuns`` remembers every RunId the runner was given and every runNow not
answered (yet). Each runNow is preceded by a look at the schedule's runs (``snapshot``); a
run that shows up after it, that nobody in the session was given, is the cut-off runNow's
only where it is the one such run. Another session's run of the same schedule (another CI
job) is never stopped on a guess: where the session cannot tell, it stops nothing and names
the schedule and the candidates. No pytest import here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..api.errors import ControllerHTTPError, ControllerUnreachable, LeapworkError
from ..api.models import FINISHED, Schedule
from . import bounds
from .handle import TriggerOutcome, UnansweredTrigger

if TYPE_CHECKING:
    from ..api.client import LeapworkClient
    from .calls import BoundedCalls


class KnownRuns:
    """RunIds this runner was given, and the runNow requests not answered (yet)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run_ids: set[str] = set()
        self._unanswered: dict[int, UnansweredTrigger] = {}

    def given(self, run_id: str) -> None:
        with self._lock:
            self._run_ids.add(run_id.lower())

    def knows(self, run_id: str, elsewhere: set[str]) -> bool:
        with self._lock:
            return run_id.lower() in self._run_ids | elsewhere

    def asked(self, trigger: UnansweredTrigger) -> None:
        with self._lock:
            self._unanswered[id(trigger)] = trigger

    def answered(self, trigger: UnansweredTrigger, run_id: str) -> None:
        """The controller answered ``trigger`` (or ``find_and_stop`` found its run meanwhile)."""
        with self._lock:
            self._unanswered.pop(id(trigger), None)
            self._run_ids.add(run_id.lower())

    def forget(self, trigger: UnansweredTrigger) -> None:
        with self._lock:
            self._unanswered.pop(id(trigger), None)

    def unanswered(self) -> list[UnansweredTrigger]:
        with self._lock:
            return list(self._unanswered.values())


#: Answers that right after a runNow mean "not yet", not "gone": the main path reads a run's
#: 404 or 500 in its first seconds the same way (``bounds.START_GRACE_SECONDS``).
TRANSIENT_STATUSES = frozenset({404, 448, 455, 500, 502, 503, 504})
#: Pause between two looks at the schedule's runs.
LOOK_PAUSE_SECONDS = 0.2


def transient(error: LeapworkError) -> bool:
    """Whether asking again may well get another answer (see ``TRANSIENT_STATUSES``)."""
    if isinstance(error, ControllerHTTPError):
        return error.status in TRANSIENT_STATUSES
    return isinstance(error, ControllerUnreachable)


class Recovery:
    """Finds and stops the run an unanswered runNow made, where it can tell which it is."""

    def __init__(
        self,
        client: LeapworkClient,
        calls: BoundedCalls,
        known: KnownRuns,
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self._calls = calls
        self._known = known
        self._clock = clock

    def snapshot(self, schedule: Schedule) -> frozenset[str] | None:
        """The schedule's RunIds now, read just before a runNow; None where they cannot be.

        One GET, bounded by ``SNAPSHOT_SECONDS`` and never repeated: on a controller in
        trouble the runNow goes out without it (a cut-off one is then named, not stopped).
        """
        if not schedule.id:
            return None
        try:
            ids = self._calls.within(
                self._clock() + bounds.SNAPSHOT_SECONDS,
                lambda: self._calls.status_client.schedule_run_ids(schedule.id),
                "GET /schedules/{id}/runIds",
            )
        except LeapworkError:
            return None
        return frozenset(run_id.lower() for run_id in ids)

    def find_and_stop(
        self, trigger: UnansweredTrigger, elsewhere: Callable[[], set[str]]
    ) -> TriggerOutcome:
        """Look for the run an unanswered runNow made, and stop it; or say why not.

        ``elsewhere`` gives the RunIds other processes of the session were given so far (read
        at each look). See ``Runner.find_and_stop``.
        """
        self._known.forget(trigger)
        until = self._clock() + bounds.STOP_GRACE_SECONDS
        patience = self._clock() + bounds.LOOKUP_PATIENCE_SECONDS
        schedule = trigger.schedule
        if not schedule.id:
            # A flow's temporary schedule is named only in the answer that never came.
            why = "the temporary schedule of a flow run cannot be looked up without its RunId"
            return TriggerOutcome(trigger, None, why)
        problem: LeapworkError | None = None
        while True:
            try:
                new = self._new_runs(trigger, until, elsewhere)
            except LeapworkError as exc:
                if not transient(exc):
                    why = f"its runs could not be listed: {exc}"
                    return TriggerOutcome(trigger, None, self._named(schedule, until, why))
                problem = exc  # a 404 or 500 right after runNow: ask again
            else:
                problem = None
                if trigger.before is not None and len(new) == 1:
                    # The one run made since the runNow was sent: this session's.
                    [run_id] = new
                    self._known.given(run_id)
                    return TriggerOutcome(trigger, run_id, self._stop(run_id, until, schedule))
                if new:
                    return TriggerOutcome(trigger, None, self._ambiguous(trigger, new, until))
            if self._clock() + LOOK_PAUSE_SECONDS >= min(patience, until):
                break
            time.sleep(LOOK_PAUSE_SECONDS)
        if problem is not None:
            why = f"its runs could not be listed: {problem}"
        else:
            why = (
                f"no run of it showed up within {bounds.LOOKUP_PATIENCE_SECONDS:g}s "
                "(the controller may still make it)"
            )
        return TriggerOutcome(trigger, None, self._named(schedule, until, why))

    def _new_runs(
        self, trigger: UnansweredTrigger, until: float, elsewhere: Callable[[], set[str]]
    ) -> list[str]:
        """The schedule's runs, newest first, that neither the session nor ``before`` knows."""
        schedule_id = trigger.schedule.id
        ids = self._calls.within(
            until, lambda: self.client.schedule_run_ids(schedule_id), "GET /schedules/{id}/runIds"
        )
        others = {run_id.lower() for run_id in elsewhere()}
        before = trigger.before or frozenset()
        return [
            run_id
            for run_id in ids
            if run_id.lower() not in before and not self._known.knows(run_id, others)
        ]

    def _ambiguous(self, trigger: UnansweredTrigger, new: list[str], until: float) -> str:
        """Several runs may be the cut-off runNow's (or, without ``before``, any may be
        another session's): none is stopped; the unfinished ones are named."""
        unfinished = [run_id for run_id in new if self._status(run_id, until) != FINISHED]
        if trigger.before is None:
            cause = "the schedule's runs before the runNow could not be read"
        else:
            cause = f"{len(new)} runs of the schedule were made since the runNow was sent"
        listed = ", ".join(unfinished) if unfinished else "none of them is still running"
        return (
            f"{cause}, so it cannot be told which is its own (another session may run the "
            f"schedule too) and none was stopped; unfinished candidates: {listed}"
        )

    def _status(self, run_id: str, until: float) -> str:
        """A run's status, a transient answer asked again; "unknown" where none comes."""
        while True:
            try:
                return self._calls.status_of(run_id, until)
            except LeapworkError as exc:
                if not transient(exc) or self._clock() + LOOK_PAUSE_SECONDS >= until:
                    return "unknown"
            time.sleep(LOOK_PAUSE_SECONDS)

    def _stop(self, run_id: str, until: float, schedule: Schedule) -> str | None:
        """Stop the run found, once the controller shows it: a 404 or 500 on its status
        right after runNow is asked again until ``until``, as the main path does."""
        if self._status(run_id, until) == FINISHED:
            return None  # it ended on its own: nothing left to stop
        return self._calls.stop_run_id(run_id, until, schedule.title)

    def _named(self, schedule: Schedule, until: float, why: str) -> str:
        """What is known of a run that was neither found nor can be ruled out (never None:
        a cut-off runNow ends stopped or named, never silent)."""
        try:
            status = self._calls.within(
                until,
                lambda: self.client.schedule_status(schedule.id),
                "GET /schedules/{id}/status",
            )
        except LeapworkError:
            return why
        return f"{why}, and the schedule says {status}"
