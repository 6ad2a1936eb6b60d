"""A cut-off runNow: its run is stopped only where the session can show it started it.

Each case is a real pytest process (or two: two CI jobs on one controller) against the
emulator, with the fault on the wire and a real SIGINT. See docs/faults.md.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario

from .support import interrupted_after, start_pytest_in

SCENARIO = """
[controller]
queue_seconds = 0.05

[[schedules]]
title = "Shared"

  [[schedules.flows]]
  title = "Long Flow"
  seconds = 14

[[schedules]]
title = "Exclusive"
reject_when_running = true

  [[schedules.flows]]
  title = "Long Flow"
  seconds = 14

[[schedules]]
title = "Slow"

  [[schedules.flows]]
  title = "Long Flow"
  seconds = 60

[[schedules]]
title = "Stuck Item"

  [[schedules.flows]]
  title = "Never Ends"
  seconds = 0.1
  # The run says Finished by its time; its item goes on saying Running.
  status = "Running"
"""

ONE_TEST = """
import pytest

@pytest.mark.leapwork_schedule({title!r}, timeout={timeout})
def test_one(leapwork_schedule):
    pass
"""

MAY_STILL_EXECUTE = "leapwork: runs that may still be executing on the controller"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    scenario = tmp_path / "recovery.toml"
    scenario.write_text(SCENARIO)
    with EmulatorServer(load_scenario(str(scenario))) as server:
        yield server


def session(
    directory: Path,
    emulator: EmulatorServer,
    processes: list[subprocess.Popen[str]],
    title: str,
    timeout: float = 120,
) -> subprocess.Popen[str]:
    """A pytest process of its own (a CI job) running one test of ``title``."""
    directory.mkdir()
    (directory / "test_one.py").write_text(ONE_TEST.format(title=title, timeout=timeout))
    process = start_pytest_in(directory, emulator)
    processes.append(process)
    return process


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Wait for ``condition`` while the pytest process lives, 60 s at most."""
    deadline = time.monotonic() + 60
    while not condition() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.05)
    assert condition(), "the session never got there"


def interrupt_during_run_now(
    emulator: EmulatorServer, process: subprocess.Popen[str], looks_before: int
) -> str:
    """Ctrl-C once the session's runNow is on its way (the schedule's runs were read just
    before it); the session's output."""
    wait_until(lambda: emulator.count_requests("schedule_run_ids") > looks_before, process)
    time.sleep(0.5)  # the runNow follows at once; the fault holds it for seconds
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    return out


# -- 1. Two sessions run one schedule: B's recovery never stops A's run -----------------------


def test_cut_off_run_now_stops_its_own_run_not_another_sessions(
    tmp_path: Path, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    """A controller that queues a second run: B's run, made late, is B's to stop; A's is not."""
    a = session(tmp_path / "a", emulator, processes, "Shared")
    wait_until(lambda: len(emulator.runs) == 1, a)
    [a_run] = emulator.runs
    # B's runNow is slow: the controller makes the run only after B was cut off.
    emulator.add_fault(Fault("run_now", action="slow", delay=2.5))
    b = session(tmp_path / "b", emulator, processes, "Shared")
    out = interrupt_during_run_now(emulator, b, looks_before=1)
    a_out, _ = a.communicate(timeout=60)
    assert not emulator.run(a_run.run_id).stopped, out
    assert a.returncode == pytest.ExitCode.OK, a_out
    [b_run] = [run for run in emulator.runs if run.run_id != a_run.run_id]
    assert b_run.stopped, out
    assert f"run {b_run.run_id} stopped (its runNow was cut off (interrupted)" in out


def test_cut_off_run_now_refused_as_already_running_stops_nothing_and_names_it(
    tmp_path: Path, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    """A controller that refuses a second run (410): B made no run; A's run goes on."""
    a = session(tmp_path / "a", emulator, processes, "Exclusive")
    wait_until(lambda: len(emulator.runs) == 1, a)
    [a_run] = emulator.runs
    emulator.add_fault(Fault("run_now", action="slow", delay=2.5))  # then answers 410
    b = session(tmp_path / "b", emulator, processes, "Exclusive")
    out = interrupt_during_run_now(emulator, b, looks_before=1)
    a_out, _ = a.communicate(timeout=60)
    assert not emulator.run(a_run.run_id).stopped, out
    assert a.returncode == pytest.ExitCode.OK, a_out
    assert len(emulator.runs) == 1
    assert MAY_STILL_EXECUTE in out
    assert "test_one: schedule 'Exclusive', run (RunId unknown): its runNow was cut off" in out
    assert "no run of it showed up within 5s" in out


def test_lookup_that_cannot_tell_which_run_is_its_own_stops_none_and_names_them(
    emulator: EmulatorServer,
) -> None:
    """Two runs made since the runNow was sent, one of them another session's: neither is
    stopped, both are named (the engine directly: a real signal cuts the runNow off)."""
    from pytest_leapwork.api.client import LeapworkClient
    from pytest_leapwork.runs.runner import Runner, RunRequest

    emulator.add_fault(Fault("run_now", action="answer_late", delay=3))
    runner = Runner(LeapworkClient(emulator.url, emulator.access_key))
    other_session = LeapworkClient(emulator.url, emulator.access_key)

    with interrupted_after(0.5):
        runner.start(RunRequest("Slow", {}, 60))
    [ours] = emulator.runs
    [trigger] = runner.unanswered()
    theirs = other_session.run_now(ours.schedule_id, {})
    try:
        outcome = runner.find_and_stop(trigger)
    finally:
        runner.close()
        other_session.close()
    assert outcome.run_id is None
    assert outcome.problem is not None
    assert "cannot be told which is its own" in outcome.problem
    assert ours.run_id in outcome.problem and theirs in outcome.problem
    assert not any(run.stopped for run in emulator.runs)


# -- 2. A run the controller makes only after the cut-off: stopped, or named -------------------


def test_run_made_after_the_cut_off_is_found_and_stopped(
    tmp_path: Path, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    emulator.add_fault(Fault("run_now", action="slow", delay=2))
    process = session(tmp_path / "s", emulator, processes, "Slow")
    out = interrupt_during_run_now(emulator, process, looks_before=0)
    [run] = emulator.runs
    assert run.stopped, out
    assert f"run {run.run_id} stopped (its runNow was cut off (interrupted)" in out


def test_run_made_later_than_the_lookup_looks_is_named_never_silent(
    tmp_path: Path, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    emulator.add_fault(Fault("run_now", action="slow", delay=9))
    process = session(tmp_path / "s", emulator, processes, "Slow")
    out = interrupt_during_run_now(emulator, process, looks_before=0)
    assert emulator.runs == [], "made before the lookup gave up: not this case"
    assert MAY_STILL_EXECUTE in out
    assert "test_one: schedule 'Slow', run (RunId unknown): its runNow was cut off" in out
    assert "no run of it showed up within 5s (the controller may still make it)" in out
    assert "look for the run in Leapwork" in out


# -- 3. Transient answers to the recovery's requests are asked again ---------------------------


@pytest.mark.parametrize("status, times", [(404, 3), (500, 6)])
def test_recovery_asks_again_after_a_transient_answer(
    tmp_path: Path,
    emulator: EmulatorServer,
    processes: list[subprocess.Popen[str]],
    status: int,
    times: int,
) -> None:
    emulator.add_fault(Fault("run_now", action="answer_late", delay=8))
    # The read before runNow gets through; the lookup's reads meet the fault.
    emulator.add_fault(Fault("schedule_run_ids", status=status, times=times, after=1))
    emulator.add_fault(Fault("run_status", status=status, times=2))
    process = session(tmp_path / "s", emulator, processes, "Slow")
    out = interrupt_during_run_now(emulator, process, looks_before=0)
    [run] = emulator.runs
    assert run.stopped, out
    assert f"run {run.run_id} stopped (its runNow was cut off (interrupted)" in out
    assert MAY_STILL_EXECUTE not in out


# -- 4. A run the controller says Finished is not waited on past collecting its flows ----------


def test_finished_run_whose_flow_never_ends_fails_within_the_collect_bound(
    tmp_path: Path, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    started = time.monotonic()
    process = session(tmp_path / "s", emulator, processes, "Stuck Item", timeout=600)
    out, _ = process.communicate(timeout=120)
    elapsed = time.monotonic() - started
    assert process.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert elapsed < 60, f"waited {elapsed:.0f}s on a finished run (its timeout is 600 s)"
    [run] = emulator.runs
    assert f"run {run.run_id} finished, but its flows could not all be collected" in out
    assert "flow 'Never Ends' still says Running" in out
