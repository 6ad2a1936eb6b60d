"""The run engine, driven by a fake clock the emulator shares: time is stepped by hand.

Runs are triggered and stopped for real over HTTP, and each look at a run is taken when the
engine's cadence says (``Runner._poll`` on the test's thread, the clock set to the handle's
``next_poll_at``), so a ten-minute run is followed in a fraction of a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import pytest_leapwork.runs.bounds as bounds
from pytest_leapwork.api.client import LeapworkClient
from pytest_leapwork.api.models import LeapworkRun
from pytest_leapwork.emulator import EmulatorServer, Fault, Scenario
from pytest_leapwork.runs.cadence import poll_delay
from pytest_leapwork.runs.runner import RunHandle, Runner, RunRequest

from .support import FakeClock, on_status

SCENARIO = {
    "controller": {"queue_seconds": 1.0},
    "schedules": [
        {
            "title": "Two Flows",
            "flows": [
                {"title": "Open", "seconds": 5.0},
                {"title": "Check", "seconds": 5.0, "status": "Failed"},
            ],
        },
        {"title": "Long", "flows": [{"title": "Wait", "seconds": 600.0}]},
    ],
}
NOT_STOPPED = '{"OperationCompleted": false}'


@pytest.fixture
def emulator(clock: FakeClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(Scenario.from_dict(SCENARIO, "engine"), clock=clock) as server:
        yield server


@pytest.fixture
def runner(emulator: EmulatorServer, clock: FakeClock) -> Iterator[Runner]:
    runner = Runner(LeapworkClient(emulator.url, emulator.access_key), clock=clock)
    yield runner
    runner.close()


def trigger(runner: Runner, clock: FakeClock, title: str, timeout: float = 3600) -> RunHandle:
    """A run triggered for real, to be followed by hand (no poller thread)."""
    schedule = runner.schedules.resolve(title)
    run_id = runner.client.run_now(schedule.id, {})
    handle = RunHandle(RunRequest(title, {}, timeout), schedule, run_id, triggered_at=clock())
    handle.next_poll_at = clock() + poll_delay(0.0, runner.poll_interval)
    return handle


def follow(runner: Runner, clock: FakeClock, handle: RunHandle) -> LeapworkRun:
    """Each look when the cadence says, until the run ends."""
    for _ in range(1000):
        if handle.done:
            return handle.outcome()
        clock.now = max(clock.now, handle.next_poll_at)
        runner._poll(handle)
    raise AssertionError("the run never ended")


def test_a_run_is_followed_to_its_end_and_its_flows_collected(
    runner: Runner, clock: FakeClock, emulator: EmulatorServer
) -> None:
    started = clock()
    handle = trigger(runner, clock, "Two Flows")
    run = follow(runner, clock, handle)
    assert [(f.title, f.status) for f in run.flows] == [("Open", "Passed"), ("Check", "Failed")]
    assert not run.passed and run.stopped_reason is None
    assert run.flows[1].keyframes  # a flow that did not pass comes with its keyframes
    assert (handle.items_total, handle.items_failed) == (2, 1)
    # Queued 1 s, then 10 s of flows: the end is seen within the cadence, not a poll
    # interval of 10 s later.
    assert 11.0 <= clock() - started <= 11.0 + bounds.LATE_ITEMS_SETTLE_SECONDS + 1.0
    assert not emulator.run(handle.run_id).stopped


def test_the_timeout_stops_the_run(
    runner: Runner, clock: FakeClock, emulator: EmulatorServer
) -> None:
    handle = trigger(runner, clock, "Long", timeout=30)
    run = follow(runner, clock, handle)
    assert run.stopped_reason == "timeout" and run.stop_error is None
    assert clock() - handle.triggered_at == pytest.approx(30.0)
    assert emulator.run(handle.run_id).stopped
    assert [f.title for f in run.flows] == ["Wait"]  # collected after the stop


def test_a_404_right_after_run_now_is_not_an_end(
    runner: Runner, clock: FakeClock, emulator: EmulatorServer
) -> None:
    """A controller that has not made the run yet answers 404 for its first seconds."""
    for fault in on_status(status=404, run_age_below=3.0, times=0):
        emulator.add_fault(fault)
    handle = trigger(runner, clock, "Two Flows")
    run = follow(runner, clock, handle)
    assert [f.title for f in run.flows] == ["Open", "Check"]
    assert run.stopped_reason is None
    assert any(r.status == 404 and r.endpoint in ("run", "run_status") for r in emulator.requests)


def test_a_stop_answered_not_completed_is_asked_again(
    runner: Runner, clock: FakeClock, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bounds, "STOP_PAUSE_SECONDS", 0.01)
    emulator.add_fault(Fault("stop_run", action="wrong_shape", body=NOT_STOPPED, times=1))
    handle = trigger(runner, clock, "Long")
    clock.now += 5.0
    runner.stop(handle, "interrupted")
    run = handle.outcome()
    assert run.stopped_reason == "interrupted" and run.stop_error is None
    assert emulator.count_requests("stop_run") == 2
    assert emulator.run(handle.run_id).stopped


def test_stop_all_stops_every_run_in_flight(
    runner: Runner, clock: FakeClock, emulator: EmulatorServer
) -> None:
    """Runs started and followed by the poller thread (the clock never reaches their next
    look), all stopped at once."""
    handles = [runner.start(RunRequest("Long", {}, 3600)) for _ in range(3)]
    assert runner.stop_all("the session ended") == handles
    for handle in handles:
        assert handle.outcome().stopped_reason == "the session ended"
        assert emulator.run(handle.run_id).stopped
    assert runner.stop_all("again") == []
    poller = [t for t in threading.enumerate() if t.name == "leapwork-poller"]
    assert poller and all(t.daemon for t in poller)
