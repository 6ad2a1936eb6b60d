"""The reports' records: every run a session triggered, whatever became of its test; every
test whose run never started; every run the session stopped, or could not stop.

A test that waited for its run reports it (the run travels on the test's report, from an
xdist worker too). The others are runs started ahead for tests that never ran (``-x``,
``--maxfail``, Ctrl-C), runs their test could not follow to the end, and runs replaced or
handed over: they are listed all the same, with their RunIds, from the handles the runner
made. No pytest import here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from ..api.models import LeapworkRun
from ..runs.runner import RunHandle

if TYPE_CHECKING:
    from ..runs.runner import TriggerOutcome


@dataclass(frozen=True)
class RecordedRun:
    """A run as the report needs it: the run and the pytest test it belongs to."""

    nodeid: str
    run: LeapworkRun
    timeout: float
    #: Set when the test did not report this run itself: why (``"its test did not run"``).
    note: str | None = None
    #: Why the run could not be followed to its end, if it could not.
    error: str | None = None
    #: The session could neither stop the run nor see it end (a runNow cut off whose run
    #: was not found): it may still be executing on the controller.
    left_executing: bool = False
    #: The schedule's folder path (``Folder/Sub/Title``) where the test named or selected it so.
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "run": self.run.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordedRun:
        return cls(**{**data, "run": LeapworkRun.from_dict(data["run"])})


@dataclass(frozen=True)
class NotStarted:
    """A marked test whose run never started: the setup error that stopped it."""

    nodeid: str
    schedule: str
    reason: str


@dataclass(frozen=True)
class StoppedRun:
    """A run the plugin stopped before its test finished, or could not stop (``stopped``)."""

    nodeid: str
    schedule: str
    #: Empty when the controller never said it (a runNow cut off before its answer).
    run_id: str
    reason: str
    #: False: the run may still be executing on the controller (``reason`` says why).
    stopped: bool = True

    @classmethod
    def of(cls, handle: RunHandle, reason: str) -> StoppedRun:
        if handle.stop_error:
            reason = f"{reason}; it could not be stopped: {handle.stop_error}"
        return cls(
            handle.request.label,
            handle.schedule.title,
            handle.run_id,
            reason,
            stopped=not handle.stop_error,
        )

    @classmethod
    def of_trigger(cls, outcome: TriggerOutcome, reason: str) -> StoppedRun:
        """A runNow cut off before the controller answered: its run found and stopped, or not."""
        trigger = outcome.trigger
        if outcome.run_id is not None and outcome.problem is None:
            reason = f"{reason}; found among the schedule's runs"
        elif outcome.run_id is not None:
            reason = f"{reason}; found among the schedule's runs, but it could not be stopped: "
            reason += str(outcome.problem)
        else:
            reason = f"{reason}; {outcome.problem}: look for the run in Leapwork"
        return cls(
            trigger.request.label,
            trigger.schedule.title,
            outcome.run_id or "",
            reason,
            stopped=outcome.problem is None,
        )


#: Why a run that ended on its own was not reported by its test.
TEST_DID_NOT_RUN = "its test did not run"


def variant(nodeid: str) -> str:
    """The parameter id of a parametrized test (``eu`` of ``test_home[eu]``), else ``""``."""
    name = nodeid.rpartition("::")[2]
    return name[name.index("[") + 1 : -1] if name.endswith("]") and "[" in name else ""


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


def stopped_entry(
    nodeid: str, schedule: str, run_id: str, reason: str, stopped: bool = True
) -> RecordedRun:
    """A run known only from the session's stop of it: one a crashed xdist worker left, or
    one whose runNow was cut off (``stopped`` false where it was not found and stopped)."""
    run = LeapworkRun(run_id, "", schedule, {}, stopped_reason=reason)
    return RecordedRun(nodeid, run, 0.0, note=reason, left_executing=not stopped)


def unreported(
    triggered: Iterable[RecordedRun],
    reported: Sequence[RecordedRun],
    stop_reasons: Mapping[str, str],
) -> list[RecordedRun]:
    """The triggered runs no test reported, once each, in the order they were triggered.

    ``stop_reasons`` (by RunId) says why the session stopped a run (``its test did not run``).
    """
    seen = {entry.run.run_id for entry in reported}
    seen |= {rerun_id for entry in reported for rerun_id in rerun_ids(entry.run)}
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


def rerun_ids(run: LeapworkRun) -> list[str]:
    """The RunIds of the reruns of ``run``'s flows (``--leapwork-rerun-flows``)."""
    return [r.run_id for flow in run.flows for r in flow.reruns if r.run_id]
