"""Under pytest-xdist the session has one trigger-ahead plan: whichever worker gets a test takes
its run, each test's schedule is triggered once, and the window counts the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_leapwork.emulator import EmulatorServer, Scenario
from pytest_leapwork.xdist.controller import XdistController
from pytest_leapwork.xdist.worker import XdistWorker

from .support import WITH_RERUNFAILURES, RunPytest

SECONDS = 0.6


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    schedules = [
        {"title": f"S{i}", "flows": [{"title": "Only", "seconds": SECONDS}]} for i in range(8)
    ] + [{"title": f"L{i}", "flows": [{"title": "Long", "seconds": 60}]} for i in range(6)]
    # Runs for a minute the first time, then as an S schedule: still executing when a worker
    # that crashed is found out, however busy the machine, and quick on the next worker.
    schedules.append(
        {
            "title": "C0",
            "flows": [{"title": "Once slow", "seconds": SECONDS, "execution_seconds": [60]}],
        }
    )
    scenario = Scenario.from_dict({"schedules": schedules}, "xdist-plan")
    with EmulatorServer(scenario) as server:
        yield server


def marked_module(
    first: int, count: int, extra: str = "", prefix: str = "S", body: str = "pass"
) -> str:
    tests = "".join(
        f'@pytest.mark.leapwork_schedule("{prefix}{i}")\ndef test_s{i}():\n    {body}\n\n\n'
        for i in range(first, first + count)
    )
    return f"import time\n\nimport pytest\n\n\n{tests}{extra}"


def max_overlap(emulator: EmulatorServer) -> int:
    """The most runs that executed on the controller at one moment."""
    events = []
    for run in emulator.runs:
        assert run.end_at is not None
        events += [(run.created_at, 1), (run.end_at, -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("dist", ["load", "loadscope", "loadfile", "loadgroup", "worksteal"])
def test_each_test_triggers_its_schedule_once_and_early(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, dist: str
) -> None:
    pytester.makepyfile(test_a=marked_module(0, 4), test_b=marked_module(4, 4))
    result = run_pytest("-n", "2", "--dist", dist, subprocess=True)
    result.assert_outcomes(passed=8)
    assert sorted(r.schedule_title for r in emulator.runs) == [f"S{i}" for i in range(8)]
    # Known at collection: every run started before the first one ended, as without xdist.
    assert max(r.created_at for r in emulator.runs) < min(r.end_at or 0 for r in emulator.runs)


def test_worksteal_takes_the_run_of_a_stolen_test(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """The worker left with quick tests steals waiting ones; their runs are not made again."""
    plain = "".join(f"def test_plain_{i}():\n    pass\n\n\n" for i in range(4))
    # Marked tests that take a while after their runs, so that the worker with the plain
    # tests is done with them long before, however late it started: it must steal.
    pytester.makepyfile(marked_module(0, 4, extra=plain, body="time.sleep(1.5)"))
    result = run_pytest(
        "-n", "2", "--dist", "worksteal", "--leapwork-keep-order", "-v", subprocess=True
    )
    result.assert_outcomes(passed=8)
    assert len(emulator.runs) == 4
    assert emulator.count_requests("run_now") == 4
    assert not any(r.stopped for r in emulator.runs)
    on_gw1 = [line for line in result.outlines if "[gw1]" in line and "::test_s" in line]
    assert on_gw1, "no marked test was stolen: the scenario does not prove anything"


def test_the_window_counts_runs_across_workers(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(test_a=marked_module(0, 3), test_b=marked_module(3, 3))
    result = run_pytest("-n", "2", "--leapwork-max-in-flight=2", subprocess=True)
    result.assert_outcomes(passed=6)
    assert len(emulator.runs) == 6
    assert max_overlap(emulator) == 2


def test_runs_of_tests_no_worker_ran_are_stopped(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """-x under xdist: runs triggered ahead for tests that never ran are stopped and listed."""
    pytester.makepyfile(
        "def test_fails():\n    assert False\n\n\n" + marked_module(0, 6, prefix="L"),
    )
    result = run_pytest("-n", "1", "-x", "--leapwork-keep-order", subprocess=True)
    assert result.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)
    assert len(emulator.runs) == 6
    for run in emulator.runs:
        assert run.stopped
        result.stdout.fnmatch_lines([f"*run {run.run_id} stopped (its test did not run)*"])


def test_workers_have_no_per_test_hooks() -> None:
    """Nothing of the xdist side runs per test: it costs nothing where no test is marked."""
    for plugin in (XdistWorker, XdistController):
        per_test = [n for n in dir(plugin) if n.startswith(("pytest_runtest_", "pytest_pyfunc"))]
        assert per_test == ([] if plugin is XdistWorker else ["pytest_runtest_logreport"])


def test_a_crashed_workers_claims_go_to_the_worker_that_replaces_it(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """The run a crashed worker triggered was stopped with it: the test gets a new one."""
    pytester.makepyfile(
        "import os\n\n\ndef test_crashes_the_worker():\n    os._exit(1)\n\n\n"
        + marked_module(0, 1, prefix="C")
    )
    result = run_pytest("-n", "1", "--max-worker-restart=1", subprocess=True)
    result.assert_outcomes(passed=1, failed=1)
    first, second = sorted(emulator.runs, key=lambda r: r.created_at)
    assert first.schedule_title == second.schedule_title == "C0"
    assert first.stopped and not second.stopped


def test_a_rerun_of_a_marked_test_under_xdist_gets_a_new_run(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("S0")
        def test_flaky(leapwork_schedule):
            assert False, leapwork_schedule.run_id
        """
    )
    result = run_pytest("-n", "2", *WITH_RERUNFAILURES, "--reruns=1", subprocess=True)
    assert result.parseoutcomes() == {"failed": 1, "rerun": 1}
    assert len(emulator.runs) == 2


def test_dist_each_runs_each_test_on_every_worker(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(marked_module(0, 2))
    run_pytest("-n", "2", "--dist", "each", subprocess=True).assert_outcomes(passed=4)
    assert sorted(r.schedule_title for r in emulator.runs) == ["S0", "S0", "S1", "S1"]
