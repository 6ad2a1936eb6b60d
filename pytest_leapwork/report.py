"""Texts people read: why a run failed, as a compact flow table plus the failing flows' log."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from .junit_flows import RecordedRun
from .models import FlowResult, LeapworkRun


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
    rows = [("flow", "status", "elapsed", "agent")]
    rows += [(f.title, f.status, f"{f.elapsed:.1f}s", f.agent or "-") for f in flows]
    return aligned(rows, indent)


def failure_message(run: LeapworkRun, timeout: float) -> str:
    """Why a run did not pass: headline, flow table, then each failing flow's keyframes."""
    where = f"run {run.run_id}, {run.elapsed:.1f}s"
    name = f"Leapwork schedule {run.schedule_title!r}"
    stopped = f"could not be stopped: {run.stop_error}" if run.stop_error else "was stopped"
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
            f"{name} failed: {len(run.failed_flows)} of {len(run.flows)} flows did not pass "
            f"({where})"
        )
    lines = [headline]
    if run.variables:
        lines.append(f"variables: {describe_variables(run.variables)}")
    if run.flows:
        lines.append("")
        lines += flow_table(run.flows)
    for flow in run.failed_flows:
        messages = flow.messages
        if not messages:
            continue
        lines.append("")
        lines.append(f"{flow.title} ({flow.status}):")
        lines += [f"  {keyframe}" for keyframe in messages]
    return "\n".join(lines)


def run_summary_lines(recorded: Sequence[RecordedRun]) -> list[str]:
    """The terminal summary: one row per run, aligned."""
    rows = [("test", "schedule", "run", "result", "flows p/f/t", "time", "variables")]
    for entry in recorded:
        run = entry.run
        result = "passed" if run.passed else ("stopped" if run.stopped_reason else "failed")
        failed = len(run.failed_flows)
        rows.append(
            (
                entry.nodeid,
                run.schedule_title,
                run.run_id,
                result,
                f"{len(run.flows) - failed}/{failed}/{len(run.flows)}",
                f"{run.elapsed:.1f}s",
                describe_variables(run.variables),
            )
        )
    return aligned(rows)


def flows_html(run: LeapworkRun) -> str:
    """The flows of a run as an HTML table, for pytest-html."""
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(cell)}</td>"
            for cell in (f.title, f.status, f"{f.elapsed:.1f}s", f.agent)
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
