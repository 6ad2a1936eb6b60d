"""The evidence where teams look: pytest's own JUnit XML, the ``-r`` short summary line, the
per-flow report as CI servers read it, and the runs table at 80 columns and fewer.

Each test runs a real pytest session against the emulator and reads what it wrote the way
its consumer does: the XML parsed (and checked against the JUnit schema Jenkins uses), the
terminal output line by line at the width it was given.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import junitparser
import pytest
import xmlschema

from pytest_leapwork.emulator import EmulatorServer, load_scenario
from pytest_leapwork.reporting.columns import display_width

from .support import FAST, RunPytest, controller_args, leapwork_section, run_in_pty

#: Schedules in folders, long titles, three that fail with a step (one with a title longer
#: than 80 columns, which takes a second) and one that passes many times: what a team's
#: nightly selection looks like.
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
title = "Checkout Gift Card Balance Shown Before And After Payment For Returning Customers"
id = "22222222-aaaa-4bbb-8ccc-000000000004"
folder = "Nightly"

  [[schedules.flows]]
  title = "Check Balance"
  seconds = 1.2
  agent = "Agent Two"
  status = "Failed"
  keyframes = [{ level = "Error", block = "Read Balance", message = "Balance not shown" }]

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
LONG_TITLE = "Checkout Gift Card Balance Shown Before And After Payment For Returning Customers"
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


# -- 3. the runs table at 80 columns and fewer ------------------------------------------------

#: The failing runs' tests, as the table names them: a marked test and two selected schedules.
FAILING_TESTS = [
    "test_shop.py::test_card",
    "leapwork::Checkout Voucher Code Applied Twice",
    f"leapwork::{LONG_TITLE}",
]
#: The nightly selection: the marked tests (one fails, three pass) and two failing schedules.
NIGHTLY = ("--leapwork-select=Regression/Shop/Checkout Voucher*", "--leapwork-select=Nightly/*")


def runs_table(result: pytest.RunResult, columns: int) -> list[str]:
    """The runs table, checked to fit ``columns``: no line wider, no title or RunId cut."""
    section = leapwork_section(result.stdout.str())
    text = "\n".join(section)
    assert all(display_width(line) <= columns for line in section), text
    assert "…" not in text, text
    return section


def unwrapped(lines: list[str]) -> str:
    """Lines put back together where they were wrapped (at a space)."""
    return " ".join(line.strip() for line in lines)


@pytest.mark.parametrize("columns", [60, 80])
def test_the_failing_runs_come_first_whole_and_the_passed_ones_are_counted(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    columns: int,
) -> None:
    marked_tests(pytester)
    monkeypatch.setenv("COLUMNS", str(columns))
    result = run_pytest(*NIGHTLY, subprocess=True)
    result.assert_outcomes(failed=3, passed=3)
    section = runs_table(result, columns)
    text = unwrapped(section)
    for title in (FAILED_RUN, "Checkout Voucher Code Applied Twice", LONG_TITLE):
        assert title in text, section  # whole, on lines of its own where it is long
    # The failing runs, each RunId whole on a line, then one line for the three passed runs.
    failing = [r for r in emulator.runs if r.schedule_title != "Smoke Home Page Loads"]
    passed = [r for r in emulator.runs if r.schedule_title == "Smoke Home Page Loads"]
    assert len(failing) == 3 and len(passed) == 3
    for run in failing:
        [line] = [line for line in section if run.run_id in line]
        assert line.startswith(f"  {run.run_id}")
    assert not any(run.run_id in text for run in passed)
    assert "Smoke Home Page Loads" not in text
    assert section[-1] == "3 passed runs (-v lists them)"
    # Each test id on a line of its own (a longer one wrapped), before its run's lines.
    starts = [text.index(nodeid) for nodeid in FAILING_TESTS]
    assert all(start < text.index("3 passed runs") for start in starts)
    assert "test_shop.py::test_card" in section
    assert section.index("test_shop.py::test_card") < next(
        i for i, line in enumerate(section) if LONG_TITLE.split()[0] in line
    )


def test_with_v_the_table_lists_the_passed_runs_after_the_failing_ones(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marked_tests(pytester)
    monkeypatch.setenv("COLUMNS", "80")
    result = run_pytest("-v", *NIGHTLY, subprocess=True)
    result.assert_outcomes(failed=3, passed=3)
    section = runs_table(result, 80)
    text = "\n".join(section)
    assert "passed run" not in text
    rows = {run.run_id: text.index(run.run_id) for run in emulator.runs}
    assert len(rows) == 6
    last_failing = max(at for run_id, at in rows.items() if run_id not in passed_ids(emulator))
    assert all(rows[run_id] > last_failing for run_id in passed_ids(emulator))
    for region in ("eu", "us", "apac"):
        assert f"test_shop.py::test_home[{region}]" in section
        assert f"    Region={region}" in section


def passed_ids(emulator: EmulatorServer) -> set[str]:
    return {r.run_id for r in emulator.runs if r.schedule_title == "Smoke Home Page Loads"}


# -- 4. the waiting line never wraps ---------------------------------------------------------

#: What a redraw of the waiting line writes: save the cursor, clear to the end of the row,
#: the status, restore the cursor.
DRAWN = re.compile(r"\x1b7\x1b\[K(.*?)\x1b8", re.S)
#: pytest's colours.
SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("columns", [60, 80])
@pytest.mark.parametrize("verbose", [False, True], ids=["default", "-v"])
def test_the_waiting_line_stops_short_of_the_edge_and_is_erased(
    pytester: pytest.Pytester, emulator: EmulatorServer, columns: int, verbose: bool
) -> None:
    """The status drawn after the test's name, on a real terminal: never up to the last
    column (a wrapped status leaves its second row behind when it is redrawn), erased when
    the wait ends."""
    pytester.makepyfile(
        test_nightly=f"""
        import pytest

        @pytest.mark.leapwork_schedule({LONG_TITLE!r})
        def test_balance():
            pass
        """
    )
    args = [sys.executable, "-m", "pytest", *controller_args(emulator), *FAST]
    screen = run_in_pty([*args, *(["-v"] if verbose else [])], pytester.path, columns=columns)
    assert "1 failed" in screen, screen
    draws = list(DRAWN.finditer(screen))
    statuses = [m for m in draws if m.group(1)]
    assert statuses, screen
    for match in statuses:
        # The column the status starts at: what pytest wrote on this row before it.
        row = screen[: match.start()].rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]
        column = display_width(SGR.sub("", DRAWN.sub("", row)))
        status = match.group(1)
        assert status.startswith(" waiting"), status
        assert column + display_width(status) <= columns - 1, (column, status)
    # Cut to fit, the run's state and clock stay.
    assert all(re.search(r": \w+, .*\dm\d\ds$", m.group(1)) for m in statuses), statuses
    # Erased when the wait ends: the last draw is an empty one.
    assert draws[-1].group(1) == ""


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
