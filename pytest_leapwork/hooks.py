"""Hooks pytest-leapwork offers to conftest files and plugins.

Implement them in a ``conftest.py`` like any pytest hook::

    def pytest_leapwork_variables(item, schedule, variables):
        variables["URL"] = os.environ["DEPLOY_URL"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .api.models import FlowResult, LeapworkRun


def pytest_leapwork_variables(item: pytest.Item, schedule: str, variables: dict[str, str]) -> None:
    """Adjust a run's variables before it is triggered (edit ``variables`` in place).

    ``schedule`` is the title or id as the marker names it (the flow's id for
    ``leapwork_flow``; for a test ``--leapwork-select`` added, the title, or the id where
    two enabled schedules share the title). Called once per run, for runs triggered ahead
    too (then before the test's own setup), so it must depend only on the item and the
    environment, not on fixtures. Values are converted to strings afterwards.
    """


def pytest_leapwork_run_started(item: pytest.Item, run_id: str, schedule: str) -> None:
    """A run for ``item`` was triggered on the controller (``schedule``: its title)."""


@pytest.hookspec(firstresult=True)
def pytest_leapwork_flow_passed(item: pytest.Item, flow: FlowResult) -> bool | None:
    """Decide whether a finished flow counts as passed; ``None`` keeps the built-in rule.

    The built-in rule: ``Passed`` passes, ``Done`` per ``--leapwork-done-status``, every
    other status fails. For example, accept ``Inconclusive`` for one schedule::

        def pytest_leapwork_flow_passed(item, flow):
            if flow.status == "Inconclusive" and "flaky" in item.keywords:
                return True
    """


def pytest_leapwork_flow_rerun(item: pytest.Item, flow: FlowResult) -> None:
    """``flow`` of ``item``'s run failed and was rerun alone (``--leapwork-rerun-flows``).

    ``flow.reruns`` holds its reruns (RunId, the flow as each ran it, why it did not pass);
    ``flow.flaky`` says whether one passed. Called before ``pytest_leapwork_run_finished``.
    """


def pytest_leapwork_run_finished(item: pytest.Item, run: LeapworkRun) -> None:
    """The run of ``item`` ended (passed, failed or stopped); called during the test's setup.

    Its flows are the final ones: a flow rerun (``--leapwork-rerun-flows``) has its reruns.
    """
