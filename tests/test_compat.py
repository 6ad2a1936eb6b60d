"""pytest-leapwork beside the plugins people already use."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pytest_leapwork.emulator import EmulatorServer

from .support import WITH_RERUNFAILURES, RunPytest


def test_rerunfailures_triggers_a_fresh_run_and_records_every_run_id(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://broken.example.com"})
        def test_flaky():
            pass
        """
    )
    result = run_pytest(*WITH_RERUNFAILURES, "--reruns=2", "--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    assert result.parseoutcomes()["rerun"] == 2
    assert len(emulator.runs) == 3
    # pytest writes a testcase per attempt; the last one carries every attempt's RunId.
    case = list(ET.parse(pytester.path / "out.xml").getroot().iter("testcase"))[-1]
    recorded = [p.get("value") for p in case.iter("property") if p.get("name") == "leapwork_run_id"]
    assert sorted(recorded) == sorted(r.run_id for r in emulator.runs)


def test_pytest_timeout_stops_the_run_on_the_controller(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.timeout(1, method="signal")
        @pytest.mark.leapwork_schedule("Slow")
        def test_slow():
            pass
        """
    )
    result = run_pytest(subprocess=True)
    result.assert_outcomes(errors=1)
    [run] = emulator.runs
    assert run.stopped
    result.stdout.fnmatch_lines(
        [
            "*leapwork: runs stopped at session end*",
            f"*run {run.run_id} stopped (its test was interrupted: Failed)",
        ]
    )


def test_random_order_changes_nothing(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        @pytest.mark.parametrize("leapwork_variables", [{"URL": str(i)} for i in range(5)])
        def test_many(leapwork_schedule, leapwork_variables):
            assert leapwork_schedule.variables == leapwork_variables
        """
    )
    result = run_pytest("-p", "randomly", "--randomly-seed=3")
    result.assert_outcomes(passed=5)
    assert "Using --randomly-seed=3" in result.stdout.str()
    assert sorted(r.variables["URL"] for r in emulator.runs) == [str(i) for i in range(5)]


def test_dist_loadgroup(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.xdist_group("leapwork")
        @pytest.mark.leapwork_schedule("Checkout")
        @pytest.mark.parametrize("n", range(3))
        def test_grouped(n):
            pass
        """
    )
    run_pytest("-n", "2", "--dist", "loadgroup", subprocess=True).assert_outcomes(passed=3)
    assert len(emulator.runs) == 3
