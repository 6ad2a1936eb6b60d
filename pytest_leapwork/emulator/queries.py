"""What a request's patterns, filters and query variables mean to the controller."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from .errors import INVALID_REQUEST, INVALID_VARIABLE, ApiError
from .scenario import ScheduleSpec

# `isDelete=true` on PUT flows/{id}/agent/{id}: drop the temporary schedule once its run ends.
IS_DELETE = "isdelete"
# GET schedules/{id}/runIds/{filterBy}: documented filters and how far back each reaches.
RUN_ID_FILTERS = (
    "NoFilter", "LastMinute", "LastHour", "LastDay", "LastWeek", "LastMonth", "LastYear",
    "ThisHour", "ThisDay", "ThisWeek", "ThisMonth", "ThisYear", "LastDays",
)  # fmt: skip
_SPANS = {
    "LastMinute": timedelta(minutes=1),
    "LastHour": timedelta(hours=1),
    "LastDay": timedelta(days=1),
    "LastWeek": timedelta(weeks=1),
    "LastMonth": timedelta(days=30),
    "LastYear": timedelta(days=365),
}


def like(value: str, pattern: str) -> bool:
    """SQL LIKE with `%` only, ignoring letter case (as the controller's database compares)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def run_id_filter(filter_by: str) -> str:
    """The documented filter named `filter_by` (any letter case, empty for NoFilter); else 400."""
    by_name = {name.lower(): name for name in RUN_ID_FILTERS}
    name = by_name.get((filter_by or "NoFilter").lower())
    if name is None:
        raise ApiError(400, INVALID_REQUEST)
    return name


def filter_start(name: str, count: int, now: datetime) -> float:
    """Epoch seconds from which a run-id filter keeps runs."""
    if name == "LastDays":
        return (now - timedelta(days=max(count, 0))).timestamp()
    if name in _SPANS:
        return (now - _SPANS[name]).timestamp()
    start = now.replace(minute=0, second=0, microsecond=0)
    if name != "ThisHour":
        start = start.replace(hour=0)
    if name == "ThisWeek":
        start -= timedelta(days=start.weekday())
    elif name == "ThisMonth":
        start = start.replace(day=1)
    elif name == "ThisYear":
        start = start.replace(month=1, day=1)
    return start.timestamp()


def split_is_delete(query: Sequence[tuple[str, str]]) -> tuple[bool, list[tuple[str, str]]]:
    """(whether `isDelete=true` was asked, the query without isDelete)."""
    delete = any(n.lower() == IS_DELETE and v.lower() == "true" for n, v in query)
    return delete, [(name, value) for name, value in query if name.lower() != IS_DELETE]


def check_variables(schedule: ScheduleSpec, query: Sequence[tuple[str, str]]) -> dict[str, str]:
    """runNow's query as variables; 400 for an undeclared, empty or repeated name."""
    declared = None if schedule.variables is None else {n.lower() for n in schedule.variables}
    variables: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in query:
        key = name.lower()
        if not name or key in seen or (declared is not None and key not in declared):
            raise ApiError(400, INVALID_VARIABLE)
        seen.add(key)
        variables[name] = value
    return variables
