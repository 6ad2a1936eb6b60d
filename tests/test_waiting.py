"""Waiting overlaps everything: adaptive polling, marked tests after plain ones, one fetch
pipeline for large runs, and requests' per-request environment lookups done once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_leapwork.api.client import LeapworkClient
from pytest_leapwork.api.models import FlowResult, RunSummary, Schedule
from pytest_leapwork.config import DEFAULT_POLL_INTERVAL
from pytest_leapwork.emulator import EmulatorServer, Scenario
from pytest_leapwork.runs.cadence import MIN_POLL_SECONDS, POLL_FRACTION, poll_delay, polls_for
from pytest_leapwork.runs.runner import RunHandle, Runner, RunRequest

from .support import RunPytest

# -- adaptive polling -----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ClockedController:
    """Answers a run's status from a fake clock; counts the status requests."""

    def __init__(self, clock: FakeClock, duration: float) -> None:
        self.clock, self.duration = clock, duration
        self.status_requests: list[float] = []

    def run_summary(self, run_id: str) -> RunSummary:
        self.status_requests.append(self.clock.now)
        finished = self.clock.now >= self.duration
        return RunSummary("Finished" if finished else "Executing", 1, 0)

    def run_item_ids(self, run_id: str) -> list[str]:
        return ["item"]

    def run_item(self, item_id: str) -> FlowResult:
        return FlowResult("Flow", "Passed", self.duration, "agent", run_item_id=item_id)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("duration", [0.5, 2.1, 45.0, 600.0])
def test_poll_times_follow_the_schedule(duration: float) -> None:
    """Driven by a fake clock: each look comes when the schedule says, and the end is seen
    within max(0.3 s, 10 % of the run's elapsed time)."""
    clock = FakeClock()
    controller = ClockedController(clock, duration)
    runner = Runner(controller, poll_interval=DEFAULT_POLL_INTERVAL, clock=clock)  # type: ignore[arg-type]
    request = RunRequest("Clocked", {}, timeout=3600)
    handle = RunHandle(request, Schedule("id", "Clocked"), "run", triggered_at=0.0)
    handle.next_poll_at = poll_delay(0.0, DEFAULT_POLL_INTERVAL)
    while not handle.done:
        clock.now = handle.next_poll_at
        runner._poll(handle)
    looks = controller.status_requests
    expected, at = [], 0.0
    while at < duration:
        at += poll_delay(at, DEFAULT_POLL_INTERVAL)
        expected.append(at)
    assert looks == pytest.approx(expected)
    assert looks[-1] - duration <= max(MIN_POLL_SECONDS, POLL_FRACTION * duration) + 1e-9
    assert handle.outcome().passed


def test_a_ten_minute_run_costs_fewer_status_requests_than_the_vendor_loop() -> None:
    vendor_loop = 600 / 5  # the vendor plugins check every 5 s
    assert polls_for(600.0, DEFAULT_POLL_INTERVAL) <= 150
    assert polls_for(600.0, DEFAULT_POLL_INTERVAL) < vendor_loop


def test_the_poll_interval_caps_the_wait() -> None:
    assert poll_delay(1000.0, 3.0) == 3.0
    assert poll_delay(0.0, 0.05) == 0.05  # a cap below the minimum wins, as tests use


# -- marked tests after plain ones ----------------------------------------------------------

ORDER_TESTS = """
import json, time, pytest

def record(name):
    with open("order.jsonl", "a") as f:
        f.write(json.dumps([name, time.monotonic()]) + "\\n")

@pytest.mark.leapwork_schedule("Two Seconds")
def test_marked(leapwork_schedule):
    record("marked")

def test_plain_1():
    record("plain_1")

def test_plain_2():
    record("plain_2")
"""


@pytest.fixture
def two_seconds() -> Iterator[EmulatorServer]:
    schedule = {"title": "Two Seconds", "flows": [{"title": "Wait", "seconds": 2.0}]}
    with EmulatorServer(Scenario.from_dict({"schedules": [schedule]}, "two-seconds")) as server:
        yield server


@pytest.fixture
def emulator(two_seconds: EmulatorServer) -> EmulatorServer:
    """The inner sessions of this module run against the two-second schedule."""
    return two_seconds


def _order(pytester: pytest.Pytester) -> list[tuple[str, float]]:
    lines = Path(pytester.path, "order.jsonl").read_text().splitlines()
    return [tuple(json.loads(line)) for line in lines]


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_plain_tests_run_while_the_schedule_executes(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, xdist: list[str]
) -> None:
    pytester.makepyfile(ORDER_TESTS)
    run_pytest(*xdist, subprocess=bool(xdist)).assert_outcomes(passed=3)
    [run] = emulator.runs
    order = _order(pytester)
    plain = [at for name, at in order if name.startswith("plain")]
    assert len(plain) == 2
    # The plain tests did not wait for the run to end.
    assert run.end_at is not None and max(plain) < run.end_at
    if not xdist:
        # And it was triggered before them.
        assert run.created_at < min(plain)
        assert [name for name, _ in order] == ["plain_1", "plain_2", "marked"]


@pytest.mark.parametrize("how", ["--leapwork-keep-order", "ini"])
def test_keep_order_runs_tests_as_collected(
    pytester: pytest.Pytester, run_pytest: RunPytest, how: str
) -> None:
    pytester.makepyfile(ORDER_TESTS)
    if how == "ini":
        pytester.makeini("[pytest]\nleapwork_keep_order = true\n")
    run_pytest(*([how] if how.startswith("--") else [])).assert_outcomes(passed=3)
    assert [name for name, _ in _order(pytester)] == ["marked", "plain_1", "plain_2"]


# -- one fetch pipeline ---------------------------------------------------------------------


def test_keyframes_are_fetched_while_items_are() -> None:
    """A failing flow's keyframes do not wait until every item of the run has been fetched."""
    flows = [
        {"title": f"F{i}", "seconds": 0.001, "status": "Failed" if i % 4 == 0 else "Passed"}
        for i in range(60)
    ]
    scenario = Scenario.from_dict(
        {
            "schedules": [{"title": "Many", "flows": flows}],
            "faults": [{"endpoint": "run_item", "action": "slow", "delay": 0.01, "times": 0}],
        },
        "pipeline",
    )
    with EmulatorServer(scenario) as server:
        runner = Runner(LeapworkClient(server.url, server.access_key), poll_interval=0.05)
        try:
            run = runner.wait(runner.start(RunRequest("Many", {}, timeout=60)))
        finally:
            runner.close()
        assert len(run.flows) == 60 and len(run.failed_flows) == 15
        assert all(f.keyframes for f in run.failed_flows)
        endpoints = [r.endpoint for r in server.requests]
    last_item = max(i for i, e in enumerate(endpoints) if e == "run_item")
    first_keyframes = endpoints.index("keyframes")
    assert first_keyframes < last_item


# -- requests' environment, resolved once -----------------------------------------------------


def test_proxy_settings_are_read_once_and_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "direct.example")
    proxied = LeapworkClient("https://ctl.example:9002", "KEY")
    direct = LeapworkClient("https://direct.example:9002", "KEY")
    assert proxied.session.trust_env is False
    assert proxied.session.proxies.get("https") == "http://proxy.example:3128"
    assert "https" not in direct.session.proxies
