"""Texts people read: why a run failed, as a compact flow table plus the failing flows' log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .models import FlowResult, LeapworkRun


def describe_variables(variables: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in variables.items()) or "none"


def flow_table(flows: Sequence[FlowResult], indent: str = "  ") -> list[str]:
    """Rows of title, status, elapsed and agent, aligned for a CI log."""
    rows = [("flow", "status", "elapsed", "agent")]
    rows += [(f.title, f.status, f"{f.elapsed:.1f}s", f.agent or "-") for f in flows]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]
        for row in rows
    ]


def failure_message(run: LeapworkRun, timeout: float) -> str:
    """Why a run did not pass: headline, flow table, then each failing flow's keyframes."""
    where = f"run {run.run_id}, {run.elapsed:.1f}s"
    name = f"Leapwork schedule {run.schedule_title!r}"
    if run.stopped_reason == "timeout":
        headline = (
            f"{name} did not finish within its timeout of {timeout:g}s and was stopped "
            f"({where}); raise timeout= on the marker or --leapwork-timeout if it needs longer"
        )
    elif run.stopped_reason is not None:
        headline = f"{name} was stopped ({run.stopped_reason}) ({where})"
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
