"""The GitHub Actions job summary: appended to the file ``GITHUB_STEP_SUMMARY`` names.

The file is read back as GitHub renders it, a GitHub-flavoured markdown table (markdown-it's
CommonMark with tables), and what the job's earlier steps wrote must still be there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from pytest_leapwork.emulator import EmulatorServer

from ..support import RunPytest
from .support import BROKEN

TESTS = f"""
import pytest

@pytest.mark.leapwork_schedule("Checkout")
def test_checkout():
    pass

@pytest.mark.leapwork_schedule("22222222-aaaa-4bbb-8ccc-000000000001", variables={{"URL": "{BROKEN}"}})
def test_login():
    pass

@pytest.mark.leapwork_schedule("Reports")
def test_reports():
    pass

@pytest.mark.leapwork_schedule("No Such Schedule")
def test_missing():
    pass
"""
EARLIER = "Deployed to staging"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def rendered_tables(text: str) -> list[list[list[str]]]:
    """Each table's rows (header first), each row's cells as inline markdown."""
    tables: list[list[list[str]]] = []
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            tables[-1].append([])
        elif token.type == "inline" and tables and token.level > 3:
            tables[-1][-1].append(token.content)
    return tables


@pytest.mark.parametrize(
    ("workers", "earlier"), [("0", EARLIER + "\n"), ("2", EARLIER)], ids=["in-process", "xdist"]
)
def test_failing_runs_are_appended_as_a_table(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    workers: str,
    earlier: str,
) -> None:
    summary = pytester.path / "summary.md"
    summary.write_text(earlier)  # what an earlier step of the job wrote
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(test_summary=TESTS)
    result = run_pytest("--leapwork-artifacts=evidence", "-n", workers, subprocess=True)
    result.assert_outcomes(passed=1, failed=2, errors=1)

    text = summary.read_text()
    assert text.startswith(EARLIER + "\n\n### Leapwork runs\n\n") and text.endswith("passed.\n")
    assert text.count("### Leapwork runs") == 1  # the controller writes it, not the workers
    [table] = rendered_tables(text)
    assert table[0] == ["Test", "Schedule", "Flow", "Step", "RunId", "Evidence"]
    by_flow = {(row[0], row[2]): row for row in table[1:]}
    login = next(run for run in emulator.runs if run.schedule_title == "Login")
    reports = next(run for run in emulator.runs if run.schedule_title == "Reports")
    login_row = by_flow["`test_summary.py::test_login`", "Log In (Failed)"]
    assert login_row[1:5] == [
        "Login",
        "Log In (Failed)",
        "Click Login: Could not find element 'Login button'",
        f"`{login.run_id}`",
    ]
    assert login_row[5].startswith(f"`evidence/Login_{login.run_id[:8]}/Log-In_")
    export = by_flow["`test_summary.py::test_reports`", "Export Report (Error)"]
    folder = f"evidence/Reports_{reports.run_id[:8]}"
    assert export[4] == f"`{reports.run_id}`"
    assert export[5].startswith(f"`{folder}/Export-Report_") and "<br>" in export[5]
    for path in export[5].split("<br>"):
        assert (pytester.path / path.strip("`")).is_file()
    missing = by_flow["`test_summary.py::test_missing`", "—"]
    assert "no schedule titled 'No Such Schedule'" in missing[3]
    # Failing runs only, then the count of the passed ones.
    assert not any("test_checkout" in row[0] for row in table)
    assert text.rstrip().endswith("\n\n1 run passed.")


def test_each_session_appends_its_own(
    pytester: pytest.Pytester, run_pytest: RunPytest, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_checkout():
            pass
        """
    )
    for _ in range(2):
        run_pytest(subprocess=True).assert_outcomes(passed=1)
    once = "### Leapwork runs\n\n1 run passed.\n"
    assert summary.read_text() == once + "\n" + once


@pytest.mark.parametrize("setting", ["false", "no"])
def test_the_ini_turns_it_off(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
) -> None:
    summary = pytester.path / "summary.md"
    summary.write_text(EARLIER + "\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makeini(f"[pytest]\nleapwork_job_summary = {setting}\n")
    pytester.makepyfile(test_summary=TESTS)
    run_pytest(subprocess=True).assert_outcomes(passed=1, failed=2, errors=1)
    assert summary.read_text() == EARLIER + "\n"


def test_a_summary_that_cannot_be_written_is_said_not_raised(
    pytester: pytest.Pytester, run_pytest: RunPytest, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = Path(pytester.path / "no-such-dir" / "summary.md")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(missing))
    pytester.makepyfile(test_summary=TESTS)
    result = run_pytest(subprocess=True)
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines(["*leapwork: job summary: could not append to *summary.md*"])


def test_the_documented_summary_is_what_a_session_appends(
    pytester: pytest.Pytester, run_pytest: RunPytest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/content/ci.md shows a summary: its layout, rows and count are the real ones."""
    documented = (DOCS / "examples" / "ci" / "job-summary.md").read_text()
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(test_summary=TESTS)
    run_pytest(
        "--leapwork-artifacts=evidence", "-k", "login or missing or checkout", subprocess=True
    ).assert_outcomes(passed=1, failed=1, errors=1)
    real = summary.read_text()
    [doc_table], [real_table] = rendered_tables(documented), rendered_tables(real)
    assert doc_table[0] == real_table[0]
    # The same rows but for the test paths, RunIds and file names of that other project.
    assert [row[1:4] for row in doc_table[1:]] == [row[1:4] for row in real_table[1:]]
    assert [len(row[5].split("<br>")) for row in doc_table[1:]] == [
        len(row[5].split("<br>")) if row[5] != "—" else 1 for row in real_table[1:]
    ]
    assert documented.splitlines()[0] == real.splitlines()[0]
    assert documented.splitlines()[-1] == real.splitlines()[-1] == "1 run passed."
