"""Allure: a marked test's flows as steps, the failing flows' evidence attached, its RunId.

Registered only when allure-pytest is installed, and active only when it writes results
(``--alluredir``): allure is imported then and never otherwise. Runs end during the test's
setup, where Allure files steps under the ``leapwork_schedule`` fixture; the steps are added
when the test's call starts instead, so they belong to the test itself, and by then the
artifacts feature has saved the failing flows' videos and keyframes.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from ..api.models import VIDEO_EXTENSIONS, FlowResult, LeapworkRun
from .other_plugins import ALLURE_PYTEST, is_active

#: The name its listener is registered under, only with ``--alluredir``.
ALLURE_LISTENER = "allure_listener"
#: The Allure parameter that shows the run (excluded from Allure's history id: a RunId is new
#: on every run, and the test's history must carry on across them).
RUN_ID_PARAMETER = "RunId"

#: The runs of a test, with the wall-clock time (ms) each ended, as Allure keeps times.
RUNS = pytest.StashKey[list[tuple[LeapworkRun, int]]]()


class AllureSteps:
    """Keeps each run of a test as it ends, and writes it into the test's Allure result."""

    def pytest_leapwork_run_finished(self, item: pytest.Item, run: LeapworkRun) -> None:
        item.stash.setdefault(RUNS, []).append((run, int(time.time() * 1000)))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        # Inside allure-pytest's own wrapper: the test's result is the current Allure item.
        listener = item.config.pluginmanager.get_plugin(ALLURE_LISTENER)
        runs = item.stash.get(RUNS, [])
        if listener is not None and runs:
            for run, ended in runs:
                add_run(listener.allure_logger, run, ended)
        return (yield)


def add_run(reporter: Any, run: LeapworkRun, ended: int) -> None:
    """The RunId as a parameter; a step per flow (status, duration), evidence attached.

    ``reporter`` is allure-python-commons' ``AllureReporter`` (untyped: ``Any`` here).
    """
    from allure_commons.model2 import Parameter

    test = reporter.get_test(None)
    if test is not None:
        test.parameters.append(Parameter(name=RUN_ID_PARAMETER, value=run.run_id, excluded=True))
    # Allure times a step by its start and stop; the run knows each flow's duration only.
    started = ended - int(run.elapsed * 1000)
    for flow in run.flows:
        add_flow(reporter, flow, started)


def add_flow(reporter: Any, flow: FlowResult, started: int) -> None:
    import allure
    from allure_commons.model2 import Parameter, StatusDetails, TestStepResult

    step = str(uuid.uuid4())
    parameters = [Parameter(name="status", value=flow.status)]
    if flow.agent:
        parameters.append(Parameter(name="agent", value=flow.agent))
    reporter.start_step(
        None, step, TestStepResult(name=flow.title, start=started, parameters=parameters)
    )
    details = None
    if not flow.passed:
        messages = "\n".join(str(k) for k in flow.messages)
        details = StatusDetails(message=messages or f"the flow ended {flow.status}")
        saved = [p for p in flow.artifacts if os.path.isfile(p)]
        if not any(p.endswith(".keyframes.json") for p in saved) and flow.keyframes:
            allure.attach(
                "\n".join(str(k) for k in flow.keyframes),
                name="keyframes",
                attachment_type=allure.attachment_type.TEXT,
            )
        attach_file: Any = allure.attach.file  # untyped
        for path in saved:
            attach_file(path, name=os.path.basename(path), **_attachment_type(path))
    reporter.stop_step(
        step,
        stop=started + int(flow.elapsed * 1000),
        status=step_status(flow),
        statusDetails=details,
    )


def step_status(flow: FlowResult) -> str:
    """Allure's words: a flow that failed its check ``failed``, one that could not run to
    its end (``Error``, ``Cancelled``, ``Timeout``...) ``broken``."""
    if flow.passed:
        return "passed"
    return "failed" if flow.status in ("Failed", "Passed", "Done") else "broken"


def _attachment_type(path: str) -> dict[str, Any]:
    import allure

    if path.endswith(".json"):
        return {"attachment_type": allure.attachment_type.JSON}
    for mime, suffix in VIDEO_EXTENSIONS.items():
        if path.endswith(suffix):
            return {"attachment_type": mime, "extension": suffix.lstrip(".")}
    return {"extension": os.path.splitext(path)[1].lstrip(".") or None}


def register(config: pytest.Config) -> None:
    """Called from the plugin's configure, on xdist workers too (each writes its results)."""
    if is_active(config, ALLURE_PYTEST):
        config.pluginmanager.register(AllureSteps(), "leapwork-allure")
