"""Any Leapwork client can use the emulator: here, plain HTTP calls of the REST API v4.

The emulator is started in a fixture on a free port of 127.0.0.1; point your own client,
script or CI plugin at its URL with its access key in the AccessKey header.
"""

import time
from pathlib import Path

import pytest
import requests

from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario

SCENARIO = Path(__file__).parent.parent / "scenario.toml"


@pytest.fixture
def controller():
    with EmulatorServer(load_scenario(SCENARIO)) as server:
        yield server


def call(server, method, path, **kwargs):
    response = requests.request(
        method,
        f"{server.url}/api/v4{path}",
        headers={"AccessKey": server.access_key},
        timeout=10,
        **kwargs,
    )
    response.raise_for_status()
    return response.json()


def test_run_a_schedule_over_http(controller):
    schedules = call(controller, "GET", "/schedules")
    smoke = next(s for s in schedules if s["Title"] == "Smoke Login")

    run = call(
        controller,
        "PUT",
        f"/schedules/{smoke['Id']}/runNow",
        params={"URL": "https://broken.example.com"},
    )
    run_id = run["RunId"]

    deadline = time.monotonic() + 30
    while call(controller, "GET", f"/run/{run_id}/status")["Status"] != "Finished":
        assert time.monotonic() < deadline
        time.sleep(0.1)

    item_ids = call(controller, "GET", f"/run/{run_id}/runItemIds")["RunItemIds"]
    items = [call(controller, "GET", f"/runItems/{item_id}") for item_id in item_ids]
    assert {i["FlowInfo"]["FlowTitle"]: i["FlowInfo"]["Status"] for i in items} == {
        "Open Browser": "Passed",
        "Log In": "Failed",
        "Check Dashboard": "Passed",
    }
    # The emulator records what it was sent, for assertions about a client.
    assert controller.run(run_id).variables == {"URL": "https://broken.example.com"}


def test_a_wrong_key_gets_401(controller):
    response = requests.get(
        f"{controller.url}/api/v4/schedules", headers={"AccessKey": "WRONG"}, timeout=10
    )
    assert (response.status_code, response.text) == (401, "Incorrect AccessKey")


def test_faults_added_while_it_runs(controller):
    # The next two schedule lists fail as an overloaded controller's do.
    controller.add_fault(Fault(endpoint="schedules", status=503, times=2))
    url = f"{controller.url}/api/v4/schedules"
    headers = {"AccessKey": controller.access_key}
    statuses = [requests.get(url, headers=headers, timeout=10).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
