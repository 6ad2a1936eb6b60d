"""The evidence where teams look: pytest's own JUnit XML, the ``-r`` short summary line, the
per-flow report as CI servers read it, and the runs table at 80 columns and fewer.

Each test runs a real pytest session against the emulator and reads what it wrote the way
its consumer does: the XML parsed (and checked against the JUnit schema Jenkins uses), the
terminal output line by line at the width it was given.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import junitparser
import pytest
import xmlschema

from pytest_leapwork.emulator import EmulatorServer, load_scenario

from .support import RunPytest

#: Schedules in folders, long titles, two that fail with a step and one that passes many
#: times: what a team's nightly selection looks like.
SCENARIO = """
[[schedules]]
title = "Checkout Payment With Saved Card"
id = "22222222-aaaa-4bbb-8ccc-000000000001"
folder = "Regression/Shop"
variables = ["Region"]

  [[schedules.flows]]
  title = "Open Shop"
  seconds = 0.05
  agent = "Agent One"

  [[schedules.flows]]
  title = "Pay By Card"
  seconds = 0.05
  agent = "Agent One"
  status = "Failed"
  keyframes = [
    { level = "Trace", message = "trace noise" },
    { level = "Info", block = "Open Checkout", message = "Checkout opened" },
    { level = "Error", block = "Confirm Payment", message = "Element 'Pay now' not found" },
  ]

[[schedules]]
title = "Checkout Voucher Code Applied Twice"
id = "22222222-aaaa-4bbb-8ccc-000000000002"
folder = "Regression/Shop"

  [[schedules.flows]]
  title = "Apply Voucher"
  seconds = 0.05
  agent = "Agent Two"
  status = "Error"
  keyframes = [{ level = "Error", block = "Enter Code", message = "Voucher field disabled" }]

[[schedules]]
title = "Smoke Home Page Loads"
id = "22222222-aaaa-4bbb-8ccc-000000000003"
folder = "Smoke"
variables = ["Region"]

  [[schedules.flows]]
  title = "Open Home"
  seconds = 0.05
  agent = "Agent One"
"""

FAILED_RUN = "Checkout Payment With Saved Card"
#: The JUnit schema Jenkins validates reports against.
SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("data") / "junit-10.xsd"))


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "published.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture
def emulator(scenario_file: Path) -> Iterator[EmulatorServer]:
    """Overrides the shared emulator: the same fixtures (``run_pytest``) serve this scenario."""
    with EmulatorServer(load_scenario(str(scenario_file))) as server:
        yield server


def marked_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_shop=f"""
        import pytest

        @pytest.mark.leapwork_schedule({FAILED_RUN!r})
        def test_card():
            pass

        @pytest.mark.leapwork_schedule("Smoke Home Page Loads")
        @pytest.mark.parametrize(
            "leapwork_variables", [{{"Region": r}} for r in ("eu", "us", "apac")],
            ids=["eu", "us", "apac"],
        )
        def test_home(leapwork_variables):
            pass
        """
    )


# -- 2. the line -r shows ---------------------------------------------------------------------


def test_the_short_summary_line_names_the_failing_flow_and_step(
    pytester: pytest.Pytester, run_pytest: RunPytest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-r f`` cuts the failure's first line to the terminal: it names what broke."""
    marked_tests(pytester)
    monkeypatch.setenv("COLUMNS", "80")
    # pytest writes the line whole on a CI server (CI or BUILD_NUMBER set): cut it here too.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    result = run_pytest("-rf", subprocess=True)
    result.assert_outcomes(failed=1, passed=3)
    summary = [line for line in result.outlines if line.startswith("FAILED ")]
    assert len(summary) == 1
    assert summary[0].startswith("FAILED test_shop.py::test_card - Failed: Pay By Card: Failed at")
    assert len(summary[0]) <= 80
    # The whole line, where the message is shown in full.
    result.stdout.fnmatch_lines(
        [
            "Pay By Card: Failed at 'Confirm Payment' - Element 'Pay now' not found"
            f" — Leapwork schedule {FAILED_RUN!r} failed: 1 of 2 flows did not pass (run *",
        ]
    )


# -- 5. the per-flow report as CI servers read it ---------------------------------------------


def test_per_flow_report_keeps_folders_tells_runs_apart_and_names_the_step(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        test_shop="""
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Home Page Loads")
        @pytest.mark.parametrize(
            "leapwork_variables", [{"Region": r} for r in ("eu", "us", "apac")],
            ids=["eu", "us", "apac"],
        )
        def test_home(leapwork_variables):
            pass
        """
    )
    result = run_pytest(
        "--leapwork-junitxml=flows.xml", "--leapwork-select=Regression/*", subprocess=True
    )
    result.assert_outcomes(failed=2, passed=3)
    report = pytester.path / "flows.xml"
    SCHEMA.validate(str(report))
    cases = [
        (case.classname, case.name, case)
        for suite in junitparser.JUnitXml.fromfile(str(report))
        for case in suite
    ]
    pairs = [(classname, name) for classname, name, _ in cases]
    assert len(set(pairs)) == len(pairs), f"cases a CI server would merge: {pairs}"
    assert ("Regression/Shop/Checkout Payment With Saved Card", "Pay By Card") in pairs
    assert {name for classname, name in pairs if classname == "Smoke Home Page Loads"} == {
        "Open Home[eu]",
        "Open Home[us]",
        "Open Home[apac]",
    }
    [failure] = [r for _, name, case in cases if name == "Pay By Card" for r in case.result]
    assert isinstance(failure, junitparser.Failure)
    assert failure.message == "Failed at 'Confirm Payment' - Element 'Pay now' not found"


# -- 1. pytest's own JUnit XML links the evidence ---------------------------------------------


@pytest.mark.parametrize("workers", ["0", "2"])
def test_pytest_junit_links_the_failing_flows_files_in_the_tests_own_case(
    pytester: pytest.Pytester, run_pytest: RunPytest, workers: str
) -> None:
    marked_tests(pytester)
    result = run_pytest(
        "-n",
        workers,
        "--junitxml=out/pytest.xml",
        "--leapwork-artifacts=evidence",
        subprocess=True,
    )
    result.assert_outcomes(failed=1, passed=3)
    report = pytester.path / "out" / "pytest.xml"
    cases = {case.get("name"): case for case in ET.parse(report).getroot().iter("testcase")}
    outs = {
        name: "".join(o.text or "" for o in case.iter("system-out")) for name, case in cases.items()
    }
    assert not any(outs[name] for name in outs if name != "test_card")
    linked = re.findall(r"\[\[ATTACHMENT\|([^\]]+)\]\]", outs["test_card"])
    assert len(linked) == 2  # the flow's video and its keyframes
    for path in linked:
        # From the workspace (where pytest started), with forward slashes, as Jenkins and
        # GitLab resolve them, wherever the report itself is written.
        assert (pytester.path / path).is_file(), path
        assert path.startswith("evidence/") and "\\" not in path
