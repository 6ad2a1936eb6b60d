"""The plan xdist workers share: an event log in a directory the xdist controller makes.

``filelock`` guards it, on every platform. Each worker appends its events (``plan.log``, one
JSON list a line) and reads the others' incrementally under the lock; results of ended runs
are files of their own, for a worker that takes a run another one followed to its end.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..api.models import LeapworkRun, Schedule
from ..runs.plan_state import PlanState, RunRecord
from .ledger import RunLedger

if TYPE_CHECKING:
    from ..runs.runner import RunHandle, RunRequest


class PlanLog:
    """The event log in the shared directory, read incrementally under the file lock."""

    #: Other workers' tests hold places in the window: a test's own turn waits for room.
    shared = True

    def __init__(self, directory: str) -> None:
        from filelock import FileLock  # only sessions under xdist with marked tests need it

        self.directory = directory
        self.path = os.path.join(directory, "plan.log")
        self._file_lock = FileLock(os.path.join(directory, "plan.lock"))
        self._thread_lock = threading.RLock()
        self._offset = 0
        self.state = PlanState()

    @contextmanager
    def locked(self) -> Iterator[PlanState]:
        """The state, up to date and owned by this thread until the block ends."""
        with self._thread_lock, self._file_lock:
            self._read_new()
            yield self.state

    def append(self, *event: Any) -> None:
        """Add an event (inside ``locked``)."""
        line = (json.dumps(_encode(list(event))) + "\n").encode()
        with open(self.path, "ab") as file:
            file.write(line)
        self._offset += len(line)
        self.state.apply(list(event))

    def _read_new(self) -> None:
        try:
            with open(self.path, "rb") as file:
                file.seek(self._offset)
                data = file.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        for line in data.splitlines():
            if line:
                self.state.apply(_decode(json.loads(line)))

    def result_path(self, run_id: str) -> str:
        # A RunId is the controller's word: only letters, digits and dashes reach a file name.
        return os.path.join(self.directory, f"run-{re.sub(r'[^A-Za-z0-9-]', '_', run_id)}.json")

    def save_result(self, handle: RunHandle) -> None:
        data: dict[str, Any] = (
            {"run": handle.result.to_dict()}
            if handle.result is not None
            else {"error": str(handle.error)}
        )
        path = self.result_path(handle.run_id)
        with open(path + ".tmp", "w", encoding="utf-8") as file:
            json.dump(data, file)
        os.replace(path + ".tmp", path)

    def load_result(self, run_id: str) -> LeapworkRun | None:
        try:
            with open(self.result_path(run_id), encoding="utf-8") as file:
                data = json.load(file)
        except (OSError, ValueError):
            return None
        return LeapworkRun.from_dict(data["run"]) if "run" in data else None

    def adopted(self, handle: RunHandle, by: str) -> None:
        """Should the triggering worker crash now, the run is this worker's to stop, not its."""
        RunLedger(os.path.join(self.directory, f"{by}.runs")).ended(handle)


def _encode(event: list[Any]) -> list[Any]:
    if event[0] != "run":
        return event
    record: RunRecord = event[2]
    data = {
        "run_id": record.run_id,
        "schedule": asdict(record.schedule),
        "at": record.at,
        "request": _request_data(record.request),
        "by": record.by,
    }
    return [*event[:2], data]


def _decode(event: list[Any]) -> list[Any]:
    if event[0] != "run":
        return event
    data = event[2]
    record = RunRecord(
        data["run_id"],
        Schedule(**data["schedule"]),
        data["at"],
        _request_of(data["request"]),
        data["by"],
    )
    return [*event[:2], record]


def _request_data(request: RunRequest) -> dict[str, Any]:
    return {
        "schedule": request.schedule,
        "variables": dict(request.variables),
        "timeout": request.timeout,
        "label": request.label,
        # One flow on one agent (leapwork_flow): the same run only with the same target.
        "flow": asdict(request.flow) if request.flow is not None else None,
    }


def _request_of(data: dict[str, Any]) -> RunRequest:
    from ..runs.runner import RunRequest
    from ..runs.targets import FlowTarget

    data = dict(data)
    flow = data.pop("flow", None)
    return RunRequest(**data, flow=FlowTarget(**flow) if flow else None)
