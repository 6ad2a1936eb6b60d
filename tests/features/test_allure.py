"""Allure: with allure-pytest writing results, a marked test shows its flows as steps, the
failing flows' evidence as attachments, and its RunId; without it, allure is not imported.

The results are read as Allure reads them: the ``*-result.json`` files of ``--alluredir``,
their attachments by ``source`` in the same directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_leapwork.emulator import EmulatorServer

from ..support import WITH_ALLURE, RunPytest
from .support import REPORTS_AND_CHECKOUT

DOCS = Path(__file__).resolve().parents[2] / "docs"


def allure_results(directory: Path) -> dict[str, dict[str, Any]]:
    """Each test's result, by test name, as the Allure report generator reads them."""
    results = [json.loads(p.read_text()) for p in directory.glob("*-result.json")]
    return {result["name"]: result for result in results}


def parameters(entry: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p for p in entry.get("parameters", [])}


#: allure-pytest loaded by its entry point's name, and (under xdist) by its module's, as one
#: may where PYTEST_DISABLE_PLUGIN_AUTOLOAD is set: it is then registered under that name.
LOADED = {"0": WITH_ALLURE, "2": ("-p", "allure_pytest.plugin")}


@pytest.mark.parametrize("workers", ["0", "2"])
def test_flows_are_steps_with_status_duration_and_evidence(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    result = run_pytest(
        *LOADED[workers],
        "--alluredir=allure-results",
        "--leapwork-artifacts=evidence",
        "-n",
        workers,
        subprocess=True,
    )
    result.assert_outcomes(passed=1, failed=1)
    results = allure_results(pytester.path / "allure-results")
    reports, checkout = results["test_reports"], results["test_checkout"]
    [reports_run] = [run for run in emulator.runs if run.schedule_title == "Reports"]
    [checkout_run] = [run for run in emulator.runs if run.schedule_title == "Checkout"]

    # The RunId, shown with the test and kept out of its history id.
    run_id = parameters(reports)["RunId"]
    assert run_id["value"] == reports_run.run_id and run_id["excluded"] is True
    assert parameters(checkout)["RunId"]["value"] == checkout_run.run_id

    assert reports["status"] == "failed"
    render, export = reports["steps"]
    assert (render["name"], render["status"]) == ("Render Report", "failed")
    assert (export["name"], export["status"]) == ("Export Report", "broken")
    assert parameters(render)["status"]["value"] == "Failed"
    assert "Flow ended with status 'Failed'" in render["statusDetails"]["message"]
    for step in (render, export):
        # The emulator's flows take 0.05 s: Allure shows their own duration, not the wait's.
        assert 0 <= step["stop"] - step["start"] < 5000
    # Export Report's video and keyframes; Render Report records no video, only keyframes.
    folder = pytester.path / "evidence" / f"Reports_{reports_run.run_id[:8]}"
    assert [a["name"] for a in export["attachments"]] == [
        p.name for p in sorted(folder.glob("Export-Report_*"), key=lambda p: p.suffix != ".webm")
    ]
    assert [a["type"] for a in export["attachments"]] == ["video/webm", "application/json"]
    assert [a["type"] for a in render["attachments"]] == ["application/json"]
    video = pytester.path / "allure-results" / export["attachments"][0]["source"]
    assert video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # the WebM file itself
    keyframes = json.loads(
        (pytester.path / "allure-results" / render["attachments"][0]["source"]).read_text()
    )
    assert keyframes["run_id"] == reports_run.run_id

    [pay] = checkout["steps"]
    assert (pay["name"], pay["status"], checkout["status"]) == ("Pay", "passed", "passed")
    assert "attachments" not in pay or pay["attachments"] == []


def test_without_artifacts_the_keyframes_are_attached_as_text(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    run_pytest(*WITH_ALLURE, "--alluredir=allure-results", subprocess=True).assert_outcomes(
        passed=1, failed=1
    )
    render, export = allure_results(pytester.path / "allure-results")["test_reports"]["steps"]
    for step, status in [(render, "Failed"), (export, "Error")]:
        [attachment] = step["attachments"]
        assert (attachment["name"], attachment["type"]) == ("keyframes", "text/plain")
        text = (pytester.path / "allure-results" / attachment["source"]).read_text()
        assert f"Flow ended with status '{status}'" in text


def test_a_run_finished_hook_sees_the_saved_files(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    """The artifacts are on disk before ``pytest_leapwork_run_finished`` implementations run."""
    pytester.makeconftest(
        """
        import os

        def pytest_leapwork_run_finished(item, run):
            for flow in run.failed_flows:
                assert flow.artifacts and all(os.path.isfile(p) for p in flow.artifacts)
                print(f"hook saw {len(flow.artifacts)} files of {flow.title}")
        """
    )
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    result = run_pytest("--leapwork-artifacts=evidence", "-s")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*hook saw 1 files of Render Report*", "*hook saw 2 files of Export Report*"]
    )


def test_without_allure_pytest_allure_is_not_imported(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            print("allure imported:", "allure" in sys.modules or "allure_commons" in sys.modules)
        """
    )
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    result = run_pytest("-p", "no:allure_pytest", "-s", subprocess=True)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*allure imported: False*"])


def test_the_documented_result_is_what_allure_gets(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    """docs/content/ci.md shows a result: its steps, statuses and attachments are the real ones."""
    documented = json.loads((DOCS / "examples" / "ci" / "allure-result.json").read_text())
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    run_pytest(
        *WITH_ALLURE, "--alluredir=allure-results", "--leapwork-artifacts=evidence", subprocess=True
    ).assert_outcomes(passed=1, failed=1)
    real = allure_results(pytester.path / "allure-results")[documented["name"]]

    def shape(result: dict[str, Any]) -> Any:
        return (
            result["status"],
            [(p["name"], p.get("excluded")) for p in result["parameters"]],
            [
                (
                    s["name"],
                    s["status"],
                    [(p["name"], p["value"]) for p in s["parameters"]],
                    [(a["name"].split("_")[0], a["type"]) for a in s.get("attachments", [])],
                )
                for s in result["steps"]
            ],
        )

    assert shape(real) == shape(documented)
