"""The built-in Leapwork controller emulator, driven over real HTTP with `requests`.

Lifecycle tests use a fake clock stepped by hand, so they are exact and never wait.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pytest_leapwork.emulator import (
    DEFAULT_ACCESS_KEY,
    EmulatorServer,
    Fault,
    Scenario,
    ScenarioError,
    load_scenario,
)

THREE_ID = "0b4f6c1e-8d3a-4c8e-9a51-3d1f2e6b7a90"
EMPTY_ID = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
OPEN_ID = "2d3e4f5a-6b7c-4d8e-9fa0-b1c2d3e4f5a6"
DISABLED_ID = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"
NONE_ID = "4f5a6b7c-8d9e-4fa0-b1c2-d3e4f5a6b7c8"
LAG_ID = "5a6b7c8d-9eaf-4b0c-a1d2-e3f4a5b6c7d8"
TEMP_ID = "6b7c8d9e-afb0-4c1d-a2e3-f4a5b6c7d8e9"
UNKNOWN_ID = "99999999-9999-4999-9999-999999999999"

# Times in seconds of fake-clock time; run "Three" is Queued 0-1, A runs 1-3, B 3-7, C 7-9.
SCENARIO: dict[str, Any] = {
    "controller": {"queue_seconds": 1.0},
    "schedules": [
        {
            "title": "Three",
            "id": THREE_ID,
            "variables": ["URL", "Browser"],
            "flows": [
                {"title": "A", "seconds": 2.0},
                {
                    "title": "B",
                    "seconds": 4.0,
                    "status": "Failed",
                    "when": [
                        {"variable": "url", "equals": "https://ok.example.com", "status": "Passed"},
                        {
                            "variable": "URL",
                            "equals": "https://broken.example.com",
                            "seconds": 3.0,
                            "keyframes": [
                                {"level": "Error", "block": "Click Login", "message": "Not found"}
                            ],
                        },
                    ],
                },
                {
                    "title": "C",
                    "seconds": 2.0,
                    "status": "Done",
                    "agent": "Remote 7",
                    "keyframes": [
                        {"message": "one"},
                        {"level": "Warning", "block": "Blk", "message": "two"},
                    ],
                },
            ],
        },
        {"title": "Empty", "id": EMPTY_ID},
        {"title": "Open", "id": OPEN_ID, "queue_seconds": 0.0, "flows": [{"title": "X"}]},
        {"title": "Off", "id": DISABLED_ID, "enabled": False, "flows": [{"title": "X"}]},
        {"title": "NoVars", "id": NONE_ID, "variables": [], "flows": [{"title": "X"}]},
        {
            "title": "Lag",
            "id": LAG_ID,
            "items_lag_seconds": 1.0,
            "flows": [{"title": "L1", "seconds": 1.0}, {"title": "L2", "seconds": 0.5}],
        },
        {"title": "Three", "id": TEMP_ID, "type": "TemporaryScheduleInfo"},
    ],
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.origin = self.now

    def __call__(self) -> float:
        return self.now

    def at(self, seconds: float) -> None:
        """Set the time to `seconds` after the start."""
        self.now = self.origin + seconds


class Api:
    """A client of one emulator: `get("schedules")` -> GET {url}/api/v4/schedules."""

    def __init__(self, server: EmulatorServer, session: requests.Session) -> None:
        self.server = server
        self.session = session
        self.headers = {"AccessKey": server.access_key}

    def url(self, path: str, version: str = "v4") -> str:
        return f"{self.server.url}/api/{version}/{path}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", self.headers)
        return self.session.get(self.url(path), timeout=10, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", self.headers)
        return self.session.put(self.url(path), timeout=10, **kwargs)

    def json(self, path: str) -> Any:
        response = self.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        return response.json()

    def run_now(self, schedule_id: str, **variables: str) -> str:
        response = self.put(f"schedules/{schedule_id}/runNow", params=variables)
        assert response.status_code == 200, response.text
        run_id: str = response.json()["RunId"]
        return run_id

    def status(self, run_id: str) -> str:
        status: str = self.json(f"run/{run_id}/status")["Status"]
        return status

    def item_ids(self, run_id: str) -> list[str]:
        ids: list[str] = self.json(f"run/{run_id}/runItemIds")["RunItemIds"]
        return ids

    def items(self, run_id: str) -> list[dict[str, Any]]:
        return [self.json(f"runItems/{item_id}") for item_id in self.item_ids(run_id)]


Start = Callable[..., Api]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start an emulator on a scenario dict (default SCENARIO); stopped after the test."""
    servers: list[EmulatorServer] = []
    sessions: list[requests.Session] = []

    def _start(data: dict[str, Any] | None = None, **kwargs: Any) -> Api:
        scenario = Scenario.from_dict(SCENARIO if data is None else data)
        server = EmulatorServer(scenario, **kwargs).start()
        servers.append(server)
        session = requests.Session()
        sessions.append(session)
        return Api(server, session)

    yield _start
    for session in sessions:
        session.close()
    for server in servers:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(start: Start, clock: FakeClock) -> Api:
    return start(clock=clock)


def ref_ids(document: Any) -> list[str]:
    """Every object's `$id`, in document order; asserts each object has one, first."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert next(iter(node)) == "$id", node
            found.append(node["$id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for element in node:
                walk(element)

    walk(document)
    return found


def numbered(document: Any) -> bool:
    ids = ref_ids(document)
    return ids == [str(n) for n in range(1, len(ids) + 1)]


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# --- auth, routing, conventions -------------------------------------------------------------


def test_access_key_is_required_before_anything_else(api: Api) -> None:
    for headers in ({}, {"AccessKey": "WRONGKEY00000000"}):
        for path in ("schedules", "no/such/route", f"run/{UNKNOWN_ID}/status"):
            response = api.get(path, headers=headers)
            assert (response.status_code, response.text) == (401, "Incorrect AccessKey")
            assert response.headers["Content-Type"].startswith("text/plain")
    assert api.get("schedules", headers={"accesskey": api.server.access_key}).status_code == 200


def test_access_key_defaults_and_overrides(start: Start) -> None:
    assert start().server.access_key == DEFAULT_ACCESS_KEY == "EMULATORKEY00001"
    data = {**SCENARIO, "controller": {"access_key": "SCENARIOKEY00001"}}
    assert start(data).server.access_key == "SCENARIOKEY00001"
    assert start(data, access_key="EXPLICITKEY00001").server.access_key == "EXPLICITKEY00001"


def test_routes_are_case_insensitive_on_v3_and_v4_with_trailing_slash(
    api: Api, clock: FakeClock
) -> None:
    base = f"{api.server.url}/"
    for path in ("api/v4/schedules", "API/V4/Schedules/", "api/v3/schedules", "Api/V3/SCHEDULES/"):
        response = api.session.get(base + path, headers=api.headers)
        assert response.status_code == 200, path
    run_id = api.run_now(THREE_ID.upper())
    clock.at(20)
    assert api.json(f"run/{run_id.upper()}/status")["Status"] == "Finished"
    item_id = api.item_ids(run_id)[0].upper()
    for path in (f"api/v3/runitems/{item_id}", f"api/v4/RUNITEMS/{item_id}/KeyFrames/"):
        assert api.session.get(base + path, headers=api.headers).status_code == 200, path
    assert api.session.get(base + f"api/v3/run/{run_id}/runItemIds", headers=api.headers).ok


def test_unknown_routes_404_and_wrong_methods_405(api: Api) -> None:
    for path in ("api/v5/schedules", "api/v4/nothing", "api/v4/schedules/x/y/z", "schedules"):
        response = api.session.get(f"{api.server.url}/{path}", headers=api.headers)
        assert response.status_code == 404, path
    response = api.session.post(api.url("schedules"), headers=api.headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    response = api.session.delete(api.url(f"run/{UNKNOWN_ID}/stop"), headers=api.headers)
    assert (response.status_code, response.headers["Allow"]) == (405, "PUT, GET")
    assert api.get(f"schedules/{THREE_ID}/runNow").status_code == 405
    assert api.get(f"runItems/{UNKNOWN_ID}/keyframes/notanumber").status_code == 404


def test_unknown_ids_answer_asset_not_found(api: Api) -> None:
    for path in (
        f"schedules/{UNKNOWN_ID}",
        f"schedules/{UNKNOWN_ID}/status",
        f"run/{UNKNOWN_ID}",
        f"run/{UNKNOWN_ID}/status",
        f"run/{UNKNOWN_ID}/runItemIds",
        f"runItems/{UNKNOWN_ID}",
        f"runItems/{UNKNOWN_ID}/keyframes",
        "schedules/not-a-guid",
    ):
        response = api.get(path)
        assert (response.status_code, response.text) == (404, "Asset not found"), path
    for path in (f"schedules/{UNKNOWN_ID}/runNow", f"run/{UNKNOWN_ID}/stop"):
        assert api.put(path).status_code == 404
    assert api.put(f"schedules/{UNKNOWN_ID}/stop").text == "Asset not found"


def test_base_path_prefixes_the_api(start: Start) -> None:
    api = start(base_path="/leapwork/")
    assert api.server.url.endswith("/leapwork")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/leapwork", api.server.url)
    assert api.get("schedules").status_code == 200
    root = api.server.url.removesuffix("/leapwork")
    assert api.session.get(f"{root}/api/v4/schedules", headers=api.headers).status_code == 404


def test_put_bodies_are_ignored_and_keep_alive_survives(api: Api) -> None:
    assert api.put(f"schedules/{OPEN_ID}/runNow", data="ignored body").status_code == 200
    chunks = (part for part in (b"chunked ", b"body"))
    assert api.put(f"schedules/{OPEN_ID}/runNow", data=chunks).status_code == 200
    assert api.get("schedules").status_code == 200
    assert len(api.server.runs) == 2


# --- shapes ---------------------------------------------------------------------------------


def test_schedules_shape_and_ref_ids(api: Api) -> None:
    schedules = api.json("schedules")
    assert numbered(schedules)
    assert ref_ids(schedules[:1]) == ["1", "2", "3"]  # schedule, DateCreation, DateModify
    assert [s["Title"] for s in schedules] == [
        "Three", "Empty", "Open", "Off", "NoVars", "Lag", "Three",
    ]  # fmt: skip
    first = schedules[0]
    assert list(first) == [
        "$id", "IsEnabled", "IsScheduled", "DateCreation", "DateModify", "Title", "Type", "Id",
    ]  # fmt: skip
    assert (
        first["Id"] == THREE_ID and first["IsEnabled"] is True and first["Type"] == "ScheduleInfo"
    )
    assert set(first["DateCreation"]) == {"$id", "Value", "LocalDateTime", "UtcDateTime", "Ticks"}
    assert isinstance(first["DateCreation"]["Ticks"], int)
    assert schedules[3]["IsEnabled"] is False
    assert schedules[6]["Type"] == "TemporaryScheduleInfo" and schedules[6]["Id"] == TEMP_ID


def test_schedule_by_id_and_hierarchy(api: Api) -> None:
    schedule = api.json(f"schedules/{THREE_ID.upper()}")
    assert numbered(schedule)
    assert schedule["Id"] == THREE_ID and schedule["Description"] == ""
    (step,) = schedule["RunListSteps"]
    assert step["ScheduleInfoId"] == THREE_ID and step["RunListStepId"]
    hierarchy = api.json("schedules/hierarchy")
    assert numbered(hierarchy)
    assert TEMP_ID not in [entry["ScheduleInfo"]["Id"] for entry in hierarchy]
    node = hierarchy[0]["ScheduleHierarchy"]
    assert (node["Id"], node["Title"], node["Type"]) == (THREE_ID, "Three", "ScheduleInfo")
    assert node["Parent"][0]["Type"] == "Folder" and node["Parent"][0]["Parent"] == []
    assert hierarchy[0]["ScheduleInfo"]["IsEnabled"] is True


def test_license(api: Api) -> None:
    (license_,) = api.json("license/active")
    assert license_["$id"] == "1" and license_["ExpireDays"] > 0
    assert {"LicenseId", "DateActivated", "LicenseType"} <= set(license_)


# --- run lifecycle --------------------------------------------------------------------------


def test_run_goes_queued_executing_finished_with_items_one_by_one(
    api: Api, clock: FakeClock
) -> None:
    run_id = api.run_now(THREE_ID, URL="https://other.example.com")
    assert re.fullmatch(r"[0-9a-f-]{36}", run_id)
    response = api.put(f"schedules/{THREE_ID}/runNow")
    assert response.json()["$id"] == "1"
    assert api.status(run_id) == "Queued"
    assert api.item_ids(run_id) == []
    summary = api.json(f"run/{run_id}")
    assert numbered(summary)
    assert summary["Schedule"] == {"$id": "2", "ScheduleId": THREE_ID, "ScheduleTitle": "Three"}
    assert (summary["Status"], summary["Failed"], summary["Total"]) == ("Queued", 0, 3)
    assert summary["ExecutionTotalTime"] == "00:00:00.0000000"

    clock.at(1.1)
    assert api.status(run_id) == "Executing"
    (first,) = api.items(run_id)
    assert numbered(first)
    assert first["Status"] == first["FlowInfo"]["Status"] == "Initializing"
    assert first["Elapsed"] == "00:00:00.1000000"
    clock.at(1.5)
    assert api.items(run_id)[0]["Status"] == "Running"

    clock.at(3.1)
    a, b = api.items(run_id)
    assert (a["Status"], a["ElapsedSeconds"], a["Elapsed"]) == ("Passed", 2.0, "00:00:02.0000000")
    assert a["ElapsedMilliseconds"] == 2000.0
    assert b["Status"] == "Initializing"

    clock.at(7.5)
    assert [item["Status"] for item in api.items(run_id)] == ["Passed", "Failed", "Running"]
    assert api.json(f"run/{run_id}")["Failed"] == 1

    clock.at(9.0)
    assert api.status(run_id) == "Finished"
    items = api.items(run_id)
    assert [item["Status"] for item in items] == ["Passed", "Failed", "Done"]
    summary = api.json(f"run/{run_id}")
    assert (summary["Status"], summary["Failed"], summary["Total"]) == ("Finished", 1, 3)
    assert summary["ExecutionTotalTime"] == "00:00:08.0000000"
    assert summary["ExecutionMilliseconds"] == 8000.0
    assert api.server.run(run_id).status() == "Finished"


def test_run_item_shape(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(THREE_ID)
    clock.at(20)
    item = api.items(run_id)[2]
    assert list(item) == [
        "$id", "RunItemId", "RunId", "AutomationRunId", "FlowInfo", "Status", "AgentInfo",
        "Elapsed", "ElapsedMilliseconds", "ElapsedSeconds", "CreatedAt", "RunType",
    ]  # fmt: skip
    assert ref_ids(item) == ["1", "2", "3"]
    assert item["RunId"] == item["AutomationRunId"] == run_id
    assert item["FlowInfo"]["FlowTitle"] == "C" and re.fullmatch(
        r"[0-9a-f-]{36}", item["FlowInfo"]["FlowId"]
    )
    agent = item["AgentInfo"]
    assert agent["AgentTitle"] == agent["EnvironmentTitle"] == "Remote 7"
    assert agent["ConnectionType"] == "RemoteAgent" and agent["AgentId"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{7}", item["Elapsed"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00", item["CreatedAt"])
    assert item["RunType"] == "Manual"


def test_keyframes_become_due_and_default_error_keyframe(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(THREE_ID)
    clock.at(7.5)  # C started at 7, its own keyframes are due at 7.8 and 8.4
    item_c = api.item_ids(run_id)[2]
    keyframes = api.json(f"runItems/{item_c}/keyframes")
    assert [(k["Level"], k["LogMessage"]) for k in keyframes] == [
        ("Trace", "Flow started"),
        ("Info", "Scheduled run executed from schedule 'Three'"),
    ]
    clock.at(9.5)
    keyframes = api.json(f"runItems/{item_c}/keyframes")
    assert numbered(keyframes)
    first = keyframes[0]
    assert list(first) == [
        "$id", "AutomationRunItemId", "Timestamp", "Level", "Status", "LogMessage", "Id",
    ]  # fmt: skip
    assert first["AutomationRunItemId"] == item_c
    assert set(first["Timestamp"]) == {"$id", "Value", "LocalDateTime", "UtcDateTime", "Ticks"}
    assert [k["LogMessage"] for k in keyframes][2:] == ["one", "two"]
    assert "BlockTitle" not in keyframes[2] and keyframes[3]["BlockTitle"] == "Blk"
    assert (keyframes[2]["Level"], keyframes[3]["Level"]) == ("Info", "Warning")
    skipped = api.json(f"runItems/{item_c}/keyframes/2")
    assert [k["Id"] for k in skipped] == [k["Id"] for k in keyframes[2:]]
    assert numbered(skipped)
    assert api.json(f"runItems/{item_c}/keyframes/99") == []

    item_b = api.item_ids(run_id)[1]
    levels = [(k["Level"], k["LogMessage"]) for k in api.json(f"runItems/{item_b}/keyframes")]
    assert levels[-1] == ("Error", "Flow ended with status 'Failed'")
    item_a = api.item_ids(run_id)[0]
    assert len(api.json(f"runItems/{item_a}/keyframes")) == 2  # passed: no default error


def test_when_rules_pick_the_outcome_by_variables(api: Api, clock: FakeClock) -> None:
    ok = api.run_now(THREE_ID, url="https://ok.example.com")
    broken = api.run_now(THREE_ID, URL="https://broken.example.com")
    plain = api.run_now(THREE_ID, URL="https://broken.example.com/")
    clock.at(30)
    assert api.items(ok)[1]["Status"] == "Passed"
    broken_b = api.items(broken)[1]
    assert (broken_b["Status"], broken_b["ElapsedSeconds"]) == ("Failed", 3.0)
    keyframes = api.json(f"runItems/{broken_b['RunItemId']}/keyframes")
    assert [(k["Level"], k.get("BlockTitle"), k["LogMessage"]) for k in keyframes[2:]] == [
        ("Error", "Click Login", "Not found")
    ]
    assert api.items(plain)[1]["ElapsedSeconds"] == 4.0


def test_schedule_status_follows_its_newest_unfinished_run(api: Api, clock: FakeClock) -> None:
    assert api.json(f"schedules/{THREE_ID}/status") == {"$id": "1", "Status": "Finished"}
    api.run_now(THREE_ID)
    assert api.json(f"schedules/{THREE_ID}/status")["Status"] == "Queued"
    clock.at(1.5)
    api.run_now(THREE_ID)  # newest: queued until 2.5
    assert api.json(f"schedules/{THREE_ID}/status")["Status"] == "Queued"
    clock.at(3)
    assert api.json(f"schedules/{THREE_ID}/status")["Status"] == "Executing"
    clock.at(11)
    assert api.json(f"schedules/{THREE_ID}/status")["Status"] == "Finished"


def test_zero_flow_run_finishes_with_no_items(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(EMPTY_ID)
    clock.at(0.5)
    assert api.status(run_id) == "Queued"
    clock.at(1.01)
    assert api.status(run_id) == "Finished"
    assert api.item_ids(run_id) == []
    summary = api.json(f"run/{run_id}")
    assert (summary["Total"], summary["Failed"]) == (0, 0)


def test_items_lag_lets_a_finished_run_miss_its_last_ids(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(LAG_ID)  # starts at 1; L1 1-2, L2 2-2.5; ids show 1 s late
    clock.at(1.9)
    assert api.item_ids(run_id) == []
    clock.at(2.6)
    assert api.status(run_id) == "Finished"
    assert len(api.item_ids(run_id)) == 1
    missing = api.server.run(run_id).item_ids[1]
    assert api.get(f"runItems/{missing}").status_code == 404
    clock.at(3.05)
    assert api.item_ids(run_id)[1] == missing
    assert api.json(f"runItems/{missing}")["Status"] == "Passed"


def test_a_run_of_2000_flows_is_cheap(start: Start, clock: FakeClock) -> None:
    flows = [{"title": f"Flow {n}", "seconds": 0.01} for n in range(2000)]
    api = start({"schedules": [{"title": "Big", "id": OPEN_ID, "flows": flows}]}, clock=clock)
    began = time.perf_counter()
    run_id = api.run_now(OPEN_ID)
    clock.at(25.0)
    ids = api.item_ids(run_id)
    summary = api.json(f"run/{run_id}")
    assert len(ids) == 2000 and summary["Total"] == 2000 and summary["Status"] == "Finished"
    assert summary["ExecutionTotalTime"] == "00:00:20.0000000"
    assert api.json(f"runItems/{ids[-1]}")["Status"] == "Passed"
    assert time.perf_counter() - began < 2.0


def test_real_clock_run_finishes(start: Start) -> None:
    data = {
        "controller": {"queue_seconds": 0.05},
        "schedules": [{"title": "Fast", "id": OPEN_ID, "flows": [{"title": "F", "seconds": 0.1}]}],
    }
    api = start(data)
    run_id = api.run_now(OPEN_ID)
    seen: set[str] = set()

    def finished() -> bool:
        status = api.status(run_id)
        seen.add(status)
        return status == "Finished"

    wait_for(finished)
    assert "Queued" in seen or "Executing" in seen
    assert api.items(run_id)[0]["Status"] == "Passed"


# --- runNow: variables and refusals ---------------------------------------------------------


def test_variables_round_trip_url_decoded(api: Api) -> None:
    variables = {
        "URL": "https://example.com:8443/a?b=c&d=e#f",
        "Browser": "Zoë 名前 + more",
    }
    run_id = api.run_now(THREE_ID, **variables)
    assert api.server.run(run_id).variables == variables
    raw = api.session.put(
        api.url(f"schedules/{OPEN_ID}/runNow") + "?A=x%20y&B=x+y&C=%C3%A9&D=&E=a:b",
        headers=api.headers,
    )
    run = api.server.run(raw.json()["RunId"])
    assert run.variables == {"A": "x y", "B": "x y", "C": "é", "D": "", "E": "a:b"}
    assert (run.schedule_id, run.schedule_title, run.stopped) == (OPEN_ID, "Open", False)
    bare = api.session.put(api.url(f"schedules/{THREE_ID}/runNow") + "?", headers=api.headers)
    assert bare.status_code == 200 and api.server.runs[-1].variables == {}
    assert [r.run_id for r in api.server.runs] == [run_id, run.run_id, bare.json()["RunId"]]


@pytest.mark.parametrize(
    ("schedule_id", "query"),
    [
        (THREE_ID, "Foo=1"),  # not declared
        (THREE_ID, "URL=a&url=b"),  # twice, in any letter case
        (THREE_ID, "=value"),  # no name
        (NONE_ID, "X=1"),  # the schedule declares no variables at all
    ],
)
def test_invalid_variables_answer_400(api: Api, schedule_id: str, query: str) -> None:
    response = api.session.put(
        api.url(f"schedules/{schedule_id}/runNow") + "?" + query, headers=api.headers
    )
    assert response.status_code == 400
    assert response.text == (
        "Variable name is invalid or variable with such name is already in request"
    )
    assert api.server.runs == []


def test_declared_variables_match_case_insensitively(api: Api) -> None:
    api.run_now(THREE_ID, url="x", BROWSER="y")
    assert api.server.runs[0].variables == {"url": "x", "BROWSER": "y"}


def test_disabled_schedule_answers_400(api: Api) -> None:
    response = api.put(f"schedules/{DISABLED_ID}/runNow")
    assert (response.status_code, response.text) == (400, "Schedule is disabled")


def test_reject_when_running_answers_410(start: Start, clock: FakeClock) -> None:
    data = {
        "schedules": [
            {"title": "Once", "id": OPEN_ID, "reject_when_running": True, "flows": [{"title": "F"}]}
        ]
    }
    api = start(data, clock=clock)
    api.run_now(OPEN_ID)
    response = api.put(f"schedules/{OPEN_ID}/runNow")
    assert (response.status_code, response.text) == (410, "Schedule is already running")
    clock.at(1.2)
    api.run_now(OPEN_ID)
    assert len(api.server.runs) == 2


def test_agents_limit_keeps_runs_queued(start: Start, clock: FakeClock) -> None:
    data = {
        "controller": {"queue_seconds": 0.5, "agents": 1},
        "schedules": [{"title": "S", "id": OPEN_ID, "flows": [{"title": "F", "seconds": 2.0}]}],
    }
    api = start(data, clock=clock)
    first, second = api.run_now(OPEN_ID), api.run_now(OPEN_ID)
    clock.at(0.6)
    assert (api.status(first), api.status(second)) == ("Executing", "Queued")
    assert api.json(f"schedules/{OPEN_ID}/status")["Status"] == "Queued"
    clock.at(2.6)  # first ended at 2.5, second took the agent then
    assert (api.status(first), api.status(second)) == ("Finished", "Executing")
    assert api.items(second)[0]["ElapsedSeconds"] == pytest.approx(0.1)
    third = api.run_now(OPEN_ID)  # ready at 3.1, but the agent is busy until 4.5
    clock.at(3.2)
    assert api.status(third) == "Queued"
    api.put(f"run/{second}/stop")  # frees the agent now
    clock.at(3.3)
    assert api.status(third) == "Executing"
    assert api.items(third)[0]["ElapsedSeconds"] == pytest.approx(0.1)


# --- stop -----------------------------------------------------------------------------------


def test_stop_run_cancels_unfinished_flows_and_finishes(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(THREE_ID)
    clock.at(4.0)  # A passed, B running since 3
    assert api.put(f"run/{run_id}/stop").json() == {"$id": "1", "OperationCompleted": True}
    assert api.status(run_id) == "Finished"
    items = api.items(run_id)
    assert [(i["Status"], i["ElapsedSeconds"]) for i in items] == [
        ("Passed", 2.0), ("Cancelled", 1.0), ("Cancelled", 0.0),
    ]  # fmt: skip
    assert api.server.run(run_id).stopped
    keyframes = api.json(f"runItems/{items[1]['RunItemId']}/keyframes")
    assert keyframes[-1]["LogMessage"] == "Run was stopped"
    clock.at(20)
    assert [i["Status"] for i in api.items(run_id)] == ["Passed", "Cancelled", "Cancelled"]
    assert api.json(f"run/{run_id}")["Failed"] == 2
    assert api.put(f"run/{run_id}/stop").json()["OperationCompleted"] is True


def test_stop_a_queued_run_with_get(api: Api) -> None:
    run_id = api.run_now(THREE_ID)
    assert api.get(f"run/{run_id}/stop").json()["OperationCompleted"] is True  # as Azure does
    assert api.status(run_id) == "Finished"
    assert [(i["Status"], i["Elapsed"]) for i in api.items(run_id)] == [
        ("Cancelled", "00:00:00.0000000")
    ] * 3


def test_stop_finished_run_changes_nothing(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(THREE_ID)
    clock.at(10)
    assert api.put(f"run/{run_id}/stop").json()["OperationCompleted"] is True
    assert not api.server.run(run_id).stopped
    assert [i["Status"] for i in api.items(run_id)] == ["Passed", "Failed", "Done"]


def test_stop_schedule_by_schedule_id_or_run_id(api: Api, clock: FakeClock) -> None:
    one, two = api.run_now(THREE_ID), api.run_now(THREE_ID)
    clock.at(1.5)
    open_run = api.run_now(OPEN_ID)  # executing 1.5-2.5
    response = api.put(f"schedules/{THREE_ID.upper()}/stop")
    assert response.json() == {"$id": "1", "OperationCompleted": True}
    assert (api.status(one), api.status(two)) == ("Finished", "Finished")
    assert api.json(f"schedules/{THREE_ID}/status")["Status"] == "Finished"
    assert not api.server.run(open_run).stopped and api.status(open_run) == "Executing"
    assert api.put(f"schedules/{open_run}/stop").json()["OperationCompleted"] is True
    assert api.server.run(open_run).stopped


# --- faults ---------------------------------------------------------------------------------


def test_status_fault_with_after_times_and_retry_after(api: Api) -> None:
    api.server.add_fault(Fault(endpoint="schedules", status=503, after=1, times=2, retry_after=2))
    answers = [api.get("schedules") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 503, 503, 200]
    assert answers[1].headers["Retry-After"] == "2"
    assert answers[1].text == "Service Unavailable"
    assert api.get("license/active").status_code == 200  # other endpoints untouched


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, "An error has occurred."),
        (502, "Bad Gateway"),
        (448, "Cache timeout, try again later"),
        (455, "Database is not responding"),
        (404, "Asset not found"),
    ],
)
def test_status_fault_default_bodies(api: Api, status: int, body: str) -> None:
    api.server.add_fault(Fault(endpoint="run_now", status=status))
    response = api.put(f"schedules/{THREE_ID}/runNow")
    assert (response.status_code, response.text) == (status, body)
    assert "Retry-After" not in response.headers
    assert api.server.runs == []  # the fault answered instead of the controller


def test_forever_fault_and_custom_body(api: Api) -> None:
    api.server.add_fault(Fault(endpoint="any", status=500, times=0, body="boom"))
    assert {api.get("schedules").text for _ in range(5)} == {"boom"}


def test_close_fault_drops_the_connection(api: Api) -> None:
    api.server.add_fault(Fault(endpoint="schedules", action="close"))
    with pytest.raises(requests.ConnectionError):
        api.get("schedules")
    assert api.server.requests[-1].status == 0
    assert api.get("schedules").status_code == 200


def test_slow_fault_delays_then_answers(api: Api) -> None:
    api.server.add_fault(Fault(endpoint="license", action="slow", delay=0.2))
    began = time.monotonic()
    assert api.get("license/active").status_code == 200
    assert time.monotonic() - began >= 0.2


def test_malformed_json_fault(api: Api) -> None:
    api.server.add_fault(Fault(endpoint="run_now", action="malformed_json"))
    api.server.add_fault(Fault(endpoint="keyframes", action="malformed_json"))
    response = api.put(f"schedules/{THREE_ID}/runNow")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert api.server.runs == []  # not carried out
    with pytest.raises(ValueError):
        json.loads(api.get(f"runItems/{UNKNOWN_ID}/keyframes").text)


def test_wrong_shape_fault(api: Api) -> None:
    api.server.add_fault(Fault(endpoint="schedules", action="wrong_shape"))
    api.server.add_fault(Fault(endpoint="run_status", action="wrong_shape"))
    api.server.add_fault(Fault(endpoint="run_item", action="wrong_shape", body='{"$id":"1"}'))
    assert isinstance(api.json("schedules"), dict)
    assert isinstance(api.json(f"run/{UNKNOWN_ID}/status"), list)
    assert api.json(f"runItems/{UNKNOWN_ID}") == {"$id": "1"}


def test_revoke_key_fault(api: Api) -> None:
    api.server.add_fault(Fault(endpoint="license", action="revoke_key"))
    assert api.get("schedules").status_code == 200
    assert api.get("license/active").status_code == 401
    for path in ("schedules", "license/active"):
        response = api.get(path)
        assert (response.status_code, response.text) == (401, "Incorrect AccessKey")


def test_restart_fault_forgets_runs(api: Api) -> None:
    run_id = api.run_now(THREE_ID)
    api.server.add_fault(Fault(endpoint="schedules", action="restart"))
    assert api.get("schedules").status_code == 200
    assert api.get(f"run/{run_id}/status").status_code == 404
    assert api.server.runs == []


def test_run_age_fault_models_a_run_not_created_yet(api: Api, clock: FakeClock) -> None:
    for endpoint in ("run_status", "run_item_ids"):
        api.server.add_fault(Fault(endpoint=endpoint, status=404, times=0, run_age_below=0.5))
    run_id = api.run_now(THREE_ID)
    assert api.get(f"run/{run_id}/status").status_code == 404
    assert api.get(f"run/{run_id}/runItemIds").status_code == 404
    assert api.get(f"run/{run_id}").status_code == 200
    clock.at(0.6)
    assert api.status(run_id) == "Queued"
    assert api.item_ids(run_id) == []


def test_faults_fire_in_order_and_come_from_scenario_files(tmp_path: Path, start: Start) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(
        '[[schedules]]\ntitle = "S"\n'
        '[[faults]]\nendpoint = "schedules"\nstatus = 502\n'
        '[[faults]]\nendpoint = "any"\nstatus = 500\ntimes = 2\n'
    )
    scenario = load_scenario(path)
    assert scenario.faults[0] == Fault(endpoint="schedules", status=502)
    with EmulatorServer(scenario) as server, requests.Session() as session:
        api = Api(server, session)
        assert [api.get("schedules").status_code for _ in range(3)] == [502, 500, 500]
        assert api.get("schedules").status_code == 200


def test_fault_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        Fault(endpoint="nope")
    with pytest.raises(ValueError, match="action"):
        Fault(action="explode")


# --- inspection and life of the server ------------------------------------------------------


def test_requests_are_recorded(api: Api) -> None:
    api.put(f"schedules/{OPEN_ID}/runNow", params={"A": "a b", "B": "é"})
    api.get("schedules/hierarchy")
    put, get = api.server.requests
    assert (put.method, put.path, put.status, put.endpoint) == (
        "PUT", f"/api/v4/schedules/{OPEN_ID}/runNow", 200, "run_now",
    )  # fmt: skip
    assert put.query == [("A", "a b"), ("B", "é")]
    assert put.headers["AccessKey"] == api.server.access_key
    assert get.endpoint == "schedules_hierarchy"
    assert api.server.count_requests() == 2
    assert api.server.count_requests("run_now") == 1
    assert api.server.count_requests("run_status") == 0
    with pytest.raises(ValueError, match="unknown endpoint"):
        api.server.count_requests("bogus")
    with pytest.raises(KeyError):
        api.server.run(UNKNOWN_ID)


def test_server_start_stop_and_context_manager() -> None:
    scenario = Scenario.from_dict(SCENARIO)
    idle = EmulatorServer(scenario)
    with pytest.raises(RuntimeError):
        idle.url  # noqa: B018
    idle.stop()
    idle.stop()
    with EmulatorServer(scenario) as server, requests.Session() as session:
        assert server.start() is server
        url = server.url
        assert session.get(f"{url}/api/v4/schedules", headers={"AccessKey": server.access_key}).ok
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/v4/schedules", timeout=5)
    with pytest.raises(RuntimeError):
        server.start()


def test_concurrent_clients(api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def poll(_: int) -> int:
        with requests.Session() as session:
            return sum(
                session.get(api.url("schedules"), headers=api.headers, timeout=10).status_code
                == 200
                for _ in range(20)
            )

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(poll, range(16))) == 320


# --- scenarios ------------------------------------------------------------------------------


def test_demo_scenario() -> None:
    demo = load_scenario("demo")
    assert demo.source == "demo.toml"
    by_title = {(s.title, s.type): s for s in demo.schedules}
    smoke = by_title["Smoke Login", "ScheduleInfo"]
    assert smoke.variables == ("URL", "Browser")
    assert [f.title for f in smoke.flows] == ["Open Browser", "Log In", "Check Dashboard"]
    assert smoke.flows[1].outcome({"URL": "https://broken.example.com"}).status == "Failed"
    assert smoke.flows[1].outcome({"URL": "https://example.com"}).status == "Passed"
    assert ("Smoke Login", "TemporaryScheduleInfo") in by_title
    checkout = by_title["Checkout", "ScheduleInfo"]
    assert checkout.variables == () and "Done" in [f.status for f in checkout.flows]
    assert not by_title["Nightly Regression", "ScheduleInfo"].enabled
    assert by_title["Empty Run", "ScheduleInfo"].flows == ()
    assert "Inconclusive" in [f.status for f in by_title["Flaky Search", "ScheduleInfo"].flows]
    for schedule in demo.schedules:
        assert sum(f.seconds for f in schedule.flows) <= 3.0
    assert load_scenario("demo").schedules[0].id == smoke.id  # stable ids


def test_json_and_toml_scenarios_are_the_same(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(SCENARIO))
    toml_text = (
        "[controller]\nqueue_seconds = 1.0\n"
        f'[[schedules]]\ntitle = "Three"\nid = "{THREE_ID.upper()}"\n'
        '[[schedules.flows]]\ntitle = "A"\nseconds = 2\n'
    )
    (tmp_path / "s.toml").write_text(toml_text)
    from_json = load_scenario(tmp_path / "s.json")
    from_toml = load_scenario(str(tmp_path / "s.toml"))
    assert from_json.schedules[0].id == from_toml.schedules[0].id == THREE_ID
    assert from_json.schedules[0].flows[0] == from_toml.schedules[0].flows[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            (
                '[[schedules]]\ntitle = "S"\n[[schedules.flows]]\ntitle = "F"\n'
                '[[schedules.flows]]\ntitle = "G"\nseconds = "x"\n'
            ),
            "schedules[0].flows[1].seconds: expected a number, got 'x'",
        ),
        ('[[schedules]]\ntitle = "S"\nflow = 1\n', "schedules[0].flow: unknown key"),
        ('[[schedules]]\ntitle = "S"\n[[schedules]]\nenabled = true\n', "schedules[1].title: missing"),
        ('[[schedules]]\ntitle = "S"\n[[schedules.flows]]\nseconds = 1\n', "schedules[0].flows[0].title"),
        ('[[schedules]]\ntitle = "S"\n[[schedules]]\ntitle = "S"\n', "schedules[1].id: duplicate id"),
        ('[[schedules]]\ntitle = "S"\nid = "nope"\n', "schedules[0].id: expected a GUID"),
        ('[[schedules]]\ntitle = "S"\nenabled = "yes"\n', "schedules[0].enabled: expected true or false"),
        ('[[schedules]]\ntitle = "S"\ntype = "Folder"\n', "schedules[0].type: expected one of"),
        ('[[schedules]]\ntitle = "S"\nvariables = ["A", "a"]\n', "schedules[0].variables[1]: duplicate"),
        ('[[schedules]]\ntitle = "S"\n[[schedules.flows]]\ntitle = "F"\nseconds = true\n', "seconds: expected a number, got True"),
        ('[[schedules]]\ntitle = "S"\n[[schedules.flows]]\ntitle = "F"\nseconds = -1\n', "seconds: expected a number >= 0"),
        ('[[schedules]]\ntitle = "S"\n[[schedules.flows]]\ntitle = "F"\n[[schedules.flows.when]]\nvariable = "A"\nequals = 1\n', "flows[0].when[0].equals: expected a string"),
        ('[[schedules]]\ntitle = "S"\n[[schedules.flows]]\ntitle = "F"\nkeyframes = [{ level = "Info" }]\n', "flows[0].keyframes[0].message: missing"),
        ('[controller]\nagents = 1.5\n', "controller.agents: expected an integer"),
        ('[[faults]]\nendpoint = "everything"\n', "faults[0].endpoint: expected one of"),
        ('[[faults]]\naction = "status"\nstatus = 99\n', "faults[0].status: expected an HTTP status code"),
        ("schedules = 3\n", "schedules: expected a list of tables"),
        ("[[schedules]\n", "invalid TOML"),
        ("surprise = 1\n", "surprise: unknown key"),
    ],
)  # fmt: skip
def test_scenario_errors_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_scenario_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="built-in: demo"):
        load_scenario("nonsense")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ScenarioError, match=r"bad\.json: top level: expected a table"):
        load_scenario(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ScenarioError, match="invalid JSON"):
        load_scenario(tmp_path / "broken.json")
    assert issubclass(ScenarioError, ValueError)


# --- command line ---------------------------------------------------------------------------


def _emulator(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_leapwork.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_serves_until_ctrl_c(tmp_path: Path) -> None:
    process = _emulator("--port", "0", "--base-path", "/lw")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/lw) \(AccessKey (\S+)\)", line)
        assert found, line
        url, shown = found.groups()
        assert shown == "****0001"
        response = requests.get(
            f"{url}/api/v4/schedules", headers={"AccessKey": DEFAULT_ACCESS_KEY}, timeout=10
        )
        assert "Smoke Login" in [s["Title"] for s in response.json()]
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "Traceback" not in err


def test_cli_show_key_and_scenario_key(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[controller]\naccess_key = "MYOWNKEY12345678"\n')
    process = _emulator("--port", "0", "--show-key", str(path))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "AccessKey MYOWNKEY12345678" in line
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0


def test_cli_log_switch_logs_each_request_to_stderr() -> None:
    process = _emulator("--port", "0", "-v")
    try:
        assert process.stdout is not None
        url = re.search(r"(http://\S+) \(AccessKey", process.stdout.readline())
        assert url
        for headers in ({"AccessKey": DEFAULT_ACCESS_KEY}, {}):
            requests.get(f"{url.group(1)}/api/v4/schedules", headers=headers, timeout=10)
        key = {"AccessKey": DEFAULT_ACCESS_KEY}
        requests.get(f"{url.group(1)}/api/v4/nothing", headers=key, timeout=10)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    lines = err.strip().splitlines()
    assert len(lines) == 3, err
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GET /api/v4/%s %d \d+\.\d ms"
    assert re.fullmatch(pattern % ("schedules", 200), lines[0])
    assert re.fullmatch(pattern % ("schedules", 401), lines[1])
    assert re.fullmatch(pattern % ("nothing", 404), lines[2])
    assert DEFAULT_ACCESS_KEY not in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["missing.toml"], "missing.toml: file not found"),
        (["--host", "0.0.0.0"], "--allow-remote"),
    ],
)
def test_cli_refuses_with_exit_2(args: list[str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_leapwork.emulator", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


# --- videos ---------------------------------------------------------------------------------

FLOW_ID = "793602fa-3131-4844-930e-52af8635dcff"
AGENT_ID = "7dbf7cb6-d5df-4f46-8e16-9bd31238c00a"
VIDEO_SCENARIO: dict[str, Any] = {
    "controller": {"queue_seconds": 0.0},
    "agents": [{"title": "Remote Agent", "id": AGENT_ID}],
    "schedules": [
        {
            "title": "Videos",
            "id": OPEN_ID,
            "flows": [
                {"title": "Recorded", "id": FLOW_ID, "seconds": 1.0, "status": "Failed"},
                {"title": "Unrecorded", "seconds": 1.0, "video": False},
            ],
        }
    ],
}


def test_video_per_run_item_once_its_flow_ended(start: Start, clock: FakeClock) -> None:
    api = start(VIDEO_SCENARIO, clock=clock)
    run_id = api.run_now(OPEN_ID)
    clock.at(0.5)
    (recorded,) = api.item_ids(run_id)
    assert api.get(f"runItems/{recorded}/video").status_code == 404  # still running
    clock.at(2.5)
    recorded, unrecorded = api.item_ids(run_id)
    response = api.get(f"runItems/{recorded}/video", headers={**api.headers, "Accept": "*/*"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/webm"
    assert response.content.startswith(b"\x1a\x45\xdf\xa3")  # EBML magic
    assert b"webm" in response.content[:40] and b"V_VP8" in response.content
    assert int(response.headers["Content-Length"]) == len(response.content) < 2048
    v3 = api.session.get(api.url(f"RunItems/{recorded}/Video", "v3"), headers=api.headers)
    assert v3.content == response.content
    # `video = false` on a flow: its run items have no video.
    off = api.get(f"runItems/{unrecorded}/video")
    assert (off.status_code, off.text) == (404, "Asset not found")
    assert api.get(f"runItems/{UNKNOWN_ID}/video").status_code == 404
    assert api.server.count_requests("video") == 5


def test_video_of_a_cancelled_flow(start: Start, clock: FakeClock) -> None:
    api = start(VIDEO_SCENARIO, clock=clock)
    run_id = api.run_now(OPEN_ID)
    clock.at(0.5)
    api.put(f"run/{run_id}/stop")
    recorded, _ = api.item_ids(run_id)
    assert api.get(f"runItems/{recorded}/video").status_code == 200


# --- one flow on one agent: PUT flows/{flowId}/agent/{agentId} -------------------------------


def test_run_flow_on_agent_through_a_temporary_schedule(start: Start, clock: FakeClock) -> None:
    api = start(VIDEO_SCENARIO, clock=clock)
    response = api.put(f"flows/{FLOW_ID.upper()}/agent/{AGENT_ID}", params={"URL": "x"})
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["$id", "RunId"]
    run_id = response.json()["RunId"]
    run = api.server.run(run_id)
    assert run.variables == {"URL": "x"}
    assert run.schedule.type == "TemporaryScheduleInfo" and run.schedule.title == "Recorded"
    schedules = api.json("schedules")
    temporary = [s for s in schedules if s["Type"] == "TemporaryScheduleInfo"]
    assert [(s["Title"], s["Id"]) for s in temporary] == [("Recorded", run.schedule_id)]
    assert run.schedule_id not in [e["ScheduleInfo"]["Id"] for e in api.json("schedules/hierarchy")]
    assert api.json(f"schedules/{run.schedule_id}")["Type"] == "TemporaryScheduleInfo"
    clock.at(1.5)
    assert api.status(run_id) == "Finished"
    (item,) = api.items(run_id)
    assert (item["FlowInfo"]["FlowId"], item["FlowInfo"]["FlowTitle"]) == (FLOW_ID, "Recorded")
    assert item["Status"] == "Failed"
    assert (item["AgentInfo"]["AgentId"], item["AgentInfo"]["AgentTitle"]) == (
        AGENT_ID,
        "Remote Agent",
    )
    # The same flow, through its schedule, keeps its own agent; the default agent has an id.
    scheduled = api.run_now(OPEN_ID)
    clock.at(5)
    local = api.items(scheduled)[0]["AgentInfo"]
    assert local["AgentTitle"] == "Local Agent"
    local_run = api.put(f"flows/{FLOW_ID}/agent/{local['AgentId']}").json()["RunId"]
    assert api.server.run(local_run).schedule.flows[0].agent == "Local Agent"


def test_run_flow_v3_environment_and_is_delete(start: Start, clock: FakeClock) -> None:
    api = start(VIDEO_SCENARIO, clock=clock)
    url = api.url(f"flows/{FLOW_ID}/environment/{AGENT_ID}", "v3") + "?isDelete=true&A=1"
    run_id = api.session.put(url, headers=api.headers).json()["RunId"]
    run = api.server.run(run_id)
    assert run.variables == {"A": "1"}  # isDelete is an option, not a variable
    assert run.schedule_id in [s["Id"] for s in api.json("schedules")]
    clock.at(1.5)  # finished: the temporary schedule is gone, its run stays readable
    assert run.schedule_id not in [s["Id"] for s in api.json("schedules")]
    assert api.get(f"schedules/{run.schedule_id}").status_code == 404
    assert api.json(f"run/{run_id}")["Status"] == "Finished"


@pytest.mark.parametrize(
    "path",
    [
        f"flows/{UNKNOWN_ID}/agent/{AGENT_ID}",
        f"flows/{FLOW_ID}/agent/{UNKNOWN_ID}",
    ],
)
def test_run_flow_unknown_flow_or_agent_answers_404(start: Start, path: str) -> None:
    api = start(VIDEO_SCENARIO)
    response = api.put(path)
    assert (response.status_code, response.text) == (404, "Asset not found")
    assert api.get(path.replace(UNKNOWN_ID, FLOW_ID)).status_code == 405
    assert api.server.runs == []


def test_flow_and_agent_ids_in_scenarios(tmp_path: Path) -> None:
    scenario = Scenario.from_dict(VIDEO_SCENARIO)
    recorded, unrecorded = scenario.schedules[0].flows
    assert recorded.id == recorded.flow_id == FLOW_ID and recorded.video
    assert re.fullmatch(r"[0-9a-f-]{36}", unrecorded.id) and not unrecorded.video
    assert Scenario.from_dict(VIDEO_SCENARIO).schedules[0].flows[1].id == unrecorded.id
    assert scenario.agents[0].id == AGENT_ID
    path = tmp_path / "bad.toml"
    for text, message in [
        ('[[agents]]\ntitle = "A"\nid = "x"\n', "agents[0].id: expected a GUID"),
        ('[[agents]]\nid = "' + AGENT_ID + '"\n', "agents[0].title: missing"),
        ('[[agents]]\ntitle = "A"\n[[agents]]\ntitle = "A"\n', "agents[1]: duplicate agent"),
        (
            '[[schedules]]\ntitle = "S"\n[[schedules.flows]]\ntitle = "F"\nvideo = "no"\n',
            "schedules[0].flows[0].video: expected true or false",
        ),
        (
            f'[[schedules]]\ntitle = "S"\n[[schedules.flows]]\ntitle = "F"\nid = "{FLOW_ID}"\n'
            f'[[schedules.flows]]\ntitle = "G"\nid = "{FLOW_ID}"\n',
            "schedules[0].flows[1].id: flow id",
        ),
    ]:
        path.write_text(text)
        with pytest.raises(ScenarioError, match=re.escape(message)):
            load_scenario(path)


# --- v3 shapes ------------------------------------------------------------------------------


def test_v3_run_item_has_environment_info_v4_agent_info(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(THREE_ID)
    clock.at(20)
    item_id = api.item_ids(run_id)[2]
    v4 = api.json(f"runItems/{item_id}")
    v3 = api.session.get(api.url(f"runItems/{item_id}", "v3"), headers=api.headers).json()
    assert "EnvironmentInfo" not in v4 and "AgentInfo" not in v3
    assert list(v3) == [
        "$id", "RunItemId", "RunId", "AutomationRunId", "FlowInfo", "Status", "EnvironmentInfo",
        "Elapsed", "ElapsedMilliseconds", "ElapsedSeconds", "CreatedAt", "RunType",
    ]  # fmt: skip
    assert numbered(v3)
    environment = v3["EnvironmentInfo"]
    assert list(environment) == ["$id", "EnvironmentId", "EnvironmentTitle", "ConnectionType"]
    assert environment["EnvironmentId"] == v4["AgentInfo"]["AgentId"]
    assert environment["EnvironmentTitle"] == v4["AgentInfo"]["AgentTitle"] == "Remote 7"
    assert environment["ConnectionType"] == "RemoteAgent"
    assert {k: v for k, v in v3.items() if k != "EnvironmentInfo"} == {
        k: v for k, v in v4.items() if k != "AgentInfo"
    }


# --- documented endpoints beyond what the CI plugins call -----------------------------------


def test_schedule_status_by_run_id_the_documented_path(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(THREE_ID)
    assert api.json(f"schedules/{run_id}/status") == {"$id": "1", "Status": "Queued"}
    clock.at(1.5)
    assert api.json(f"schedules/{run_id.upper()}/status")["Status"] == "Executing"
    clock.at(20)
    assert api.json(f"schedules/{run_id}/status")["Status"] == "Finished"


def test_keyframe_variants(api: Api, clock: FakeClock) -> None:
    run_id = api.run_now(THREE_ID)
    clock.at(20)
    item_c = api.item_ids(run_id)[2]
    every = api.json(f"runItems/{item_c}/keyframes")
    assert api.json(f"runItems/{item_c}/keyframe/1") == api.json(f"runItems/{item_c}/keyframes/1")
    assert [k["Id"] for k in api.json(f"runItems/{item_c}/keyframe/1")] == [
        k["Id"] for k in every[1:]
    ]
    # /keyframes/{offset}/{blockTitle}/{logMessage}: `%` is a wildcard, letter case ignored.
    assert [k["LogMessage"] for k in api.json(f"runItems/{item_c}/keyframes/0/%/%")] == [
        k["LogMessage"] for k in every
    ]
    only = api.json(f"runItems/{item_c}/keyframes/0/blk/TW%")
    assert [(k["BlockTitle"], k["LogMessage"]) for k in only] == [("Blk", "two")]
    assert numbered(only)
    ids = [k["Id"] for k in api.json(f"runItems/{item_c}/keyframes/0/%25/scheduled%25")]
    assert ids == [every[1]["Id"]]
    assert api.json(f"runItems/{item_c}/keyframes/1/%/%")[0]["Id"] == every[1]["Id"]
    assert api.json(f"runItems/{item_c}/keyframes/0/Blk/one") == []


def test_schedules_by_name_and_paginated(api: Api) -> None:
    (three, temp) = api.json("schedules/Three")
    assert (three["Id"], temp["Id"], three["Title"]) == (THREE_ID, TEMP_ID, "Three")
    assert three == api.json(f"schedules/{THREE_ID}")
    assert [s["Title"] for s in api.json("schedules/%25e%25")] == [
        "Three", "Empty", "Open", "Three",
    ]  # fmt: skip
    assert [s["Title"] for s in api.json("schedules/o%")] == ["Open", "Off"]  # `%` unencoded
    assert api.get("schedules/Nothing%20Like%20It").status_code == 404
    paged = [
        [s["Title"] for s in api.json(f"schedules/%25/paginated?pageNumber={n}&perPage=3")]
        for n in (1, 2, 3, 4)
    ]
    assert paged == [["Three", "Empty", "Open"], ["Off", "NoVars", "Lag"], ["Three"], []]
    assert [s["Title"] for s in api.json("schedules/%25/paginated")] == ["Three"]  # 1 per page
    bad = api.get("schedules/%25/paginated?pageNumber=0")
    assert (bad.status_code, bad.json()) == (
        400,
        {"$id": "1", "Message": "The request is invalid."},
    )


def test_schedule_of_a_run(api: Api) -> None:
    run_id = api.run_now(OPEN_ID)
    (schedule,) = api.json(f"schedules/run/{run_id}")
    assert (schedule["Id"], schedule["Title"], schedule["Type"]) == (
        OPEN_ID,
        "Open",
        "ScheduleInfo",
    )
    assert "RunListSteps" in schedule and numbered([schedule])
    assert api.get(f"schedules/run/{UNKNOWN_ID}").status_code == 404


def test_run_ids_of_a_schedule_by_filter(api: Api, clock: FakeClock) -> None:
    first = api.run_now(THREE_ID)
    clock.at(1)
    second = api.run_now(THREE_ID)
    api.run_now(OPEN_ID)
    assert api.json(f"schedules/{THREE_ID}/runIds") == {"$id": "1", "runIds": [second, first]}
    assert api.json(f"schedules/{THREE_ID}/runIds/?count=1")["runIds"] == [second]
    for name in ("NoFilter", "lastminute", "LastHour", "LastWeek", "ThisYear"):
        assert api.json(f"schedules/{THREE_ID}/runIds/{name}")["runIds"] == [second, first], name
    assert api.json(f"schedules/{THREE_ID}/runIds/LastDays?count=1")["runIds"] == [second, first]
    assert api.json(f"schedules/{EMPTY_ID}/runIds")["runIds"] == []
    bad = api.get(f"schedules/{THREE_ID}/runIds/Yesterday")
    assert (bad.status_code, bad.json()["Message"]) == (400, "The request is invalid.")
    assert api.get(f"schedules/{UNKNOWN_ID}/runIds").status_code == 404


def test_run_items_of_a_flow(api: Api, clock: FakeClock) -> None:
    one = api.run_now(THREE_ID)
    clock.at(1.5)  # one: A executing; two: queued
    two = api.run_now(THREE_ID)
    item = api.items(one)[0]
    flow_a = item["FlowInfo"]["FlowId"]
    assert api.json(f"flows/{flow_a}/runItems/all") == {
        "$id": "1",
        "RunItemId": [item["RunItemId"]],
    }
    clock.at(30)
    expected = [api.item_ids(one)[0], api.item_ids(two)[0]]
    assert api.json(f"flows/{flow_a.upper()}/runItems/all")["RunItemId"] == expected
    assert api.get(f"flows/{UNKNOWN_ID}/runItems/all").status_code == 404


# --- errors as ASP.NET Web API answers them -------------------------------------------------


def test_unknown_routes_and_methods_answer_json_messages(api: Api) -> None:
    response = api.session.get(f"{api.server.url}/api/v4/nothing/here?x=1", headers=api.headers)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    host = api.server.url.removeprefix("http://")
    assert response.json() == {
        "$id": "1",
        "Message": f"No HTTP resource was found that matches the request URI"
        f" 'http://{host}/api/v4/nothing/here'.",
    }
    response = api.session.post(api.url("schedules"), headers=api.headers)
    assert (response.status_code, response.headers["Allow"]) == (405, "GET")
    assert response.json() == {
        "$id": "1",
        "Message": "The requested resource does not support http method 'POST'.",
    }
    # Known routes keep their plain-text answers, as the clients quote them.
    assert api.get(f"run/{UNKNOWN_ID}").text == "Asset not found"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (444, "Schedule Has No Cases"),
        (445, "License Expired"),
        (446, "Not Enough Disk Space"),
        (448, "Cache Timeout"),
        (455, "Database Not Responding"),
        (410, "Gone"),
    ],
)
def test_non_standard_codes_carry_a_reason_phrase(api: Api, status: int, reason: str) -> None:
    import http.client

    api.server.add_fault(Fault(endpoint="run_now", status=status))
    connection = http.client.HTTPConnection(api.server.host, api.server.port, timeout=10)
    try:
        connection.request(
            "PUT", f"/api/v4/schedules/{THREE_ID}/runNow", headers=api.headers, body=b""
        )
        answer = connection.getresponse()
        assert (answer.status, answer.reason) == (status, reason)
        answer.read()
    finally:
        connection.close()


# --- cross-origin (CORS) --------------------------------------------------------------------

PAGE_ORIGIN = "http://127.0.0.1:8080"
# What Chromium 156 sends before a fetch() with an AccessKey header (recorded by the
# emulator in tests/test_browser.py): no key, no cookies.
PREFLIGHT_HEADERS = {
    "Accept": "*/*",
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "accesskey",
    "Origin": PAGE_ORIGIN,
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-site",
    "Sec-Fetch-Dest": "empty",
    "Referer": PAGE_ORIGIN + "/",
    "Accept-Language": "en-US,en;q=0.9",
}


def test_preflight_is_answered_without_a_key(api: Api) -> None:
    for path, method in (("schedules", "GET"), (f"schedules/{THREE_ID}/runNow", "PUT")):
        headers = {**PREFLIGHT_HEADERS, "Access-Control-Request-Method": method}
        response = api.session.options(api.url(path), headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert method in response.headers["Access-Control-Allow-Methods"]
        assert response.headers["Access-Control-Allow-Headers"] == "accesskey"
        assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert api.server.runs == []  # a preflight carries nothing out
    assert (api.server.requests[-1].method, api.server.requests[-1].endpoint) == ("OPTIONS", None)
    assert api.server.count_requests("run_now") == 0  # counts are of calls, not preflights
    # An OPTIONS that is no preflight is an ordinary request: it needs the key.
    plain = api.session.options(api.url("schedules"), timeout=10)
    assert plain.status_code == 401


def test_every_answer_carries_the_cors_headers(api: Api) -> None:
    origin = {"Origin": PAGE_ORIGIN}
    answers = [
        api.get("schedules", headers={**api.headers, **origin}),
        api.get("schedules", headers=origin),  # 401
        api.get("no/such/route", headers={**api.headers, **origin}),  # 404
        api.get(f"run/{UNKNOWN_ID}", headers={**api.headers, **origin}),  # 404 Asset not found
    ]
    api.server.add_fault(Fault(endpoint="schedules", status=503, retry_after=1))
    answers.append(api.get("schedules", headers={**api.headers, **origin}))  # a fault
    assert [a.status_code for a in answers] == [200, 401, 404, 404, 503]
    for answer in answers:
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"]


def test_cors_origins_from_the_scenario(start: Start) -> None:
    allowed = "http://jenkins.example.com:8080"
    data = {**SCENARIO, "controller": {"cors_origins": [allowed]}}
    api = start(data)
    ok = api.session.options(
        api.url("schedules"), headers={**PREFLIGHT_HEADERS, "Origin": allowed}, timeout=10
    )
    assert (ok.status_code, ok.headers["Access-Control-Allow-Origin"]) == (200, allowed)
    assert ok.headers["Vary"] == "Origin"
    refused = api.session.options(api.url("schedules"), headers=PREFLIGHT_HEADERS, timeout=10)
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    other = api.get("schedules", headers={**api.headers, "Origin": PAGE_ORIGIN})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    answer = api.get("schedules", headers={**api.headers, "Origin": allowed})
    assert answer.headers["Access-Control-Allow-Origin"] == allowed

    off = start({**SCENARIO, "controller": {"cors_origins": []}})
    preflight = off.session.options(off.url("schedules"), headers=PREFLIGHT_HEADERS, timeout=10)
    assert preflight.status_code == 401  # no CORS at all: an OPTIONS like any other request
    assert "Access-Control-Allow-Origin" not in off.get("schedules").headers


def test_cors_default_is_any_origin_on_loopback_only() -> None:
    from pytest_leapwork.emulator.cors import CorsPolicy

    assert CorsPolicy.for_host(None, "127.0.0.1").any
    assert CorsPolicy.for_host(None, "::1").any and CorsPolicy.for_host(None, "localhost").any
    assert not CorsPolicy.for_host(None, "0.0.0.0").enabled
    assert CorsPolicy.for_host(["*"], "0.0.0.0").any
    with pytest.raises(ScenarioError, match=r"cors_origins\[0\]: expected"):
        Scenario.from_dict({"controller": {"cors_origins": ["http://host/path"]}})


# --- request log ----------------------------------------------------------------------------


def test_request_log_names_method_path_status_duration_never_the_key(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG", logger="pytest_leapwork.emulator.requests"):
        api.get("schedules", params={"api_key": api.server.access_key})
        api.get("schedules", headers={})
        api.put(f"schedules/{OPEN_ID}/runNow")
        api.server.add_fault(Fault(endpoint="license", action="close"))
        with pytest.raises(requests.ConnectionError):
            api.get("license/active")
    lines = [r.getMessage() for r in caplog.records if r.name.endswith(".requests")]
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "GET /api/v4/schedules 200",
        "GET /api/v4/schedules 401",
        f"PUT /api/v4/schedules/{OPEN_ID}/runNow 200",
        "GET /api/v4/license/active dropped",
    ]
    assert all(re.fullmatch(r".* \d+\.\d ms", line) for line in lines)
    assert api.server.access_key not in caplog.text


def test_request_log_under_pytest_logging_with_the_emulator_option(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_checkout():
            pass
        """
    )
    result = pytester.runpytest(
        "--leapwork-emulator", "--leapwork-poll-interval=0.05", "-p", "no:cacheprovider",
        "--log-cli-level=DEBUG",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*DEBUG*pytest_leapwork.emulator.requests*GET /api/v4/schedules 200 *ms*",
            "*PUT /api/v4/schedules/*/runNow 200 *ms*",
            "*GET /api/v4/run/*/runItemIds 200 *ms*",
        ]
    )
    assert DEFAULT_ACCESS_KEY not in result.stdout.str()
    quiet = pytester.runpytest("--leapwork-emulator", "-p", "no:cacheprovider")
    assert "pytest_leapwork.emulator.requests" not in quiet.stdout.str()


def test_scenario_md_lists_every_endpoint_name() -> None:
    from pytest_leapwork.emulator.routes import ENDPOINTS

    text = (Path(__file__).parent.parent / "pytest_leapwork/emulator/SCENARIO.md").read_text()
    table = text.split("## Endpoints", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"^\| [^|]+ \| `(\w+)` \|", table, re.MULTILINE))
    assert names == set(ENDPOINTS)


def test_huge_fault_makes_a_field_or_the_whole_answer_huge() -> None:
    with EmulatorServer(load_scenario("demo")) as server:
        server.add_fault(Fault("schedules", action="huge", field="Title", size=1000))
        server.add_fault(Fault("schedules", action="huge", size=5000))
        headers = {"AccessKey": server.access_key}
        url = f"{server.url}/api/v4/schedules"
        first = requests.get(url, headers=headers, timeout=10)
        assert {len(s["Title"]) for s in first.json()} == {1000}
        second = requests.get(url, headers=headers, timeout=10)
        assert len(second.content) >= 5000
        assert json.loads(second.content) == json.loads(requests.get(url, headers=headers).content)


def test_huge_fault_from_a_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(
        '[[schedules]]\ntitle = "S"\n[[schedules.flows]]\ntitle = "F"\n'
        '[[faults]]\nendpoint = "keyframes"\naction = "huge"\nfield = "LogMessage"\n'
        "size = 50000000\ntimes = 0\n",
        encoding="utf-8",
    )
    (fault,) = load_scenario(str(path)).faults
    assert (fault.action, fault.field, fault.size, fault.times) == (
        "huge",
        "LogMessage",
        50_000_000,
        0,
    )


def test_drip_fault_sends_the_whole_answer_one_byte_at_a_time() -> None:
    with EmulatorServer(load_scenario("demo")) as server:
        server.add_fault(Fault("license", action="drip", delay=0.01))
        headers = {"AccessKey": server.access_key}
        url = f"{server.url}/api/v4/license/active"
        began = time.monotonic()
        # A read timeout far below the answer's whole time: each byte comes well within it.
        dripped = requests.get(url, headers=headers, timeout=(5, 1))
        took = time.monotonic() - began
        assert dripped.status_code == 200
        assert dripped.content == requests.get(url, headers=headers, timeout=10).content
        assert took >= 0.01 * len(dripped.content) * 0.9
