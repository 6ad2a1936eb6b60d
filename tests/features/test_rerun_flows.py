"""``--leapwork-rerun-flows``: failing flows rerun alone on their agents; flaky ones said."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import xmlschema

from pytest_leapwork.emulator import EmulatorServer, load_scenario
from pytest_leapwork.emulator.scenario import default_agent_id, default_flow_id

from ..support import (
    NATIVE_TOML_NUMBERS,
    WITH_HTML,
    RunPytest,
    start_pytest,
    wait_for_runs,
    wait_until,
)

SCENARIO = Path(__file__).with_name("reruns.toml")
SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parents[1] / "data" / "junit-10.xsd"))

SHOP_TEST = """
import pytest

@pytest.mark.leapwork_schedule("Shop", variables={"URL": "https://shop.example.com"})
def test_shop(leapwork_schedule):
    pay = leapwork_schedule.flows[1]
    assert (pay.title, pay.status, pay.flaky, len(pay.reruns)) == ("Pay", "Failed", True, 1)
"""

CHECKOUT_TEST = """
import pytest

@pytest.mark.leapwork_schedule("Checkout")
def test_checkout():
    pass
"""


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A fresh controller per test: a fail_first flow counts its executions from its start."""
    with EmulatorServer(load_scenario(str(SCENARIO))) as server:
        yield server


def cases(path: Path) -> dict[str, ET.Element]:
    SCHEMA.validate(str(path))
    return {case.get("name", ""): case for case in ET.parse(path).getroot().iter("testcase")}


@pytest.mark.parametrize("workers", ["0", "2"])
def test_flaky_flow_passes_and_is_reported_flaky(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    pytester.makepyfile(test_shop=SHOP_TEST)
    result = run_pytest(
        "--leapwork-rerun-flows=2",
        "--leapwork-junitxml=flows.xml",
        "--junitxml=out.xml",
        "-n",
        workers,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "  Shop *flaky   2/0/2 *",
            "*leapwork: flaky flows*",
            "test_shop.py::test_shop: flow 'Pay' of 'Shop' passed after 1 rerun (run *; reruns *)",
        ]
    )
    # Only the failing flow ran again: alone, on the agent where it failed, with the variables.
    [rerun] = [r for r in emulator.requests if r.endpoint == "run_flow"]
    pay, agent = default_flow_id("Pay"), default_agent_id("Agent Two")
    assert rerun.path.lower() == f"/api/v4/flows/{pay}/agent/{agent}"
    assert [run.variables for run in emulator.runs] == [{"URL": "https://shop.example.com"}] * 2
    flows = cases(pytester.path / "flows.xml")
    assert flows["Pay"].find("failure") is None
    [flaky] = flows["Pay"].findall("flakyFailure")
    assert "Failed on execution 1" in (flaky.findtext("stackTrace") or "")
    assert len(flows["Browse"]) == 0
    properties = [
        (p.get("name"), p.get("value"))
        for p in ET.parse(pytester.path / "out.xml").getroot().iter("property")
    ]
    assert ("leapwork_flaky_flows", "Pay (passed after 1 rerun)") in properties
    rerun_run = emulator.runs[1].run_id
    assert ("leapwork_rerun_run_id", rerun_run) in properties
    assert sum(name == "leapwork_run_id" for name, _ in properties) == 2  # suite and test


@pytest.mark.parametrize("workers", ["0", "2"])
def test_always_failing_flow_fails_with_its_first_failure_and_reruns_logs(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    pytester.makepyfile(test_checkout=CHECKOUT_TEST)
    result = run_pytest("--leapwork-rerun-flows=2", "--leapwork-junitxml=flows.xml", "-n", workers)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Leapwork schedule 'Checkout' failed: 1 of 2 flows did not pass*",
            "*Basket*Failed, reruns: Failed, Passed*",
            "*Ship*Failed, reruns: Failed, Failed*",
            "Ship (Failed):",
            "*Click Ship - Ship button missing",
            "Ship, rerun 1 (Failed, run *):",
            "*Click Ship - Ship button missing",
            "Ship, rerun 2 (Failed, run *):",
            "*flow 'Basket' of 'Checkout' passed after 2 reruns*",
        ]
    )
    assert len(emulator.runs) == 5  # the run, then two rounds of two reruns
    flows = cases(pytester.path / "flows.xml")
    ship = flows["Ship"]
    assert len(ship.findall("failure")) == 1
    assert len(ship.findall("rerunFailure")) == 2
    basket = flows["Basket"]
    assert basket.find("failure") is None
    assert len(basket.findall("flakyFailure")) == 2  # the run's failure and the first rerun's
    suite = ET.parse(pytester.path / "flows.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    # The reruns are the test's, not runs of their own in the summary.
    assert "its test did not run" not in result.stdout.str()


def test_without_the_option_nothing_is_rerun(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(test_shop=SHOP_TEST)
    result = run_pytest()
    result.assert_outcomes(failed=1)
    assert [r for r in emulator.requests if r.endpoint == "run_flow"] == []
    assert "flaky" not in result.stdout.str()


@pytest.mark.skipif(not NATIVE_TOML_NUMBERS, reason="pytest before 9.2 reads ini values as text")
def test_the_ini_setting_takes_a_toml_number(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(test_shop=SHOP_TEST)
    pytester.makefile(".toml", pytest="[pytest]\nleapwork_rerun_flows = 1\n")
    result = run_pytest()
    result.assert_outcomes(passed=1)


def test_a_negative_count_is_refused(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(test_shop=SHOP_TEST)
    result = run_pytest("--leapwork-rerun-flows=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--leapwork-rerun-flows option: the number of flow reruns must be 0 or more, got -1"]
    )


# -- A rerun has what a run has: its own timeout, the stops -----------------------------------

HANG_TEST = """
import pytest

@pytest.mark.leapwork_schedule("Hang", timeout=TIMEOUT)
def test_hang():
    pass
"""

#: Writes down each run (the test's, then its reruns) once the session has it in hand.
STARTED_CONFTEST = """
import pathlib

def pytest_leapwork_run_started(item, run_id, schedule):
    (pathlib.Path(__file__).parent / "started" / run_id).touch()
"""


def test_a_rerun_past_its_timeout_is_stopped_and_the_flow_fails(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(test_hang=HANG_TEST.replace("TIMEOUT", "2"))
    started = time.monotonic()
    result = run_pytest("--leapwork-rerun-flows=1", "--leapwork-junitxml=flows.xml")
    result.assert_outcomes(failed=1)
    assert time.monotonic() - started < 30  # the rerun lasts 60 s on the controller
    run, rerun = emulator.runs
    assert not run.stopped and rerun.stopped  # the rerun was stopped, at its own timeout
    result.stdout.fnmatch_lines(["*Wait*Failed, reruns: *"])
    [case] = cases(pytester.path / "flows.xml").values()
    assert case.find("failure") is not None
    [again] = case.findall("rerunFailure")
    assert again.get("message") == "the rerun did not finish within 2s"
    assert "flaky" not in result.stdout.str()


def test_the_timeout_counts_for_each_rerun_alone(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    # The run and its rerun take 2 s each: 4 s together, past a 3.5 s timeout for both.
    pytester.makepyfile(HANG_TEST.replace('"Hang"', '"Steady"').replace("TIMEOUT", "3.5"))
    result = run_pytest("--leapwork-rerun-flows=1")
    result.assert_outcomes(passed=1)
    assert not any(run.stopped for run in emulator.runs)
    result.stdout.fnmatch_lines(["*flow 'Load' of 'Steady' passed after 1 rerun*"])


@pytest.mark.parametrize(
    ("signal_name", "target", "workers"),
    [
        ("SIGINT", "main", "0"),  # Ctrl-C of a session started by hand
        # Ctrl-C in a terminal reaches the workers too. The worker stops the rerun, but
        # xdist ends on Ctrl-C without the workers' output, where what they stopped is listed
        # (as for a test's own run): only the stop is checked.
        ("SIGINT", "group", "2"),
        ("SIGTERM", "main", "0"),
        ("SIGTERM", "group", "0"),  # what a CI server does to a cancelled job
        ("SIGTERM", "group", "2"),
    ],
)
def test_a_signal_while_a_rerun_executes_stops_and_lists_it(
    pytester: pytest.Pytester,
    emulator: EmulatorServer,
    processes: list[subprocess.Popen[str]],
    signal_name: str,
    target: str,
    workers: str,
) -> None:
    pytester.makepyfile(test_hang=HANG_TEST.replace("TIMEOUT", "None"))
    pytester.makeconftest(STARTED_CONFTEST)
    (pytester.path / "started").mkdir()
    process = start_pytest(pytester, emulator, "--leapwork-rerun-flows=1", "-n", workers)
    processes.append(process)
    wait_for_runs(emulator, 2, process)  # the run, then the rerun of its failed flow
    rerun = emulator.runs[1]
    wait_until(lambda: (pytester.path / "started" / rerun.run_id).exists(), process)
    number = getattr(signal, signal_name)
    if target == "group":
        os.killpg(process.pid, number)
    else:
        process.send_signal(number)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert rerun.stopped, out
    assert not emulator.runs[0].stopped  # it had ended: the rerun was the one executing
    assert "Traceback" not in out
    assert "replacing crashed worker" not in out
    if (signal_name, workers) == ("SIGINT", "2"):
        return
    stopped = out.split("leapwork: runs stopped at session end", 1)
    assert len(stopped) == 2, out
    assert rerun.run_id in stopped[1], out


# -- Artifacts: the evidence of the last failing attempt --------------------------------------


@pytest.mark.parametrize("workers", ["0", "2"])
def test_artifacts_link_the_last_failing_attempt(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    pytester.makepyfile(test_checkout=CHECKOUT_TEST)
    result = run_pytest(
        "--leapwork-rerun-flows=2",
        "--leapwork-artifacts=evidence",
        "--leapwork-junitxml=reports/flows.xml",
        *WITH_HTML,
        "--html=reports/report.html",
        "-n",
        workers,
    )
    result.assert_outcomes(failed=1)
    run, *reruns = emulator.runs
    last = {}  # each flow's last failing attempt: Basket fails twice then passes
    for rerun in reruns:
        [flow] = rerun.schedule.flows
        if (flow.title, rerun.outcomes[0].status) != ("Basket", "Passed"):
            last[flow.title] = rerun
    assert [r.outcomes[0].status for r in reruns if r.schedule.flows[0].title == "Basket"] == [
        "Failed",
        "Passed",
    ]
    # Every failing attempt's files are kept, each under its own run.
    evidence = pytester.path / "evidence"
    folders = {p.name.rsplit("_", 1)[1] for p in evidence.iterdir()}
    failing = [run, *(r for r in reruns if r.outcomes[0].status != "Passed")]
    assert folders == {r.run_id[:8] for r in failing}
    # Each flow links its last failing attempt's video and keyframes, nothing older.
    for title in ("Basket", "Ship"):
        attempt = last[title]
        [folder] = [p for p in evidence.iterdir() if p.name.endswith(attempt.run_id[:8])]
        stem = f"{title}_{attempt.item_ids[0][:8]}"
        files = [
            f"evidence/{folder.name}/{stem}.webm",
            f"evidence/{folder.name}/{stem}.keyframes.json",
        ]
        document = json.loads((pytester.path / files[1]).read_text())
        assert document["run_id"] == attempt.run_id
        result.stdout.fnmatch_lines(
            [f"*test_checkout: {title} (Failed): {path}" for path in files], consecutive=False
        )
        case = cases(pytester.path / "reports/flows.xml")[title]
        assert case.findtext("system-out") == "\n".join(
            f"[[ATTACHMENT|../{path}]]" for path in files
        )
        page = html.unescape((pytester.path / "reports/report.html").read_text())
        assert f'src="../{files[0]}"' in page.replace('\\"', '"')
    listed = [line for line in result.stdout.lines if line.startswith("test_checkout.py::")]
    assert not any(run.run_id[:8] in line for line in listed if "evidence/" in line)
