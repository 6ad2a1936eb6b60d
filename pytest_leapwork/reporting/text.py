"""Texts people read: why a run failed, as a compact flow table plus the failing flows' log."""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Mapping, Sequence

from ..api.models import FlowResult, Keyframe, LeapworkRun
from .records import NotStarted, RecordedRun

#: Below this many columns the variables leave the table for a line of their own.
MIN_VARIABLES_WIDTH = 24
#: A column that is cut keeps at least this many characters.
MIN_CUT_WIDTH = 8
ELLIPSIS = "…"

#: Characters a terminal acts on or an XML 1.0 document cannot hold: C0 controls (an ANSI
#: sequence's ESC, a NUL, a carriage return), DEL, C1 controls, lone surrogates (which JSON
#: escapes can carry) and the two non-characters U+FFFE and U+FFFF. Tab and line break aside.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_UNSAFE_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if match.group() in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[match.group()]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, one_line: bool = False) -> str:
    """Text from the controller, safe to print and to put in XML: control characters are
    shown escaped (ESC as ``\\x1b``, NUL as ``\\x00``), as Python writes them in a repr.
    ``one_line`` escapes tabs and line breaks too, for a title in a table."""
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_escaped, text)


def plural(count: int, noun: str) -> str:
    """``1 flow``, ``2 flows``, ``0 runs``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def describe_variables(variables: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in variables.items()) or "none"


def aligned(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Rows as text columns two spaces apart; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        indent
        + "".join(cell.ljust(width) + "  " for cell, width in zip(row[:-1], widths, strict=True))
        + row[-1]
        for row in rows
    ]


def flow_table(flows: Sequence[FlowResult], indent: str = "  ") -> list[str]:
    """Rows of title, status, elapsed and agent, aligned for a CI log."""
    rows: list[tuple[str, ...]] = [("flow", "status", "elapsed", "agent")]
    rows += [
        tuple(
            escape_controls(cell, one_line=True)
            for cell in (f.title, status_cell(f), f"{f.elapsed:.1f}s", f.agent or "-")
        )
        for f in flows
    ]
    return aligned(rows, indent)


def status_cell(flow: FlowResult) -> str:
    """The flow's status, then its reruns' (``Failed, reruns: Failed, Passed``)."""
    if not flow.reruns:
        return flow.status
    return f"{flow.status}, reruns: {', '.join(r.status for r in flow.reruns)}"


def rerun_lines(flow: FlowResult) -> list[str]:
    """The log of each rerun of a flow, for the failure text."""
    lines: list[str] = []
    for number, rerun in enumerate(flow.reruns, start=1):
        where = f"run {rerun.run_id}" if rerun.run_id else "no run"
        lines.append("")
        lines.append(f"{flow.title}, rerun {number} ({rerun.status}, {where}):")
        if rerun.problem is not None:
            lines.append(f"  {rerun.problem}")
        if rerun.flow is not None:
            lines += [f"  {keyframe}" for keyframe in rerun.flow.messages]
    return lines


#: Keyframe levels that say a step went wrong; the last of them names the failing step.
_ERROR_LEVELS = frozenset({"error", "fatal", "failed", "failure", "critical"})


def failing_step(flow: FlowResult) -> Keyframe | None:
    """The keyframe that says where a flow broke: its last error, else its last message."""
    messages = flow.messages
    errors = [k for k in messages if k.level.strip().lower() in _ERROR_LEVELS]
    chosen = errors or messages
    return chosen[-1] if chosen else None


#: The failing flows the first line names; the others are counted (the table lists all).
NAMED_FAILURES = 3
#: A step's message is cut here on the first line (the flow's log below has it whole).
STEP_MESSAGE_WIDTH = 100


def describe_failure(flow: FlowResult) -> str:
    """``Log In: Failed at 'Click Login' - Could not find element 'Login button'``."""
    text = f"{flow.title}: {flow.status}"
    step = failing_step(flow)
    if step is not None:
        if step.block_title:
            text += f" at {step.block_title!r}"
        if step.message:
            text += f" - {_cut_right(step.message, STEP_MESSAGE_WIDTH)}"
    return escape_controls(text, one_line=True)


def failing_flows_text(run: LeapworkRun) -> str:
    """What broke: each failing flow with its step, the first ones named, the rest counted."""
    failed = run.failed_flows
    named = [describe_failure(flow) for flow in failed[:NAMED_FAILURES]]
    if len(failed) > NAMED_FAILURES:
        named.append(f"{len(failed) - NAMED_FAILURES} more")
    return "; ".join(named)


def failure_message(run: LeapworkRun, timeout: float) -> str:
    """Why a run did not pass: a headline led by the failing flows and their steps (the
    line ``-r`` shows), the flow table, then each failing flow's keyframes."""
    where = f"run {run.run_id}, {run.elapsed:.1f}s"
    name = f"Leapwork schedule {run.schedule_title!r}"
    stopped = "was stopped"
    if run.stop_error:
        stopped = (
            f"could not be stopped, so it may still be executing on the controller: "
            f"{run.stop_error}"
        )
    if run.stopped_reason == "timeout":
        headline = (
            f"{name} did not finish within its timeout of {timeout:g}s and {stopped} "
            f"({where}); raise timeout= on the marker or --leapwork-timeout if it needs longer"
        )
    elif run.stopped_reason is not None:
        headline = f"{name} {stopped} ({run.stopped_reason}) ({where})"
    elif not run.flows:
        headline = (
            f"{name} finished without running any flow ({where}); "
            "check the schedule's run list in Leapwork Studio"
        )
    else:
        headline = (
            f"{name} failed: {len(run.failed_flows)} of {plural(len(run.flows), 'flow')} "
            f"did not pass ({where})"
        )
    if run.failed_flows and run.stopped_reason is None:
        # What broke comes first: pytest's short summary (-r) shows this line, cut to fit.
        headline = f"{failing_flows_text(run)} — {headline}"
    lines = [headline]
    if run.variables:
        lines.append(f"variables: {escape_controls(describe_variables(run.variables))}")
    if run.flows:
        lines.append("")
        lines += flow_table(run.flows)
    for flow in run.failed_flows:
        messages = flow.messages
        if messages:
            lines.append("")
            lines.append(escape_controls(f"{flow.title} ({flow.status}):", one_line=True))
            lines += [f"  {escape_controls(str(keyframe))}" for keyframe in messages]
        lines += rerun_lines(flow)
    return "\n".join(lines)


def run_result(entry: RecordedRun) -> str:
    """One word for a run (``passed``, ``failed``, ``stopped``, ``error``), and why its test
    did not report it, where it did not."""
    run = entry.run
    if entry.left_executing:
        # Never "stopped": the runs listed as possibly still executing say the same here.
        result = "may be executing"
    elif entry.error is not None:
        result = "error"
    else:
        result = "passed" if run.passed else ("stopped" if run.stopped_reason else "failed")
        if run.passed and any(flow.flaky for flow in run.flows):
            result = "flaky"
        if run.stop_error:
            result = "stop failed"
    return f"{result}, {entry.note}" if entry.note else result


SUMMARY_HEADER = ("test", "schedule", "run", "result", "flows p/f/t", "time", "variables")
RESULT = SUMMARY_HEADER.index("result")


def run_summary_lines(
    recorded: Sequence[RecordedRun],
    not_started: Sequence[NotStarted] = (),
    width: int | None = None,
) -> list[str]:
    """The terminal summary: one row per run, aligned, fitted to ``width`` columns.

    Too wide, the variables are cut; narrower still, they go on a line of their own under
    their run and the test ids are cut from the left. The RunId is never cut.
    """
    rows: list[tuple[str, ...]] = [SUMMARY_HEADER]
    for entry in recorded:
        run = entry.run
        failed = len(run.failed_flows)
        cells = (
            entry.nodeid,
            run.schedule_title,
            run.run_id or "-",  # a runNow cut off before the controller named the run
            run_result(entry),
            f"{len(run.flows) - failed}/{failed}/{len(run.flows)}",
            f"{run.elapsed:.1f}s",
            describe_variables(run.variables),
        )
        rows.append(tuple(escape_controls(cell, one_line=True) for cell in cells))
    for test in not_started:
        rows.append((test.nodeid, test.schedule, "-", "error, run never started", "-", "-", "-"))
    return fit_to_width(rows, width)


def fit_to_width(rows: Sequence[Sequence[str]], width: int | None) -> list[str]:
    """Aligned rows (test id first, free text last) kept within ``width`` columns.

    Too wide, the last column is cut. Narrower still, each row becomes a stack: the test id
    on a line of its own, the middle columns indented under it (the first of them cut if
    need be), and the last column wrapped below.
    """
    lines = aligned(rows)
    if width is None or max(len(line) for line in lines) <= width:
        return lines
    before_last = len(aligned([(*row[:-1], "") for row in rows])[0])
    if width - before_last >= MIN_VARIABLES_WIDTH:
        return [_cut_right(line, width) for line in lines]
    indent = "  "
    middle = [list(row[1:-1]) for row in rows]
    # A result's note ("failed, its test did not run") joins the test id's line.
    notes = [""] * len(rows)
    for index, cells in enumerate(middle[1:], start=1):
        cells[RESULT - 1], _, note = cells[RESULT - 1].partition(", ")
        notes[index] = f"  ({note})" if note else ""
    overflow = max(len(line) for line in aligned(middle, indent)) - width
    if overflow > 0:
        longest = max(len(cells[0]) for cells in middle)
        keep = max(MIN_CUT_WIDTH, longest - overflow)
        for cells in middle:
            cells[0] = _cut_right(cells[0], keep)
    middle_lines = aligned(middle, indent)
    header = rows[0]
    out = [header[0], middle_lines[0], f"{indent * 2}{header[-1]}"]
    for row, line, note in zip(rows[1:], middle_lines[1:], notes[1:], strict=True):
        out += [row[0] + note, line]
        if row[-1] not in ("-", "none"):
            out += textwrap.wrap(
                row[-1],
                width=max(width, 40),
                initial_indent=indent * 2,
                subsequent_indent=indent * 3,
                break_on_hyphens=False,
            )
    return out


def _cut_right(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def count_line(recorded: Sequence[RecordedRun], not_started: Sequence[NotStarted]) -> str:
    """``3 runs: 1 passed, 1 failed, 1 stopped; 1 test whose run never started``."""
    results: dict[str, int] = {}
    for entry in recorded:
        word = run_result(entry).split(",")[0]
        results[word] = results.get(word, 0) + 1
    line = plural(len(recorded), "run")
    if results:
        line += ": " + ", ".join(f"{n} {word}" for word, n in results.items())
    if not_started:
        tests = "test" if len(not_started) == 1 else "tests"
        line += f"; {len(not_started)} {tests} whose run never started"
    return line


def flaky_lines(recorded: Sequence[RecordedRun]) -> list[str]:
    """One line per flow that failed, then passed on a rerun: which, after how many, where."""
    lines = []
    for entry in recorded:
        for flow in entry.run.flows:
            if flow.flaky:
                reruns = plural(len(flow.reruns), "rerun")
                rerun_ids = ", ".join(r.run_id for r in flow.reruns if r.run_id)
                lines.append(
                    f"{entry.nodeid}: flow {flow.title!r} of {entry.run.schedule_title!r} "
                    f"passed after {reruns} (run {entry.run.run_id}; reruns {rerun_ids})"
                )
    return lines


def flows_html(run: LeapworkRun) -> str:
    """The flows of a run as an HTML table, for pytest-html."""
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(cell)}</td>"
            for cell in (f.title, status_cell(f), f"{f.elapsed:.1f}s", f.agent)
        )
        + "</tr>"
        for f in run.flows
    )
    return (
        f"<p>Leapwork run <code>{html.escape(run.run_id)}</code> of schedule "
        f"<b>{html.escape(run.schedule_title)}</b></p>"
        "<table><tr><th>flow</th><th>status</th><th>elapsed</th><th>agent</th></tr>"
        f"{rows}</table>"
    )
