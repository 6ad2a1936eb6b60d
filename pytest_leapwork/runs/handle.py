"""What a run is to the engine: the request, the handle followed until the run ends, and
the record of a runNow cut off before its answer. No pytest import here."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..api.errors import LeapworkError
from ..api.models import FINISHED, FlowResult, LeapworkRun, Schedule
from . import bounds

if TYPE_CHECKING:
    from .targets import FlowTarget


@dataclass(frozen=True)
class RunRequest:
    """What to run: a schedule reference (title or id), its variables and its time limit."""

    schedule: str
    variables: Mapping[str, str]
    timeout: float
    label: str = ""
    #: One flow on one agent (``leapwork_flow``) instead of the schedule.
    flow: FlowTarget | None = None


@dataclass(eq=False)
class PollState:
    """The poller's bookkeeping for one run: when to look next, and what the looks found."""

    next_at: float = 0.0
    #: A look at the run is under way.
    busy: bool = False
    #: Whether the controller has answered about the run at least once.
    seen: bool = False
    #: Why the last look at the run failed, if it did.
    error: LeapworkError | None = None
    #: The request the poller is waiting for about this run, and since when.
    asking: tuple[str, float] | None = None
    #: Whether the poller stopped the run for passing its deadline while a look was stuck.
    overdue_stop: bool = False
    #: A finished run's item ids at the last look (without a run summary: must read the same).
    finished_ids: list[str] | None = None


@dataclass(eq=False)
class RunHandle:
    """A run triggered on the controller and followed until it ends."""

    request: RunRequest
    schedule: Schedule
    run_id: str
    triggered_at: float
    status: str = "Queued"
    flows: dict[str, FlowResult] = field(default_factory=dict)
    result: LeapworkRun | None = None
    error: LeapworkError | None = None
    poll: PollState = field(default_factory=PollState, repr=False)
    #: Why stopping the run failed, if it did.
    stop_error: str | None = None
    #: Why the plugin stopped (or tried to stop) the run.
    stop_reason: str | None = None
    #: Items the controller counts for the run so far, and how many of them failed.
    items_total: int | None = None
    items_failed: int | None = None
    finished_seen_at: float | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _ending: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: Held by the one stop under way.
    stopping: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def next_poll_at(self) -> float:
        """When the poller looks at the run next (on the runner's clock)."""
        return self.poll.next_at

    @next_poll_at.setter
    def next_poll_at(self, at: float) -> None:
        self.poll.next_at = at

    @property
    def poll_error(self) -> LeapworkError | None:
        """Why the last look at the run failed, if it did."""
        return self.poll.error

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def over(self) -> bool:
        """Ended, or seen finished on the controller (its flows may still be collected)."""
        return self.done or self.finished_seen_at is not None

    @property
    def deadline(self) -> float:
        return self.triggered_at + self.request.timeout

    def wait_done(self, seconds: float) -> bool:
        return self._done.wait(seconds)

    def outcome(self) -> LeapworkRun:
        """The ended run, or the error that ended following it."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def end(self, result: LeapworkRun | None = None, error: LeapworkError | None = None) -> bool:
        """End the handle with its run or an error; False if it had ended already.

        A stop and a poll may race to end the same run: the first one wins.
        """
        with self._ending:
            if self.done:
                return False
            if error is None:
                self.result = result
            else:
                self.error = error
            self._done.set()
        return True

    @classmethod
    def ended_elsewhere(
        cls, request: RunRequest, schedule: Schedule, run: LeapworkRun
    ) -> RunHandle:
        """The handle of a run another process followed to its end (an xdist worker)."""
        handle = cls(request, schedule, run.run_id, triggered_at=0.0, status=FINISHED, result=run)
        handle._done.set()
        return handle

    def wait_quietly(self) -> None:
        """Wait for the end, in slices so that Ctrl-C is not held up."""
        while not self._done.wait(bounds.WAIT_SLICE_SECONDS):
            pass


@dataclass(frozen=True)
class UnansweredTrigger:
    """A runNow that was cut off (Ctrl-C, pytest-timeout) before the controller answered.

    The controller may have made the run anyway: its RunId is unknown. ``before`` holds the
    schedule's RunIds read just before the runNow was sent (lower case; None where they could
    not be read): a run not among them is one the runNow may have made.
    """

    request: RunRequest
    schedule: Schedule
    before: frozenset[str] | None = None


@dataclass(frozen=True)
class TriggerOutcome:
    """What became of an unanswered trigger: the run found and stopped, or why not."""

    trigger: UnansweredTrigger
    run_id: str | None
    #: None when the run was found and stopped; else what the plugin could not do.
    problem: str | None
