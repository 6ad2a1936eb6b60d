"""Finding the schedule a marker names: by exact title, by folder path (``Folder/Sub/Title``,
from the schedule tree) or by id, in any letter case."""

from __future__ import annotations

import difflib
import logging
import re
import threading
from typing import TYPE_CHECKING

from ..api.errors import (
    LeapworkError,
    MethodNotAllowed,
    NotFound,
    ScheduleAmbiguous,
    ScheduleDisabled,
    ScheduleNotFound,
)
from ..api.models import PlacedSchedule, Schedule

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
    error at once, instead of each waiting through the same retries. The schedule tree
    (``GET /schedules/hierarchy``, the folders) is read only when a reference needs it: a
    folder path, or a title two enabled schedules share (the error says where each is).
    """

    def __init__(self, client: LeapworkClient) -> None:
        self._client = client
        self._schedules: list[Schedule] | None = None
        self._failure: LeapworkError | None = None
        self._lock = threading.Lock()
        self._tree: list[PlacedSchedule] | None = None
        #: Why the folders are not known (no tree endpoint, or it failed): not asked again.
        self._tree_problem: str | None = None
        self._tree_lock = threading.Lock()

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

    def tree(self, refresh: bool = False) -> list[PlacedSchedule] | None:
        """The schedules with their folders; None where the controller does not give them."""
        with self._tree_lock:
            if self._tree_problem is not None:
                return None
            if self._tree is None or refresh:
                try:
                    self._tree = self._client.schedule_hierarchy(within=LIST_SECONDS)
                except (NotFound, MethodNotAllowed):
                    self._tree_problem = (
                        "this controller does not list folders (it has no GET /schedules/hierarchy)"
                    )
                except LeapworkError as exc:
                    if self._tree is None:
                        self._tree_problem = f"the folders could not be read: {exc}"
                    else:  # the tree read before still stands
                        log.warning("could not read the schedule tree again: %s", exc)
            return None if self._tree is None else list(self._tree)

    def prime(self, schedules: list[Schedule], tree: list[PlacedSchedule] | None = None) -> None:
        """Take a listing made another way (the schedule tree) instead of asking for one."""
        with self._lock:
            if self._schedules is None:
                self._schedules = list(schedules)
        if tree is not None:
            with self._tree_lock:
                if self._tree is None and self._tree_problem is None:
                    self._tree = list(tree)

    def resolve(self, reference: str) -> Schedule:
        """The one enabled, non-temporary schedule ``reference`` names, or a clear error.

        An exact title comes first; a reference with ``/`` that is no title is a folder path.
        """
        schedule = self._find(reference)
        if schedule is None:
            # The schedule may have been created after the list was read.
            schedule = self._find(reference, refresh=True)
        if schedule is None:
            raise ScheduleNotFound(self._not_found_message(reference))
        return schedule

    def _find(self, reference: str, refresh: bool = False) -> Schedule | None:
        # Temporary schedules are made by the run-flow API and may share a real schedule's title.
        candidates = [s for s in self.all(refresh) if not s.is_temporary]
        by_path = False
        if looks_like_id(reference):
            wanted = _canonical_id(reference)
            matches = [s for s in candidates if _canonical_id(s.id) == wanted]
        else:
            matches = [s for s in candidates if s.title == reference]
            if not matches and "/" in reference:
                by_path = True
                matches = [
                    p.schedule
                    for p in self.tree(refresh) or ()
                    if not p.schedule.is_temporary and p.path == reference
                ]
        return self._one(reference, matches, by_path)

    def _one(self, reference: str, matches: list[Schedule], by_path: bool) -> Schedule | None:
        if not matches:
            return None
        enabled = [s for s in matches if s.enabled]
        if len(enabled) > 1:
            raise ScheduleAmbiguous(self._ambiguous_message(reference, enabled, by_path))
        return _the_enabled(enabled, matches)

    def _ambiguous_message(self, reference: str, enabled: list[Schedule], by_path: bool) -> str:
        """The ids, each with its folder where the tree says, and how to name one of them."""
        placed = {p.schedule.id.lower(): p for p in self.tree() or ()}
        where = [placed.get(s.id.lower()) for s in enabled]
        ids = ", ".join(
            s.id if p is None else f"{s.id} in {'/'.join(p.folders) or 'no folder'}"
            for s, p in zip(enabled, where, strict=True)
        )
        if by_path:
            return (
                f"{len(enabled)} enabled schedules have the folder path {reference!r} "
                f"(ids {ids}); name the one to run by its id"
            )
        message = (
            f"{len(enabled)} enabled schedules are titled {reference!r} (ids {ids}); "
            "name the one to run by its id"
        )
        paths = [p.path for p in where if p is not None]
        if len(paths) == len(enabled) and len(set(paths)) == len(paths):
            message += " or its folder path (" + " or ".join(repr(p) for p in paths) + ")"
        return message

    def _not_found_message(self, reference: str) -> str:
        schedules = self.all()
        if "/" not in reference or looks_like_id(reference):
            return _not_found_message(reference, schedules)
        tree = self.tree()
        if tree is None:
            return (
                f"no schedule titled {reference!r} on the controller; a folder path needs the "
                f"schedule tree, and {self._tree_problem}: name the schedule by its title or id"
            )
        paths = [p.path for p in tree if not p.schedule.is_temporary]
        return _not_found_message(reference, schedules, paths)


def _the_enabled(enabled: list[Schedule], matches: list[Schedule]) -> Schedule:
    if not enabled:
        schedule = matches[0]
        raise ScheduleDisabled(
            f"schedule {schedule.title!r} ({schedule.id}) is disabled on the controller; "
            "enable it in Leapwork Studio or remove the marker"
        )
    return enabled[0]


def _not_found_message(
    reference: str, schedules: list[Schedule], paths: list[str] | None = None
) -> str:
    titles = sorted({s.title for s in schedules if not s.is_temporary and s.title})
    message = f"no schedule titled {reference!r} on the controller"
    if paths is not None:  # a folder path, and the tree was read
        titles = sorted({*titles, *paths})
        message = f"no schedule titled {reference!r} or at that folder path on the controller"
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
