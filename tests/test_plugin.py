"""The plugin as a user meets it: marked tests run against the emulator in an inner pytest."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_leapwork.emulator import EmulatorServer

from .support import FAST, RunPytest

SMOKE_ID = "11111111-aaaa-4bbb-8ccc-000000000001"


def run_ids_in(xml_path: Path) -> dict[str, list[str]]:
    """RunId properties per testcase name in a JUnit XML file."""
    root = ET.parse(xml_path).getroot()
    return {
        case.get("name", ""): [
            p.get("value", "") for p in case.iter("property") if p.get("name") == "leapwork_run_id"
        ]
        for case in root.iter("testcase")
    }


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_passing_schedule_records_run_id(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, family: str
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://staging.example.com"})
        def test_smoke_login(leapwork_schedule):
            assert leapwork_schedule.passed
            assert [f.title for f in leapwork_schedule.flows] == ["Open Browser", "Log In"]
            assert leapwork_schedule.flows[0].agent == "Agent One"
            assert leapwork_schedule.variables == {"URL": "https://staging.example.com"}
        """
    )
    result = run_pytest("--junitxml=out.xml", "-o", f"junit_family={family}")
    result.assert_outcomes(passed=1)
    assert "record_property" not in result.stdout.str()
    [run] = emulator.runs
    assert run.variables == {"URL": "https://staging.example.com"}
    assert run_ids_in(pytester.path / "out.xml") == {"test_smoke_login": [run.run_id]}


def test_schedule_by_id_in_any_case_and_without_fixture(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.leapwork_schedule("{SMOKE_ID.upper()}")
        def test_by_id():
            pass
        """
    )
    run_pytest().assert_outcomes(passed=1)
    assert [r.schedule_id.lower() for r in emulator.runs] == [SMOKE_ID]


def test_temporary_schedule_with_same_title_is_never_run(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_smoke(leapwork_schedule):
            assert leapwork_schedule.schedule_id == "11111111-aaaa-4bbb-8ccc-000000000001"
        """
    )
    run_pytest().assert_outcomes(passed=1)


def test_parametrized_variables_merge_over_marker(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login", variables={"Browser": "chrome", "URL": "marker"})
        @pytest.mark.parametrize(
            "leapwork_variables",
            [{"URL": "https://a.example.com/x?y=1&z=2"}, {"URL": "https://b.example.com", "Browser": "firefox"}],
            ids=["a", "b"],
        )
        def test_variants(leapwork_schedule):
            pass
        """
    )
    result = run_pytest("--junitxml=out.xml")
    result.assert_outcomes(passed=2)
    assert sorted((r.variables["URL"], r.variables["Browser"]) for r in emulator.runs) == [
        ("https://a.example.com/x?y=1&z=2", "chrome"),
        ("https://b.example.com", "firefox"),
    ]
    ids = run_ids_in(pytester.path / "out.xml")
    assert sorted(run_id for values in ids.values() for run_id in values) == sorted(
        r.run_id for r in emulator.runs
    )
    assert all(len(v) == 1 for v in ids.values())


def test_variable_values_round_trip(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule(
            "Smoke Login",
            variables={"URL": "http://host:8080/a b/ü?x=1&y=#z", "Browser": True, "Note": 3.5},
        )
        def test_values():
            pass
        """
    )
    run_pytest().assert_outcomes(passed=1)
    assert emulator.runs[0].variables == {
        "URL": "http://host:8080/a b/ü?x=1&y=#z",
        "Browser": "true",
        "Note": "3.5",
    }


def test_variables_from_a_fixture_trigger_at_setup(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def base_url():
            return "https://computed.example.com"

        @pytest.fixture
        def leapwork_variables(base_url):
            return {"URL": base_url}
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_computed(leapwork_schedule):
            assert leapwork_schedule.variables == {"URL": "https://computed.example.com"}
        """
    )
    run_pytest().assert_outcomes(passed=1)
    assert [r.variables for r in emulator.runs] == [{"URL": "https://computed.example.com"}]


def test_failing_flow_message(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://broken.example.com"})
        def test_broken(leapwork_schedule):
            raise AssertionError("the body must not run when the run failed")
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*Leapwork schedule 'Smoke Login' failed: 1 of 2 flows did not pass (run *",
            "*Log In*Failed*Agent One*",
            "*Log In (Failed):*",
            "* - Click Login - Could not find element 'Login button'",
        ]
    )
    assert "trace noise" not in out
    assert "the body must not run" not in out


@pytest.mark.parametrize(("done_status", "outcome"), [("passed", "passed"), ("failed", "failed")])
def test_done_status_option(
    pytester: pytest.Pytester, run_pytest: RunPytest, done_status: str, outcome: str
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_checkout():
            pass
        """
    )
    result = run_pytest(f"--leapwork-done-status={done_status}")
    result.assert_outcomes(**{outcome: 1})


def test_every_non_passing_status_fails_and_is_named(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Statuses")
        def test_statuses():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*3 of 3 flows did not pass*",
            "*Errored*Error*",
            "*Unsure*Inconclusive*",
            "*Something New*Quarantined*",
        ]
    )


def test_run_without_flows_fails(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Empty Run")
        def test_empty():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*finished without running any flow*"])


def test_items_arriving_after_finished_are_collected(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Late Items")
        def test_late(leapwork_schedule):
            assert [f.title for f in leapwork_schedule.flows] == ["First", "Last"]
        """
    )
    run_pytest("--leapwork-poll-interval=0.5").assert_outcomes(passed=1)


def test_timeout_stops_the_run(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Slow", timeout=0.5)
        def test_slow():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    [run] = emulator.runs
    assert run.stopped
    result.stdout.fnmatch_lines(
        [f"*'Slow' did not finish within its timeout of 0.5s and was stopped (run {run.run_id}*"]
    )


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('"Smoke Logn"', "*no schedule titled 'Smoke Logn'*did you mean 'Smoke Login'*"),
        ('"smoke login"', "*did you mean 'Smoke Login'*matched exactly*"),
        ('"Nightly Regression"', "*'Nightly Regression'*is disabled*"),
        ('"Twin"', "*2 enabled schedules are titled 'Twin'*by its id*"),
        ('"Checkout", variables={"Undeclared": "x"}', "*'Checkout' could not be started*HTTP 400*"),
        ('"Smoke Login", variable={"URL": "x"}', "*unknown keyword argument variable*"),
        ('"Smoke Login", timeout=-1', "*timeout must be more than 0 seconds*"),
        ('"Smoke Login", variables={"A B": "x"}', "*variable name 'A B' contains ' '*"),
        ("42", "*must be a title or id string, got int*"),
    ],
)
def test_setup_errors_name_the_cause(
    pytester: pytest.Pytester, run_pytest: RunPytest, marker: str, expected: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.leapwork_schedule({marker})
        def test_it():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([expected])
    assert "Traceback" not in result.stdout.str()


def test_two_markers_on_one_test(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        @pytest.mark.leapwork_schedule("Checkout")
        def test_two():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*2 markers on one test*"])


def test_class_and_module_markers_closest_wins(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.leapwork_schedule("Checkout")

        def test_module_level(leapwork_schedule):
            assert leapwork_schedule.schedule_title == "Checkout"

        @pytest.mark.leapwork_schedule("Smoke Login")
        class TestLogin:
            def test_class_level(self, leapwork_schedule):
                assert leapwork_schedule.schedule_title == "Smoke Login"
        """
    )
    run_pytest().assert_outcomes(passed=2)
    assert sorted(r.schedule_title for r in emulator.runs) == ["Checkout", "Smoke Login"]


def test_fixture_without_marker_is_an_error(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        def test_unmarked(leapwork_schedule):
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*uses the leapwork_schedule fixture but has no*marker*"])


def test_marker_on_one_parametrization_only(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize(
            "n", [1, pytest.param(2, marks=pytest.mark.leapwork_schedule("Checkout"))]
        )
        def test_param(n):
            pass
        """
    )
    run_pytest().assert_outcomes(passed=2)
    assert len(emulator.runs) == 1


def test_wrong_key_is_a_setup_error_and_key_is_not_shown(
    pytester: pytest.Pytester, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_it():
            pass
        """
    )
    key = "WRONGKEY-SECRET-0042"
    result = pytester.runpytest(
        f"--leapwork-controller={emulator.url}",
        f"--leapwork-key={key}",
        *FAST,
        "-rA",
        "--junitxml=out.xml",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*key ****0042*", "*HTTP 401*access key*"])
    assert key not in result.stdout.str() + result.stderr.str()
    assert key not in (pytester.path / "out.xml").read_text()


def test_unreachable_controller(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_it():
            pass
        """
    )
    result = pytester.runpytest(
        "--leapwork-controller=http://127.0.0.1:9", "--leapwork-key=" + "k" * 16, *FAST
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*'Smoke Login' could not be started*cannot reach the controller*"]
    )


def test_env_and_ini_configuration(
    pytester: pytest.Pytester, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        """
        [pytest]
        leapwork_controller = http://127.0.0.1:1
        leapwork_poll_interval = 0.05
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_it():
            pass
        """
    )
    monkeypatch.setenv("LEAPWORK_CONTROLLER", emulator.url)  # environment beats ini
    monkeypatch.setenv("LEAPWORK_KEY", emulator.access_key)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"leapwork: controller {emulator.url}, key ****{emulator.access_key[-4:]}*"]
    )


def test_key_in_ini_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nleapwork_key = abcdefgh12345678\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*leapwork_key ini setting*LEAPWORK_KEY*"])
    assert "abcdefgh12345678" not in result.stdout.str() + result.stderr.str()


def test_bad_option_is_a_usage_error_naming_its_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAPWORK_CONTROLLER", "ftp://ctl")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*LEAPWORK_CONTROLLER environment variable*'ftp'*"])


def test_missing_controller_is_a_usage_error_only_when_needed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_plain():
            pass

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_marked():
            pass
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "-k", "plain").assert_outcomes(
        passed=1, deselected=1
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no controller is configured*--leapwork-controller*"])


@pytest.mark.parametrize(
    "selection", [["--collect-only"], ["-k", "plain"], ["-m", "not leapwork_schedule"]]
)
def test_nothing_triggered_for_tests_that_do_not_run(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, selection: list[str]
) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_plain():
            pass

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_marked():
            pass
        """
    )
    result = run_pytest(*selection)
    assert result.ret == pytest.ExitCode.OK
    assert emulator.requests == []


def test_strict_markers(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_it():
            pass
        """
    )
    run_pytest("--strict-markers").assert_outcomes(passed=1)


def test_disabled_with_p_no_leapwork(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    pytester.runpytest("-p", "no:leapwork", "-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_xdist_records_run_ids(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        @pytest.mark.parametrize("leapwork_variables", [{"URL": str(i)} for i in range(4)])
        def test_many(leapwork_schedule):
            assert leapwork_schedule.passed
        """
    )
    result = run_pytest("-n", workers, "--junitxml=out.xml", subprocess=True)
    result.assert_outcomes(passed=4)
    assert "Warning" not in result.stdout.str()
    ids = run_ids_in(pytester.path / "out.xml")
    assert sorted(run_id for values in ids.values() for run_id in values) == sorted(
        r.run_id for r in emulator.runs
    )
    assert len(emulator.runs) == 4


def test_emulator_option_runs_without_a_controller(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_checkout(leapwork_schedule):
            assert leapwork_schedule.passed
        """
    )
    result = pytester.runpytest(
        "--leapwork-emulator", "-p", "no:cacheprovider", "--leapwork-poll-interval=0.1"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["leapwork: controller built-in emulator (scenario demo)*"])


def test_emulator_option_refuses_a_test_path(pytester: pytest.Pytester) -> None:
    pytester.mkdir("tests")
    result = pytester.runpytest("--leapwork-emulator", "tests")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'tests' is not a scenario*--leapwork-emulator=demo*"])


def test_works_without_xdist(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    """xdist's hooks are only offered where xdist is installed (pluggy refuses unknown ones)."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_it():
            pass
        """
    )
    result = run_pytest("-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
