"""``@pytest.mark.leapwork_flow``: run one flow on one agent, without a schedule for it.

The controller runs it through a temporary schedule (``PUT /api/v4/flows/{flowId}/agent/
{agentId}``, which answers a RunId like runNow); from there the run is followed, stopped and
reported like any schedule's. No pytest import here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .api.models import TEMPORARY, Schedule
from .marker import MARKER, MarkerError, ScheduleSpec, normalize_variables, parse_timeout
from .runs.schedules import looks_like_id

FLOW_MARKER = "leapwork_flow"
FLOW_MARKER_HELP = (
    f"{FLOW_MARKER}(flow_id, *, agent, variables=None, timeout=None): run one Leapwork flow "
    "(its id) on one agent (its id), wait for it and fail the test on its result"
)
_KEYWORDS = ("flow_id", "agent", "variables", "timeout")


@dataclass(frozen=True)
class FlowTarget:
    """The flow and the agent of a ``leapwork_flow`` run."""

    flow_id: str
    agent_id: str

    @property
    def label(self) -> str:
        return f"flow {self.flow_id} on agent {self.agent_id}"

    def temporary_schedule(self) -> Schedule:
        """What stands for the schedule the controller makes for the run."""
        return Schedule(id="", title=self.label, type=TEMPORARY)


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
