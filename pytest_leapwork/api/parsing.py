"""Tolerant parsing of the controller's JSON into the models.

The controller's answers vary between versions and documentation: ``RunId``/``runId``,
``FlowInfo.Status`` or a top-level ``Status``, ``AgentInfo.AgentTitle``/``EnvironmentTitle``
or v3 ``EnvironmentInfo``, ``Pass`` for ``Passed``. Every parser here accepts all of them
and ignores Json.NET ``$id`` keys; an answer of another shape is an ``InvalidResponse`` that
says what was expected. No pytest import here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import InvalidResponse
from .limits import MAX_KEYFRAMES, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS, cut, is_guid
from .models import (
    FlowResult,
    Keyframe,
    PlacedSchedule,
    RunSummary,
    Schedule,
)


def _get(data: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` present in ``data`` (exact, then case-insensitive)."""
    for name in names:
        if name in data:
            return data[name]
    lowered = {key.lower(): value for key, value in data.items() if isinstance(key, str)}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _require_object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidResponse(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _text(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, Mapping):  # e.g. a Json.NET date object {"Value": "..."}
        return _text(_get(value, "Value"), default)
    return str(value)


def _title(value: Any, default: str = "") -> str:
    """A title, status or name as shown: cut, with a note, where a controller sends megabytes."""
    return cut(_text(value, default), MAX_TITLE_CHARS)


def _id(value: Any, what: str) -> str:
    """An id that will go into a request path: a GUID, or the answer is refused."""
    text = _text(value)
    if not is_guid(text):
        raise InvalidResponse(f"{what} {cut(text, 80)!r} is not a GUID")
    return text


def parse_schedules(data: Any) -> list[Schedule]:
    if not isinstance(data, list):
        raise InvalidResponse(f"schedule list: expected a JSON array, got {type(data).__name__}")
    schedules = []
    for entry in data:
        entry = _require_object(entry, "schedule list entry")
        schedule_id = _text(_get(entry, "Id", "ScheduleId"))
        if not schedule_id:
            continue
        enabled = _get(entry, "IsEnabled")
        schedules.append(
            Schedule(
                id=schedule_id,
                title=_title(_get(entry, "Title")),
                # A missing IsEnabled is treated as enabled: the controller decides at runNow.
                enabled=enabled is not False and str(enabled).lower() != "false",
                type=_title(_get(entry, "Type"), "ScheduleInfo"),
            )
        )
    return schedules


def parse_run_id(data: Any) -> str:
    run_id = _text(_get(_require_object(data, "runNow answer"), "RunId", "AutomationRunId"))
    if not run_id:
        raise InvalidResponse("runNow answer has no RunId")
    return _id(run_id, "runNow answer: RunId")


def parse_declared_variables(data: Any) -> list[str] | None:
    """The variable names of ``GET /schedules/{id}``, or None where the answer lists none.

    The documented schedule object has no variables field; a controller that adds one
    (``Variables`` as names, ``{"Name": ...}`` objects or a name-to-value object) is read.
    """
    detail = data[0] if isinstance(data, list) and data else data
    if not isinstance(detail, Mapping):
        return None
    value = _get(detail, "Variables", "ScheduleVariables")
    if isinstance(value, Mapping):
        entries: list[Any] = [key for key in value if key != "$id"]
    elif isinstance(value, list):
        entries = value
    else:
        return None
    names = []
    for entry in entries:
        if isinstance(entry, Mapping):
            entry = _get(entry, "Name", "Key", "Title")
        name = _text(entry)
        if name:
            names.append(name)
    return names


def parse_status(data: Any) -> str:
    # Clients of every vendor treat a missing Status as Queued.
    return _title(_get(_require_object(data, "run status"), "Status"), "Queued")


def parse_operation_completed(data: Any) -> bool:
    # Documented as a string, sent as a bool.
    completed = _get(_require_object(data, "stop answer"), "OperationCompleted")
    return completed is True or str(completed).lower() == "true"


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def parse_run_summary(data: Any) -> RunSummary:
    summary = _require_object(data, "run summary")
    status = _get(summary, "Status")
    schedule = _get(summary, "Schedule")
    schedule = schedule if isinstance(schedule, Mapping) else {}
    return RunSummary(
        status=_title(status) or None,
        total=_count(_get(summary, "Total")),
        failed=_count(_get(summary, "Failed")),
        schedule_id=_text(_get(schedule, "ScheduleId", "Id")) or None,
        schedule_title=_text(_get(schedule, "ScheduleTitle", "Title")) or None,
    )


def parse_run_item_ids(data: Any) -> list[str]:
    value = _get(_require_object(data, "run item ids"), "RunItemIds", "RunItemsIds")
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidResponse("RunItemIds: expected a JSON array")
    return [_id(item, "RunItemIds: run item id") for item in value]


def parse_schedule_run_ids(data: Any) -> list[str]:
    """``{"runIds": [...]}``, as the documentation shows it (any letter case)."""
    value = _get(_require_object(data, "schedule run ids"), "RunIds")
    if not isinstance(value, list):
        raise InvalidResponse("runIds: expected a JSON array")
    return [_id(item, "runIds: run id") for item in value]


_ELAPSED = re.compile(r"^(?:(\d+)\.)?(\d+):(\d\d):(\d\d(?:\.\d+)?)$")


def parse_elapsed(text: str) -> float:
    """Seconds of a .NET TimeSpan string such as ``00:00:24.9951204`` or ``1.02:03:04``."""
    match = _ELAPSED.match(text.strip())
    if not match:
        return 0.0
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _elapsed_seconds(item: Mapping[str, Any]) -> float:
    # ElapsedSeconds is seconds; ElapsedMilliseconds is not (two vendor plugins report it as
    # seconds, a 1000x error). Fall back to the TimeSpan text, then to milliseconds / 1000.
    seconds = _get(item, "ElapsedSeconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return float(seconds)
    elapsed = _get(item, "Elapsed")
    if isinstance(elapsed, str) and _ELAPSED.match(elapsed.strip()):
        return parse_elapsed(elapsed)
    millis = _get(item, "ElapsedMilliseconds")
    if isinstance(millis, (int, float)) and not isinstance(millis, bool):
        return float(millis) / 1000.0
    return 0.0


def parse_run_item(data: Any, run_item_id: str = "") -> FlowResult:
    item = _require_object(data, "run item")
    flow_info = _get(item, "FlowInfo")
    flow_info = flow_info if isinstance(flow_info, Mapping) else {}
    # FlowInfo.Status is what the documentation and most clients read; some read a
    # top-level Status. An item with neither has no status yet.
    status = _title(_get(flow_info, "Status")) or _title(_get(item, "Status")) or "NoStatus"
    if status == "Pass":
        status = "Passed"
    agent_info = _get(item, "AgentInfo")
    if not isinstance(agent_info, Mapping):
        agent_info = _get(item, "EnvironmentInfo")
    agent_info = agent_info if isinstance(agent_info, Mapping) else {}
    agent = _title(_get(agent_info, "AgentTitle")) or _title(_get(agent_info, "EnvironmentTitle"))
    agent_id = _text(_get(agent_info, "AgentId", "EnvironmentId"))
    answered_id = _text(_get(item, "RunItemId"))
    return FlowResult(
        title=_title(_get(flow_info, "FlowTitle"))
        or _title(_get(item, "FlowTitle"), "(untitled flow)"),
        status=status,
        elapsed=_elapsed_seconds(item),
        agent=agent,
        # Only a GUID is kept: the id goes into the keyframes request's path.
        run_item_id=answered_id if is_guid(answered_id) else run_item_id,
        flow_id=_title(_get(flow_info, "FlowId")),
        # Only a GUID is kept: the id goes into the rerun request's path.
        agent_id=agent_id if is_guid(agent_id) else "",
    )


def parse_keyframes(data: Any) -> list[Keyframe]:
    if not isinstance(data, list):
        raise InvalidResponse(f"keyframes: expected a JSON array, got {type(data).__name__}")
    keyframes = []
    for entry in data:
        entry = _require_object(entry, "keyframe")
        block = _get(entry, "BlockTitle")
        keyframes.append(
            Keyframe(
                timestamp=_title(_get(entry, "Timestamp")),
                # A keyframe without a level is treated as Trace, as the vendor clients do.
                level=_title(_get(entry, "Level"), "Trace"),
                block_title=_title(block) or None,
                message=cut(_text(_get(entry, "LogMessage", "Message")), MAX_MESSAGE_CHARS),
            )
        )
    return _bounded(keyframes)


def _bounded(keyframes: list[Keyframe]) -> list[Keyframe]:
    """At most ``MAX_KEYFRAMES``: Trace ones go first, then the middle, with a note."""
    if len(keyframes) <= MAX_KEYFRAMES:
        return keyframes
    kept = [k for k in keyframes if not k.is_silent]
    if len(kept) <= MAX_KEYFRAMES:
        return kept
    head, tail = MAX_KEYFRAMES // 2, MAX_KEYFRAMES // 2 - 1
    note = Keyframe(
        timestamp="",
        level="Info",
        block_title=None,
        message=f"[... {len(kept) - head - tail:,} keyframes cut: {len(kept):,} in all]",
    )
    return [*kept[:head], note, *kept[-tail:]]


#: Node types of the hierarchy that hold schedules rather than being one.
_CONTAINER_TYPES = frozenset({"folder", "runlist"})
#: The documentation nests parents up to 10 levels; more is a loop.
_MAX_HIERARCHY_DEPTH = 64


def _parents(node: Mapping[str, Any]) -> tuple[str, ...]:
    """Titles of a hierarchy node's ancestors, outermost first."""
    titles: list[str] = []
    current: Any = node
    for _ in range(_MAX_HIERARCHY_DEPTH):
        parents = _get(current, "Parent")
        if isinstance(parents, Mapping):
            parents = [parents]
        if not isinstance(parents, list) or not parents or not isinstance(parents[0], Mapping):
            break
        current = parents[0]
        titles.append(_title(_get(current, "Title")))
    return tuple(reversed([t for t in titles if t]))


def parse_schedule_hierarchy(data: Any) -> list[PlacedSchedule]:
    """Every schedule of the tree with its folder path; folders and run lists themselves dropped."""
    if not isinstance(data, list):
        raise InvalidResponse(
            f"schedule hierarchy: expected a JSON array, got {type(data).__name__}"
        )
    placed = []
    for entry in data:
        entry = _require_object(entry, "schedule hierarchy entry")
        node = _get(entry, "ScheduleHierarchy")
        node = node if isinstance(node, Mapping) else {}
        info = _get(entry, "ScheduleInfo")
        info = info if isinstance(info, Mapping) else {}
        node_type = _text(_get(node, "Type"), "ScheduleInfo")
        if node_type.lower() in _CONTAINER_TYPES:
            continue
        schedule_id = _text(_get(info, "Id", "ScheduleId")) or _text(_get(node, "Id"))
        if not schedule_id:
            continue
        enabled = _get(info, "IsEnabled")
        schedule = Schedule(
            id=schedule_id,
            title=_title(_get(info, "Title")) or _title(_get(node, "Title")),
            enabled=enabled is not False and str(enabled).lower() != "false",
            type=_text(_get(info, "Type"), node_type),
        )
        placed.append(PlacedSchedule(schedule, _parents(node)))
    return placed
