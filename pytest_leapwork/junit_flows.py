"""The per-flow JUnit report (``--leapwork-junitxml``): one suite per run, one case per flow.

This is the shape the vendor's CI plugins write, so dashboards built on it keep working:
suite = schedule run, ``classname`` = schedule title, ``time`` = the flow's elapsed seconds,
a ``<failure>`` holding the keyframes of each flow that did not pass. It follows the JUnit
schema Jenkins validates against (no ``<error>`` elements, times with three decimals). No
pytest import here.
"""

from __future__ import annotations

import os
import socket
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from .models import FlowResult, LeapworkRun


@dataclass(frozen=True)
class RecordedRun:
    """A run as the report needs it: the run and the pytest test it belongs to."""

    nodeid: str
    run: LeapworkRun
    timeout: float


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _keyframe_text(flow: FlowResult, schedule_title: str) -> str:
    lines = [str(keyframe) for keyframe in flow.messages]
    lines.append(f"AgentTitle: {flow.agent or '-'}")
    lines.append(f"Schedule: {schedule_title}")
    return "\n".join(lines)


def _run_problem(recorded: RecordedRun) -> str | None:
    """Why a run failed as a whole (beyond its flows), or None."""
    run = recorded.run
    if run.stopped_reason == "timeout":
        return f"the run did not finish within {recorded.timeout:g}s and was stopped"
    if run.stopped_reason is not None:
        return f"the run was stopped: {run.stopped_reason}"
    if not run.flows:
        return "the run finished without running any flow"
    return None


def build_report(runs: Sequence[RecordedRun], *, passed_keyframes: bool = False) -> ET.Element:
    root = ET.Element("testsuites", name="leapwork")
    totals = {"tests": 0, "failures": 0, "time": 0.0}
    hostname = socket.gethostname()
    for index, recorded in enumerate(runs):
        run = recorded.run
        suite = ET.SubElement(root, "testsuite", name=run.schedule_title, id=str(index))
        properties = ET.SubElement(suite, "properties")
        for name, value in [
            ("leapwork_run_id", run.run_id),
            ("leapwork_schedule_id", run.schedule_id),
            ("pytest_nodeid", recorded.nodeid),
            *((f"variable.{k}", v) for k, v in run.variables.items()),
        ]:
            ET.SubElement(properties, "property", name=name, value=value)
        failures = 0
        for flow in run.flows:
            case = ET.SubElement(
                suite,
                "testcase",
                name=flow.title,
                classname=run.schedule_title,
                time=_seconds(flow.elapsed),
            )
            if not flow.passed:
                failures += 1
                failure = ET.SubElement(case, "failure", type=flow.status, message=flow.status)
                failure.text = _keyframe_text(flow, run.schedule_title)
            elif passed_keyframes and flow.keyframes:
                ET.SubElement(case, "system-out").text = _keyframe_text(flow, run.schedule_title)
        problem = _run_problem(recorded)
        tests = len(run.flows)
        if problem is not None:
            case = ET.SubElement(
                suite,
                "testcase",
                name="(run)",
                classname=run.schedule_title,
                time=_seconds(run.elapsed),
            )
            ET.SubElement(
                case, "failure", type="run", message=problem
            ).text = f"{problem} (run {run.run_id})"
            failures += 1
            tests += 1
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("time", _seconds(run.elapsed))
        suite.set("hostname", hostname)
        suite.set("timestamp", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        totals["tests"] += tests
        totals["failures"] += failures
        totals["time"] += run.elapsed
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("time", _seconds(float(totals["time"])))
    return root


def write_report(path: str, runs: Sequence[RecordedRun], *, passed_keyframes: bool = False) -> None:
    """Write the report atomically: a session that dies leaves the old file or the new one."""
    root = build_report(runs, passed_keyframes=passed_keyframes)
    ET.indent(root)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".leapwork-", suffix=".xml", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            ET.ElementTree(root).write(file, encoding="utf-8", xml_declaration=True)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
