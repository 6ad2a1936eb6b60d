"""The GitHub Actions job summary: a markdown table of the session's runs.

When ``GITHUB_STEP_SUMMARY`` names a file, the failing runs are appended to it at session
end, each failing flow a row with the step it failed on, the RunId and the saved evidence,
then a count of the runs that passed. The file is shared by every step of the job: it is
appended to, never overwritten. Ini ``leapwork_job_summary = false`` turns it off. Written
by the process that writes the reports (the xdist controller). No pytest import here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ..api.models import FlowResult
from .records import NotStarted, RecordedRun
from .text import plural, run_result

#: The environment variable GitHub Actions sets to the step's summary file.
SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
#: The ini setting that turns it off (declared in ``options``).
INI = "leapwork_job_summary"
HEADING = "### Leapwork runs"
HEADER = ("Test", "Schedule", "Flow", "Step", "RunId", "Evidence")
NONE = "—"


def cell(text: str) -> str:
    """Text that stays inside its table cell: no line break, no bare pipe."""
    return " ".join(text.split()).replace("|", "\\|") or NONE


def code(text: str) -> str:
    return f"`{text}`" if text else ""


def failing_step(flow: FlowResult) -> str:
    """The block the flow failed on and its message: the last error keyframe, else the last."""
    shown = flow.messages
    errors = [k for k in shown if k.level.strip().lower() in ("error", "fatal")]
    if not shown:
        return f"ended {flow.status}"
    keyframe = (errors or shown)[-1]
    return ": ".join(p for p in (keyframe.block_title, keyframe.message) if p)


def evidence(flow: FlowResult, start: str) -> str:
    paths = [os.path.relpath(p, start) if os.path.isabs(p) else p for p in flow.artifacts]
    return "<br>".join(code(p.replace(os.sep, "/")) for p in paths)


def rows(entry: RecordedRun, start: str) -> list[tuple[str, ...]]:
    """A failing run's rows: one per failing flow, or one saying why it failed."""
    run = entry.run
    head = (code(entry.nodeid), run.schedule_title)
    flows = [f for f in run.flows if not f.passed]
    if entry.error is None and run.stopped_reason is None and flows:
        return [
            (
                *head,
                f"{flow.title} ({flow.status})",
                failing_step(flow),
                code(run.run_id),
                evidence(flow, start),
            )
            for flow in flows
        ]
    why = (
        entry.error
        or run.stopped_reason
        or ("finished without running any flow" if not run.flows else run_result(entry))
    )
    return [(*head, NONE, why, code(run.run_id), "")]


def markdown(runs: Sequence[RecordedRun], not_started: Sequence[NotStarted], start: str) -> str:
    """The summary: failing runs and tests whose run never started, then the passed count."""
    table = [row for entry in runs if not entry.run.passed for row in rows(entry, start)]
    table += [(code(n.nodeid), n.schedule, NONE, n.reason, "", "") for n in not_started]
    passed = sum(1 for entry in runs if entry.run.passed)
    lines = [HEADING, ""]
    if table:
        lines.append("| " + " | ".join(HEADER) + " |")
        lines.append("|" + "---|" * len(HEADER))
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table]
        lines.append("")
    lines.append(f"{plural(passed, 'run')} passed.")
    return "\n".join(lines) + "\n"


def append(path: str, text: str) -> None:
    """Append ``text`` as a block of its own: after a line break and a blank line."""
    with open(path, "a+b") as file:
        size = file.seek(0, os.SEEK_END)
        lead = b""
        if size:
            file.seek(size - 1)
            lead = b"\n" if file.read(1) == b"\n" else b"\n\n"
        file.seek(0, os.SEEK_END)
        file.write(lead + text.encode("utf-8"))


def write(
    enabled: bool,
    environ: Mapping[str, str],
    runs: Sequence[RecordedRun],
    not_started: Sequence[NotStarted],
    start: str,
) -> str | None:
    """Append the summary where ``GITHUB_STEP_SUMMARY`` says; a problem, said, never raised."""
    path = environ.get(SUMMARY_ENV, "").strip()
    if not enabled or not path or not (runs or not_started):
        return None
    try:
        append(path, markdown(runs, not_started, start))
    except OSError as exc:
        return f"job summary: could not append to {path!r} (${SUMMARY_ENV}): {exc}"
    return None
