"""The controller double itself, checked directly over HTTP (no plugin involved)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from .controller_double import (
    ACCESS_KEY,
    DISABLED_ID,
    EMPTY_ID,
    ENDLESS_ID,
    ERROR_BLOCK,
    ERROR_MESSAGE,
    LATE_ID,
    LOGIN_ID,
    SMOKE_ID,
    SMOKE_TEMP_ID,
    SMOKE_TITLE,
    TRACE_MESSAGE,
    ControllerDouble,
)

H = {"AccessKey": ACCESS_KEY}


def _get(c: ControllerDouble, path: str, **kw: Any) -> requests.Response:
    return requests.get(c.api + path, headers=kw.pop("headers", H), timeout=5, **kw)


def _put(c: ControllerDouble, path: str, **kw: Any) -> requests.Response:
    return requests.put(c.api + path, headers=kw.pop("headers", H), data=b"", timeout=5, **kw)


def _wait_run(c: ControllerDouble, run_id: str, limit: float = 5.0) -> list[str]:
    """Poll like a careful client; return the item ids once all have appeared."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        st = _get(c, f"/run/{run_id}/status")
        ids = _get(c, f"/run/{run_id}/runItemIds")
        summary = _get(c, f"/run/{run_id}").json()
        if (
            st.status_code == 200
            and st.json()["Status"] == "Finished"
            and ids.status_code == 200
            and len(ids.json()["RunItemIds"]) == summary["Total"]
        ):
            return list(ids.json()["RunItemIds"])
        time.sleep(0.1)
    raise AssertionError("run did not finish")


def test_access_key_required(controller: ControllerDouble) -> None:
    r = _get(controller, "/schedules", headers={})
    assert r.status_code == 401 and r.text == "Incorrect AccessKey"
    r = _get(controller, "/schedules", headers={"AccessKey": "wrong"})
    assert r.status_code == 401 and r.text == "Incorrect AccessKey"
    r = _get(controller, "/schedules", headers={"accesskey": ACCESS_KEY})  # header case-insensitive
    assert r.status_code == 200


def test_schedules_pascal_case_with_ids_and_temporary_twin(controller: ControllerDouble) -> None:
    r = requests.get(controller.url + "/API/V4/Schedules", headers=H, timeout=5)
    assert r.status_code == 200
    schedules = r.json()
    assert all({"$id", "Id", "Title", "IsEnabled", "Type"} <= set(s) for s in schedules)
    smoke = [s for s in schedules if s["Title"] == SMOKE_TITLE]
    assert {(s["Id"], s["Type"]) for s in smoke} == {
        (SMOKE_ID, "ScheduleInfo"),
        (SMOKE_TEMP_ID, "TemporaryScheduleInfo"),
    }
    assert next(s for s in schedules if s["Id"] == DISABLED_ID)["IsEnabled"] is False
    assert len({s["$id"] for s in schedules}) == len(schedules)


def test_unknown_ids_are_asset_not_found(controller: ControllerDouble) -> None:
    for path in ("/run/nope/status", "/runItems/nope", "/schedules/nope/runNow"):
        r = _put(controller, path) if path.endswith("runNow") else _get(controller, path)
        assert (r.status_code, r.text) == (404, "Asset not found")


def test_run_lifecycle_and_quirks(controller: ControllerDouble) -> None:
    r = _put(controller, f"/schedules/{SMOKE_ID.upper()}/runNow")
    assert r.status_code == 200
    run_id = r.json()["RunId"]
    assert r.json()["$id"] == "1"
    # First status poll and first runItemIds answer 404, later ones 200.
    assert _get(controller, f"/run/{run_id}/status").status_code == 404
    assert _get(controller, f"/run/{run_id}/runItemIds").status_code == 404
    assert _get(controller, f"/run/{run_id}/status").json()["Status"] in ("Queued", "Executing")
    # Wait for Finished: at that moment the last item is not listed yet.
    deadline = time.monotonic() + 3
    while _get(controller, f"/run/{run_id}/status").json()["Status"] != "Finished":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    early = _get(controller, f"/run/{run_id}/runItemIds").json()["RunItemIds"]
    assert len(early) == 1
    ids = _wait_run(controller, run_id)
    assert len(ids) == 2
    for item_id in ids:
        item = _get(controller, f"/runItems/{item_id}").json()
        assert item["FlowInfo"]["Status"] == item["Status"] == "Passed"
        assert item["AgentInfo"]["AgentTitle"]
        assert 0 < item["ElapsedSeconds"] < 2
        assert item["ElapsedMilliseconds"] == pytest.approx(item["ElapsedSeconds"] * 1000, rel=1e-3)
        assert item["Elapsed"].startswith("00:00:00.")
        assert item["RunId"] == run_id
    summary = _get(controller, f"/run/{run_id}").json()
    assert summary["Schedule"]["ScheduleId"] == SMOKE_ID and summary["Total"] == 2
    assert summary["Failed"] == 0
    assert controller.runs[run_id].schedule.id == SMOKE_ID


def test_variables_recorded_decoded_and_failure_keyframes(controller: ControllerDouble) -> None:
    url = "https://broken.test/login?a=1&b=2 ünï ✓"
    r = _put(controller, f"/schedules/{LOGIN_ID}/runNow", params={"URL": url, "Flag": "true"})
    run_id = r.json()["RunId"]
    assert controller.runs[run_id].variables == {"URL": url, "Flag": "true"}
    ok_id = _put(controller, f"/schedules/{LOGIN_ID}/runNow?URL=https%3A%2F%2Fok.test").json()[
        "RunId"
    ]
    assert controller.runs[ok_id].variables == {"URL": "https://ok.test"}
    _get(controller, f"/run/{run_id}/status")  # eat the quirks
    _get(controller, f"/run/{run_id}/runItemIds")
    ids = _wait_run(controller, run_id)
    items = [_get(controller, f"/runItems/{i}").json() for i in ids]
    failed = [i for i in items if i["FlowInfo"]["Status"] == "Failed"]
    assert len(failed) == 1
    kfs = _get(controller, f"/runItems/{failed[0]['RunItemId']}/keyframes").json()
    levels = [k.get("Level") for k in kfs]
    assert "Trace" in levels and "" in levels and None in levels and "Error" in levels
    err = next(k for k in kfs if k.get("Level") == "Error")
    assert (err["BlockTitle"], err["LogMessage"]) == (ERROR_BLOCK, ERROR_MESSAGE)
    assert any("BlockTitle" not in k for k in kfs)
    assert any(k["LogMessage"] == TRACE_MESSAGE for k in kfs)
    assert all(k["Timestamp"]["Value"] and "$id" in k["Timestamp"] for k in kfs)
    assert (
        len(_get(controller, f"/runItems/{failed[0]['RunItemId']}/keyframes/2").json())
        == len(kfs) - 2
    )
    assert _get(controller, f"/run/{run_id}").json()["Failed"] == 1
    # The same schedule with a good URL passes.
    _get(controller, f"/run/{ok_id}/status")
    _get(controller, f"/run/{ok_id}/runItemIds")
    ids = _wait_run(controller, ok_id)
    assert {_get(controller, f"/runItems/{i}").json()["Status"] for i in ids} == {"Passed"}


def test_endless_run_until_stopped_and_empty_run(controller: ControllerDouble) -> None:
    run_id = _put(controller, f"/schedules/{ENDLESS_ID}/runNow").json()["RunId"]
    empty_id = _put(controller, f"/schedules/{EMPTY_ID}/runNow").json()["RunId"]
    for rid in (run_id, empty_id):  # eat the first-poll 404s
        _get(controller, f"/run/{rid}/status")
        _get(controller, f"/run/{rid}/runItemIds")
    time.sleep(1.2)
    assert _get(controller, f"/run/{run_id}/status").json()["Status"] == "Executing"
    assert _get(controller, f"/run/{empty_id}/status").json()["Status"] == "Finished"
    assert _get(controller, f"/run/{empty_id}/runItemIds").json()["RunItemIds"] == []
    assert _get(controller, f"/run/{empty_id}").json()["Total"] == 0
    r = _put(controller, f"/run/{run_id}/stop")
    assert r.json() == {"$id": "1", "OperationCompleted": True}
    assert controller.stops == [run_id]
    time.sleep(0.3)
    assert _get(controller, f"/run/{run_id}/status").json()["Status"] == "Finished"
    ids = _get(controller, f"/run/{run_id}/runItemIds").json()["RunItemIds"]
    assert [_get(controller, f"/runItems/{i}").json()["Status"] for i in ids] == ["Cancelled"]


def test_late_reporter_lists_its_last_item_one_second_after_finished(
    controller: ControllerDouble,
) -> None:
    run_id = _put(controller, f"/schedules/{LATE_ID}/runNow").json()["RunId"]
    _get(controller, f"/run/{run_id}/status")
    _get(controller, f"/run/{run_id}/runItemIds")
    time.sleep(1.6)
    assert _get(controller, f"/run/{run_id}/status").json()["Status"] == "Finished"
    assert len(_get(controller, f"/run/{run_id}/runItemIds").json()["RunItemIds"]) == 1
    assert _get(controller, f"/run/{run_id}").json()["Total"] == 2
    ids = _wait_run(controller, run_id)
    assert {_get(controller, f"/runItems/{i}").json()["Status"] for i in ids} == {
        "Passed",
        "Failed",
    }


def test_duplicate_query_names_rejected(controller: ControllerDouble) -> None:
    r = _put(controller, f"/schedules/{LOGIN_ID}/runNow?URL=a&URL=b")
    assert r.status_code == 400
    assert controller.runs == {}
