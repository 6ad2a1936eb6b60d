"""Conformance: each published Leapwork client's calls, played against the emulator.

One test per client. Each plays that client's sequence of requests (paths, methods, letter
case, API version, query strings as the client builds them) and reads the fields the client
reads, with the types it expects, as the API evidence describes them (its client tables). When
the emulator changes, the failing test names the client that would break.

The clients' own code is not here: these are the calls they make, written down.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pytest_leapwork.emulator import EmulatorServer, Scenario

REGRESSION_ID = "9c3fa950-5a61-4d2b-8a54-0e4a3f8f6b01"
TEMPORARY_ID = "9c3fa950-5a61-4d2b-8a54-0e4a3f8f6b02"
DISABLED_ID = "9c3fa950-5a61-4d2b-8a54-0e4a3f8f6b03"
EXCLUSIVE_ID = "9c3fa950-5a61-4d2b-8a54-0e4a3f8f6b04"
EMPTY_ID = "9c3fa950-5a61-4d2b-8a54-0e4a3f8f6b05"
AGENT_ID = "7dbf7cb6-d5df-4f46-8e16-9bd31238c00a"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TRANSIENT = {"NoStatus", "Initializing", "Connecting", "Connected", "Running", "IsProcessing"}

# Queued 0-1 s; "Log In" runs 1-3, "Pay" 3-5 (fake-clock seconds).
SCENARIO: dict[str, Any] = {
    "controller": {"queue_seconds": 1.0},
    "agents": [{"title": "Remote Agent", "id": AGENT_ID}],
    "schedules": [
        {
            "title": "Regression",
            "id": REGRESSION_ID,
            "variables": ["URL", "Browser"],
            "flows": [
                {
                    "title": "Log In",
                    "seconds": 2.0,
                    "agent": "Remote Agent",
                    "keyframes": [{"level": "Info", "block": "Click Login", "message": "Clicked"}],
                },
                {
                    "title": "Pay",
                    "seconds": 2.0,
                    "status": "Failed",
                    "keyframes": [
                        {"level": "Trace", "message": "looking for the Pay button"},
                        {"level": "Error", "block": "Click Pay", "message": "Button not found"},
                    ],
                },
            ],
        },
        {
            "title": "Regression",
            "id": TEMPORARY_ID,
            "type": "TemporaryScheduleInfo",
            "flows": [{"title": "Pay", "seconds": 1.0}],
        },
        {"title": "Nightly", "id": DISABLED_ID, "enabled": False, "flows": [{"title": "Log In"}]},
        {
            "title": "Exclusive",
            "id": EXCLUSIVE_ID,
            "reject_when_running": True,
            "flows": [{"title": "Log In", "seconds": 1.0}],
        },
        {"title": "Empty", "id": EMPTY_ID},
    ],
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0
        self.origin = self.now

    def __call__(self) -> float:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = self.origin + seconds


class Client:
    """One client's connection: `call("GET", "/api/v4/schedules")` -> the parsed JSON."""

    def __init__(self, server: EmulatorServer, session: requests.Session) -> None:
        self.server = server
        self.session = session
        self.key = server.access_key

    def raw(self, method: str, path: str, **headers: str) -> requests.Response:
        sent = {"AccessKey": self.key, "Accept": "application/json", **headers}
        data = "" if method == "PUT" else None  # the plugins send PUT with an empty body
        return self.session.request(method, self.server.url + path, headers=sent, data=data)

    def call(self, method: str, path: str) -> Any:
        response = self.raw(method, path)
        assert response.status_code == 200, f"{method} {path}: {response.status_code}"
        return response.json()


def read(document: Any, dotted: str, kind: type | tuple[type, ...] = str) -> Any:
    """A field as a client reads it (`FlowInfo.Status`), which must be there with its type."""
    value = document
    for name in dotted.split("."):
        assert isinstance(value, dict) and name in value, f"missing {dotted} in {document}"
        value = value[name]
    assert isinstance(value, kind), f"{dotted} = {value!r} is not {kind}"
    return value


def strip_ids(document: Any) -> Any:
    """What Kaholo hands on: the document without Json.NET's `$id` keys."""
    if isinstance(document, dict):
        return {k: strip_ids(v) for k, v in document.items() if k != "$id"}
    if isinstance(document, list):
        return [strip_ids(v) for v in document]
    return document


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(clock: FakeClock) -> Iterator[Client]:
    scenario = Scenario.from_dict(SCENARIO)
    with EmulatorServer(scenario, clock=clock) as server, requests.Session() as session:
        yield Client(server, session)


# --- the shared poll loop of the Jenkins, TeamCity, Bamboo and Azure DevOps plugins ----------


def resolve_schedule(client: Client, title: str, version: str = "v4") -> str:
    """GET schedules: Id, Title, IsEnabled, Type (temporary schedules skipped)."""
    schedules = client.call("GET", f"/api/{version}/schedules")
    assert isinstance(schedules, list)
    found = []
    for schedule in schedules:
        read(schedule, "IsEnabled", bool)
        if read(schedule, "Type") == "TemporaryScheduleInfo":
            continue
        if read(schedule, "Title") == title:
            found.append(read(schedule, "Id"))
    (schedule_id,) = found
    assert GUID.fullmatch(schedule_id)
    return str(schedule_id)


def poll_like_the_ci_plugins(
    client: Client,
    clock: FakeClock,
    run_id: str,
    item_fields: tuple[str, ...],
    version: str = "v4",
    runitems: str = "runItems",
) -> list[dict[str, Any]]:
    """runItemIds -> runItems/{id} (until final) -> keyframes -> run status, until Finished."""
    processed: dict[str, dict[str, Any]] = {}
    api = f"/api/{version}"
    for second in range(1, 30):
        clock.at(second * 0.5)
        ids = read(client.call("GET", f"{api}/run/{run_id}/runItemIds"), "RunItemIds", list)
        for item_id in ids:
            if item_id in processed:
                continue
            item = client.call("GET", f"{api}/{runitems}/{item_id}")
            status = read(item, "FlowInfo.Status")
            if status in TRANSIENT:
                continue
            for name in item_fields:
                read(item, name, (int, float) if name.startswith("Elapsed") else str)
            if status != "Passed":
                item["keyframes"] = client.call("GET", f"{api}/{runitems}/{item_id}/keyframes")
            processed[item_id] = item
        status = read(client.call("GET", f"{api}/run/{run_id}/status"), "Status")
        assert status in ("Queued", "Executing", "Finished")
        if status == "Finished":
            every = read(client.call("GET", f"{api}/run/{run_id}/runItemIds"), "RunItemIds", list)
            if 0 < len(every) <= len(processed):
                return list(processed.values())
    raise AssertionError("the run never finished with all its items processed")


def failure_text(keyframes: list[dict[str, Any]]) -> list[str]:
    """The JUnit failure lines: non-Trace keyframes, `{Timestamp.Value} - {Block} - {Msg}`."""
    lines = []
    for keyframe in keyframes:
        level = keyframe.get("Level", "Trace")
        if level in ("", "Trace"):
            continue
        stamp = read(keyframe, "Timestamp.Value")
        block = keyframe.get("BlockTitle")
        message = read(keyframe, "LogMessage")
        lines.append(f"{stamp} - {block} - {message}" if block else f"{stamp} - {message}")
    return lines


# --- one test per client --------------------------------------------------------------------


def test_jenkins_teamcity_bamboo_plugins(client: Client, clock: FakeClock) -> None:
    """v4; variables appended unencoded as `?k=v&k=v`; stop by PUT on abort."""
    schedule_id = resolve_schedule(client, "Regression")
    run = client.call("PUT", f"/api/v4/schedules/{schedule_id}/runNow?URL=https://x.io&Browser=ff")
    run_id = read(run, "RunId")
    assert client.server.run(run_id).variables == {"URL": "https://x.io", "Browser": "ff"}
    fields = (
        "FlowInfo.FlowTitle", "FlowInfo.FlowId", "AgentInfo.AgentTitle", "AutomationRunId",
        "ElapsedSeconds", "ElapsedMilliseconds",
    )  # fmt: skip
    items = poll_like_the_ci_plugins(client, clock, run_id, fields)
    assert [(i["FlowInfo"]["FlowTitle"], i["FlowInfo"]["Status"]) for i in items] == [
        ("Log In", "Passed"),
        ("Pay", "Failed"),
    ]
    assert items[0]["AgentInfo"]["AgentTitle"] == "Remote Agent"
    assert items[0]["ElapsedMilliseconds"] == 2000.0 and items[0]["ElapsedSeconds"] == 2.0
    lines = failure_text(items[1]["keyframes"])
    assert lines[0].endswith(" - Scheduled run executed from schedule 'Regression'")
    assert lines[-1].endswith(" - Click Pay - Button not found")
    assert not any("looking for" in line for line in lines)  # Trace is dropped
    # The Jenkins config page's picker: GET schedules/hierarchy.
    hierarchy = client.call("GET", "/api/v4/schedules/hierarchy")
    for entry in hierarchy:
        read(entry, "ScheduleInfo.Id")
        read(entry, "ScheduleInfo.IsEnabled", bool)
        for name in ("Id", "Title", "Type"):
            read(entry, f"ScheduleHierarchy.{name}")
        read(entry["ScheduleHierarchy"]["Parent"][0], "Id")
    assert TEMPORARY_ID not in [entry["ScheduleInfo"]["Id"] for entry in hierarchy]
    # Abort: PUT run/{id}/stop, OperationCompleted.
    again = read(client.call("PUT", f"/api/v4/schedules/{schedule_id}/runNow"), "RunId")
    assert read(client.call("PUT", f"/api/v4/run/{again}/stop"), "OperationCompleted", bool)
    # A disabled schedule is reported before any runNow; an unknown one is "no such schedule".
    disabled = [s for s in client.call("GET", "/api/v4/schedules") if s["Id"] == DISABLED_ID]
    assert read(disabled[0], "IsEnabled", bool) is False


def test_azure_devops_task(client: Client, clock: FakeClock) -> None:
    """v4; run item's RunId; stop by GET; 410 for a schedule already running."""
    schedule_id = resolve_schedule(client, "Regression")
    run_id = read(client.call("PUT", f"/api/v4/schedules/{schedule_id}/runNow"), "RunId")
    fields = ("FlowInfo.FlowTitle", "AgentInfo.AgentTitle", "RunId", "ElapsedSeconds")
    items = poll_like_the_ci_plugins(client, clock, run_id, fields)
    assert {item["RunId"] for item in items} == {run_id}
    assert [i["FlowInfo"]["Status"] for i in items] == ["Passed", "Failed"]
    again = read(client.call("PUT", f"/api/v4/schedules/{schedule_id}/runNow"), "RunId")
    assert read(client.call("GET", f"/api/v4/run/{again}/stop"), "OperationCompleted", bool)
    assert client.server.run(again).stopped
    client.call("PUT", f"/api/v4/schedules/{EXCLUSIVE_ID}/runNow")
    refused = client.raw("PUT", f"/api/v4/schedules/{EXCLUSIVE_ID}/runNow")
    assert refused.status_code == 410


def test_testrail_integration(client: Client, clock: FakeClock) -> None:
    """`/Schedules`, schedule details, `/runitems` lower case, top-level Status, Elapsed."""
    schedules = client.call("GET", "/api/v4/Schedules")
    assert [s["Id"] for s in schedules if s["Title"] == "Regression"] == [
        REGRESSION_ID,
        TEMPORARY_ID,
    ]
    detail = client.call("GET", f"/api/v4/schedules/{REGRESSION_ID}")
    assert (read(detail, "Id"), read(detail, "Title")) == (REGRESSION_ID, "Regression")
    steps = read(detail, "RunListSteps", list)
    assert len({read(step, "RunListStepId") for step in steps}) >= 1  # environments quantity
    run_id = read(client.call("PUT", f"/api/v4/schedules/{REGRESSION_ID}/runNow"), "RunId")
    clock.at(10)
    assert read(client.call("GET", f"/api/v4/run/{run_id}/status"), "Status") not in (
        "Executing",
        "Queued",
    )
    ids = read(client.call("GET", f"/api/v4/run/{run_id}/runItemIds"), "RunItemIds", list)
    results = []
    for item_id in ids:
        item = client.call("GET", f"/api/v4/runitems/{item_id}")
        hours, minutes, seconds = read(item, "Elapsed").split(":")
        assert int(hours) * 3600 + int(minutes) * 60 + int(float(seconds)) == 2
        keyframes = client.call("GET", f"/api/v4/runitems/{item_id}/keyframes")
        results.append((read(item, "Status"), len(failure_text(keyframes))))
    assert results == [("Passed", 2), ("Failed", 2)]


def test_github_action(client: Client, clock: FakeClock) -> None:
    """Title match, schedule status before and after runNow, run summary, v3 runItemIds."""
    schedules = client.call("GET", "/api/v4/schedules")
    schedule_id = next(s for s in schedules if s["Title"] == "Nightly")["Id"]  # no IsEnabled check
    assert schedule_id == DISABLED_ID
    schedule_id = next(s for s in schedules if s["Title"] == "Regression")["Id"]
    assert read(client.call("GET", f"/api/v4/schedules/{schedule_id}/status"), "Status") == (
        "Finished"
    )
    run_id = read(client.call("PUT", f"/api/v4/schedules/{schedule_id}/runNow"), "RunId")
    statuses = []
    for second in (0, 10, 20):
        clock.at(second)
        statuses.append(client.call("GET", f"/api/v4/schedules/{schedule_id}/status")["Status"])
    assert statuses == ["Queued", "Finished", "Finished"]
    run = client.call("GET", f"/api/v4/run/{run_id}")
    assert (read(run, "Failed", int), read(run, "Total", int)) == (1, 2)
    ids = read(client.call("GET", f"/api/v3/run/{run_id}/runItemIds"), "RunItemIds", list)
    failed = []
    for item_id in ids:
        item = client.call("GET", f"/api/v4/runItems/{item_id}")
        if read(item, "FlowInfo.Status") != "Passed":
            failed.append((read(item, "FlowInfo.FlowTitle"), read(item, "Elapsed")))
    assert failed == [("Pay", "00:00:02.0000000")]


def test_kaholo_plugin(client: Client, clock: FakeClock) -> None:
    """`?api_key=`, URL-encoded variables (a bare `?` when none), schedule status every
    second, stop by schedule id on its timeout, results without `$id`, license expiry."""
    key = client.key
    schedules = client.call("GET", f"/api/v4/schedules?api_key={key}")
    choices = [(s["Id"], s["Title"]) for s in schedules if s.get("Title")]
    assert (REGRESSION_ID, "Regression") in choices
    query = "URL=https%3A%2F%2Fx.io%2Fa%3Fb%3Dc&Browser=Firefox"
    run_id = read(client.call("PUT", f"/api/v4/schedules/{REGRESSION_ID}/runNow?{query}"), "RunId")
    assert client.server.run(run_id).variables["URL"] == "https://x.io/a?b=c"
    status = ""
    for second in range(10):
        clock.at(second)
        status = read(client.call("GET", f"/api/v4/schedules/{REGRESSION_ID}/status"), "Status")
        if status == "Finished":
            break
    assert status == "Finished"
    result = strip_ids(client.call("GET", f"/api/v4/run/{run_id}"))
    assert {"RunId", "Schedule", "Status", "Failed", "Total"} <= set(result)
    assert "$id" not in str(result)
    ids = strip_ids(client.call("GET", f"/api/v4/run/{run_id}/runItemIds"))
    assert list(ids) == ["RunItemIds"]
    items = [strip_ids(client.call("GET", f"/api/v4/runItems/{i}")) for i in ids["RunItemIds"]]
    assert [read(i, "FlowInfo.Status") for i in items] == ["Passed", "Failed"]
    # Its own timeout: PUT schedules/{scheduleId}/stop, OperationCompleted.toString().
    other = read(client.call("PUT", f"/api/v4/schedules/{REGRESSION_ID}/runNow?"), "RunId")
    stopped = client.call("PUT", f"/api/v4/schedules/{REGRESSION_ID}/stop")
    assert str(read(stopped, "OperationCompleted", bool)).lower() == "true"
    assert client.server.run(other).stopped
    (license_,) = strip_ids(client.call("GET", f"/api/v4/license/active?api_key={key}"))
    assert read(license_, "ExpireDays", int) > 0
    # The README's troubleshooting: a wrong key, then an unknown run item with the right one.
    wrong = client.raw("GET", f"/api/v4/runItems/{uuid.uuid4()}", AccessKey="WRONGKEY")
    assert wrong.text == "Incorrect AccessKey"
    assert client.raw("GET", f"/api/v4/runItems/{uuid.uuid4()}").text == "Asset not found"
    # The video of a run item (its README's curl example asks for octet-stream).
    video = client.raw("GET", f"/api/v4/runItems/{ids['RunItemIds'][0]}/video", Accept="*/*")
    assert video.status_code == 200 and video.headers["Content-Type"].startswith("video/")


def test_qa_leapwork_dotnet_workflow(client: Client, clock: FakeClock) -> None:
    """PowerShell: top-level Status, AgentInfo.EnvironmentTitle, AgentId, ConnectionType."""
    run_id = read(client.call("PUT", f"/api/v4/schedules/{REGRESSION_ID}/runNow"), "RunId")
    clock.at(10)
    assert read(client.call("GET", f"/api/v4/run/{run_id}/status"), "Status") == "Finished"
    ids = read(client.call("GET", f"/api/v4/run/{run_id}/runItemIds"), "RunItemIds", list)
    first = client.call("GET", f"/api/v4/runItems/{ids[0]}")
    assert read(first, "Status") == "Passed"
    assert read(first, "AgentInfo.EnvironmentTitle") == "Remote Agent"
    assert read(first, "AgentInfo.AgentId") == AGENT_ID
    assert read(first, "AgentInfo.ConnectionType") == "RemoteAgent"


def test_v3_clients(client: Client, clock: FakeClock) -> None:
    """The pre-2021 plugins on /api/v3: EnvironmentInfo on run items, stop by GET (VSTS)."""
    schedule_id = resolve_schedule(client, "Regression", version="v3")
    run_id = read(client.call("PUT", f"/api/v3/schedules/{schedule_id}/runNow?URL=a"), "RunId")
    fields = (
        "FlowInfo.FlowTitle", "EnvironmentInfo.EnvironmentId", "EnvironmentInfo.EnvironmentTitle",
        "EnvironmentInfo.ConnectionType", "ElapsedSeconds",
    )  # fmt: skip
    items = poll_like_the_ci_plugins(client, clock, run_id, fields, version="v3")
    assert items[0]["EnvironmentInfo"]["EnvironmentId"] == AGENT_ID
    assert items[0]["EnvironmentInfo"]["EnvironmentTitle"] == "Remote Agent"
    assert "AgentInfo" not in items[0]
    assert failure_text(items[1]["keyframes"])[-1].endswith("Click Pay - Button not found")
    again = read(client.call("PUT", f"/api/v3/schedules/{schedule_id}/runNow"), "RunId")
    assert read(client.call("GET", f"/api/v3/run/{again}/stop"), "OperationCompleted", bool)


def test_schedule_pickers_in_a_browser_preflight(client: Client) -> None:
    """Jenkins, TeamCity and TestRail pickers: a preflight without a key, then the call."""
    origin = "http://jenkins.example.com:8080"
    preflight = client.session.options(
        client.server.url + "/api/v4/schedules/hierarchy",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "accesskey",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin)
    answer = client.raw("GET", "/api/v4/schedules/hierarchy", Origin=origin)
    assert answer.headers["Access-Control-Allow-Origin"] in ("*", origin)
