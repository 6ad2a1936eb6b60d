"""The markers' arguments and schedule variables, checked strictly.

``leapwork_schedule`` names a schedule; ``leapwork_flow`` names one flow on one agent, which the
controller runs through a temporary schedule (``PUT /api/v4/flows/{flowId}/agent/{agentId}``).

Every mistake is a ``MarkerError`` whose message names the bad argument and how to fix it;
the plugin reports it as the test's setup error. No pytest import here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .runs.schedules import looks_like_id
from .runs.targets import FlowTarget

MARKER = "leapwork_schedule"
MARKER_HELP = (
    f"{MARKER}(schedule, *, variables=None, timeout=None): trigger the Leapwork schedule "
    "(title or id) with these variables, wait for it and fail the test on its flows"
)
# IIS, which hosts the controller, refuses query strings longer than this by default.
MAX_QUERY_LENGTH = 2048
_FORBIDDEN_IN_NAMES = set("&=?#%+/")


class MarkerError(ValueError):
    """A ``leapwork_schedule`` marker or variable set that cannot be used."""


@dataclass(frozen=True)
class ScheduleSpec:
    schedule: str
    variables: dict[str, str]
    timeout: float | None
    #: Set by ``@pytest.mark.leapwork_flow``: one flow on one agent instead of a schedule.
    flow: FlowTarget | None = None

    @property
    def described(self) -> str:
        """``Leapwork schedule 'Title'``, or the flow and agent, for messages."""
        if self.flow is not None:
            return f"Leapwork {self.flow.label}"
        return f"Leapwork schedule {self.schedule!r}"


def parse_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> ScheduleSpec:
    unknown = sorted(set(kwargs) - {"schedule", "variables", "timeout"})
    if unknown:
        noun = "argument" if len(unknown) == 1 else "arguments"
        raise MarkerError(
            f"{MARKER} marker: unknown keyword {noun} {', '.join(unknown)}; "
            "it takes schedule, variables= and timeout="
        )
    if len(args) > 1:
        raise MarkerError(
            f"{MARKER} marker: takes one positional argument (the schedule), got {len(args)}; "
            "pass variables= and timeout= by keyword"
        )
    if args and "schedule" in kwargs:
        raise MarkerError(f"{MARKER} marker: the schedule is given twice")
    if not args and "schedule" not in kwargs:
        raise MarkerError(f"{MARKER} marker: name the schedule, e.g. {MARKER}('Smoke Login')")
    schedule = args[0] if args else kwargs["schedule"]
    if not isinstance(schedule, str):
        kind = type(schedule).__name__
        raise MarkerError(f"{MARKER} marker: the schedule must be a title or id string, got {kind}")
    if not schedule.strip():
        raise MarkerError(
            f"{MARKER} marker: the schedule title is empty; name the schedule by its exact "
            "title or id"
        )
    variables = normalize_variables(kwargs.get("variables"), f"{MARKER} marker variables")
    return ScheduleSpec(schedule.strip(), variables, parse_timeout(kwargs.get("timeout")))


def parse_timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MarkerError(f"{MARKER} marker: timeout must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise MarkerError(f"{MARKER} marker: timeout must be more than 0 seconds, got {value!r}")
    return float(value)


def normalize_variables(variables: Any, where: str) -> dict[str, str]:
    """Variables as the controller gets them: names checked, values as strings."""
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise MarkerError(
            f"{where}: must be a dict of name to value, got {type(variables).__name__}"
        )
    result: dict[str, str] = {}
    for name, value in variables.items():
        check_variable_name(name, where)
        result[name] = variable_value(value)
    return result


def check_variable_name(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise MarkerError(f"{where}: variable names must be strings, got {name!r}")
    if not name.strip():
        raise MarkerError(f"{where}: a variable name is empty")
    # Control characters (a NUL, a line break) included: a controller may cut the name there.
    bad = sorted(
        c for c in set(name) if c in _FORBIDDEN_IN_NAMES or c.isspace() or not c.isprintable()
    )
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise MarkerError(
            f"{where}: variable name {name!r} contains {shown}; Leapwork variable names "
            "are plain words"
        )


def variable_value(value: Any) -> str:
    """``str(value)``; bools as ``true``/``false``, None as empty, lists and dicts as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def check_query_length(variables: Mapping[str, str], where: str) -> None:
    from .api.client import encode_variables  # requests loads only for sessions that run schedules

    length = len(encode_variables(variables))
    if length > MAX_QUERY_LENGTH:
        raise MarkerError(
            f"{where}: the variables make a {length}-character query string; the controller's "
            f"web server refuses more than {MAX_QUERY_LENGTH}. Shorten the values or pass a "
            "reference (a file name, an id) instead of the data"
        )


# -- leapwork_flow ----------------------------------------------------------------------

FLOW_MARKER = "leapwork_flow"
FLOW_MARKER_HELP = (
    f"{FLOW_MARKER}(flow_id, *, agent, variables=None, timeout=None): run one Leapwork flow "
    "(its id) on one agent (its id), wait for it and fail the test on its result"
)
_KEYWORDS = ("flow_id", "agent", "variables", "timeout")


def parse_flow_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> ScheduleSpec:
    """The marker's arguments, checked as strictly as ``leapwork_schedule``'s."""
    unknown = sorted(set(kwargs) - set(_KEYWORDS))
    if unknown:
        raise MarkerError(
            f"{FLOW_MARKER} marker: unknown keyword argument(s) {', '.join(unknown)}; "
            "it takes flow_id, agent=, variables= and timeout="
        )
    if len(args) > 1:
        raise MarkerError(
            f"{FLOW_MARKER} marker: takes one positional argument (the flow id), got "
            f"{len(args)}; pass agent=, variables= and timeout= by keyword"
        )
    if args and "flow_id" in kwargs:
        raise MarkerError(f"{FLOW_MARKER} marker: the flow id is given twice")
    flow_id = args[0] if args else kwargs.get("flow_id")
    flow_id = _guid(flow_id, "the flow id (first argument)", "Copy it from the flow's properties")
    if "agent" not in kwargs:
        raise MarkerError(
            f"{FLOW_MARKER} marker: name the agent to run on, agent='<agent id>' (in Leapwork "
            "Studio: right-click the agent, Get Id)"
        )
    agent_id = _guid(kwargs["agent"], "agent=", "In Leapwork Studio: right-click the agent, Get Id")
    where = f"{FLOW_MARKER} marker variables"
    variables = normalize_variables(kwargs.get("variables"), where)
    try:
        timeout = parse_timeout(kwargs.get("timeout"))
    except MarkerError as exc:
        raise MarkerError(str(exc).replace(MARKER, FLOW_MARKER, 1)) from None
    return ScheduleSpec(flow_id, variables, timeout, flow=FlowTarget(flow_id, agent_id))


def _guid(value: Any, what: str, hint: str) -> str:
    if value is None:
        raise MarkerError(f"{FLOW_MARKER} marker: {what} is missing. {hint}")
    if not isinstance(value, str):
        raise MarkerError(
            f"{FLOW_MARKER} marker: {what} must be an id string, got {type(value).__name__}"
        )
    if not looks_like_id(value):
        raise MarkerError(
            f"{FLOW_MARKER} marker: {what} must be an id (a GUID), got {value!r}; titles are "
            f"not accepted here. {hint}"
        )
    return value.strip().strip("{}")


def flow_spec(schedule_marks: Sequence[Any], flow_marks: Sequence[tuple[Any, Any]]) -> ScheduleSpec:
    """The spec of a test with ``leapwork_flow`` markers; the closest wins, as for schedules."""
    if schedule_marks:
        raise MarkerError(
            f"a test carries either @pytest.mark.{MARKER} or @pytest.mark.{FLOW_MARKER}, not "
            "both (a class or module marker counts too)"
        )
    closest = flow_marks[0][0]
    same_level = [mark for node, mark in flow_marks if node is closest]
    if len(same_level) > 1:
        raise MarkerError(
            f"{FLOW_MARKER} marker: {len(same_level)} markers on one test; a test runs one flow "
            "(parametrize with pytest.param(..., marks=...) to run several)"
        )
    return parse_flow_marker(same_level[0].args, same_level[0].kwargs)
