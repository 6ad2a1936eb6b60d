"""``@pytest.mark.leapwork_flow``: one flow on one agent, through a temporary schedule."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

from pytest_leapwork.emulator import EmulatorServer
from pytest_leapwork.emulator.scenario import default_flow_id

from ..support import RunPytest
from .support import AGENT_ONE, BROKEN, LOG_IN_FLOW


@pytest.mark.parametrize("workers", ["0", "2"])
def test_one_flow_on_one_agent_passes_and_fails(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        FLOW, AGENT = "{LOG_IN_FLOW}", "{AGENT_ONE.upper()}"

        @pytest.mark.leapwork_flow(FLOW, agent=AGENT, variables={{"URL": "https://ok.example.com"}})
        def test_passes(leapwork_schedule):
            [flow] = leapwork_schedule.flows
            assert (flow.title, flow.agent, flow.status) == ("Log In", "Agent One", "Passed")
            assert leapwork_schedule.schedule_title == "Log In"  # the temporary schedule's

        @pytest.mark.leapwork_flow(flow_id=FLOW, agent=AGENT, variables={{"URL": "{BROKEN}"}})
        def test_fails():
            pass
        """
    )
    result = run_pytest("--junitxml=out.xml", "-n", workers)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Leapwork schedule 'Log In' failed: 1 of 1 flow did not pass*",
            "*Click Login - Could not find element 'Login button'",
        ]
    )
    runs = emulator.runs
    assert sorted(run.variables["URL"] for run in runs) == [BROKEN, "https://ok.example.com"]
    assert {run.schedule.type for run in runs} == {"TemporaryScheduleInfo"}
    puts = [r for r in emulator.requests if r.endpoint == "run_flow"]
    assert {r.path for r in puts} == {f"/api/v4/flows/{LOG_IN_FLOW}/agent/{AGENT_ONE.upper()}"}
    properties = [
        p.get("value")
        for p in ET.parse(pytester.path / "out.xml").getroot().iter("property")
        if p.get("name") == "leapwork_run_id"
    ]
    assert {run.run_id for run in runs} <= set(properties)


def test_flow_run_is_stopped_on_timeout(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.leapwork_flow("{default_flow_id("Long Flow")}", agent="{AGENT_ONE}",
                                   timeout=0.3)
        def test_slow():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*did not finish within its timeout of 0.3s and was stopped*"])
    [run] = emulator.runs
    assert run.stopped


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        (
            f'@pytest.mark.leapwork_flow("{LOG_IN_FLOW}")',
            "*leapwork_flow marker: name the agent to run on, agent='<agent id>'*",
        ),
        (
            f'@pytest.mark.leapwork_flow("Log In", agent="{AGENT_ONE}")',
            "*leapwork_flow marker: the flow id (first argument) must be an id (a GUID), got "
            "'Log In'; titles are not accepted here*",
        ),
        (
            f'@pytest.mark.leapwork_flow("{LOG_IN_FLOW}", agent="Agent One")',
            "*leapwork_flow marker: agent= must be an id (a GUID), got 'Agent One'*",
        ),
        (
            f'@pytest.mark.leapwork_flow("{LOG_IN_FLOW}", agent="{AGENT_ONE}", retries=2)',
            "*leapwork_flow marker: unknown keyword argument(s) retries; it takes flow_id, "
            "agent=, variables= and timeout=",
        ),
        (
            f'@pytest.mark.leapwork_flow("{LOG_IN_FLOW}", agent="{AGENT_ONE}", timeout=-1)',
            "*leapwork_flow marker: timeout must be more than 0 seconds, got -1",
        ),
        (
            f'@pytest.mark.leapwork_flow("{LOG_IN_FLOW}", agent="{AGENT_ONE}")\n'
            '@pytest.mark.leapwork_schedule("Checkout")',
            "*a test carries either @pytest.mark.leapwork_schedule or "
            "@pytest.mark.leapwork_flow, not both*",
        ),
    ],
    ids=["no-agent", "title-not-id", "agent-title", "unknown-keyword", "timeout", "both"],
)
def test_marker_mistakes_are_setup_errors(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    marks: str,
    message: str,
) -> None:
    pytester.makepyfile(f"import pytest\n\n{marks}\ndef test_flow():\n    pass\n")
    result = run_pytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    assert not emulator.runs


def test_unknown_flow_is_a_setup_error_naming_flow_and_agent(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    unknown = "99999999-0000-4000-8000-000000000000"
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.leapwork_flow("{unknown}", agent="{AGENT_ONE}")
        def test_flow():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*Leapwork flow {unknown} on agent {AGENT_ONE} could not be started: "
            "PUT /flows/{id}/agent/{id} answered HTTP 404*"
        ]
    )


def test_is_delete_variable_removes_the_temporary_schedule(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """The documented isDelete=true goes with the variables; the controller cleans up."""
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.leapwork_flow("{LOG_IN_FLOW}", agent="{AGENT_ONE}",
                                   variables={{"isDelete": True}})
        def test_flow(leapwork_schedule):
            assert leapwork_schedule.passed
        """
    )
    run_pytest().assert_outcomes(passed=1)
    [put] = [r for r in emulator.requests if r.endpoint == "run_flow"]
    assert put.query == [("isDelete", "true")]
    listed = requests.get(
        f"{emulator.url}/api/v4/schedules", headers={"AccessKey": emulator.access_key}, timeout=10
    ).json()
    temporary = [s["Id"] for s in listed if s["Type"] == "TemporaryScheduleInfo"]
    assert temporary == ["22222222-aaaa-4bbb-8ccc-00000000ffff"]  # the scenario's own only
