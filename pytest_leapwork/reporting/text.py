"""Texts people read: why a run failed, as a compact flow table plus the failing flows' log."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from ..api.models import FlowResult, Keyframe, LeapworkRun
from .columns import ELLIPSIS, cut_to_width, display_width, pad, wrap_to_width
from .records import NotStarted, RecordedRun

#: Below this many columns the variables leave the table for a line of their own.
MIN_VARIABLES_WIDTH = 24

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
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        indent
        + "".join(pad(cell, width) + "  " for cell, width in zip(row[:-1], widths, strict=True))
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
#: A run's place in the table, first to last: what did not pass (failed, error, stopped,
#: a stop that failed, a run that may be executing, a run that never started), the flaky
#: runs, the passed runs with a note (their test did not run), the plainly passed runs.
FAILING, FLAKY, PASSED_WITH_NOTE, PASSED = range(4)


def summary_rank(result: str) -> int:
    """Where a run with this result (``run_result``) comes in the table."""
    word, _, note = result.partition(", ")
    if word == "flaky":
        return FLAKY
    if word == "passed":
        return PASSED_WITH_NOTE if note else PASSED
    return FAILING


def folded_line(count: int) -> str:
    """The line that stands for the passed runs the table leaves out."""
    return f"{plural(count, 'passed run')} (-v lists {'it' if count == 1 else 'them'})"


def run_summary_lines(
    recorded: Sequence[RecordedRun],
    not_started: Sequence[NotStarted] = (),
    width: int | None = None,
    *,
    list_passed: bool = True,
) -> list[str]:
    """The terminal summary: the runs that did not pass first, then the flaky ones, then
    the passed ones, each in session order, fitted to ``width`` columns (``fit_to_width``).

    Without ``list_passed`` (pytest's default verbosity; ``-v`` lists them) the plainly
    passed runs are left out of the table and counted on a line below it.
    """
    ranked: list[tuple[int, int, tuple[str, ...]]] = []
    for index, entry in enumerate(recorded):
        run = entry.run
        failed = len(run.failed_flows)
        result = run_result(entry)
        cells = (
            entry.nodeid,
            run.schedule_title,
            run.run_id or "-",  # a runNow cut off before the controller named the run
            result,
            f"{len(run.flows) - failed}/{failed}/{len(run.flows)}",
            f"{run.elapsed:.1f}s",
            describe_variables(run.variables),
        )
        ranked.append((summary_rank(result), index, cells))
    for index, test in enumerate(not_started, start=len(recorded)):
        cells = (test.nodeid, test.schedule, "-", "error, run never started", "-", "-", "-")
        ranked.append((FAILING, index, cells))
    ranked.sort(key=lambda row: row[:2])
    listed = [
        tuple(escape_controls(cell, one_line=True) for cell in cells)
        for rank, _, cells in ranked
        if list_passed or rank != PASSED
    ]
    lines = fit_to_width([SUMMARY_HEADER, *listed], width) if listed else []
    folded = len(ranked) - len(listed)
    if folded:
        lines.append(folded_line(folded))
    return lines


def fit_to_width(rows: Sequence[Sequence[str]], width: int | None) -> list[str]:
    """Aligned rows (a header, then test id, schedule title, RunId, result, flows, time and
    variables) kept within ``width`` columns, counted as a terminal counts them.

    The first layout that fits: one row per run; one row per run with the variables cut at
    the edge; then each run as a stack (``stacked``). The schedule title and the RunId are
    never cut.
    """
    lines = aligned(rows)
    if width is None or max(display_width(line) for line in lines) <= width:
        return lines
    before_last = display_width(aligned([(*row[:-1], "") for row in rows])[0])
    if width - before_last >= MIN_VARIABLES_WIDTH:
        return [cut_to_width(line, width) for line in lines]
    return stacked(rows, width)


def stacked(rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """Each run as a stack of lines within ``width`` columns (a RunId is never broken: a
    terminal narrower than one is the exception): its test id, with why its test did not
    report it in parentheses; then its schedule title, RunId, result, flows and time, on as
    few lines as fit (the title beside the RunId, else on lines of its own, else the RunId
    on a line of its own too); then its variables, wrapped. A title or test id too long for
    a line is wrapped, never cut.
    """
    indent = "  "
    titles = [row[1] for row in rows]
    # The run's columns: RunId, result (its note goes beside the test id), flows, time.
    fields = [list(rows[0][2:-1])]
    notes = [""]
    for row in rows[1:]:
        result, _, note = row[RESULT].partition(", ")
        fields.append([row[2], result, *row[RESULT + 1 : -1]])
        notes.append(note)

    def fits(lines: Sequence[str]) -> bool:
        return all(display_width(line) <= width for line in lines)

    def title_lines(title: str) -> list[str]:
        return wrap_to_width(title, width, indent, indent * 2)

    beside = aligned([[title, *cells] for title, cells in zip(titles, fields, strict=True)], indent)
    run_lines = aligned(fields, indent)
    if fits(beside):
        middles = [[line] for line in beside]
    elif fits(run_lines):
        middles = [
            [*title_lines(title), line] for title, line in zip(titles, run_lines, strict=True)
        ]
    else:
        rest = aligned([cells[1:] for cells in fields], indent)
        middles = [
            [*title_lines(title), indent + cells[0], line]
            for title, cells, line in zip(titles, fields, rest, strict=True)
        ]
    header = rows[0]
    out = [header[0], *middles[0], indent * 2 + header[-1]]
    for row, middle, note in zip(rows[1:], middles[1:], notes[1:], strict=True):
        out += nodeid_lines(row[0], note, width)
        out += middle
        if row[-1] not in ("-", "none"):
            out += wrap_to_width(row[-1], width, indent * 2, indent * 3)
    return out


def nodeid_lines(nodeid: str, note: str, width: int) -> list[str]:
    """A test id and, in parentheses, why its test did not report its run: one line where
    they fit, else wrapped (a test id is broken where the line ends rather than cut)."""
    beside = f"  ({note})" if note else ""
    if display_width(nodeid + beside) <= width:
        return [nodeid + beside]
    lines = wrap_to_width(nodeid, width, "", "    ")
    if beside and display_width(lines[-1] + beside) <= width:
        lines[-1] += beside
    elif beside:
        lines += wrap_to_width(f"({note})", width, "    ")
    return lines


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
