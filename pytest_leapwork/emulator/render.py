"""The controller's JSON: PascalCase objects, Json.NET `$id` references, .NET time formats."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from .scenario import NAMESPACE, ScheduleSpec
from .views import ItemView, KeyframeView, RunView

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

_TICKS_PER_SECOND = 10_000_000
_UNIX_EPOCH_TICKS = 621_355_968_000_000_000  # .NET ticks of 1970-01-01T00:00:00Z
# Schedules in the emulator were "created" at one fixed moment, so responses are stable.
SCHEDULE_CREATED_AT = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc).timestamp()

Json = dict[str, Any]


def encode(document: object) -> bytes:
    """Compact UTF-8 JSON with `$id` numbered as Json.NET does."""
    return json.dumps(with_ref_ids(document), ensure_ascii=False, separators=(",", ":")).encode()


def with_ref_ids(document: object) -> object:
    """Give every object a `"$id"` ("1", "2", ...) first, in document (pre-)order."""
    counter = 0

    def walk(node: object) -> object:
        nonlocal counter
        if isinstance(node, dict):
            counter += 1
            numbered: Json = {"$id": str(counter)}
            for key, value in node.items():
                numbered[key] = walk(value)
            return numbered
        if isinstance(node, list):
            return [walk(element) for element in node]
        return node

    return walk(document)


def _split_ticks(timestamp: float) -> tuple[datetime, int, int]:
    ticks = round(timestamp * _TICKS_PER_SECOND)
    seconds, fraction = divmod(ticks, _TICKS_PER_SECOND)
    return datetime.fromtimestamp(seconds, timezone.utc), fraction, ticks


def iso_with_offset(timestamp: float) -> str:
    """`2020-03-26T13:35:45.4314608+00:00` (7 fraction digits, as .NET writes it)."""
    moment, fraction, _ = _split_ticks(timestamp)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:07d}+00:00"


def dotnet_datetime(timestamp: float) -> Json:
    """The `{Value, LocalDateTime, UtcDateTime, Ticks}` object of keyframes and schedules."""
    moment, fraction, ticks = _split_ticks(timestamp)
    local = moment.astimezone()
    return {
        "Value": f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:07d}+00:00",
        "LocalDateTime": f"{local:%Y-%m-%dT%H:%M:%S}.{fraction:07d}",
        "UtcDateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:07d}",
        "Ticks": ticks + _UNIX_EPOCH_TICKS,
    }


# Times are rounded to whole ticks (100 ns), as .NET would hold them.
def timespan(seconds: float) -> str:
    """A .NET TimeSpan: `00:00:24.9951204`."""
    ticks = max(0, round(seconds * _TICKS_PER_SECOND))
    whole, fraction = divmod(ticks, _TICKS_PER_SECOND)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{fraction:07d}"


def schedule_json(schedule: ScheduleSpec) -> Json:
    """One entry of GET schedules."""
    return {
        "IsEnabled": schedule.enabled,
        "IsScheduled": False,
        "DateCreation": dotnet_datetime(SCHEDULE_CREATED_AT),
        "DateModify": dotnet_datetime(SCHEDULE_CREATED_AT),
        "Title": schedule.title,
        "Type": schedule.type,
        "Id": schedule.id,
    }


def schedule_detail_json(schedule: ScheduleSpec) -> Json:
    """GET schedules/{id}: the list entry plus description and one run-list step."""
    step_id = str(uuid.uuid5(NAMESPACE, f"step:{schedule.id}"))
    return {
        **schedule_json(schedule),
        "Description": schedule.description,
        "RunListSteps": [
            {
                "Id": str(uuid.uuid5(NAMESPACE, f"step-entry:{schedule.id}")),
                "RunListStepId": step_id,
                "ScheduleInfoId": schedule.id,
                "StepIndex": 0,
                "StepName": "Step 1",
                "StepStartCondition": "Always",
                "EnvironmentParallelization": "RunAllFlows",
            }
        ],
    }


# The folder a schedule sits in when the scenario names none, for GET schedules/hierarchy.
ROOT_FOLDER_ID = str(uuid.uuid5(NAMESPACE, "folder:root"))
ROOT_FOLDER_TITLE = "Emulator"


def _folder_id(path: str) -> str:
    if path == ROOT_FOLDER_TITLE:
        return ROOT_FOLDER_ID
    return str(uuid.uuid5(NAMESPACE, f"folder:{path}"))


def folder_parents(folder: str) -> list[Json]:
    """The ``Parent`` chain of a schedule in ``folder`` ("A/B"): B, whose parent is A."""
    parents: list[Json] = []
    names = folder.split("/") if folder else []
    for depth, name in enumerate(names):
        node: Json = {
            "Id": _folder_id("/".join(names[: depth + 1])),
            "Title": name,
            "Type": "Folder",
            "Parent": parents,
        }
        parents = [node]
    return parents


def hierarchy_json(schedules: Sequence[ScheduleSpec]) -> list[Json]:
    """The documented shape: per schedule its node (with parents up to the root) and info."""
    return [
        {
            "ScheduleHierarchy": {
                "Id": schedule.id,
                "Title": schedule.title,
                "Type": "ScheduleInfo",
                "Parent": folder_parents(schedule.folder),
            },
            "ScheduleInfo": schedule_detail_json(schedule),
        }
        for schedule in schedules
        if schedule.type == "ScheduleInfo"  # temporary schedules live in no folder
    ]


def _connection_type(agent: str) -> str:
    return "LocalAgent" if agent == "Local Agent" else "RemoteAgent"


def item_json(item: ItemView, version: str = "v4") -> Json:
    """GET runItems/{id}: both FlowInfo.Status and a top-level Status (clients read either).

    v4 names the machine `AgentInfo`; v3 named it `EnvironmentInfo`, and v3 clients read that.
    """
    machine: tuple[str, Json]
    if version == "v3":
        machine = (
            "EnvironmentInfo",
            {
                "EnvironmentId": item.agent_id,
                "EnvironmentTitle": item.agent,
                "ConnectionType": _connection_type(item.agent),
            },
        )
    else:
        machine = (
            "AgentInfo",
            {
                "AgentId": item.agent_id,
                "AgentTitle": item.agent,
                "EnvironmentTitle": item.agent,
                "ConnectionType": _connection_type(item.agent),
            },
        )
    return {
        "RunItemId": item.item_id,
        "RunId": item.run_id,
        "AutomationRunId": item.run_id,
        "FlowInfo": {"FlowId": item.flow_id, "FlowTitle": item.flow_title, "Status": item.status},
        "Status": item.status,
        machine[0]: machine[1],
        "Elapsed": timespan(item.elapsed),
        "ElapsedMilliseconds": round(item.elapsed * 1000.0, 4),
        "ElapsedSeconds": round(item.elapsed, 7),
        "CreatedAt": iso_with_offset(item.created_at),
        "RunType": "Manual",
    }


def keyframe_json(keyframe: KeyframeView) -> Json:
    document: Json = {
        "AutomationRunItemId": keyframe.item_id,
        "Timestamp": dotnet_datetime(keyframe.at),
        "Level": keyframe.level,
        "Status": keyframe.status,
    }
    if keyframe.block is not None:
        document["BlockTitle"] = keyframe.block  # absent, not null, when there is no block
    document["LogMessage"] = keyframe.message
    document["Id"] = keyframe.keyframe_id
    return document


def run_json(run: RunView) -> Json:
    return {
        "RunId": run.run_id,
        "Schedule": {"ScheduleId": run.schedule_id, "ScheduleTitle": run.schedule_title},
        "Status": run.status,
        "Failed": run.failed,
        "Total": run.total,
        "ExecutionTotalTime": timespan(run.elapsed),
        "ExecutionMilliseconds": round(run.elapsed * 1000.0, 4),
    }


LICENSE_ID = str(uuid.uuid5(NAMESPACE, "license"))


def license_json() -> list[Json]:
    return [
        {
            "LicenseId": LICENSE_ID,
            "DateActivated": iso_with_offset(SCHEDULE_CREATED_AT).replace(".0000000", ""),
            "ExpireDays": 365,
            "LicenseType": "Emulator",
        }
    ]
