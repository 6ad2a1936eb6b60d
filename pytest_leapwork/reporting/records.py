"""Every run a session triggered, for the reports, whatever became of its test.

A test that waited for its run reports it (the run travels on the test's report, from an
xdist worker too). The others are runs started ahead for tests that never ran (``-x``,
``--maxfail``, Ctrl-C), runs their test could not follow to the end, and runs replaced or
handed over: they are listed all the same, with their RunIds, from the handles the runner
made. No pytest import here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ..api.models import LeapworkRun
from ..runs.runner import RunHandle
from .junit_flows import RecordedRun

#: Why a run that ended on its own was not reported by its test.
TEST_DID_NOT_RUN = "its test did not run"


def entry_of(handle: RunHandle, now: float | None = None) -> RecordedRun:
    """A triggered run as the reports list it, from the runner's handle."""
    request = handle.request
    run = handle.result
    error = None
    if run is None:
        # Not followed to the end: what is known of it so far.
        error = str(handle.error) if handle.error is not None else "still running"
        run = LeapworkRun(
            run_id=handle.run_id,
            schedule_id=handle.schedule.id,
            schedule_title=handle.schedule.title,
            variables=dict(request.variables),
            flows=list(handle.flows.values()),
            elapsed=(time.monotonic() if now is None else now) - handle.triggered_at,
        )
    note = None if run.stopped_reason or error else TEST_DID_NOT_RUN
    return RecordedRun(request.label, run, request.timeout, note=note, error=error)


def stopped_entry(nodeid: str, schedule: str, run_id: str, reason: str) -> RecordedRun:
    """A run known only from the session's stop of it: one a crashed xdist worker left."""
    run = LeapworkRun(run_id, "", schedule, {}, stopped_reason=reason)
    return RecordedRun(nodeid, run, 0.0, note=reason)


def unreported(
    triggered: Iterable[RecordedRun],
    reported: Sequence[RecordedRun],
    stop_reasons: Mapping[str, str],
) -> list[RecordedRun]:
    """The triggered runs no test reported, once each, in the order they were triggered.

    ``stop_reasons`` (by RunId) says why the session stopped a run (``its test did not run``).
    """
    seen = {entry.run.run_id for entry in reported}
    out = []
    for entry in triggered:
        run_id = entry.run.run_id
        if run_id in seen:
            continue
        seen.add(run_id)
        if run_id in stop_reasons:
            entry = replace(entry, note=stop_reasons[run_id])
        out.append(entry)
    return out
