"""The controller's bookkeeping: its schedules, the runs started from them, their run items.

Nothing runs in the background: every status is computed from the (injectable) clock when it
is asked for (see `timeline`), so a run of 2,000 flows costs a list of offsets and no thread,
and a fake clock makes tests deterministic. All state sits under one lock; callers get
immutable views.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone

from .agents import AgentQueue
from .errors import (
    ASSET_NOT_FOUND,
    INVALID_REQUEST,
    INVALID_VARIABLE,
    SCHEDULE_DISABLED,
    SCHEDULE_RUNNING,
    ApiError,
)
from .queries import (
    IS_DELETE,
    RUN_ID_FILTERS,
    check_variables,
    filter_start,
    like,
    run_id_filter,
    split_is_delete,
)
from .scenario import DEFAULT_AGENT, FlowSpec, Scenario, ScheduleSpec, default_agent_id
from .timeline import (
    CANCELLED,
    EXECUTING,
    FINISHED,
    PASSING_STATUSES,
    QUEUED,
    EmulatedRun,
    initializing_seconds,
    is_final,
    item_state,
    keyframe_entries,
    keyframe_views,
    status_at,
    summary,
    visible,
)
from .views import ItemView, KeyframeView, RunView

# Names this module held before the split, still importable from here.
__all__ = [
    "ASSET_NOT_FOUND",
    "CANCELLED",
    "EXECUTING",
    "FINISHED",
    "INVALID_REQUEST",
    "INVALID_VARIABLE",
    "IS_DELETE",
    "PASSING_STATUSES",
    "QUEUED",
    "RUN_ID_FILTERS",
    "SCHEDULE_DISABLED",
    "SCHEDULE_RUNNING",
    "ApiError",
    "Clock",
    "Controller",
    "EmulatedRun",
    "ItemView",
    "KeyframeView",
    "RunView",
    "initializing_seconds",
    "like",
]

Clock = Callable[[], float]


class Controller:
    """Runs of the scenario's schedules, computed from the clock on demand."""

    def __init__(self, scenario: Scenario, clock: Clock) -> None:
        self._clock = clock
        self._wall_offset = time.time() - clock()
        self._lock = threading.Lock()
        self._queue_seconds = scenario.controller.queue_seconds
        self._queue = AgentQueue(scenario.controller.agents)
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
        self._seq = 0
        #: How many runs each flow was in (by flow id): a ``fail_first`` flow's count.
        self._executions: dict[str, int] = {}

    def wall(self, at: float) -> float:
        return self._wall_offset + at

    # --- schedules -------------------------------------------------------------------------

    def schedules(self) -> list[ScheduleSpec]:
        """The scenario's schedules, then the temporary ones run_flow made (still kept)."""
        with self._lock:
            now = self._tick()
            kept = [s for s, run, delete in self._temporary.values() if not _gone(run, delete, now)]
        return [*self._scenario_schedules, *kept]

    def schedule(self, schedule_id: str) -> ScheduleSpec:
        key = schedule_id.lower()
        schedule = self._schedules.get(key)
        if schedule is None:
            raise ApiError(404, ASSET_NOT_FOUND)
        if key in self._temporary:
            with self._lock:
                now = self._tick()
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
        variables = check_variables(schedule, query)
        with self._lock:
            return self._start(schedule, variables).run_id

    def run_flow(self, flow_id: str, agent_id: str, query: Sequence[tuple[str, str]]) -> str:
        """Run one flow on one agent through a new temporary schedule, as the controller does."""
        flow = self._flows.get(flow_id.lower())
        agent = self._agent_titles.get(agent_id.lower())
        if flow is None or agent is None:
            raise ApiError(404, ASSET_NOT_FOUND)
        delete, query = split_is_delete(query)
        schedule = ScheduleSpec(
            title=flow.title,
            id=str(uuid.uuid4()),
            type="TemporaryScheduleInfo",
            description=f"Run of flow '{flow.title}' on agent '{agent}'",
            flows=(replace(flow, agent=agent),),
        )
        variables = check_variables(schedule, query)
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
            now = self._tick()
            for run in reversed(self._runs_by_schedule.get(schedule.id, [])):
                status = status_at(run, now)
                if status != FINISHED:
                    return status
        return FINISHED

    def schedule_of_run(self, run_id: str) -> ScheduleSpec:
        with self._lock:
            return self._run(run_id).schedule

    def schedule_run_ids(self, schedule_id: str, filter_by: str, count: int) -> list[str]:
        """Run ids of a schedule, newest first, by a documented filter and `count`."""
        schedule = self.schedule(schedule_id)
        name = run_id_filter(filter_by)
        with self._lock:
            runs = list(reversed(self._runs_by_schedule.get(schedule.id, [])))
        if name != "NoFilter":
            since = filter_start(name, count, datetime.now(timezone.utc))
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
            now = self._tick()
            return [
                item_id
                for run in self._runs.values()
                for index, item_id in enumerate(run.item_ids[: visible(run, now)])
                if run.schedule.flows[index].id == key
            ]

    # --- runs ------------------------------------------------------------------------------

    def status_of(self, run: EmulatedRun) -> str:
        with self._lock:
            return status_at(run, self._tick())

    def run_status(self, run_id: str) -> str:
        with self._lock:
            now = self._tick()
            return status_at(self._run(run_id), now)

    def run_item_ids(self, run_id: str) -> list[str]:
        with self._lock:
            now = self._tick()
            run = self._run(run_id)
            return run.item_ids[: visible(run, now)]

    def run_summary(self, run_id: str) -> RunView:
        with self._lock:
            now = self._tick()
            return summary(self._run(run_id), now)

    def stop_run(self, run_id: str) -> None:
        with self._lock:
            now = self._tick()
            self._stop(self._run(run_id), now)

    def stop_schedule(self, schedule_or_run_id: str) -> None:
        """Accepts a schedule id (stops all its runs) or a run id: docs and clients use both."""
        key = schedule_or_run_id.lower()
        with self._lock:
            now = self._tick()
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
            self._queue.clear()

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
            now = self._tick()
            run, index = self._visible_item(item_id, now)
            status, elapsed, started = item_state(run, index, now)
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
            now = self._tick()
            run, index = self._visible_item(item_id, now)
            if not run.schedule.flows[index].video or not is_final(run, index, now):
                raise ApiError(404, ASSET_NOT_FOUND)

    def keyframes(self, item_id: str) -> list[KeyframeView]:
        with self._lock:
            now = self._tick()
            run, index = self._visible_item(item_id, now)
            entries = keyframe_entries(run, index, now)
        return keyframe_views(run, index, entries, self.wall)

    # --- internals (caller holds the lock) -------------------------------------------------

    def _tick(self) -> float:
        """Read the clock and let agents take the runs whose turn has come by then."""
        now = self._clock()
        self._queue.advance(now)
        return now

    def _start(self, schedule: ScheduleSpec, variables: dict[str, str]) -> EmulatedRun:
        queue = self._queue_seconds if schedule.queue_seconds is None else schedule.queue_seconds
        now = self._tick()
        earlier = self._runs_by_schedule.setdefault(schedule.id, [])
        if schedule.reject_when_running and any(status_at(run, now) != FINISHED for run in earlier):
            raise ApiError(410, SCHEDULE_RUNNING)
        outcomes = []
        for flow in schedule.flows:  # counted once a run is made: a refused one runs nothing
            self._executions[flow.id] = self._executions.get(flow.id, 0) + 1
            outcomes.append(flow.flaky_outcome(self._executions[flow.id], variables))
        self._seq += 1
        run = EmulatedRun(self, self._seq, schedule, variables, outcomes, now, queue)
        self._runs[run.run_id] = run
        earlier.append(run)
        for index, item_id in enumerate(run.item_ids):
            self._items[item_id] = (run, index)
        self._queue.add(run)
        self._queue.advance(now)
        return run

    def _run(self, run_id: str) -> EmulatedRun:
        run = self._runs.get(run_id.lower())
        if run is None:
            raise ApiError(404, ASSET_NOT_FOUND)
        return run

    def _visible_item(self, item_id: str, now: float) -> tuple[EmulatedRun, int]:
        found = self._items.get(item_id.lower())
        if found is None or found[1] >= visible(found[0], now):
            raise ApiError(404, ASSET_NOT_FOUND)
        return found

    def _stop(self, run: EmulatedRun, now: float) -> None:
        if status_at(run, now) == FINISHED:
            return  # stopping a finished run changes nothing
        run.stopped_at = now
        if run.start_at is None:
            self._queue.withdraw(run)


def _gone(run: EmulatedRun, delete: bool, now: float) -> bool:
    """A temporary schedule asked to be deleted is gone once its run has finished."""
    return delete and status_at(run, now) == FINISHED
