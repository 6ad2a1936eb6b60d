"""What a trigger-ahead plan knows about each test's run, built from a log of events.

The same events drive the in-process plan (held in memory) and the plan xdist workers share
(a file every worker appends to and reads): claim, take, run, fail, over, end, reset. No
pytest import here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..api.models import Schedule
    from .runner import RunRequest


@dataclass(frozen=True)
class RunRecord:
    """A run a planner triggered, as every planner of the session may need it."""

    run_id: str
    schedule: Schedule
    #: Wall-clock time of the trigger (``time.time()``): processes share no monotonic clock.
    at: float
    request: RunRequest
    #: The worker that triggered it (and wrote it in its ledger).
    by: str


@dataclass
class Entry:
    """What the session knows about one test's run."""

    claimed_by: str | None = None  # the worker that triggers (or triggered) the run
    taken_by: str | None = None  # the worker that runs the test
    run: RunRecord | None = None  # the run, once the controller answered the runNow
    failed: tuple[str, str] | None = None  # (error class, message) of a refused runNow
    over: bool = False  # seen finished: its place in the window is free
    ended: bool = False  # followed to its end: its result is written

    @property
    def open(self) -> bool:
        """Nobody has claimed the run nor taken the test."""
        return self.claimed_by is None and self.taken_by is None

    @property
    def in_flight(self) -> bool:
        return self.claimed_by is not None and self.failed is None and not self.over


@dataclass
class PlanState:
    entries: dict[str, Entry] = field(default_factory=dict)
    key_of_run: dict[str, str] = field(default_factory=dict)
    over_runs: set[str] = field(default_factory=set)
    ended_runs: set[str] = field(default_factory=set)
    #: (test, worker) of every take, in order: owners read it to hand their runs over.
    takes: list[tuple[str, str]] = field(default_factory=list)

    def entry(self, key: str) -> Entry:
        return self.entries.setdefault(key, Entry())

    def in_flight(self) -> int:
        return sum(1 for e in self.entries.values() if e.in_flight)

    def busy(self, schedule_id: str) -> bool:
        """Whether a run of the schedule that the plan knows of is still unfinished."""
        return any(
            e.run is not None and e.run.schedule.id == schedule_id and not e.over
            for e in self.entries.values()
        )

    def apply(self, event: list[Any]) -> None:
        kind, key = event[0], event[1]
        if kind == "claim":
            entry = self.entry(key)
            entry.claimed_by, entry.run, entry.failed = event[2], None, None
            entry.over = entry.ended = False
        elif kind == "take":
            self.entry(key).taken_by = event[2]
            self.takes.append((key, event[2]))
        elif kind == "run":
            entry = self.entry(key)
            record: RunRecord = event[2]
            entry.run = record
            self.key_of_run[record.run_id] = key
            entry.ended = record.run_id in self.ended_runs
            entry.over = entry.ended or record.run_id in self.over_runs
        elif kind == "fail":
            self.entry(key).failed = (event[2], event[3])
        elif kind in ("over", "end"):  # the key is the run id
            (self.ended_runs if kind == "end" else self.over_runs).add(key)
            owner = self.entries.get(self.key_of_run.get(key, ""))
            if owner is not None and owner.run is not None and owner.run.run_id == key:
                owner.over = True
                owner.ended = owner.ended or kind == "end"
        elif kind == "reset":
            self.entries[key] = Entry()
