"""Recovery of a cut-off runNow: the run it may have made is found and stopped.

A runNow cut off before its answer (Ctrl-C, pytest-timeout) may have made a run whose RunId
nobody knows. ``KnownRuns`` remembers every RunId the runner was given and every runNow not
answered (yet); ``Recovery`` looks for the newest run of the schedule that nobody was given.
No pytest import here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..api.errors import LeapworkError
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


class Recovery:
    """Finds and stops the run an unanswered runNow may have made."""

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

    def find_and_stop(
        self, trigger: UnansweredTrigger, elsewhere: Callable[[], set[str]]
    ) -> TriggerOutcome:
        """Look for the run an unanswered runNow may have made, and stop it.

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
        while True:
            try:
                run_id = self._unknown_unfinished_run(schedule.id, until, elsewhere)
            except LeapworkError as exc:
                why = f"its runs could not be listed: {exc}"
                return TriggerOutcome(trigger, None, self._still_running(schedule, until, why))
            if run_id is not None:
                self._known.given(run_id)
                stopped = self._calls.stop_run_id(run_id, until, schedule.title)
                return TriggerOutcome(trigger, run_id, stopped)
            if self._clock() + 0.2 >= min(patience, until):
                why = "no run of it was found that this session did not know"
                return TriggerOutcome(trigger, None, self._still_running(schedule, until, why))
            time.sleep(0.2)

    def _unknown_unfinished_run(
        self, schedule_id: str, until: float, elsewhere: Callable[[], set[str]]
    ) -> str | None:
        ids = self._calls.within(
            until, lambda: self.client.schedule_run_ids(schedule_id), "GET /schedules/{id}/runIds"
        )
        others = {run_id.lower() for run_id in elsewhere()}
        for run_id in ids:
            if self._known.knows(run_id, others):
                continue
            if self._calls.status_of(run_id, until) != FINISHED:
                return run_id
        return None

    def _still_running(self, schedule: Schedule, until: float, why: str) -> str | None:
        """None when no run of the schedule is left at all; else what is known (``why``)."""
        try:
            status = self._calls.within(
                until,
                lambda: self.client.schedule_status(schedule.id),
                "GET /schedules/{id}/status",
            )
        except LeapworkError:
            return why
        return None if status == FINISHED else f"{why}, and the schedule says {status}"
