"""Tolerant parsing of the controller's JSON: every variant the controller API notes list."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_leapwork.api.errors import InvalidResponse
from pytest_leapwork.api.models import (
    FlowResult,
    Keyframe,
    LeapworkRun,
    Schedule,
)
from pytest_leapwork.api.parsing import (
    parse_elapsed,
    parse_keyframes,
    parse_operation_completed,
    parse_run_id,
    parse_run_item,
    parse_run_item_ids,
    parse_schedules,
    parse_status,
)

RUN_ID = "da6845c9-1b6b-4c4f-8d52-0b7f2f7a1c11"
ITEM_ID = "8d329bd0-698f-4900-8bad-ffa584d4461b"
ITEM_ID_2 = "0b2b6c6e-4f7a-4bd5-9a54-63f1f1c3a0d2"


def doc_run_item(**overrides: Any) -> dict[str, Any]:
    """The v4 documentation's run item example (with the missing comma restored)."""
    item: dict[str, Any] = {
        "$id": "1",
        "RunItemId": ITEM_ID,
        "RunId": "a3af0714-444c-44bd-ac0b-10a12bd0e44a",
        "FlowInfo": {
            "$id": "2",
            "FlowId": "793602fa-3131-4844-930e-52af8635dcff",
            "FlowTitle": "Password Reset Test",
            "Status": "Pass",
        },
        "AgentInfo": {
            "$id": "3",
            "AgentId": "7dbf7cb6-d5df-4f46-8e16-9bd31238c00a",
            "EnvironmentTitle": "Remote Agent",
            "ConnectionType": "RemoteAgent",
        },
        "Elapsed": "00:00:24.9951204",
        "ElapsedMilliseconds": 24995.1204,
        "ElapsedSeconds": 24.995120399999998,
        "CreatedAt": "2020-03-26T13:35:45.4314608+00:00",
        "RunType": "Manual",
    }
    item.update(overrides)
    return item


def flow(status: str, *, done_counts_as_passed: bool = True, **kwargs: Any) -> FlowResult:
    return FlowResult(
        title=kwargs.pop("title", "Flow"),
        status=status,
        elapsed=kwargs.pop("elapsed", 1.0),
        agent=kwargs.pop("agent", "Local"),
        done_counts_as_passed=done_counts_as_passed,
        **kwargs,
    )


# -- schedules -------------------------------------------------------------------------------


def test_parse_schedules_reads_the_documented_object_and_ignores_dollar_ids() -> None:
    data = [
        {
            "$id": "1",
            "IsEnabled": True,
            "IsScheduled": True,
            "DateCreation": {"$id": "2", "Value": "2018-09-03T12:04:30+00:00"},
            "Title": "UAT",
            "Type": "ScheduleInfo",
            "Id": "587d3239-5ccb-402f-a1d1-46d907bd6eaa",
        },
        {
            "$id": "3",
            "IsEnabled": False,
            "Title": "Night",
            "Type": "TemporaryScheduleInfo",
            "Id": "11111111-2222-3333-4444-555555555555",
        },
    ]
    assert parse_schedules(data) == [
        Schedule("587d3239-5ccb-402f-a1d1-46d907bd6eaa", "UAT", True, "ScheduleInfo"),
        Schedule("11111111-2222-3333-4444-555555555555", "Night", False, "TemporaryScheduleInfo"),
    ]
    assert parse_schedules(data)[1].is_temporary
    assert not parse_schedules(data)[0].is_temporary


def test_parse_schedules_defaults_for_missing_fields() -> None:
    (schedule,) = parse_schedules([{"$id": "1", "Id": "abc", "Title": "T"}])
    assert schedule.type == "ScheduleInfo"
    assert not schedule.is_temporary


def test_parse_schedules_skips_entries_without_an_id() -> None:
    assert parse_schedules([{"$id": "1", "Title": "no id"}]) == []


@pytest.mark.parametrize("data", [{}, {"Schedules": []}, "schedules", None, 3])
def test_parse_schedules_wrong_shape(data: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_schedules(data)


def test_parse_schedules_entry_not_an_object() -> None:
    with pytest.raises(InvalidResponse):
        parse_schedules(["587d3239-5ccb-402f-a1d1-46d907bd6eaa"])


# -- runNow ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"$id": "1", "RunId": RUN_ID},  # every client and the doc example
        {"$id": "1", "runId": RUN_ID},  # the doc table
    ],
    ids=["RunId", "runId"],
)
def test_parse_run_id_variants(data: dict[str, str]) -> None:
    assert parse_run_id(data) == RUN_ID


def test_parse_run_id_ignores_dollar_id() -> None:
    with pytest.raises(InvalidResponse):
        parse_run_id({"$id": "1"})


@pytest.mark.parametrize("data", [[RUN_ID], RUN_ID, None, {"RunId": ""}, {"RunId": None}])
def test_parse_run_id_wrong_shape(data: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_run_id(data)


# -- run status / stop -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Queued", "Executing", "Finished"])
def test_parse_status(value: str) -> None:
    assert parse_status({"$id": "1", "Status": value}) == value


def test_parse_status_missing_is_queued() -> None:
    assert parse_status({"$id": "1"}) == "Queued"


@pytest.mark.parametrize("data", [["Finished"], "Finished", None])
def test_parse_status_wrong_shape(data: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_status(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"$id": "1", "OperationCompleted": True}, True),
        ({"$id": "1", "OperationCompleted": "true"}, True),  # documented as a string
        ({"$id": "1", "OperationCompleted": "True"}, True),
        ({"$id": "1", "OperationCompleted": False}, False),
        ({"$id": "1", "OperationCompleted": "false"}, False),
        ({"$id": "1"}, False),
    ],
)
def test_parse_operation_completed(data: dict[str, Any], expected: bool) -> None:
    assert parse_operation_completed(data) is expected


def test_parse_operation_completed_wrong_shape() -> None:
    with pytest.raises(InvalidResponse):
        parse_operation_completed([True])


# -- run item ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"$id": "1", "RunItemIds": [ITEM_ID, ITEM_ID_2]}, [ITEM_ID, ITEM_ID_2]),  # every client
        ({"$id": "1", "RunItemsIds": [ITEM_ID]}, [ITEM_ID]),  # v3 doc example
        ({"$id": "1", "runItemsIds": [ITEM_ID]}, [ITEM_ID]),  # v3 doc table
        ({"$id": "1"}, []),  # Java tolerates a missing key
        ({"$id": "1", "RunItemIds": None}, []),
        ({"$id": "1", "RunItemIds": []}, []),
    ],
    ids=["RunItemIds", "RunItemsIds", "runItemsIds", "missing", "null", "empty"],
)
def test_parse_run_item_ids_variants(data: dict[str, Any], expected: list[str]) -> None:
    assert parse_run_item_ids(data) == expected


@pytest.mark.parametrize(
    "data", [["a", "b"], {"RunItemIds": "a"}, {"RunItemIds": {"a": 1}}, None, "a"]
)
def test_parse_run_item_ids_wrong_shape(data: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_run_item_ids(data)


# -- run item --------------------------------------------------------------------------------


def test_parse_run_item_doc_example() -> None:
    item = parse_run_item(doc_run_item())
    assert item.title == "Password Reset Test"
    assert item.status == "Passed"  # "Pass" in the doc example is read as Passed
    assert item.passed
    assert item.finished
    assert item.agent == "Remote Agent"
    assert item.elapsed == pytest.approx(24.9951204)
    assert item.run_item_id == ITEM_ID
    assert item.flow_id == "793602fa-3131-4844-930e-52af8635dcff"
    assert item.keyframes == []


def test_parse_run_item_flowinfo_status_wins_over_top_level() -> None:
    data = doc_run_item(Status="Passed")
    data["FlowInfo"]["Status"] = "Failed"
    assert parse_run_item(data).status == "Failed"


def test_parse_run_item_falls_back_to_top_level_status() -> None:
    data = doc_run_item(Status="Failed")
    del data["FlowInfo"]["Status"]
    item = parse_run_item(data)
    assert item.status == "Failed"
    assert not item.passed


def test_parse_run_item_top_level_pass_read_as_passed() -> None:
    data = doc_run_item(Status="Pass")
    del data["FlowInfo"]["Status"]
    assert parse_run_item(data).status == "Passed"


def test_parse_run_item_without_any_status_is_nostatus_and_transient() -> None:
    data = doc_run_item()
    del data["FlowInfo"]["Status"]
    item = parse_run_item(data)
    assert item.status == "NoStatus"
    assert not item.finished
    assert not item.passed


def test_parse_run_item_without_flowinfo() -> None:
    item = parse_run_item({"$id": "1", "RunItemId": ITEM_ID, "Status": "Passed"})
    assert item.status == "Passed"
    assert item.title  # some placeholder, never empty
    assert item.run_item_id == ITEM_ID


@pytest.mark.parametrize(
    "status", ["NoStatus", "Initializing", "Connecting", "Connected", "Running", "IsProcessing"]
)
def test_transient_statuses_are_not_finished(status: str) -> None:
    data = doc_run_item()
    data["FlowInfo"]["Status"] = status
    item = parse_run_item(data)
    assert item.status == status
    assert not item.finished
    assert not item.passed


@pytest.mark.parametrize(
    "status", ["Failed", "Error", "Inconclusive", "Timeout", "Cancelled", "Exploded"]
)
def test_terminal_non_passing_statuses(status: str) -> None:
    data = doc_run_item()
    data["FlowInfo"]["Status"] = status
    item = parse_run_item(data)
    assert item.status == status  # the controller's word, unknown ones kept
    assert item.finished
    assert not item.passed


@pytest.mark.parametrize(
    ("agent_fields", "expected"),
    [
        (
            {"AgentInfo": {"$id": "3", "AgentTitle": "Agent A", "EnvironmentTitle": "Env"}},
            "Agent A",
        ),
        ({"AgentInfo": {"$id": "3", "EnvironmentTitle": "Remote Agent"}}, "Remote Agent"),
        (
            {"EnvironmentInfo": {"$id": "3", "EnvironmentId": "x", "EnvironmentTitle": "v3 Env"}},
            "v3 Env",
        ),
        ({}, ""),
    ],
    ids=["AgentInfo.AgentTitle", "AgentInfo.EnvironmentTitle", "v3 EnvironmentInfo", "none"],
)
def test_parse_run_item_agent_variants(agent_fields: dict[str, Any], expected: str) -> None:
    data = doc_run_item()
    del data["AgentInfo"]
    data.update(agent_fields)
    assert parse_run_item(data).agent == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ElapsedSeconds": 24.5, "Elapsed": "00:00:10.0", "ElapsedMilliseconds": 999.0}, 24.5),
        ({"Elapsed": "00:00:24.9951204", "ElapsedMilliseconds": 24995.1204}, 24.9951204),
        ({"Elapsed": "1.02:03:04.5"}, 93784.5),
        ({"Elapsed": "01:00:00"}, 3600.0),
        ({"ElapsedMilliseconds": 24995.1204}, 24.9951204),
        ({}, 0.0),
    ],
    ids=["ElapsedSeconds", "Elapsed", "Elapsed-with-days", "Elapsed-whole", "ms-only", "none"],
)
def test_parse_run_item_elapsed(fields: dict[str, Any], expected: float) -> None:
    data = doc_run_item()
    for name in ("Elapsed", "ElapsedSeconds", "ElapsedMilliseconds"):
        del data[name]
    data.update(fields)
    assert parse_run_item(data).elapsed == pytest.approx(expected)


def test_parse_run_item_never_reads_milliseconds_as_seconds() -> None:
    data = doc_run_item()
    del data["ElapsedSeconds"]
    del data["Elapsed"]
    data["ElapsedMilliseconds"] = 5000
    assert parse_run_item(data).elapsed != 5000
    assert parse_run_item(data).elapsed < 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00:24.9951204", 24.9951204),
        ("1.02:03:04.5", 93784.5),
        ("1.02:03:04", 93784.0),
        ("00:01:00", 60.0),
        (" 00:00:01.5 ", 1.5),
        ("garbage", 0.0),
        ("", 0.0),
    ],
)
def test_parse_elapsed(text: str, expected: float) -> None:
    assert parse_elapsed(text) == pytest.approx(expected)


@pytest.mark.parametrize("data", [[doc_run_item()], "item", None, 1])
def test_parse_run_item_wrong_shape(data: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_run_item(data)


# -- keyframes -------------------------------------------------------------------------------


def keyframe(
    level: str | None, message: str, block: str | None = None, ts: str = "T"
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "$id": "1",
        "AutomationRunItemId": ITEM_ID,
        "Timestamp": {"$id": "2", "Value": ts, "LocalDateTime": "local", "Ticks": 1},
        "Status": "Running",
        "LogMessage": message,
        "Id": "cfafabb5",
    }
    if level is not None:
        entry["Level"] = level
    if block is not None:
        entry["BlockTitle"] = block
    return entry


def test_parse_keyframes_doc_example() -> None:
    (frame,) = parse_keyframes(
        [
            keyframe(
                "Info",
                "Scheduled run executed from schedule 'Test'",
                ts="2018-12-21T11:57:28.5036398+00:00",
            )
        ]
    )
    assert frame == Keyframe(
        timestamp="2018-12-21T11:57:28.5036398+00:00",
        level="Info",
        block_title=None,
        message="Scheduled run executed from schedule 'Test'",
    )
    assert (
        str(frame)
        == "2018-12-21T11:57:28.5036398+00:00 - Scheduled run executed from schedule 'Test'"
    )


def test_keyframe_with_block_title() -> None:
    (frame,) = parse_keyframes(
        [keyframe("Error", "Element not found", block="Click Login", ts="12:00")]
    )
    assert frame.block_title == "Click Login"
    assert str(frame) == "12:00 - Click Login - Element not found"


def test_keyframe_with_empty_block_title_formats_without_block() -> None:
    (frame,) = parse_keyframes([keyframe("Error", "boom", block="", ts="12:00")])
    assert str(frame) == "12:00 - boom"


def test_keyframe_without_level_is_trace() -> None:
    (frame,) = parse_keyframes([keyframe(None, "no level")])
    assert frame.level == "Trace"
    assert frame.is_silent


def test_flow_messages_exclude_trace_and_empty_level() -> None:
    frames = parse_keyframes(
        [
            keyframe("Trace", "trace"),
            keyframe("TRACE", "upper trace"),
            keyframe("", "empty level"),
            keyframe(None, "no level"),
            keyframe("Info", "info"),
            keyframe("Error", "error", block="Block"),
        ]
    )
    result = flow("Failed", keyframes=frames)
    assert [k.message for k in result.messages] == ["info", "error"]
    assert len(result.keyframes) == 6


def test_parse_keyframes_empty() -> None:
    assert parse_keyframes([]) == []


@pytest.mark.parametrize("data", [{}, {"Keyframes": []}, "x", None])
def test_parse_keyframes_wrong_shape(data: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_keyframes(data)


def test_parse_keyframes_entry_not_an_object() -> None:
    with pytest.raises(InvalidResponse):
        parse_keyframes(["a line"])


# -- outcomes --------------------------------------------------------------------------------


@pytest.mark.parametrize(("done_counts_as_passed", "expected"), [(True, True), (False, False)])
def test_done_counts_per_setting(done_counts_as_passed: bool, expected: bool) -> None:
    result = flow("Done", done_counts_as_passed=done_counts_as_passed)
    assert result.passed is expected
    assert result.finished


def test_passed_is_passed_regardless_of_done_setting() -> None:
    assert flow("Passed", done_counts_as_passed=False).passed


def make_run(flows: list[FlowResult], stopped_reason: str | None = None) -> LeapworkRun:
    return LeapworkRun(
        run_id=RUN_ID,
        schedule_id="587d3239-5ccb-402f-a1d1-46d907bd6eaa",
        schedule_title="UAT",
        variables={},
        flows=flows,
        stopped_reason=stopped_reason,
    )


def test_run_passes_when_every_flow_passed() -> None:
    run = make_run([flow("Passed"), flow("Done")])
    assert run.passed
    assert run.failed_flows == []


def test_run_fails_with_one_failed_flow() -> None:
    bad = flow("Failed", title="Bad")
    run = make_run([flow("Passed"), bad])
    assert not run.passed
    assert run.failed_flows == [bad]


def test_run_with_done_counted_as_failed() -> None:
    done = flow("Done", done_counts_as_passed=False)
    run = make_run([flow("Passed"), done])
    assert not run.passed
    assert run.failed_flows == [done]


def test_run_without_flows_does_not_pass() -> None:
    run = make_run([])
    assert not run.passed
    assert run.failed_flows == []


@pytest.mark.parametrize("reason", ["timeout", "interrupted"])
def test_stopped_run_does_not_pass_even_with_passed_flows(reason: str) -> None:
    assert not make_run([flow("Passed")], stopped_reason=reason).passed
