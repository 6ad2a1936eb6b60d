"""What people read: the summary section, the per-flow JUnit report, hooks, progress, HTML."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser
import pytest
import xmlschema

from pytest_leapwork.emulator import EmulatorServer

from .support import WITH_HTML, RunPytest, leapwork_section, run_in_pty

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("data") / "junit-10.xsd"))

TWO_RUNS = """
import pytest

@pytest.mark.leapwork_schedule("Smoke Login", variables={"Browser": "edge"})
@pytest.mark.parametrize(
    "leapwork_variables",
    [{"URL": "https://ok.example.com"}, {"URL": "https://broken.example.com"}],
    ids=["ok", "broken"],
)
def test_login(leapwork_schedule):
    pass
"""


def test_summary_section_lists_every_run(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With -v every run is a row, the failing ones first (by default the passed runs are
    one line counting them: ``test_reports_published.py``)."""
    monkeypatch.setenv("COLUMNS", "250")
    pytester.makepyfile(TWO_RUNS)
    result = run_pytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    runs = {r.variables["URL"]: r.run_id for r in emulator.runs}
    result.stdout.fnmatch_lines(
        [
            "*= leapwork runs =*",
            "test *schedule*run*result*flows p/f/t*time*variables",
            f"*test_login?broken?*Smoke Login*{runs['https://broken.example.com']}*failed*1/1/2*",
            f"*test_login?ok?*Smoke Login*{runs['https://ok.example.com']}*passed*2/0/2*URL=https://ok.example.com*",
        ]
    )
    assert "passed run (-v lists" not in result.stdout.str()


WIDE_VARIABLES = """
import pytest

@pytest.mark.leapwork_schedule("Smoke Login")
@pytest.mark.parametrize(
    "leapwork_variables",
    [{"URL": "https://ok.example.com/" + "a" * 150, "Note": "n" * 60, "Browser": "edge"}],
    ids=["a-rather-long-parametrization-id-that-makes-the-test-column-wide"],
)
def test_wide(leapwork_schedule):
    pass
"""


@pytest.mark.parametrize("columns", [80, 260, 500])
def test_summary_fits_the_terminal_width(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    columns: int,
) -> None:
    """The variables are cut or wrapped to the terminal's width; the RunId is never cut; a
    test id wider than the terminal is wrapped."""
    monkeypatch.setenv("COLUMNS", str(columns))
    pytester.makepyfile(WIDE_VARIABLES)
    result = run_pytest("-v")  # the run passes: -v lists it
    result.assert_outcomes(passed=1)
    [run] = emulator.runs
    section = leapwork_section(result.stdout.str())
    text = "\n".join(section)
    test_id = "test_wide[a-rather-long-parametrization-id-that-makes-the-test-column-wide]"
    assert test_id in "".join(line.strip() for line in section)
    assert all(len(line) <= columns for line in section), text
    assert any(run.run_id in line for line in section)
    if columns == 500:
        assert "Note=" + "n" * 60 in text  # everything fits: nothing cut
    elif columns == 260:
        assert "…" in text  # the variables are cut at the edge
    else:
        # Too narrow for a row: the test id, then schedule and RunId, then the variables.
        assert "Browser=edge" in text and "Note=" in text


def test_summary_is_one_line_with_q(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(TWO_RUNS)
    result = run_pytest("-q", "--leapwork-junitxml=flows.xml")
    out = result.stdout.str()
    assert "leapwork runs" not in out
    report = pytester.path / "flows.xml"
    result.stdout.fnmatch_lines(
        [f"leapwork: 2 runs: 1 passed, 1 failed; per-flow report: {report}"]
    )


def test_flow_report_is_written_when_no_marked_test_runs(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("--leapwork-junitxml=reports/flows.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    report = pytester.path / "reports" / "flows.xml"
    SCHEMA.validate(str(report))
    root = ET.parse(report).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("0", "0", "0")
    assert list(root) == []
    result.stdout.fnmatch_lines([f"*- leapwork per-flow report: {report} -*"])
    assert "leapwork runs" not in result.stdout.str()


@pytest.mark.parametrize("workers", ["0", "2"])
def test_every_triggered_run_is_reported_after_x(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    workers: str,
) -> None:
    """-x: a run started ahead that ended before the session stopped, and one the session
    stopped, are in the summary and both reports, with their RunIds."""
    monkeypatch.setenv("COLUMNS", "250")
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_a_fails_after_the_others_ended():
            time.sleep(2.0)  # Statuses (0.1 s) ends meanwhile; Slow (60 s) does not
            assert False

        @pytest.mark.leapwork_schedule("Statuses")
        def test_b_never_runs():
            pass

        @pytest.mark.leapwork_schedule("Slow")
        def test_c_never_runs():
            pass
        """
    )
    result = run_pytest(
        "-x",
        "-v",  # the table lists the passed runs too
        "-n",
        workers,
        "--leapwork-junitxml=flows.xml",
        "--junitxml=pytest.xml",
        subprocess=True,
    )
    # xdist reports a session stopped by -x as interrupted.
    assert result.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)
    run_ids = {r.run_id for r in emulator.runs}
    assert len(run_ids) == 3 if workers == "0" else len(run_ids) >= 2
    section = "\n".join(leapwork_section(result.stdout.str()))
    assert all(run_id in section for run_id in run_ids), section
    flows = ET.parse(pytester.path / "flows.xml").getroot()
    SCHEMA.validate(str(pytester.path / "flows.xml"))
    in_report = {
        p.get("value") for p in flows.iter("property") if p.get("name") == "leapwork_run_id"
    }
    assert in_report == run_ids
    pytest_xml = ET.parse(pytester.path / "pytest.xml").getroot()
    suite_props = {
        p.get("value") for p in pytest_xml.iter("property") if p.get("name") == "leapwork_run_id"
    }
    assert suite_props == run_ids
    if workers == "0":
        by_title = {r.schedule_title: r.run_id for r in emulator.runs}
        result.stdout.fnmatch_lines(
            [
                f"*test_b_never_runs*Statuses*{by_title['Statuses']}*failed, its test did not run*",
                f"*test_c_never_runs*Slow*{by_title['Slow']}*stopped, its test did not run*",
            ]
        )


def test_runs_of_a_crashed_worker_are_in_the_summary_and_the_report(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crashed worker's run is stopped by the xdist controller and listed like any other."""
    monkeypatch.setenv("COLUMNS", "250")
    pytester.makepyfile(
        """
        import os
        import pytest

        def test_a_crashes_the_worker():
            os._exit(1)

        @pytest.mark.leapwork_schedule("Slow")
        def test_b_was_triggered_ahead():
            pass
        """
    )
    result = run_pytest(
        "-n", "1", "--max-worker-restart=0", "--leapwork-junitxml=flows.xml", subprocess=True
    )
    [run] = emulator.runs
    assert run.stopped  # a worker that dies cannot stop its runs: the xdist controller does
    result.stdout.fnmatch_lines(
        [
            "*leapwork: runs stopped at session end*",
            f"*test_b_was_triggered_ahead: schedule 'Slow', run {run.run_id} stopped "
            "(its xdist worker crashed)",
        ]
    )
    result.stdout.fnmatch_lines(
        [f"*test_b_was_triggered_ahead*Slow*{run.run_id}*stopped, its xdist worker crashed*"]
    )
    flows = ET.parse(pytester.path / "flows.xml").getroot()
    SCHEMA.validate(str(pytester.path / "flows.xml"))
    [suite] = flows.iter("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["leapwork_run_id"] == run.run_id
    assert props["leapwork_note"] == "its xdist worker crashed"


@pytest.mark.parametrize("workers", ["0", "2"])
def test_runs_that_never_started_are_errored_cases(
    pytester: pytest.Pytester, run_pytest: RunPytest, workers: str
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_ok():
            pass

        @pytest.mark.leapwork_schedule("Smoke Logn")
        def test_typo():
            pass

        @pytest.mark.leapwork_schedule("Nightly Regression")
        def test_disabled():
            pass

        @pytest.mark.leapwork_schedule("Smoke Login", variables={"Undeclared": "1"})
        def test_undeclared_variable():
            pass
        """
    )
    result = run_pytest("-n", workers, "--leapwork-junitxml=flows.xml", subprocess=True)
    result.assert_outcomes(passed=1, errors=3)
    report = pytester.path / "flows.xml"
    SCHEMA.validate(str(report))
    root = ET.parse(report).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "0", "3")
    errored = {}
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            failure = case.find("failure")
            if failure is not None and failure.get("type") == "Error":
                assert suite.get("errors") == "1" and suite.get("name") == case.get("classname")
                errored[case.get("name", "").split("::")[-1]] = (case.get("classname"), failure)
    assert set(errored) == {"test_typo", "test_disabled", "test_undeclared_variable"}
    assert errored["test_typo"][0] == "Smoke Logn"
    assert "no schedule titled 'Smoke Logn'" in (errored["test_typo"][1].get("message") or "")
    assert errored["test_disabled"][0] == "Nightly Regression"
    assert "disabled" in (errored["test_disabled"][1].get("message") or "")
    classname, failure = errored["test_undeclared_variable"]
    assert classname == "Smoke Login" and "HTTP 400" in (failure.get("message") or "")
    assert "Schedule: Smoke Login" in (failure.text or "")


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_pytest_junit_has_elapsed_beside_the_run_id(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, family: str
) -> None:
    pytester.makepyfile(TWO_RUNS)
    run_pytest("--junitxml=pytest.xml", "-o", f"junit_family={family}").assert_outcomes(
        passed=1, failed=1
    )
    root = ET.parse(pytester.path / "pytest.xml").getroot()
    cases = list(root.iter("testcase"))
    assert len(cases) == 2
    for case in cases:
        props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        names = [name for name, _ in props]
        assert names[:2] == ["leapwork_run_id", "leapwork_elapsed"], props
        elapsed = float(dict(props)["leapwork_elapsed"] or "0")
        # The run took its flows' time (two 0.1 s flows), whatever the test's own time says.
        assert elapsed >= 0.2


@pytest.mark.parametrize("workers", ["0", "2"])
def test_per_flow_junit_report_validates(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    pytester.makepyfile(TWO_RUNS)
    result = run_pytest(
        "-n",
        workers,
        "--leapwork-junitxml=reports/flows.xml",
        "--junitxml=pytest.xml",
        subprocess=True,
    )
    result.assert_outcomes(passed=1, failed=1)
    report = pytester.path / "reports" / "flows.xml"
    SCHEMA.validate(str(report))
    assert not list(report.parent.glob(".leapwork-*")), "temporary file left behind"

    suites = {s.name: s for s in junitparser.JUnitXml.fromfile(str(report))}
    assert (
        set(suites) == {"Smoke Login"} or len(list(junitparser.JUnitXml.fromfile(str(report)))) == 2
    )
    parsed = list(junitparser.JUnitXml.fromfile(str(report)))
    assert len(parsed) == 2
    by_run = {}
    for suite in parsed:
        props = {p.name: p.value for p in suite.properties()}
        by_run[props["leapwork_run_id"]] = (suite, props)
    for run in emulator.runs:
        suite, props = by_run[run.run_id]
        assert suite.name == "Smoke Login"
        assert props["leapwork_schedule_id"] == run.schedule_id
        assert props["variable.URL"] == run.variables["URL"]
        assert props["pytest_nodeid"].startswith(
            "test_per_flow_junit_report_validates.py::test_login["
        )
        # Each run's cases carry its parameter id, so CI servers keep the two runs apart.
        param = props["pytest_nodeid"].rpartition("[")[2].rstrip("]")
        assert all(case.name.endswith(f"[{param}]") for case in suite)
        cases = {case.name.removesuffix(f"[{param}]"): case for case in suite}
        assert set(cases) == {"Open Browser", "Log In"}
        assert all(case.classname == "Smoke Login" for case in cases.values())
        login = cases["Log In"]
        if "broken" in run.variables["URL"]:
            [failure] = login.result
            assert isinstance(failure, junitparser.Failure)
            assert "Click Login - Could not find element 'Login button'" in failure.text
            assert "trace noise" not in failure.text
            assert suite.failures == 1
        else:
            assert login.is_passed
            assert float(login.time) == pytest.approx(0.1, abs=0.05)

    # pytest's own report lists the session's RunIds as suite properties, even under xdist.
    root = ET.parse(pytester.path / "pytest.xml").getroot()
    suite_props = [
        p.get("value")
        for p in root.find("testsuite").find("properties")  # type: ignore[union-attr]
        if p.get("name") == "leapwork_run_id"
    ]
    assert sorted(suite_props) == sorted(r.run_id for r in emulator.runs)


def test_per_flow_report_keyframes_of_passed_flows(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_checkout():
            pass
        """
    )
    run_pytest(
        "--leapwork-junitxml=flows.xml", "--leapwork-junitxml-passed-keyframes"
    ).assert_outcomes(passed=1)
    SCHEMA.validate(str(pytester.path / "flows.xml"))
    outs = [e.text or "" for e in ET.parse(pytester.path / "flows.xml").iter("system-out")]
    assert len(outs) == 2 and all("Schedule: Checkout" in text for text in outs)


def test_per_flow_report_for_runs_without_flows_and_timeouts(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Empty Run")
        def test_empty():
            pass

        @pytest.mark.leapwork_schedule("Slow", timeout=0.3)
        def test_slow():
            pass
        """
    )
    pytester.makeini("[pytest]\nleapwork_junitxml = flows.xml\n")
    run_pytest().assert_outcomes(failed=2)
    SCHEMA.validate(str(pytester.path / "flows.xml"))
    messages = [f.get("message", "") for f in ET.parse(pytester.path / "flows.xml").iter("failure")]
    assert any("without running any flow" in m for m in messages)
    assert any("did not finish within 0.3s" in m for m in messages)


def test_hooks_adjust_variables_and_see_runs(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makeconftest(
        """
        events = []

        def pytest_leapwork_variables(item, schedule, variables):
            variables["URL"] = "https://from-hook.example.com/" + item.name

        def pytest_leapwork_run_started(item, run_id, schedule):
            events.append(("started", item.name, schedule, run_id))

        def pytest_leapwork_run_finished(item, run):
            events.append(("finished", item.name, run.run_id, run.passed))

        def pytest_leapwork_flow_passed(item, flow):
            if flow.status == "Inconclusive":
                return True

        def pytest_sessionfinish(session):
            for event in events:
                print("EVENT", *event)
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_hooked(leapwork_schedule):
            assert leapwork_schedule.variables["URL"] == "https://from-hook.example.com/test_hooked"
        """
    )
    result = run_pytest("-s")
    result.assert_outcomes(passed=1)
    [run] = emulator.runs
    assert run.variables == {"URL": "https://from-hook.example.com/test_hooked"}
    result.stdout.fnmatch_lines(
        [
            f"*EVENT started test_hooked Smoke Login {run.run_id}",
            f"EVENT finished test_hooked {run.run_id} True",
        ]
    )


def test_flow_passed_hook_changes_the_verdict(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makeconftest(
        """
        def pytest_leapwork_flow_passed(item, flow):
            if flow.status in ("Error", "Inconclusive", "Quarantined"):
                return True
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Statuses")
        def test_statuses(leapwork_schedule):
            assert leapwork_schedule.passed
        """
    )
    run_pytest().assert_outcomes(passed=1)


def test_list_schedules(pytester: pytest.Pytester, controller_args: list[str]) -> None:
    result = pytester.runpytest(*controller_args, "--leapwork-schedules")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "title*id*enabled",
            "Smoke Login*11111111-aaaa-4bbb-8ccc-000000000001*yes",
            "Nightly Regression*no",
        ]
    )
    # The temporary schedule is not listed.
    assert "00000000ffff" not in result.stdout.str()


def test_list_schedules_needs_a_controller(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--leapwork-schedules")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--leapwork-schedules*no controller is configured*"])


#: pytest-html loaded by its entry points' names, or by module (as under
#: PYTEST_DISABLE_PLUGIN_AUTOLOAD one may), where it is registered under the module's name.
HTML_LOADERS = {
    "entry-point": WITH_HTML,
    "module": ("-p", "pytest_metadata.plugin", "-p", "pytest_html.plugin"),
}


@pytest.mark.parametrize("loaded_by", HTML_LOADERS)
def test_html_report_shows_flows(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, loaded_by: str
) -> None:
    pytest.importorskip("pytest_html")
    pytester.makepyfile(TWO_RUNS)
    run_pytest(
        *HTML_LOADERS[loaded_by],
        "--html=report.html",
        "--self-contained-html",
        subprocess=loaded_by == "module",  # in process, that module is imported already
    ).assert_outcomes(passed=1, failed=1)
    page = (pytester.path / "report.html").read_text()
    for run in emulator.runs:
        assert run.run_id in page
    assert "Open Browser" in page


PROGRESS_TEST = """
import pytest

@pytest.mark.leapwork_schedule("Half Second")
def test_wait():
    pass
"""


def test_progress_is_drawn_in_place_on_a_terminal(
    pytester: pytest.Pytester, controller_args: list[str]
) -> None:
    """The whole status where the row has room for it (a terminal 200 wide: the file name
    before it is 50 columns); narrower, it is shortened (``test_reports_published.py``)."""
    pytester.makepyfile(PROGRESS_TEST)
    screen = run_in_pty(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            *controller_args,
            "--leapwork-poll-interval=0.05",
        ],
        pytester.path,
        columns=200,
    )
    assert "1 passed" in screen
    assert re.search(r"\x1b7\x1b\[K waiting for 'Half Second' run \w{8}: \w+.*\x1b8", screen), (
        screen
    )
    # Erased when the wait ends.
    assert "\x1b7\x1b[K\x1b8" in screen


def test_progress_is_silent_with_q(pytester: pytest.Pytester, controller_args: list[str]) -> None:
    pytester.makepyfile(PROGRESS_TEST)
    screen = run_in_pty(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *controller_args,
            "--leapwork-poll-interval=0.05",
        ],
        pytester.path,
    )
    assert "1 passed" in screen
    assert "waiting for" not in screen


def test_progress_heartbeat_in_a_log(
    pytester: pytest.Pytester, run_pytest: RunPytest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pytest_leapwork.reporting.progress.HEARTBEAT_SECONDS", 0.2)
    pytester.makepyfile(PROGRESS_TEST)
    result = run_pytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["leapwork: waiting for 'Half Second' run *: *, 0m00s"])
    assert "\x1b7" not in result.stdout.str()
