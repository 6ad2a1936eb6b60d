"""The per-flow JUnit report (``--leapwork-junitxml``): one suite per run, one case per flow.

This is the shape the vendor's CI plugins write, so dashboards built on it keep working:
suite = schedule run, ``classname`` = schedule title, ``time`` = the flow's elapsed seconds,
a ``<failure>`` holding the keyframes of each flow that did not pass, its ``message`` the
status and the failing step. A schedule known by its folder path (selected, or named so on
the marker) keeps that path in the suite and class names; the runs of a parametrized test
name each flow's case with the parameter id as pytest names the test (``Log In[eu]``), so a
CI server does not merge them. Every run the session
triggered has its suite, whatever became of its test; a test whose run never started (an
unknown or disabled schedule, a variable the controller refused) is an errored case of its
own, as the vendor plugins report a schedule they could not run. It follows the JUnit schema
Jenkins validates against (which has no ``<error>`` element in a test case, so an error is a
``<failure type="Error">`` counted in ``errors``; times with three decimals). No pytest import here.
"""

from __future__ import annotations

import os
import socket
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone

from ..api.models import FlowRerun, FlowResult
from .records import NotStarted, RecordedRun, rerun_ids, variant
from .text import describe_failure, escape_controls


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _keyframe_text(flow: FlowResult, schedule_title: str) -> str:
    lines = [str(keyframe) for keyframe in flow.messages]
    lines.append(f"AgentTitle: {flow.agent or '-'}")
    lines.append(f"Schedule: {schedule_title}")
    return "\n".join(lines)


def _attempt(case: ET.Element, tag: str, flow: FlowResult, schedule_title: str) -> None:
    """A failed attempt as Surefire writes one: type, message, the log as ``stackTrace``."""
    element = ET.SubElement(case, tag, type=flow.status, message=flow.status)
    ET.SubElement(element, "stackTrace").text = _keyframe_text(flow, schedule_title)


def _rerun(case: ET.Element, tag: str, rerun: FlowRerun, schedule_title: str) -> None:
    """A failed rerun (``rerunFailure``, or ``flakyFailure`` before the one that passed)."""
    lines = []
    if rerun.problem is not None:
        lines.append(rerun.problem)
    if rerun.flow is not None:
        lines.append(_keyframe_text(rerun.flow, schedule_title))
    lines.append(f"RunId: {rerun.run_id or '-'}")
    message = rerun.problem or rerun.status
    element = ET.SubElement(case, tag, type=rerun.status, message=message)
    ET.SubElement(element, "stackTrace").text = "\n".join(lines)


def _run_problem(recorded: RecordedRun) -> str | None:
    """Why a run failed as a whole (beyond its flows), or None."""
    run = recorded.run
    if recorded.error is not None:
        return f"the run could not be followed: {recorded.error}"
    if run.stopped_reason == "timeout":
        return f"the run did not finish within {recorded.timeout:g}s and was stopped"
    if recorded.left_executing:
        return f"the run could not be stopped and may still be executing: {run.stopped_reason}"
    if run.stopped_reason is not None:
        return f"the run was stopped: {run.stopped_reason}"
    if not run.flows:
        return "the run finished without running any flow"
    return None


def _suite(root: ET.Element, name: str, properties: Sequence[tuple[str, str]]) -> ET.Element:
    suite = ET.SubElement(root, "testsuite", name=name, id=str(len(root)))
    element = ET.SubElement(suite, "properties")
    for key, value in properties:
        ET.SubElement(element, "property", name=key, value=value)
    return suite


def _close_suite(suite: ET.Element, tests: int, failures: int, errors: int, time: float) -> None:
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", _seconds(time))
    suite.set("hostname", socket.gethostname())
    suite.set("timestamp", datetime.now(timezone.utc).isoformat(timespec="seconds"))


def attachment_lines(flow: FlowResult, report_dir: str) -> str:
    """``[[ATTACHMENT|path]]`` per saved file, relative to the report's folder: the form
    Jenkins' JUnit attachments plugin and GitLab read from a test case's ``system-out``."""
    lines = [
        f"[[ATTACHMENT|{relative_path(path, report_dir).replace(os.sep, '/')}]]"
        for path in flow.artifacts
    ]
    return "\n".join(lines)


def relative_path(path: str, start: str) -> str:
    """``path`` relative to ``start``; as it is where there is no such path (another drive)."""
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive on Windows
        return path


def build_report(
    runs: Sequence[RecordedRun],
    *,
    not_started: Sequence[NotStarted] = (),
    passed_keyframes: bool = False,
    report_dir: str | None = None,
) -> ET.Element:
    root = ET.Element("testsuites", name="leapwork")
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for recorded in runs:
        run = recorded.run
        classname = recorded.path or run.schedule_title
        param = variant(recorded.nodeid)
        suffix = f"[{param}]" if param else ""
        suite = _suite(
            root,
            classname,
            [
                ("leapwork_run_id", run.run_id),
                ("leapwork_schedule_id", run.schedule_id),
                ("pytest_nodeid", recorded.nodeid),
                *((("leapwork_note", recorded.note),) if recorded.note else ()),
                *((f"variable.{k}", v) for k, v in run.variables.items()),
                *(("leapwork_rerun_run_id", rerun_id) for rerun_id in rerun_ids(run)),
            ],
        )
        failures = 0
        for flow in run.flows:
            case = ET.SubElement(
                suite,
                "testcase",
                name=flow.title + suffix,
                classname=classname,
                time=_seconds(flow.elapsed),
            )
            if flow.flaky:
                # Surefire's form, which Jenkins shows as flaky: passed, each failure kept.
                _attempt(case, "flakyFailure", flow, run.schedule_title)
                for rerun in flow.reruns[:-1]:
                    _rerun(case, "flakyFailure", rerun, run.schedule_title)
                if flow.artifacts and report_dir is not None:  # its last failure's files
                    ET.SubElement(case, "system-out").text = attachment_lines(flow, report_dir)
            elif not flow.passed:
                failures += 1
                # "Failed at 'Click Login' - ...": what a CI server lists beside the case.
                message = describe_failure(flow).removeprefix(f"{flow.title}: ")
                failure = ET.SubElement(case, "failure", type=flow.status, message=message)
                failure.text = _keyframe_text(flow, run.schedule_title)
                for rerun in flow.reruns:
                    _rerun(case, "rerunFailure", rerun, run.schedule_title)
                if flow.artifacts and report_dir is not None:
                    ET.SubElement(case, "system-out").text = attachment_lines(flow, report_dir)
            elif passed_keyframes and flow.keyframes:
                ET.SubElement(case, "system-out").text = _keyframe_text(flow, run.schedule_title)
        problem = _run_problem(recorded)
        tests = len(run.flows)
        if problem is not None:
            case = ET.SubElement(
                suite,
                "testcase",
                name="(run)" + suffix,
                classname=classname,
                time=_seconds(run.elapsed),
            )
            ET.SubElement(
                case, "failure", type="run", message=problem
            ).text = f"{problem} (run {run.run_id})"
            failures += 1
            tests += 1
        _close_suite(suite, tests, failures, 0, run.elapsed)
        totals["tests"] += tests
        totals["failures"] += failures
        totals["time"] += run.elapsed
    for entry in not_started:
        # As the vendor plugins report a schedule they could not run: a case of its own,
        # classname the schedule; named after the test here, since a test asked for it.
        suite = _suite(
            root,
            entry.schedule,
            [("pytest_nodeid", entry.nodeid), ("leapwork_schedule", entry.schedule)],
        )
        case = ET.SubElement(
            suite, "testcase", name=entry.nodeid, classname=entry.schedule, time=_seconds(0)
        )
        failure = ET.SubElement(case, "failure", type="Error", message=entry.reason)
        failure.text = f"{entry.reason}\nTest: {entry.nodeid}\nSchedule: {entry.schedule}"
        _close_suite(suite, 1, 0, 1, 0.0)
        totals["tests"] += 1
        totals["errors"] += 1
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("time", _seconds(float(totals["time"])))
    _make_well_formed(root)
    return root


def _make_well_formed(root: ET.Element) -> None:
    """Escape what XML 1.0 cannot hold (a NUL in a title, an ANSI colour's ESC in a
    keyframe): written raw, the report is not well-formed and no CI tool reads any of it."""
    for element in root.iter():
        if element.text:
            element.text = escape_controls(element.text)
        for name, value in element.attrib.items():
            element.set(name, escape_controls(value))


def write_report(
    path: str,
    runs: Sequence[RecordedRun],
    *,
    not_started: Sequence[NotStarted] = (),
    passed_keyframes: bool = False,
) -> None:
    """Write the report atomically: a session that dies leaves the old file or the new one.

    With no run at all it is a valid, empty report: a CI step that publishes it finds it.
    """
    directory = os.path.dirname(os.path.abspath(path))
    root = build_report(
        runs, not_started=not_started, passed_keyframes=passed_keyframes, report_dir=directory
    )
    ET.indent(root)
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".leapwork-", suffix=".xml", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            ET.ElementTree(root).write(file, encoding="utf-8", xml_declaration=True)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
