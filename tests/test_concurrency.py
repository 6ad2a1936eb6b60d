"""Trigger ahead, the bounded window, late triggers, and runs stopped when tests never run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pytest_leapwork.emulator import EmulatorServer

from .support import RunPytest

MANY = """
import pytest

@pytest.mark.leapwork_schedule("Half Second")
@pytest.mark.parametrize("leapwork_variables", [{{"N": str(i)}} for i in range({count})])
def test_many(leapwork_schedule):
    assert leapwork_schedule.passed
"""


@contextmanager
def most_unfinished_runs(emulator: EmulatorServer) -> Iterator[list[int]]:
    """Sample, while the body runs, the largest number of runs unfinished at once."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], sum(r.status() != "Finished" for r in emulator.runs))
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def created_order(emulator: EmulatorServer) -> list[str]:
    return [r.variables.get("N", "") for r in sorted(emulator.runs, key=lambda r: r.created_at)]


def test_runs_are_triggered_ahead_in_test_order(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(MANY.format(count=6))
    with most_unfinished_runs(emulator) as peak:
        run_pytest().assert_outcomes(passed=6)
    assert created_order(emulator) == [str(i) for i in range(6)]
    # All six executed at once on the controller instead of one after another.
    assert peak[0] == 6


@pytest.mark.parametrize("window", [1, 2])
def test_window_bounds_runs_in_flight(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, window: int
) -> None:
    pytester.makepyfile(MANY.format(count=5))
    with most_unfinished_runs(emulator) as peak:
        run_pytest(f"--leapwork-max-in-flight={window}").assert_outcomes(passed=5)
    timeline = sorted((r.created_at, r.variables["N"]) for r in emulator.runs)
    assert peak[0] == window, f"peak {peak[0]}, runs created at {timeline}"
    # A test whose turn comes may start its own run while a finishing run frees the window
    # for the next one: those two can reach the controller in either order.
    assert sorted(created_order(emulator)) == [str(i) for i in range(5)]


def test_window_from_ini(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makeini("[pytest]\nleapwork_max_in_flight = 1\n")
    pytester.makepyfile(MANY.format(count=3))
    with most_unfinished_runs(emulator) as peak:
        run_pytest().assert_outcomes(passed=3)
    assert peak[0] == 1


def test_fixture_computed_variables_trigger_at_setup(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Half Second", variables={"N": "first"})
        def test_first():
            pass

        class TestComputed:
            @pytest.fixture
            def leapwork_variables(self):
                return {"N": "computed"}

            @pytest.mark.leapwork_schedule("Half Second")
            def test_computed(self):
                pass

        @pytest.mark.leapwork_schedule("Half Second", variables={"N": "last"})
        def test_last():
            pass
        """
    )
    run_pytest().assert_outcomes(passed=3)
    # The known runs started together before any test; the computed one at its own setup,
    # after the first test had waited for its run.
    assert created_order(emulator) == ["first", "last", "computed"]
    runs = {r.variables["N"]: r for r in emulator.runs}
    assert runs["computed"].created_at - runs["first"].created_at >= 0.4


def test_skipped_tests_are_not_triggered_ahead(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.skip(reason="not today")
        @pytest.mark.leapwork_schedule("Half Second")
        def test_skipped():
            pass

        @pytest.mark.skipif(True, reason="never")
        @pytest.mark.leapwork_schedule("Half Second")
        def test_skipif():
            pass
        """
    )
    run_pytest().assert_outcomes(skipped=2)
    assert emulator.runs == []


def test_runs_of_tests_that_never_ran_are_stopped_after_x(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://broken.example.com"})
        def test_fails_first():
            pass

        @pytest.mark.leapwork_schedule("Slow")
        def test_never_runs():
            pass
        """
    )
    result = run_pytest("-x")
    result.assert_outcomes(failed=1)
    slow = next(r for r in emulator.runs if r.schedule_title == "Slow")
    assert slow.stopped
    result.stdout.fnmatch_lines(
        [
            "*leapwork: runs stopped at session end*",
            f"*test_never_runs: schedule 'Slow', run {slow.run_id} stopped (its test did not run)",
        ]
    )


def test_maxfail_stops_the_rest(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Statuses")
        def test_a():
            pass

        @pytest.mark.leapwork_schedule("Slow", variables={"N": "1"})
        def test_b():
            pass

        @pytest.mark.leapwork_schedule("Slow", variables={"N": "2"})
        def test_c():
            pass
        """
    )
    run_pytest("--maxfail=1").assert_outcomes(failed=1)
    slow_runs = [r for r in emulator.runs if r.schedule_title == "Slow"]
    assert len(slow_runs) == 2 and all(r.stopped for r in slow_runs)
    assert all(r.status() == "Finished" for r in emulator.runs)


SLOW_PAIR = """
import pytest

@pytest.mark.leapwork_schedule("Slow")
def test_waits():
    pass

@pytest.mark.leapwork_schedule("Slow", variables={"N": "queued"})
def test_queued():
    pass
"""


def start_session(pytester: pytest.Pytester, emulator: EmulatorServer) -> subprocess.Popen[str]:
    """A pytest process running SLOW_PAIR, returned once both runs exist on the emulator."""
    pytester.makepyfile(SLOW_PAIR)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--leapwork-controller={emulator.url}",
            f"--leapwork-key={emulator.access_key}",
            "--leapwork-poll-interval=0.05",
        ],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 30
    while len(emulator.runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(emulator.runs) == 2, "the runs were never triggered"
    time.sleep(0.3)  # let the first test reach its wait
    return process


def test_ctrl_c_stops_runs_in_flight(pytester: pytest.Pytester, emulator: EmulatorServer) -> None:
    """A real SIGINT to a pytest process waiting for a run: the runs are stopped and listed."""
    process = start_session(pytester, emulator)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert all(r.stopped for r in emulator.runs), out
    assert "KeyboardInterrupt" in out
    assert "interrupts.py" not in out  # where the session was, not the plugin's handler
    assert "runs stopped at session end" in out
    for run in emulator.runs:
        assert run.run_id in out


def test_sigterm_stops_runs_like_ctrl_c(
    pytester: pytest.Pytester, emulator: EmulatorServer
) -> None:
    """CI servers cancel a job with SIGTERM: the runs are stopped all the same."""
    process = start_session(pytester, emulator)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert all(r.stopped for r in emulator.runs), out
    assert "runs stopped at session end" in out


def test_second_ctrl_c_exits_at_once(pytester: pytest.Pytester, emulator: EmulatorServer) -> None:
    process = start_session(pytester, emulator)
    process.send_signal(signal.SIGINT)
    time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    # Either the first Ctrl-C already stopped everything, or the second one cut it short and
    # said which runs it left running.
    if process.returncode == 130:
        assert "interrupted again, exiting now" in out
        left = [r for r in emulator.runs if not r.stopped]
        for run in left:
            assert run.run_id in out
    else:
        assert process.returncode == pytest.ExitCode.INTERRUPTED, out
        assert all(r.stopped for r in emulator.runs)
    assert "Traceback" not in out


INTERRUPTED_TWICE_WHILE_CAPTURED = """
import os
import signal
import time

import pytest

def test_ctrl_c_twice_while_output_is_captured():
    # Both Ctrl-Cs land while pytest captures this test's output (fd 2 is a temporary file).
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)

@pytest.mark.leapwork_schedule("Slow")
def test_waits():
    pass
"""


def test_second_ctrl_c_during_a_captured_test_still_reaches_the_terminal(
    pytester: pytest.Pytester, emulator: EmulatorServer
) -> None:
    """The exit message goes to the terminal, not to the capture that os._exit throws away."""
    pytester.makepyfile(INTERRUPTED_TWICE_WHILE_CAPTURED)
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            f"--leapwork-controller={emulator.url}",
            f"--leapwork-key={emulator.access_key}",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 130, process.stdout + process.stderr
    assert "interrupted again, exiting now" in process.stderr
    (run,) = emulator.runs  # triggered ahead, before the first test
    assert f"still running: 'Slow' run {run.run_id}" in process.stderr
