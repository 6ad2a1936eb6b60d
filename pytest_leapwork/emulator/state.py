"""The controller's state machine: runs, their run items and keyframes over time.

Nothing runs in the background: every status is computed from the (injectable) clock when it
is asked for, so a run of 2,000 flows costs a list of offsets and no thread, and a fake clock
makes tests deterministic. All state sits under one lock; callers get immutable views.
"""

from __future__ import annotations

import bisect
import heapq
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from .scenario import DEFAULT_AGENT, FlowSpec, Outcome, Scenario, ScheduleSpec, default_agent_id

QUEUED, EXECUTING, FINISHED = "Queued", "Executing", "Finished"
PASSING_STATUSES = frozenset({"Passed", "Done"})
CANCELLED = "Cancelled"

ASSET_NOT_FOUND = "Asset not found"
INVALID_VARIABLE = "Variable name is invalid or variable with such name is already in request"
# Emulator choices: no source shows what a real controller answers in these two cases.
SCHEDULE_DISABLED = "Schedule is disabled"
SCHEDULE_RUNNING = "Schedule is already running"
# ASP.NET Web API's answer to a parameter it cannot bind (an unknown filter name).
INVALID_REQUEST = "The request is invalid."
# `isDelete=true` on PUT flows/{id}/agent/{id}: drop the temporary schedule once its run ends.
IS_DELETE = "isdelete"
# GET schedules/{id}/runIds/{filterBy}: documented filters and how far back each reaches.
RUN_ID_FILTERS = (
    "NoFilter", "LastMinute", "LastHour", "LastDay", "LastWeek", "LastMonth", "LastYear",
    "ThisHour", "ThisDay", "ThisWeek", "ThisMonth", "ThisYear", "LastDays",
)  # fmt: skip

Clock = Callable[[], float]


class ApiError(Exception):
    """A request the controller refuses: HTTP status and plain-text body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ItemView:
    item_id: str
    run_id: str
    flow_id: str
    flow_title: str
    status: str
    agent: str
    agent_id: str
    elapsed: float
    created_at: float  # wall-clock seconds since the epoch


@dataclass(frozen=True)
class KeyframeView:
    keyframe_id: str
    item_id: str
    at: float  # wall-clock seconds since the epoch
    level: str
    status: str
    message: str
    block: str | None


@dataclass(frozen=True)
class RunView:
    run_id: str
    schedule_id: str
    schedule_title: str
    status: str
    failed: int
    total: int
    elapsed: float


def initializing_seconds(seconds: float) -> float:
    """A flow says Initializing for its first 20 %, at most 0.2 s."""
    return min(0.2 * seconds, 0.2)


class EmulatedRun:
    """One run of a schedule; its timeline is fixed at creation except for start and stop."""

    def __init__(
        self,
        controller: Controller,
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


def _status_at(run: EmulatedRun, now: float) -> str:
    if run.stopped_at is not None:
        return FINISHED
    if run.start_at is None or now < run.start_at:
        return QUEUED
    return EXECUTING if now < run.start_at + run.total else FINISHED


class Controller:
    """Runs of the scenario's schedules, computed from the clock on demand."""

    def __init__(self, scenario: Scenario, clock: Clock) -> None:
        self._clock = clock
        self._wall_offset = time.time() - clock()
        self._lock = threading.Lock()
        self._queue_seconds = scenario.controller.queue_seconds
        self._agents = scenario.controller.agents
        self._scenario_schedules = scenario.schedules
        self._schedules = {schedule.id: schedule for schedule in scenario.schedules}
        # Temporary schedules made by run_flow, each with its run and its isDelete wish.
        self._temporary: dict[str, tuple[ScheduleSpec, EmulatedRun, bool]] = {}
        self._flows: dict[str, FlowSpec] = {}
        for schedule in scenario.schedules:
            for flow in schedule.flows:
                self._flows.setdefault(flow.id, flow)
        # Agents by id: declared ones, then every agent a flow names (ids derived from titles).
        self._agent_titles: dict[str, str] = {agent.id: agent.title for agent in scenario.agents}
        self._agent_ids = {title: agent_id for agent_id, title in self._agent_titles.items()}
        for title in [DEFAULT_AGENT, *(flow.agent for flow in self._flows.values())]:
            if title not in self._agent_ids:
                self._agent_ids[title] = default_agent_id(title)
                self._agent_titles.setdefault(default_agent_id(title), title)
        self._runs: dict[str, EmulatedRun] = {}
        self._runs_by_schedule: dict[str, list[EmulatedRun]] = {}
        self._items: dict[str, tuple[EmulatedRun, int]] = {}
        self._pending: list[EmulatedRun] = []  # not started, not stopped; by (earliest, seq)
        self._holding: list[EmulatedRun] = []  # started runs that may still hold an agent
        self._seq = 0

    def wall(self, at: float) -> float:
        return self._wall_offset + at

    # --- schedules -------------------------------------------------------------------------

    def schedules(self) -> list[ScheduleSpec]:
        """The scenario's schedules, then the temporary ones run_flow made (still kept)."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            kept = [s for s, run, delete in self._temporary.values() if not _gone(run, delete, now)]
        return [*self._scenario_schedules, *kept]

    def schedule(self, schedule_id: str) -> ScheduleSpec:
        key = schedule_id.lower()
        schedule = self._schedules.get(key)
        if schedule is None:
            raise ApiError(404, ASSET_NOT_FOUND)
        if key in self._temporary:
            with self._lock:
                now = self._clock()
                self._advance(now)
                if _gone(self._temporary[key][1], self._temporary[key][2], now):
                    raise ApiError(404, ASSET_NOT_FOUND)
        return schedule

    def schedules_by_name(self, pattern: str) -> list[ScheduleSpec]:
        """Schedules whose title matches `pattern` (`%` any text; letter case ignored)."""
        found = [s for s in self.schedules() if like(s.title, pattern)]
        if not found:
            raise ApiError(404, ASSET_NOT_FOUND)
        return found

    def run_now(self, schedule_id: str, query: Sequence[tuple[str, str]]) -> str:
        schedule = self.schedule(schedule_id)
        if not schedule.enabled:
            raise ApiError(400, SCHEDULE_DISABLED)
        variables = _check_variables(schedule, query)
        with self._lock:
            return self._start(schedule, variables).run_id

    def run_flow(self, flow_id: str, agent_id: str, query: Sequence[tuple[str, str]]) -> str:
        """Run one flow on one agent through a new temporary schedule, as the controller does."""
        flow = self._flows.get(flow_id.lower())
        agent = self._agent_titles.get(agent_id.lower())
        if flow is None or agent is None:
            raise ApiError(404, ASSET_NOT_FOUND)
        delete = any(n.lower() == IS_DELETE and v.lower() == "true" for n, v in query)
        query = [(name, value) for name, value in query if name.lower() != IS_DELETE]
        schedule = ScheduleSpec(
            title=flow.title,
            id=str(uuid.uuid4()),
            type="TemporaryScheduleInfo",
            description=f"Run of flow '{flow.title}' on agent '{agent}'",
            flows=(replace(flow, agent=agent),),
        )
        variables = _check_variables(schedule, query)
        with self._lock:
            run = self._start(schedule, variables)
            self._schedules[schedule.id] = schedule
            self._temporary[schedule.id] = (schedule, run, delete)
        return run.run_id

    def schedule_status(self, schedule_or_run_id: str) -> str:
        """A schedule's status; given a run id (the documented path), that run's status."""
        key = schedule_or_run_id.lower()
        if key in self._runs and key not in self._schedules:
            return self.run_status(key)
        schedule = self.schedule(key)
        with self._lock:
            now = self._clock()
            self._advance(now)
            for run in reversed(self._runs_by_schedule.get(schedule.id, [])):
                status = _status_at(run, now)
                if status != FINISHED:
                    return status
        return FINISHED

    def schedule_of_run(self, run_id: str) -> ScheduleSpec:
        with self._lock:
            return self._run(run_id).schedule

    def schedule_run_ids(self, schedule_id: str, filter_by: str, count: int) -> list[str]:
        """Run ids of a schedule, newest first, by a documented filter and `count`."""
        schedule = self.schedule(schedule_id)
        by_name = {name.lower(): name for name in RUN_ID_FILTERS}
        name = by_name.get((filter_by or "NoFilter").lower())
        if name is None:
            raise ApiError(400, INVALID_REQUEST)
        with self._lock:
            runs = list(reversed(self._runs_by_schedule.get(schedule.id, [])))
        if name != "NoFilter":
            since = _filter_start(name, count, datetime.now(timezone.utc))
            runs = [run for run in runs if self.wall(run.created_at) >= since]
        if count > 0 and name != "LastDays":
            runs = runs[:count]
        return [run.run_id for run in runs]

    def flow_run_items(self, flow_id: str) -> list[str]:
        """Every listed run item of one flow, over all runs, oldest first."""
        key = flow_id.lower()
        if key not in self._flows:
            raise ApiError(404, ASSET_NOT_FOUND)
        with self._lock:
            now = self._clock()
            self._advance(now)
            return [
                item_id
                for run in self._runs.values()
                for index, item_id in enumerate(run.item_ids[: self._visible(run, now)])
                if run.schedule.flows[index].id == key
            ]

    # --- runs ------------------------------------------------------------------------------

    def status_of(self, run: EmulatedRun) -> str:
        with self._lock:
            now = self._clock()
            self._advance(now)
            return _status_at(run, now)

    def run_status(self, run_id: str) -> str:
        with self._lock:
            now = self._clock()
            self._advance(now)
            return _status_at(self._run(run_id), now)

    def run_item_ids(self, run_id: str) -> list[str]:
        with self._lock:
            now = self._clock()
            self._advance(now)
            run = self._run(run_id)
            return run.item_ids[: self._visible(run, now)]

    def run_summary(self, run_id: str) -> RunView:
        with self._lock:
            now = self._clock()
            self._advance(now)
            run = self._run(run_id)
            status = _status_at(run, now)
            failed = 0
            for index in range(len(run.item_ids)):
                if not _is_final(run, index, now):
                    break  # flows run in order: the rest have not finished either
                if self._item_state(run, index, now)[0] not in PASSING_STATUSES:
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

    def stop_run(self, run_id: str) -> None:
        with self._lock:
            now = self._clock()
            self._advance(now)
            self._stop(self._run(run_id), now)

    def stop_schedule(self, schedule_or_run_id: str) -> None:
        """Accepts a schedule id (stops all its runs) or a run id: docs and clients use both."""
        key = schedule_or_run_id.lower()
        with self._lock:
            now = self._clock()
            self._advance(now)
            if key in self._schedules:
                for run in self._runs_by_schedule.get(key, []):
                    self._stop(run, now)
            else:
                self._stop(self._run(key), now)

    def restart(self) -> None:
        """Forget every run, as a restarted controller would."""
        with self._lock:
            self._runs.clear()
            self._runs_by_schedule.clear()
            self._items.clear()
            self._pending.clear()
            self._holding.clear()

    def runs(self) -> list[EmulatedRun]:
        with self._lock:
            return list(self._runs.values())

    def run(self, run_id: str) -> EmulatedRun:
        with self._lock:
            run = self._runs.get(run_id.lower())
        if run is None:
            raise KeyError(run_id)
        return run

    def age(self, run_id: str | None = None, item_id: str | None = None) -> float | None:
        """Seconds since the run (given directly or by one of its items) was created."""
        with self._lock:
            run = self._runs.get(run_id.lower()) if run_id else None
            if run is None and item_id:
                found = self._items.get(item_id.lower())
                run = found[0] if found else None
            return None if run is None else self._clock() - run.created_at

    # --- run items -------------------------------------------------------------------------

    def run_item(self, item_id: str) -> ItemView:
        with self._lock:
            now = self._clock()
            self._advance(now)
            run, index = self._visible_item(item_id, now)
            status, elapsed, started = self._item_state(run, index, now)
        flow = run.schedule.flows[index]
        return ItemView(
            run.item_ids[index],
            run.run_id,
            flow.flow_id,
            flow.title,
            status,
            flow.agent,
            self._agent_ids.get(flow.agent) or default_agent_id(flow.agent),
            elapsed,
            self.wall(started),
        )

    def check_video(self, item_id: str) -> None:
        """404 unless the run item has ended and its flow records a video."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            run, index = self._visible_item(item_id, now)
            if not run.schedule.flows[index].video or not _is_final(run, index, now):
                raise ApiError(404, ASSET_NOT_FOUND)

    def keyframes(self, item_id: str) -> list[KeyframeView]:
        with self._lock:
            now = self._clock()
            self._advance(now)
            run, index = self._visible_item(item_id, now)
            entries = self._keyframe_entries(run, index, now)
        item_uuid = uuid.UUID(run.item_ids[index])
        return [
            KeyframeView(
                str(uuid.uuid5(item_uuid, str(position))),
                run.item_ids[index],
                self.wall(at),
                level,
                status,
                message,
                block,
            )
            for position, (at, level, status, message, block) in enumerate(entries)
        ]

    # --- internals (caller holds the lock) -------------------------------------------------

    def _start(self, schedule: ScheduleSpec, variables: dict[str, str]) -> EmulatedRun:
        outcomes = [flow.outcome(variables) for flow in schedule.flows]
        queue = self._queue_seconds if schedule.queue_seconds is None else schedule.queue_seconds
        now = self._clock()
        self._advance(now)
        earlier = self._runs_by_schedule.setdefault(schedule.id, [])
        if schedule.reject_when_running and any(
            _status_at(run, now) != FINISHED for run in earlier
        ):
            raise ApiError(410, SCHEDULE_RUNNING)
        self._seq += 1
        run = EmulatedRun(self, self._seq, schedule, variables, outcomes, now, queue)
        self._runs[run.run_id] = run
        earlier.append(run)
        for index, item_id in enumerate(run.item_ids):
            self._items[item_id] = (run, index)
        bisect.insort(self._pending, run, key=lambda r: (r.earliest, r.seq))
        self._advance(now)
        return run

    def _run(self, run_id: str) -> EmulatedRun:
        run = self._runs.get(run_id.lower())
        if run is None:
            raise ApiError(404, ASSET_NOT_FOUND)
        return run

    def _visible_item(self, item_id: str, now: float) -> tuple[EmulatedRun, int]:
        found = self._items.get(item_id.lower())
        if found is None or found[1] >= self._visible(found[0], now):
            raise ApiError(404, ASSET_NOT_FOUND)
        return found

    def _advance(self, now: float) -> None:
        """Give agents to queued runs whose turn has come by `now`, in order of readiness.

        Start times are only fixed once they are in the past, so a stop (which frees an agent
        early) is seen by every run still waiting.
        """
        if not self._pending:
            return
        if not self._agents:
            ready = 0
            while ready < len(self._pending) and self._pending[ready].earliest <= now:
                self._pending[ready].start_at = self._pending[ready].earliest
                ready += 1
            del self._pending[:ready]
            return
        horizon = self._pending[0].earliest
        self._holding = [r for r in self._holding if (r.end_at or 0.0) > horizon]
        ends = [r.end_at or 0.0 for r in self._holding]
        heapq.heapify(ends)
        started = 0
        for run in self._pending:
            start = run.earliest
            while ends and ends[0] <= start:
                heapq.heappop(ends)
            if len(ends) >= self._agents:
                start = heapq.heappop(ends)  # the first agent to come free
            if start > now:
                break
            run.start_at = start
            heapq.heappush(ends, start + run.total)
            self._holding.append(run)
            started += 1
        del self._pending[:started]

    def _stop(self, run: EmulatedRun, now: float) -> None:
        if _status_at(run, now) == FINISHED:
            return  # stopping a finished run changes nothing
        run.stopped_at = now
        if run.start_at is None:
            self._pending.remove(run)

    def _visible(self, run: EmulatedRun, now: float) -> int:
        """How many of the run's item ids are listed now."""
        if run.stopped_at is not None:
            return len(run.item_ids)  # a stopped run lists every flow, cancelled or not
        if run.start_at is None:
            return 0
        since = now - run.start_at - run.schedule.items_lag_seconds
        if since < 0:
            return 0
        return bisect.bisect_right(run.offsets, since, 0, len(run.item_ids))

    def _item_state(self, run: EmulatedRun, index: int, now: float) -> tuple[str, float, float]:
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

    def _keyframe_entries(
        self, run: EmulatedRun, index: int, now: float
    ) -> list[tuple[float, str, str, str, str | None]]:
        outcome = run.outcomes[index]
        stopped = run.stopped_at
        start = None if run.start_at is None else run.start_at + run.offsets[index]
        if start is None or (stopped is not None and stopped <= start):
            assert stopped is not None
            return [(stopped, "Info", CANCELLED, "Run was stopped before the flow started", None)]
        entries: list[tuple[float, str, str, str, str | None]] = [
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


def like(value: str, pattern: str) -> bool:
    """SQL LIKE with `%` only, ignoring letter case (as the controller's database compares)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def _gone(run: EmulatedRun, delete: bool, now: float) -> bool:
    """A temporary schedule asked to be deleted is gone once its run has finished."""
    return delete and _status_at(run, now) == FINISHED


def _filter_start(name: str, count: int, now: datetime) -> float:
    """Epoch seconds from which a run-id filter keeps runs."""
    spans = {
        "LastMinute": timedelta(minutes=1),
        "LastHour": timedelta(hours=1),
        "LastDay": timedelta(days=1),
        "LastWeek": timedelta(weeks=1),
        "LastMonth": timedelta(days=30),
        "LastYear": timedelta(days=365),
        "LastDays": timedelta(days=max(count, 0)),
    }
    if name in spans:
        return (now - spans[name]).timestamp()
    start = now.replace(minute=0, second=0, microsecond=0)
    if name != "ThisHour":
        start = start.replace(hour=0)
    if name == "ThisWeek":
        start -= timedelta(days=start.weekday())
    elif name == "ThisMonth":
        start = start.replace(day=1)
    elif name == "ThisYear":
        start = start.replace(month=1, day=1)
    return start.timestamp()


def _is_final(run: EmulatedRun, index: int, now: float) -> bool:
    if run.stopped_at is not None:
        return True
    if run.start_at is None:
        return False
    return now >= run.start_at + run.offsets[index + 1]


def _check_variables(schedule: ScheduleSpec, query: Sequence[tuple[str, str]]) -> dict[str, str]:
    """runNow's query as variables; 400 for an undeclared, empty or repeated name."""
    declared = None if schedule.variables is None else {n.lower() for n in schedule.variables}
    variables: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in query:
        key = name.lower()
        if not name or key in seen or (declared is not None and key not in declared):
            raise ApiError(400, INVALID_VARIABLE)
        seen.add(key)
        variables[name] = value
    return variables
