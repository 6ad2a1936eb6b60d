"""Result objects: schedules, runs, flows, keyframes (read from the controller's JSON by
``parsing``). No pytest import here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Statuses a run item passes through before it has a result; such an item is read again.
TRANSIENT_FLOW_STATUSES = frozenset(
    {"NoStatus", "Initializing", "Connecting", "Connected", "Running", "IsProcessing", ""}
)
PASSED_FLOW_STATUSES = frozenset({"Passed", "Pass"})
DONE_STATUS = "Done"
# The only run status after which nothing changes any more.
FINISHED = "Finished"
#: The type of the schedules the controller makes to run one flow on one agent.
TEMPORARY = "TemporaryScheduleInfo"
#: File extension of a run item's video, by the Content-Type the controller sends it with.
VIDEO_EXTENSIONS = {
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
    "video/quicktime": ".mov",
    "video/x-msvideo": ".avi",
}
# Keyframe levels that are noise in a failure message (every vendor client drops them).
SILENT_KEYFRAME_LEVELS = frozenset({"", "trace"})


@dataclass(frozen=True)
class Schedule:
    """A schedule as listed by ``GET /schedules``."""

    id: str
    title: str
    enabled: bool = True
    type: str = "ScheduleInfo"

    @property
    def is_temporary(self) -> bool:
        """Temporary schedules are made by run-flow calls and are never matched by title."""
        return self.type == TEMPORARY


@dataclass(frozen=True)
class Keyframe:
    """One line of a flow's execution log."""

    timestamp: str
    level: str
    block_title: str | None
    message: str

    @property
    def is_silent(self) -> bool:
        """Trace and empty-level keyframes are left out of messages."""
        return self.level.strip().lower() in SILENT_KEYFRAME_LEVELS

    def __str__(self) -> str:
        return " - ".join(part for part in (self.timestamp, self.block_title, self.message) if part)


@dataclass
class FlowResult:
    """One flow of a run (a controller "run item")."""

    title: str
    status: str
    elapsed: float
    agent: str
    keyframes: list[Keyframe] = field(default_factory=list)
    run_item_id: str = ""
    flow_id: str = ""
    #: How a flow that ended ``Done`` counts; set from ``--leapwork-done-status``.
    done_counts_as_passed: bool = True
    #: A verdict set by the ``pytest_leapwork_flow_passed`` hook, overriding the status rule.
    verdict: bool | None = None
    #: Files saved for this flow under ``--leapwork-artifacts`` (video, keyframes), absolute.
    artifacts: list[str] = field(default_factory=list)
    #: The agent it ran on (``AgentInfo.AgentId``): where a rerun of it goes.
    agent_id: str = ""
    #: Its reruns alone on that agent (``--leapwork-rerun-flows``), oldest first; the flow
    #: itself stays its first attempt.
    reruns: list[FlowRerun] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether it counts as passed: its last rerun decides where it was rerun."""
        if self.reruns:
            return self.reruns[-1].passed
        return self.first_passed

    @property
    def first_passed(self) -> bool:
        """Whether its first attempt passed (the run's own, before any rerun)."""
        if self.verdict is not None:
            return self.verdict
        if self.status in PASSED_FLOW_STATUSES:
            return True
        return self.status == DONE_STATUS and self.done_counts_as_passed

    @property
    def flaky(self) -> bool:
        """Failed in the run, passed on a rerun."""
        return not self.first_passed and self.passed

    @property
    def finished(self) -> bool:
        return self.status not in TRANSIENT_FLOW_STATUSES

    @property
    def messages(self) -> list[Keyframe]:
        """The keyframes worth showing to a person (no Trace, no empty level)."""
        return [k for k in self.keyframes if not k.is_silent]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlowResult:
        return cls(
            **{
                **data,
                "keyframes": [Keyframe(**k) for k in data["keyframes"]],
                "reruns": [FlowRerun.from_dict(r) for r in data.get("reruns", ())],
            }
        )


@dataclass
class FlowRerun:
    """One rerun of a failed flow, alone on its agent: a run of its own."""

    run_id: str
    #: The flow as the rerun ran it; None where the rerun never gave it (not started, lost).
    flow: FlowResult | None = None
    #: Why the rerun did not pass beyond the flow's status (stopped, not started), if so.
    problem: str | None = None

    @property
    def passed(self) -> bool:
        return self.problem is None and self.flow is not None and self.flow.passed

    @property
    def status(self) -> str:
        return self.flow.status if self.flow is not None else "NotRun"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlowRerun:
        flow = data.get("flow")
        return cls(
            data["run_id"], None if flow is None else FlowResult.from_dict(flow), data["problem"]
        )


@dataclass
class LeapworkRun:
    """A finished (or stopped) run of a schedule."""

    run_id: str
    schedule_id: str
    schedule_title: str
    variables: dict[str, str]
    flows: list[FlowResult] = field(default_factory=list)
    elapsed: float = 0.0
    #: Why the run did not finish on its own (``"timeout"``, ``"interrupted"``), else ``None``.
    stopped_reason: str | None = None
    #: Why the stop request failed, when the plugin could not stop the run.
    stop_error: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.flows) and self.stopped_reason is None and not self.failed_flows

    @property
    def failed_flows(self) -> list[FlowResult]:
        return [flow for flow in self.flows if not flow.passed]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, so the run travels inside pytest reports (pytest-xdist)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeapworkRun:
        flows = [FlowResult.from_dict(flow) for flow in data["flows"]]
        return cls(**{**data, "flows": flows})


@dataclass(frozen=True)
class RunSummary:
    """``GET /run/{id}``: the run's status and its item counts so far."""

    status: str | None
    total: int | None
    failed: int | None
    #: The run's schedule; for a run of one flow, the temporary schedule the controller made.
    schedule_id: str | None = None
    schedule_title: str | None = None


@dataclass(frozen=True)
class PlacedSchedule:
    """A schedule with the folders (and run list) it sits in, from ``GET /schedules/hierarchy``."""

    schedule: Schedule
    folders: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """``Folder/Sub/Title``, as Leapwork Studio shows the tree."""
        return "/".join((*self.folders, self.schedule.title))
