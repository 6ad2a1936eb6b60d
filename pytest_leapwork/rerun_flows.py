"""``--leapwork-rerun-flows=N``: a test's failing flows rerun alone, on their agents.

The reruns belong to the test (its process, under xdist its worker): they start through the
session's plan like its run, their RunIds go beside the run's in the JUnit XML, and a flow that
passes on a rerun makes the test pass as flaky, which the summary and the reports say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .api.models import FlowResult, LeapworkRun
from .reports import RERUN_RUN_ID_PROPERTY
from .runs.reruns import Rerunner
from .stash import SESSION

if TYPE_CHECKING:
    from .runs.runner import RunHandle, RunRequest

#: A JUnit XML test property: the flows that passed on a rerun.
FLAKY_PROPERTY = "leapwork_flaky_flows"


def rerun_failed_flows(item: pytest.Item, run: LeapworkRun, request: RunRequest) -> None:
    """Rerun the failing flows of ``item``'s run as ``--leapwork-rerun-flows`` asks."""
    session = item.config.stash[SESSION]
    times = session.settings.rerun_flows
    if times < 1 or run.passed:
        return

    def start(key: str, rerun: RunRequest) -> RunHandle:
        handle = session.take(key, rerun)
        item.user_properties.append((RERUN_RUN_ID_PROPERTY, str(handle.run_id)))
        item.ihook.pytest_leapwork_run_started(
            item=item, run_id=handle.run_id, schedule=handle.schedule.title
        )
        return handle

    def judge(flow: FlowResult) -> bool | None:
        result: bool | None = item.ihook.pytest_leapwork_flow_passed(item=item, flow=flow)
        return result

    rerunner = Rerunner(start=start, wait=session.runner.wait, judge=judge, stop=session.stop_now)
    for flow in rerunner.rerun(run, request, times):
        item.ihook.pytest_leapwork_flow_rerun(item=item, flow=flow)
    flaky = flaky_text(run)
    if flaky:
        item.user_properties.append((FLAKY_PROPERTY, flaky))


def reruns_text(flow: FlowResult) -> str:
    """``1 rerun`` / ``2 reruns``."""
    count = len(flow.reruns)
    return f"{count} rerun" if count == 1 else f"{count} reruns"


def flaky_text(run: LeapworkRun) -> str:
    """``Log In (passed after 1 rerun); Pay (passed after 2 reruns)``, or empty."""
    return "; ".join(
        f"{flow.title} (passed after {reruns_text(flow)})" for flow in run.flows if flow.flaky
    )
