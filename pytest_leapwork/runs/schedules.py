"""Finding the schedule a marker names: by exact title or by id, in any letter case."""

from __future__ import annotations

import difflib
import logging
import re
import threading
from typing import TYPE_CHECKING

from ..api.errors import LeapworkError, ScheduleAmbiguous, ScheduleDisabled, ScheduleNotFound
from ..api.models import Schedule

if TYPE_CHECKING:
    from ..api.client import LeapworkClient

log = logging.getLogger("pytest_leapwork")

#: Seconds the schedule list may take to arrive, retries included. A controller that hangs
#: on it costs this once per session, not the client's retries times the read timeout per test.
LIST_SECONDS = 90.0

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}\}?$")


def looks_like_id(reference: str) -> bool:
    return bool(_GUID.match(reference.strip()))


def _canonical_id(value: str) -> str:
    return value.strip().strip("{}").replace("-", "").lower()


class ScheduleDirectory:
    """The controller's schedules, listed once per session and again on a miss.

    A list that could not be read is not asked for again: every later test gets the same
    error at once, instead of each waiting through the same retries.
    """

    def __init__(self, client: LeapworkClient) -> None:
        self._client = client
        self._schedules: list[Schedule] | None = None
        self._failure: LeapworkError | None = None
        self._lock = threading.Lock()

    def all(self, refresh: bool = False) -> list[Schedule]:
        with self._lock:
            if self._failure is not None:
                raise self._failure.again()
            if self._schedules is None or refresh:
                try:
                    self._schedules = self._client.list_schedules(within=LIST_SECONDS)
                except LeapworkError as exc:
                    if self._schedules is None:
                        self._failure = exc
                        raise
                    # A second look that failed: the list read before still stands.
                    log.warning("could not read the schedules again: %s", exc)
            return list(self._schedules)

    def prime(self, schedules: list[Schedule]) -> None:
        """Take a listing made another way (the schedule tree) instead of asking for one."""
        with self._lock:
            if self._schedules is None:
                self._schedules = list(schedules)

    def resolve(self, reference: str) -> Schedule:
        """The one enabled, non-temporary schedule ``reference`` names, or a clear error."""
        schedule = _match(reference, self.all())
        if schedule is None:
            # The schedule may have been created after the list was read.
            schedule = _match(reference, self.all(refresh=True))
        if schedule is None:
            raise ScheduleNotFound(_not_found_message(reference, self.all()))
        return schedule


def _match(reference: str, schedules: list[Schedule]) -> Schedule | None:
    # Temporary schedules are made by the run-flow API and may share a real schedule's title.
    candidates = [s for s in schedules if not s.is_temporary]
    if looks_like_id(reference):
        wanted = _canonical_id(reference)
        matches = [s for s in candidates if _canonical_id(s.id) == wanted]
    else:
        matches = [s for s in candidates if s.title == reference]
    if not matches:
        return None
    enabled = [s for s in matches if s.enabled]
    if len(enabled) > 1:
        ids = ", ".join(s.id for s in enabled)
        raise ScheduleAmbiguous(
            f"{len(enabled)} enabled schedules are titled {reference!r} (ids {ids}); "
            "name the one to run by its id"
        )
    if not enabled:
        schedule = matches[0]
        raise ScheduleDisabled(
            f"schedule {schedule.title!r} ({schedule.id}) is disabled on the controller; "
            "enable it in Leapwork Studio or remove the marker"
        )
    return enabled[0]


def _not_found_message(reference: str, schedules: list[Schedule]) -> str:
    titles = sorted({s.title for s in schedules if not s.is_temporary and s.title})
    message = f"no schedule titled {reference!r} on the controller"
    if looks_like_id(reference):
        message = f"no schedule with id {reference!r} on the controller"
    same_but_case = [t for t in titles if t.lower() == reference.lower()]
    close = same_but_case or difflib.get_close_matches(reference, titles, n=3, cutoff=0.6)
    if close:
        message += "; did you mean " + " or ".join(repr(t) for t in close) + "?"
        if same_but_case:
            message += " (titles are matched exactly, ids in any letter case)"
    else:
        message += " (run `pytest --leapwork-schedules` to list them)"
    return message
