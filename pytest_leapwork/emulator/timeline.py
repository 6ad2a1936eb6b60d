"""A run's life as a function of time: Queued -> Executing -> Finished, flow by flow.

A run's timeline is fixed when it is created (each flow's outcome and duration); only its
start (once an agent takes it) and its stop move. Everything else here is computed from those
and a clock reading `now`, so nothing runs in the background.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from .scenario import Outcome, ScheduleSpec
from .views import KeyframeView, RunView

QUEUED, EXECUTING, FINISHED = "Queued", "Executing", "Finished"
PASSING_STATUSES = frozenset({"Passed", "Done"})
CANCELLED = "Cancelled"

# (clock time, level, status, message, block) of one keyframe.
Entry = tuple[float, str, str, str, str | None]


class RunStatusSource(Protocol):
    """Who knows a run's status now (the controller, which owns the clock and the agents)."""

    def status_of(self, run: EmulatedRun) -> str: ...


def initializing_seconds(seconds: float) -> float:
    """A flow says Initializing for its first 20 %, at most 0.2 s."""
    return min(0.2 * seconds, 0.2)


class EmulatedRun:
    """One run of a schedule; its timeline is fixed at creation except for start and stop."""

    def __init__(
        self,
        controller: RunStatusSource,
        seq: int,
        schedule: ScheduleSpec,
        variables: dict[str, str],
        outcomes: Sequence[Outcome],
        created_at: float,
        queue_seconds: float,
    ) -> None:
        self._controller = controller
        self.seq = seq
        self.run_id = str(uuid.uuid4())
        self.schedule = schedule
        self.variables = variables
        self.outcomes = tuple(outcomes)
        self.item_ids = [str(uuid.uuid4()) for _ in self.outcomes]
        offsets = [0.0]
        for outcome in self.outcomes:
            offsets.append(offsets[-1] + outcome.seconds)
        self.offsets = offsets  # flow i runs from offsets[i] to offsets[i + 1] after start
        self.created_at = created_at
        self.earliest = created_at + queue_seconds
        self.start_at: float | None = None  # set once an agent took it (never in the future)
        self.stopped_at: float | None = None

    @property
    def schedule_id(self) -> str:
        return self.schedule.id

    @property
    def schedule_title(self) -> str:
        return self.schedule.title

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def total(self) -> float:
        return self.offsets[-1]

    @property
    def end_at(self) -> float | None:
        if self.stopped_at is not None:
            return self.stopped_at
        return None if self.start_at is None else self.start_at + self.total

    def status(self) -> str:
        """Queued, Executing or Finished, now."""
        return self._controller.status_of(self)

    def __repr__(self) -> str:
        return f"<EmulatedRun {self.run_id} of {self.schedule_title!r}>"


def status_at(run: EmulatedRun, now: float) -> str:
    """Queued, Executing or Finished at clock time `now`."""
    if run.stopped_at is not None:
        return FINISHED
    if run.start_at is None or now < run.start_at:
        return QUEUED
    return EXECUTING if now < run.start_at + run.total else FINISHED


def is_final(run: EmulatedRun, index: int, now: float) -> bool:
    """Whether flow `index` has ended (passed, failed or cancelled) by `now`."""
    if run.stopped_at is not None:
        return True
    if run.start_at is None:
        return False
    return now >= run.start_at + run.offsets[index + 1]


def visible(run: EmulatedRun, now: float) -> int:
    """How many of the run's item ids are listed now."""
    if run.stopped_at is not None:
        return len(run.item_ids)  # a stopped run lists every flow, cancelled or not
    if run.start_at is None:
        return 0
    since = now - run.start_at - run.schedule.items_lag_seconds
    if since < 0:
        return 0
    return bisect.bisect_right(run.offsets, since, 0, len(run.item_ids))


def item_state(run: EmulatedRun, index: int, now: float) -> tuple[str, float, float]:
    """(status, elapsed seconds, clock time the flow started) of one item."""
    outcome = run.outcomes[index]
    stopped = run.stopped_at
    if run.start_at is None:
        assert stopped is not None  # only stopped runs show items before starting
        return CANCELLED, 0.0, stopped
    start = run.start_at + run.offsets[index]
    end = run.start_at + run.offsets[index + 1]
    if stopped is not None and stopped < end:
        if stopped <= start:
            return CANCELLED, 0.0, stopped
        return CANCELLED, stopped - start, start
    if now >= end:
        return outcome.status, outcome.seconds, start
    if now < start + initializing_seconds(outcome.seconds):
        return "Initializing", max(0.0, now - start), start
    return "Running", now - start, start


def summary(run: EmulatedRun, now: float) -> RunView:
    """The run's status, failed flows so far, and elapsed time, at `now`."""
    status = status_at(run, now)
    failed = 0
    for index in range(len(run.item_ids)):
        if not is_final(run, index, now):
            break  # flows run in order: the rest have not finished either
        if item_state(run, index, now)[0] not in PASSING_STATUSES:
            failed += 1
    elapsed = 0.0
    if run.start_at is not None:
        end = run.end_at
        if status == FINISHED and not run.stopped:
            elapsed = run.total
        elif end is not None:
            elapsed = max(0.0, min(now, end) - run.start_at)
    return RunView(
        run.run_id,
        run.schedule_id,
        run.schedule_title,
        status,
        failed,
        len(run.item_ids),
        elapsed,
    )


def keyframe_entries(run: EmulatedRun, index: int, now: float) -> list[Entry]:
    """The keyframes flow `index` has logged by `now`, oldest first."""
    outcome = run.outcomes[index]
    stopped = run.stopped_at
    start = None if run.start_at is None else run.start_at + run.offsets[index]
    if start is None or (stopped is not None and stopped <= start):
        assert stopped is not None
        return [(stopped, "Info", CANCELLED, "Run was stopped before the flow started", None)]
    entries: list[Entry] = [
        (start, "Trace", "Initializing", "Flow started", None),
        (
            start,
            "Info",
            "Initializing",
            f"Scheduled run executed from schedule '{run.schedule_title}'",
            None,
        ),
    ]
    init = initializing_seconds(outcome.seconds)
    horizon = now if stopped is None else min(now, stopped)
    count = len(outcome.keyframes)
    for position, keyframe in enumerate(outcome.keyframes):
        # Spread over the Running phase, all due before the flow ends.
        due = start + init + (outcome.seconds - init) * (position + 1) / (count + 1)
        if due <= horizon:
            entries.append((due, keyframe.level, "Running", keyframe.message, keyframe.block))
    end = start + outcome.seconds
    if stopped is not None and stopped < end:
        entries.append((stopped, "Info", CANCELLED, "Run was stopped", None))
    elif now >= end and not count and outcome.status not in PASSING_STATUSES:
        message = f"Flow ended with status '{outcome.status}'"
        entries.append((end, "Error", outcome.status, message, None))
    return entries


def keyframe_views(
    run: EmulatedRun, index: int, entries: Sequence[Entry], wall: Callable[[float], float]
) -> list[KeyframeView]:
    """Keyframes with ids stable per item and position, and wall-clock times."""
    item_uuid = uuid.UUID(run.item_ids[index])
    return [
        KeyframeView(
            str(uuid.uuid5(item_uuid, str(position))),
            run.item_ids[index],
            wall(at),
            level,
            status,
            message,
            block,
        )
        for position, (at, level, status, message, block) in enumerate(entries)
    ]
