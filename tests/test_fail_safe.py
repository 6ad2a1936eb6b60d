"""Fail safe at the edges: no run left executing unsaid, no hang, the verdict names the cause.

Each case is a real pytest session against the emulator with a fault on the wire, a real
signal to a real process, or a real pytest-timeout. See docs/faults.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import pytest_leapwork.runs.bounds as bounds
import pytest_leapwork.runs.runner as runner_module
from pytest_leapwork.emulator import EmulatorServer, Fault

from .support import (
    PRELOAD_CONFTEST,
    RunPytest,
    interrupted_after,
    on_status,
    start_pytest,
    wait_for_files,
    wait_for_runs,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("fast_backoff")

SLOW_FOUR = """
import os
import pathlib
import pytest

@pytest.fixture(autouse=True)
def in_test(request):
    # Written down before the test waits for its run, for the test to signal then.
    name = request.node.callspec.id + "." + os.environ.get("PYTEST_XDIST_WORKER", "main")
    (pathlib.Path(__file__).parent / "in-test" / name).touch()

@pytest.mark.leapwork_schedule("Slow")
@pytest.mark.parametrize("leapwork_variables", [{"N": str(i)} for i in range(4)])
def test_slow(leapwork_schedule):
    pass
"""

ONE_SLOW = """
import pytest

@pytest.mark.leapwork_schedule("Slow")
def test_slow(leapwork_schedule):
    pass
"""


@pytest.fixture
def short_stop_grace(monkeypatch: pytest.MonkeyPatch) -> float:
    """In-process sessions give a stop 1.5 s past the deadline instead of 10 s."""
    monkeypatch.setattr(bounds, "STOP_GRACE_SECONDS", 1.5)  # what the run engine reads
    monkeypatch.setattr(runner_module, "STOP_GRACE_SECONDS", 1.5)
    return 1.5


def assert_ended_as_terminated(
    process: subprocess.Popen[str], out: str, emulator: EmulatorServer
) -> None:
    """Ended as terminated, every run stopped and named, and no xdist worker lost."""
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert all(run.stopped for run in emulator.runs), out
    for run in emulator.runs:
        assert run.run_id in out
    assert "Interrupted: the session was terminated (SIGTERM)" in out
    assert "crashed" not in out
    assert "node down" not in out


# -- 1. SIGTERM, to the main process or to the whole process group, with and without xdist ---


@pytest.mark.parametrize("target", ["main", "group"])
@pytest.mark.parametrize("workers", [0, 2, 4])
def test_sigterm_stops_and_lists_every_run(
    pytester: pytest.Pytester,
    emulator: EmulatorServer,
    processes: list[subprocess.Popen[str]],
    workers: int,
    target: str,
) -> None:
    pytester.makepyfile(SLOW_FOUR)
    (pytester.path / "in-test").mkdir()
    process = start_pytest(pytester, emulator, *(["-n", str(workers)] if workers else []))
    processes.append(process)
    wait_for_runs(emulator, 4, process)
    wait_for_files(pytester.path / "in-test", max(workers, 1), process)  # each process in a test
    if target == "group":
        os.killpg(process.pid, signal.SIGTERM)  # what a CI server does to a cancelled job
    else:
        process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert all(run.stopped for run in emulator.runs), out
    assert "runs stopped at session end" in out
    for run in emulator.runs:
        assert run.run_id in out
    assert "Interrupted: the session was terminated (SIGTERM)" in out
    # Said without a frame of the plugin's, and no worker failing to report.
    assert "interrupts.py" not in out
    assert "cannot send" not in out
    assert "PluggyTeardownRaisedWarning" not in out
    assert "replacing crashed worker" not in out


def test_sigterm_while_a_worker_still_collects(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    """The first worker has triggered every run; the other, slower, has not reached a test."""
    pytester.makepyfile(
        "import os, pathlib, time\n"
        "if os.environ.get('PYTEST_XDIST_WORKER') != 'gw0':\n"
        "    (pathlib.Path(__file__).parent / 'collecting').mkdir()\n"
        "    time.sleep(30)  # a worker that collects slowly, as on a loaded CI machine\n"
        + SLOW_FOUR
    )
    (pytester.path / "in-test").mkdir()
    process = start_pytest(pytester, emulator, "-n", "2")
    processes.append(process)
    wait_for_runs(emulator, 4, process)  # triggered ahead by gw0
    wait_until(lambda: (pytester.path / "collecting").is_dir(), process)  # gw1 is guarded
    os.killpg(process.pid, signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert_ended_as_terminated(process, out, emulator)


#: A CI job cancelled at the moment a process makes its plan of runs: the first process to
#: make one sends SIGTERM to the whole process group, which reaches it inside that work. It
#: waits for every process of the session to be configured (the plugin guards SIGTERM there:
#: a worker still starting would die of it, as it would without the plugin).
SIGTERM_WHILE_PLANNING = """
import os
import pathlib
import signal
import time

import pytest

from pytest_leapwork.runs import planning

HERE = pathlib.Path(__file__).parent
make_plan = planning.Planner.__init__

@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    (HERE / "configured" / str(os.getpid())).touch()

def make_plan_and_be_cancelled(self, *args, **kwargs):
    try:
        os.close(os.open(HERE / "cancelled", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        pass
    else:
        expected = int((HERE / "processes").read_text())
        deadline = time.monotonic() + 30
        while len(os.listdir(HERE / "configured")) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(os.getpgrp(), signal.SIGTERM)
    make_plan(self, *args, **kwargs)

planning.Planner.__init__ = make_plan_and_be_cancelled
"""


@pytest.mark.parametrize("workers", [0, 2])
def test_sigterm_while_the_plan_is_being_made(
    pytester: pytest.Pytester,
    emulator: EmulatorServer,
    processes: list[subprocess.Popen[str]],
    workers: int,
) -> None:
    pytester.makepyfile(SLOW_FOUR)
    (pytester.path / "in-test").mkdir()
    (pytester.path / "configured").mkdir()
    (pytester.path / "processes").write_text(str(workers + 1 if workers else 1))
    pytester.makeconftest(SIGTERM_WHILE_PLANNING)
    process = start_pytest(pytester, emulator, *(["-n", str(workers)] if workers else []))
    processes.append(process)
    out, _ = process.communicate(timeout=60)
    assert (pytester.path / "cancelled").exists(), out
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "Interrupted: the session was terminated (SIGTERM)" in out
    assert all(run.stopped for run in emulator.runs), out
    assert "INTERNALERROR" not in out
    assert "AssertionError" not in out
    assert "node down" not in out
    assert "crashed" not in out


#: A worker that ran no test is ending its session when the CI job is cancelled, while the
#: other worker waits on its run: the SIGTERM reaches the first inside pytest's finish.
SIGTERM_WHILE_AN_IDLE_WORKER_FINISHES = """
import os
import pathlib
import signal
import time

import pytest

HERE = pathlib.Path(__file__).parent
ran_a_test = False

@pytest.fixture(autouse=True)
def in_test():
    global ran_a_test
    ran_a_test = True

def pytest_leapwork_run_started(item, run_id, schedule):
    (HERE / "in-test").touch()  # the test has its run in hand, and waits on it

# Outermost, as another plugin's wrapper may be: before xdist has told the controller.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput") and not ran_a_test:
        deadline = time.monotonic() + 30
        while not (HERE / "in-test").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(os.getpgrp(), signal.SIGTERM)
        time.sleep(0.5)  # still finishing when the signal is handled
    return (yield)
"""


def test_sigterm_while_an_idle_xdist_worker_finishes(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    pytester.makepyfile(ONE_SLOW)
    pytester.makeconftest(SIGTERM_WHILE_AN_IDLE_WORKER_FINISHES)
    process = start_pytest(pytester, emulator, "-n", "2")
    processes.append(process)
    out, _ = process.communicate(timeout=60)
    assert (pytester.path / "in-test").exists(), out
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    [run] = emulator.runs
    assert run.stopped, out
    assert f"run {run.run_id} stopped (the session was terminated (SIGTERM))" in out
    assert "Interrupted: the session was terminated (SIGTERM)" in out
    assert "Traceback" not in out
    assert "node down" not in out
    assert "crashed" not in out


#: The CI job is cancelled while the second xdist worker is still being configured (its
#: plugin loaded, its session not yet started) and the first has triggered every run.
SIGTERM_WHILE_A_WORKER_STARTS = """
import os
import pathlib
import time

import pytest

HERE = pathlib.Path(__file__).parent

@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if getattr(config, "workerinput", {}).get("workerid") != "gw1":
        return
    (HERE / "configuring").touch()
    deadline = time.monotonic() + 30
    while not (HERE / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the SIGTERM comes here
"""


def test_sigterm_while_a_worker_is_still_configured(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    pytester.makepyfile(SLOW_FOUR)
    (pytester.path / "in-test").mkdir()  # SLOW_FOUR's tests write there, should one start
    pytester.makeconftest(SIGTERM_WHILE_A_WORKER_STARTS)
    process = start_pytest(pytester, emulator, "-n", "2")
    processes.append(process)
    wait_for_runs(emulator, 4, process)  # triggered ahead by gw0
    wait_until(lambda: (pytester.path / "configuring").exists(), process)
    os.killpg(process.pid, signal.SIGTERM)
    time.sleep(0.5)
    (pytester.path / "go").touch()
    out, _ = process.communicate(timeout=60)
    assert_ended_as_terminated(process, out, emulator)


# -- 2. A runNow cut off before its answer: its run is found and stopped, or named -----------


def test_ctrl_c_during_run_now_finds_and_stops_the_run(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    emulator.add_fault(Fault("run_now", action="answer_late", delay=5))
    pytester.makepyfile(ONE_SLOW)
    process = start_pytest(pytester, emulator)
    processes.append(process)
    wait_for_runs(emulator, 1, process)  # made on the controller, not yet answered
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    [run] = emulator.runs
    assert run.stopped, out
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert f"run {run.run_id} stopped (its runNow was cut off (interrupted)" in out


def test_pytest_timeout_during_run_now_finds_and_stops_the_run(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("run_now", action="answer_late", delay=4))
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def leapwork_variables():  # computed: the run is triggered in the test's own setup
            return {"N": "1"}

        @pytest.mark.leapwork_schedule("Slow")
        def test_slow(leapwork_schedule):
            pass
        """
    )
    pytester.makeconftest(PRELOAD_CONFTEST)
    result = run_pytest("--timeout=1", "--timeout-method=signal", subprocess=True)
    result.assert_outcomes(errors=1)
    [run] = emulator.runs
    assert run.stopped
    result.stdout.fnmatch_lines(
        [
            "*leapwork: runs stopped at session end*",
            f"*test_slow: schedule 'Slow', run {run.run_id} stopped (its runNow was cut off "
            "(Failed)*",
        ]
    )


def test_run_now_cut_off_where_runs_cannot_be_listed_names_the_schedule(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    emulator.add_fault(Fault("run_now", action="answer_late", delay=5))
    emulator.add_fault(Fault("schedule_run_ids", status=404, times=0))
    pytester.makepyfile(ONE_SLOW)
    process = start_pytest(pytester, emulator)
    processes.append(process)
    wait_for_runs(emulator, 1, process)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "leapwork: runs that may still be executing on the controller" in out
    assert "test_slow: schedule 'Slow', run (RunId unknown): its runNow was cut off" in out
    assert "the schedule says Executing: look for the run in Leapwork" in out


# -- 3. A stop the controller does not carry out --------------------------------------------

NOT_STOPPED = '{"OperationCompleted": false}'


def test_stop_answered_not_completed_is_not_claimed(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("stop_run", action="wrong_shape", body=NOT_STOPPED, times=0))
    pytester.makepyfile(ONE_SLOW.replace('"Slow"', '"Slow", timeout=0.5'))
    result = run_pytest()
    result.assert_outcomes(failed=1)
    [run] = emulator.runs
    assert not run.stopped
    output = result.stdout.str()
    assert "was stopped" not in output
    result.stdout.fnmatch_lines(
        [
            f"*'Slow' did not finish within its timeout of 0.5s and could not be stopped*"
            f"OperationCompleted false 3 times*still says Executing*run {run.run_id}*",
            "*leapwork: runs that may still be executing on the controller*",
            f"*test_slow: schedule 'Slow', run {run.run_id}: its timeout of 0.5s passed; it could "
            "not be stopped*",
        ]
    )
    # The runs table does not say stopped either.
    [row] = [line for line in output.splitlines() if f"  {run.run_id}  " in line]
    assert " stop failed " in row
    assert emulator.count_requests("stop_run") == runner_module.STOP_ATTEMPTS


def test_stop_answered_late_still_reports_the_run_stopped(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """A run stopped at session end whose stop takes effect at once but is answered late: a
    poll sees the run end first, and it is still listed as stopped, not as failed."""
    emulator.add_fault(Fault("stop_run", action="answer_late", delay=1.0))
    pytester.makepyfile(
        """
        import pytest

        def test_a_fails():
            assert False

        @pytest.mark.leapwork_schedule("Slow")
        def test_b_never_runs():
            pass
        """
    )
    result = run_pytest("-x", "-p", "no:randomly", "--leapwork-keep-order")
    result.assert_outcomes(failed=1)
    [run] = emulator.runs
    assert run.stopped
    [row] = [line for line in result.stdout.lines if f"  {run.run_id}  " in line]
    assert " stopped " in row and " failed " not in row, row


def test_runs_left_executing_are_said_under_q(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("stop_run", action="wrong_shape", body=NOT_STOPPED, times=0))
    pytester.makepyfile(ONE_SLOW.replace('"Slow"', '"Slow", timeout=0.5'))
    result = run_pytest("-q")
    result.assert_outcomes(failed=1)
    [run] = emulator.runs
    result.stdout.fnmatch_lines(
        [
            "*leapwork: runs that may still be executing on the controller*",
            f"*test_slow: schedule 'Slow', run {run.run_id}: its timeout of 0.5s passed*",
        ]
    )


def test_stop_not_completed_once_is_asked_again(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("stop_run", action="wrong_shape", body=NOT_STOPPED, times=1))
    pytester.makepyfile(ONE_SLOW.replace('"Slow"', '"Slow", timeout=0.5'))
    result = run_pytest()
    result.assert_outcomes(failed=1)
    [run] = emulator.runs
    assert run.stopped
    result.stdout.fnmatch_lines(
        ["*'Slow' did not finish within its timeout of 0.5s and was stopped*"]
    )
    assert emulator.count_requests("stop_run") == 2


# -- 4. Runs started ahead for tests that end in another fixture ----------------------------


def test_run_of_a_test_ended_by_another_fixture_is_stopped_at_once(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("database down")

        @pytest.fixture
        def not_here():
            pytest.skip("no browser on this agent")

        @pytest.mark.leapwork_schedule("Slow", variables={"N": "error"})
        def test_errors(broken):
            pass

        @pytest.mark.leapwork_schedule("Slow", variables={"N": "skip"})
        def test_skips(not_here):
            pass

        @pytest.mark.leapwork_schedule("Checkout")
        def test_takes_a_while():
            time.sleep(1.5)
        """
    )
    result = run_pytest()
    ended = time.monotonic()
    result.assert_outcomes(passed=1, skipped=1, errors=1)
    runs = {run.variables.get("N", ""): run for run in emulator.runs if run.variables}
    assert set(runs) == {"error", "skip"}
    for run in runs.values():
        # Stopped when its test ended, not at the session's end 1.5 s later.
        assert run.stopped_at is not None and run.stopped_at < ended - 1.0
    result.stdout.fnmatch_lines(
        [
            "*leapwork: runs stopped at session end*",
            f"*test_errors: schedule 'Slow', run {runs['error'].run_id} stopped (its test ended "
            "before it took its run)",
            f"*test_skips: schedule 'Slow', run {runs['skip'].run_id} stopped (its test ended "
            "before it took its run)",
        ]
    )


# -- 5. The key revoked while runs execute ----------------------------------------------------


def test_key_revoked_mid_run_says_the_run_can_no_longer_be_stopped(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    for fault in on_status(action="revoke_key", after=1):
        emulator.add_fault(fault)
    pytester.makepyfile(ONE_SLOW)
    result = run_pytest()
    result.assert_outcomes(errors=1)
    [run] = emulator.runs
    assert not run.stopped
    result.stdout.fnmatch_lines(
        [
            f"*'Slow' (run {run.run_id}) could not be followed: GET /run/{{id}} answered HTTP 401*"
            f"the plugin can no longer stop run {run.run_id} (PUT /run/{{id}}/stop answered "
            "HTTP 401*it may still be executing on the controller*",
            "*leapwork: runs that may still be executing on the controller*",
            f"*test_slow: schedule 'Slow', run {run.run_id}: it could not be followed; it could "
            "not be stopped: PUT /run/{id}/stop answered HTTP 401*",
        ]
    )
    assert emulator.access_key not in result.stdout.str()


# -- 8 and 10. A status poll that hangs, answers 429, or answers nonsense --------------------

SILENT_STATUS = {
    "hangs": (on_status(action="slow", delay=120, times=0), "*did not answer GET /run/{id} for*"),
    "429": (on_status(status=429, retry_after=1, times=0), "*GET /run/{id} answered HTTP 429*"),
    "unknown-status": (
        on_status(action="wrong_shape", body='{"Status": 5}', times=0),
        "*GET /run/{id} answered an unknown Status '5'*",
    ),
}


@pytest.mark.parametrize("case", list(SILENT_STATUS))
def test_status_poll_that_never_helps_names_the_cause_and_exits(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, case: str
) -> None:
    faults, cause = SILENT_STATUS[case]
    for fault in faults:
        emulator.add_fault(fault)
    pytester.makepyfile(ONE_SLOW.replace('"Slow"', '"Smoke Login", timeout=1'))
    started = time.monotonic()
    result = run_pytest(subprocess=True)
    elapsed = time.monotonic() - started
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*'Smoke Login' (run *) could not be followed: the controller gave no usable answer "
            f"about run * before its timeout of 1s passed: {cause}; it was stopped*"
        ]
    )
    output = result.stdout.str()
    assert "did not finish within its timeout" not in output
    # The process ends with its summary: no request left to wait for, no log line after it.
    assert output.rstrip().splitlines()[-1].startswith("=")
    assert "error" in output.rstrip().splitlines()[-1]
    assert result.stderr.str().strip() == ""
    assert elapsed < 30, f"the session took {elapsed:.0f}s"


# -- 9. Every call for a run is bounded by its deadline (plus the stop's grace) --------------

HUNG = {
    "run-item": (Fault("run_item", action="slow", delay=120, times=0), '"Smoke Login"'),
    "keyframes": (
        Fault("keyframes", action="slow", delay=120, times=0),
        '"Smoke Login", variables={"URL": "https://broken.example.com"}',
    ),
    "stop": (Fault("stop_run", action="slow", delay=120, times=0), '"Slow"'),
}


@pytest.mark.parametrize("case", list(HUNG))
def test_a_hung_request_ends_with_the_deadline_and_grace(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    short_stop_grace: float,
    case: str,
) -> None:
    fault, marker = HUNG[case]
    emulator.add_fault(fault)
    pytester.makepyfile(ONE_SLOW.replace('"Slow"', f"{marker}, timeout=1"))
    started = time.monotonic()
    result = run_pytest()
    elapsed = time.monotonic() - started
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 1
    # Deadline 1 s, the waiting test's slack, then the stop's grace; never the minutes of
    # read timeouts and retries the hung request would take.
    assert elapsed < 1 + runner_module.DEADLINE_SLACK_SECONDS + short_stop_grace + 5
    if case == "run-item":
        result.stdout.fnmatch_lines(
            [
                "*'Smoke Login' (run *) could not be followed: run * finished, but the "
                "controller gave no usable answer about its flows before its timeout of 1s "
                "passed: the controller did not answer GET /runItems/{id} and keyframes for*"
            ]
        )
    if case == "stop":
        result.stdout.fnmatch_lines(
            [
                "*could not be stopped, so it may still be executing on the controller: "
                "PUT /run/{id}/stop: no answer in time*"
            ]
        )


def test_lookup_passes_over_runs_another_xdist_worker_was_given(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Under xdist the lookup must not take another worker's newer run of the schedule for
    the cut-off one: the workers' ledgers name every run the session was given."""
    from pytest_leapwork.api.client import LeapworkClient
    from pytest_leapwork.runs.runner import Runner, RunRequest
    from pytest_leapwork.xdist.ledger import RunLedger

    emulator.add_fault(Fault("run_now", action="answer_late", delay=3))
    runner = Runner(LeapworkClient(emulator.url, emulator.access_key))
    other_worker = LeapworkClient(emulator.url, emulator.access_key)

    with interrupted_after(0.5):  # a real signal cuts runNow off, as Ctrl-C does
        runner.start(RunRequest("Slow", {}, 60))
    [ours] = emulator.runs
    [trigger] = runner.unanswered()
    newer = other_worker.run_now(ours.schedule_id, {})  # another worker's run, after ours
    (tmp_path / "gw1.runs").write_text(f"start\t{newer}\tSlow\ttest_b.py::test_b\n")
    runner.known_elsewhere = lambda: RunLedger.run_ids_in(str(tmp_path))
    try:
        outcome = runner.find_and_stop(trigger)
    finally:
        runner.close()
        other_worker.close()
    assert outcome.run_id == ours.run_id and outcome.problem is None
    assert emulator.run(ours.run_id).stopped
    assert not emulator.run(newer).stopped


def test_run_past_its_deadline_is_stopped_though_no_test_waits_for_it_yet(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """Started ahead, its status request stuck: stopped at its deadline, not at its test's turn."""
    for fault in on_status(action="slow", delay=120, times=0):
        emulator.add_fault(fault)
    pytester.makepyfile(
        """
        import time
        import pytest

        def test_first_takes_a_while():
            time.sleep(4)

        @pytest.mark.leapwork_schedule("Slow", timeout=1)
        def test_later(leapwork_schedule):
            pass
        """
    )
    started = time.monotonic()
    result = run_pytest()
    result.assert_outcomes(passed=1, errors=1)
    [run] = emulator.runs
    assert run.stopped_at is not None
    assert run.stopped_at - started < 3.5, "stopped only when its test came to wait"
    result.stdout.fnmatch_lines(["*did not answer GET /run/{id} for*; it was stopped*"])
