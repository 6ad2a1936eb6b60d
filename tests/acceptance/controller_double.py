"""An independent Leapwork controller double for the acceptance tests.

Written only from the controller API notes (the vendor documentation and clients) (not from the plugin's emulator), so that the
acceptance suite checks the plugin against a second reading of the API evidence.

What it serves (case-insensitive paths, under ``/api/v4/`` and ``/api/v3/``):

- ``GET  /schedules``                          E1: array of schedules (PascalCase, ``$id``)
- ``GET  /schedules/{id}``                     E3
- ``PUT  /schedules/{id}/runNow?k=v&...``      E4: ``{"$id": "1", "RunId": ...}``
- ``GET  /schedules/{id}/status``              E6: status of the schedule's latest run
- ``PUT  /schedules/{id}/stop``                E11: schedule id or run id
- ``GET  /run/{id}``                           E12: run summary
- ``GET  /run/{id}/status``                    E5
- ``GET  /run/{id}/runItemIds``                E7
- ``PUT  /run/{id}/stop`` (GET accepted too)   E10
- ``GET  /runItems/{id}``                      E8
- ``GET  /runItems/{id}/keyframes[/{offset}]`` E9

Quirks the API evidence describes, reproduced on purpose:

- every request needs the ``AccessKey`` header, else 401 with body ``Incorrect AccessKey``;
  unknown ids answer 404 ``Asset not found``;
- the *first* ``/run/{id}/status`` and the *first* ``/run/{id}/runItemIds`` of every run answer
  404 ``Asset not found`` (the run "is not created yet" right after runNow);
- a run reports ``Finished`` while the id of its last run item only shows up in ``RunItemIds``
  about 0.5 s later (``ScheduleSpec.late_delay``; the "Late Reporter" schedule: 1.0 s);
- a ``TemporaryScheduleInfo`` schedule shares the title of a normal one (listed first);
- keyframes include ``Trace`` and empty-level ones, and ones with and without ``BlockTitle``;
- run items carry both ``FlowInfo.Status`` and a top-level ``Status``, ``AgentInfo.AgentTitle``
  (and ``EnvironmentTitle``), ``Elapsed``/``ElapsedMilliseconds``/``ElapsedSeconds``.

Everything the double receives is recorded (``runs``, ``run_now_calls``, ``stops``,
``requests``) so tests can assert on it after a pytest subprocess has finished.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ACCESS_KEY = "Acc3ssK3y-S3cret"  # 16 characters, like a real Leapwork key

# Schedule ids (the controller emits lower-case GUIDs).
SMOKE_ID = "6a1f3c2e-8b4d-4e5f-9a0b-1c2d3e4f5a6b"
SMOKE_TEMP_ID = "0f0e0d0c-0b0a-4909-8807-060504030201"
SMOKE_LOWER_TITLE_ID = "5e5e5e5e-1111-4222-8333-944444444444"
LOGIN_ID = "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e"
DISABLED_ID = "c0ffee00-1234-4abc-9def-00000000d15a"
ENDLESS_ID = "e0e0e0e0-aaaa-4bbb-8ccc-dddddddddddd"
EMPTY_ID = "00000000-eeee-4eee-8eee-000000000e00"
DUP_A_ID = "d0d0d0d0-0000-4000-8000-00000000000a"
DUP_B_ID = "d0d0d0d0-0000-4000-8000-00000000000b"

SMOKE_TITLE = "Smoke Suite"
LOGIN_TITLE = "Login Flow"
DISABLED_TITLE = "Nightly Disabled"
ENDLESS_TITLE = "Endless Soak"
EMPTY_TITLE = "Empty Schedule"
DUP_TITLE = "Duplicate Suite"
LATE_ID = "1a7e1a7e-0000-4000-8000-1a7e1a7e1a7e"
LATE_TITLE = "Late Reporter"
LATE_FLOW = "Verify Invoice Totals"

# Texts the tests look for (or must never see) in failure messages.
FAILING_FLOW = "Log In As Admin"
ERROR_BLOCK = "Click Login"
ERROR_MESSAGE = "Login button not found"
NO_BLOCK_MESSAGE = "Login page opened without a block"
TRACE_MESSAGE = "TRACE-ONLY internal detail 7f3a"
EMPTY_LEVEL_MESSAGE = "EMPTY-LEVEL internal detail 9c1b"
AGENT_TITLE = "Agent-Lab-01"

# Fixed keyframe timestamps (the Value string is what CI plugins print).
KF_DATE = "2024-03-05"


def _ts(seconds: float) -> str:
    whole = int(seconds)
    frac = round((seconds - whole) * 10_000_000)
    return f"{KF_DATE}T10:15:{30 + whole:02d}.{frac:07d}+00:00"


def _elapsed_str(seconds: float) -> str:
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    whole = int(secs)
    frac = round((secs - whole) * 10_000_000)
    if frac >= 10_000_000:
        whole, frac = whole + 1, frac - 10_000_000
    return f"{int(hours):02d}:{int(minutes):02d}:{whole:02d}.{frac:07d}"


@dataclass
class KeyframePlan:
    level: str | None  # None: the Level key is absent
    message: str
    block: str | None = None  # None: no BlockTitle key
    at: float = 0.0  # seconds after the run started (for the timestamp)


@dataclass
class FlowPlan:
    title: str
    final_status: str
    start: float
    end: float  # float("inf"): never ends (unless stopped)
    keyframes: list[KeyframePlan] = field(default_factory=list)
    flow_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class ScheduleSpec:
    id: str
    title: str
    enabled: bool = True
    type: str = "ScheduleInfo"
    # variables (decoded, str -> str) -> flows of one run
    plan: Callable[[dict[str, str]], list[FlowPlan]] = lambda variables: []
    finishes: bool = True
    late_delay: float = 0.5  # the last run item is listed this long after "Finished"


@dataclass
class RunItem:
    id: str
    plan: FlowPlan
    late: bool = False  # listed in RunItemIds only schedule.late_delay after the run finished


@dataclass
class Run:
    id: str
    schedule: ScheduleSpec
    variables: dict[str, str]
    raw_query: str
    created: float
    items: list[RunItem]
    finish_at: float  # seconds after created; inf for never
    stopped_at: float | None = None  # seconds after created
    status_polls: int = 0
    item_id_polls: int = 0

    def t(self) -> float:
        return time.monotonic() - self.created


QUEUED_FOR = 0.15
TRANSIENT = ("Initializing", "Running")


def _passing_plan(variables: dict[str, str]) -> list[FlowPlan]:
    return [
        FlowPlan(
            "Open Application",
            "Passed",
            0.2,
            0.6,
            [
                KeyframePlan("Info", "Flow started", None, 0.2),
                KeyframePlan("Trace", TRACE_MESSAGE, "Start", 0.25),
                KeyframePlan("Info", "Application opened", "Start application", 0.5),
            ],
        ),
        FlowPlan(
            "Check Title",
            "Passed",
            0.4,
            0.9,
            [KeyframePlan("Info", "Title is as expected", "Verify title", 0.8)],
        ),
    ]


def _failing_plan(variables: dict[str, str]) -> list[FlowPlan]:
    return [
        FlowPlan("Temporary Flow", "Failed", 0.2, 0.6, [KeyframePlan("Error", "temp", "X", 0.5)])
    ]


def _login_plan(variables: dict[str, str]) -> list[FlowPlan]:
    url = variables.get("URL", "")
    broken = "broken" in url
    login_keyframes = [
        KeyframePlan("Info", "Scheduled run executed from schedule 'Login Flow'", None, 0.4),
        KeyframePlan("Trace", TRACE_MESSAGE, ERROR_BLOCK, 0.45),
        KeyframePlan("", EMPTY_LEVEL_MESSAGE, ERROR_BLOCK, 0.5),
        KeyframePlan(None, EMPTY_LEVEL_MESSAGE + " (no Level key)", ERROR_BLOCK, 0.5),
        KeyframePlan("Info", NO_BLOCK_MESSAGE, None, 0.55),
    ]
    if broken:
        login_keyframes.append(KeyframePlan("Error", ERROR_MESSAGE, ERROR_BLOCK, 0.8))
    else:
        login_keyframes.append(KeyframePlan("Info", "Logged in", ERROR_BLOCK, 0.8))
    return [
        FlowPlan(
            "Open Login Page",
            "Passed",
            0.2,
            0.5,
            [KeyframePlan("Info", f"Navigated to {url}", "Open browser", 0.3)],
        ),
        # The deciding flow is the *last* one, whose id shows up only after "Finished".
        FlowPlan(FAILING_FLOW, "Failed" if broken else "Passed", 0.35, 0.9, login_keyframes),
    ]


def _late_plan(variables: dict[str, str]) -> list[FlowPlan]:
    return [
        FlowPlan("Create Invoice", "Passed", 0.2, 0.5),
        FlowPlan(
            LATE_FLOW,
            "Failed",
            0.3,
            0.9,
            [KeyframePlan("Error", "Total was 99.00, expected 100.00", "Compare totals", 0.8)],
        ),
    ]


def _endless_plan(variables: dict[str, str]) -> list[FlowPlan]:
    return [
        FlowPlan(
            "Soak Forever",
            "Passed",
            0.2,
            float("inf"),
            [KeyframePlan("Info", "still soaking", "Loop", 0.3)],
        )
    ]


def default_schedules() -> list[ScheduleSpec]:
    return [
        # Listed first on purpose: a naive "first title match" client picks it.
        ScheduleSpec(SMOKE_TEMP_ID, SMOKE_TITLE, type="TemporaryScheduleInfo", plan=_failing_plan),
        ScheduleSpec(SMOKE_ID, SMOKE_TITLE, plan=_passing_plan),
        # Same title in another letter case: "title (exact)" must not match it.
        ScheduleSpec(SMOKE_LOWER_TITLE_ID, SMOKE_TITLE.lower(), plan=_failing_plan),
        ScheduleSpec(LOGIN_ID, LOGIN_TITLE, plan=_login_plan),
        ScheduleSpec(DISABLED_ID, DISABLED_TITLE, enabled=False, plan=_passing_plan),
        ScheduleSpec(ENDLESS_ID, ENDLESS_TITLE, plan=_endless_plan, finishes=False),
        ScheduleSpec(EMPTY_ID, EMPTY_TITLE, plan=lambda variables: []),
        ScheduleSpec(LATE_ID, LATE_TITLE, plan=_late_plan, late_delay=1.0),
        ScheduleSpec(DUP_A_ID, DUP_TITLE, plan=_passing_plan),
        ScheduleSpec(DUP_B_ID, DUP_TITLE, plan=_passing_plan),
    ]


class _Refs:
    """Hands out Json.NET-style ``$id`` reference strings for one response."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return str(self.n)


def _dt(refs: _Refs, value: str) -> dict[str, Any]:
    return {
        "$id": refs(),
        "Value": value,
        "LocalDateTime": value[:27],
        "UtcDateTime": value[:27],
        "Ticks": 638450000000000000,
    }


class ControllerDouble:
    """State and HTTP server of the double. Use as a context manager or start()/stop()."""

    def __init__(self, access_key: str = ACCESS_KEY, schedules: list[ScheduleSpec] | None = None):
        self.access_key = access_key
        self.schedules = schedules if schedules is not None else default_schedules()
        self.lock = threading.RLock()
        self.runs: dict[str, Run] = {}
        self.items: dict[str, tuple[Run, RunItem]] = {}
        self.run_now_calls: list[dict[str, Any]] = []  # every runNow received, even rejected
        self.stops: list[str] = []  # run ids (or schedule ids) a stop was received for
        self.requests: list[tuple[str, str, int]] = []  # (method, path+query, status)
        self.timeline: list[tuple[float, str, str, int]] = []  # (monotonic time, ...) for diagnosis
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ControllerDouble:
        double = self

        class Handler(_Handler):
            pass

        Handler.double = double
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ControllerDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The controller URL a user would give (no API path)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v4"

    # -- helpers for tests ---------------------------------------------------------------
    def runs_of(self, schedule_id: str) -> list[Run]:
        with self.lock:
            return [r for r in self.runs.values() if r.schedule.id == schedule_id]

    def schedule(self, key: str) -> ScheduleSpec | None:
        for s in self.schedules:
            if s.id == key.lower():
                return s
        return None

    # -- state machine -------------------------------------------------------------------
    def create_run(self, schedule: ScheduleSpec, variables: dict[str, str], raw_query: str) -> Run:
        plans = schedule.plan(variables)
        run_id = str(uuid.uuid4())
        items = [RunItem(str(uuid.uuid4()), p) for p in plans]
        if items and schedule.finishes:
            items[-1].late = True
        if not schedule.finishes:
            finish_at = float("inf")
        elif plans:
            finish_at = max(p.end for p in plans) + 0.1
        else:
            finish_at = 1.0
        run = Run(run_id, schedule, variables, raw_query, time.monotonic(), items, finish_at)
        with self.lock:
            self.runs[run_id] = run
            for item in items:
                self.items[item.id] = (run, item)
        return run

    @staticmethod
    def run_status(run: Run) -> str:
        t = run.t()
        if run.stopped_at is not None and t >= run.stopped_at + 0.2:
            return "Finished"
        if t < QUEUED_FOR:
            return "Queued"
        if t < run.finish_at:
            return "Executing"
        return "Finished"

    @staticmethod
    def item_status(run: Run, item: RunItem) -> str:
        t = run.t()
        p = item.plan
        if run.stopped_at is not None and p.end > run.stopped_at:
            return "Cancelled"
        if t < p.start + (min(p.end, p.start + 1) - p.start) / 3:
            return "Initializing"
        if t < p.end:
            return "Running"
        return p.final_status

    @staticmethod
    def item_listed(run: Run, item: RunItem) -> bool:
        t = run.t()
        if item.late:
            return t >= run.finish_at + run.schedule.late_delay
        return t >= item.plan.start

    def item_elapsed(self, run: Run, item: RunItem) -> float:
        t = run.t()
        end = item.plan.end
        if run.stopped_at is not None:
            end = min(end, run.stopped_at)
        return max(0.0, min(t, end) - item.plan.start)


class _Handler(BaseHTTPRequestHandler):
    double: ControllerDouble
    protocol_version = "HTTP/1.1"
    server_version = "LeapworkControllerDouble/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing ------------------------------------------------------------------------
    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        else:
            data = str(body).encode("utf-8")
            if content_type == "application/json":
                content_type = "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with self.double.lock:
            self.double.requests.append((self.command, self.path, status))
            self.double.timeline.append((time.monotonic(), self.command, self.path, status))

    def _not_found(self) -> None:
        self._send(404, "Asset not found", "text/plain")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        split = urlsplit(self.path)
        path = unquote(split.path).rstrip("/")
        lower = path.lower()
        prefix = None
        for p in ("/api/v4", "/api/v3"):
            if lower.startswith(p + "/"):
                prefix = p
                break
        if prefix is None:
            self._not_found()
            return
        if self.headers.get("AccessKey") != self.double.access_key:
            self._send(401, "Incorrect AccessKey", "text/plain")
            return
        parts = path[len(prefix) + 1 :].split("/")
        low = [p.lower() for p in parts]
        try:
            self._route(method, parts, low, split.query)
        except Exception as exc:
            self._send(500, f"double error: {exc!r}", "text/plain")

    # -- routes --------------------------------------------------------------------------
    def _route(self, method: str, parts: list[str], low: list[str], query: str) -> None:
        d = self.double
        n = len(low)
        if low[0] == "schedules":
            if n == 1 and method == "GET":
                return self._schedules()
            sched = d.schedule(parts[1]) if n >= 2 else None
            if n == 2 and method == "GET":
                return (
                    self._send(200, self._schedule_json(sched, _Refs()))
                    if sched
                    else self._not_found()
                )
            if n == 3 and low[2] == "runnow" and method == "PUT":
                return self._run_now(parts[1], sched, query)
            if n == 3 and low[2] == "status" and method == "GET":
                if sched is None:
                    return self._not_found()
                runs = d.runs_of(sched.id)
                status = d.run_status(runs[-1]) if runs else "Finished"
                return self._send(200, {"$id": "1", "Status": status})
            if n == 3 and low[2] == "stop" and method in ("PUT", "GET"):
                return self._stop(parts[1])
        elif low[0] == "run" and n >= 2:
            with d.lock:
                run = d.runs.get(parts[1].lower())
            if run is None:
                return self._not_found()
            if n == 2 and method == "GET":
                return self._run_summary(run)
            if n == 3 and low[2] == "status" and method == "GET":
                with d.lock:
                    run.status_polls += 1
                    first = run.status_polls == 1
                if first:
                    return self._not_found()
                return self._send(200, {"$id": "1", "Status": d.run_status(run)})
            if n == 3 and low[2] == "runitemids" and method == "GET":
                with d.lock:
                    run.item_id_polls += 1
                    first = run.item_id_polls == 1
                if first:
                    return self._not_found()
                ids = [i.id for i in run.items if d.item_listed(run, i)]
                return self._send(200, {"$id": "1", "RunItemIds": ids})
            if n == 3 and low[2] == "stop" and method in ("PUT", "GET"):
                return self._stop(run.id)
        elif low[0] == "runitems" and n >= 2:
            with d.lock:
                found = d.items.get(parts[1].lower())
            if found is None:
                return self._not_found()
            run, item = found
            if n == 2 and method == "GET":
                return self._send(200, self._item_json(run, item))
            if n in (3, 4) and low[2] in ("keyframes", "keyframe") and method == "GET":
                offset = int(parts[3]) if n == 4 and parts[3].isdigit() else 0
                return self._send(200, self._keyframes_json(run, item)[offset:])
        self._send(
            405 if low[0] in ("schedules", "run", "runitems") else 404,
            "Asset not found",
            "text/plain",
        )

    def _schedule_json(self, s: ScheduleSpec, refs: _Refs) -> dict[str, Any]:
        return {
            "$id": refs(),
            "IsEnabled": s.enabled,
            "IsScheduled": False,
            "DateCreation": _dt(refs, "2024-01-02T09:00:00+00:00"),
            "DateModify": _dt(refs, "2024-01-03T09:00:00+00:00"),
            "Title": s.title,
            "Type": s.type,
            "Id": s.id,
        }

    def _schedules(self) -> None:
        refs = _Refs()
        self._send(200, [self._schedule_json(s, refs) for s in self.double.schedules])

    def _run_now(self, raw_id: str, sched: ScheduleSpec | None, query: str) -> None:
        d = self.double
        variables = dict(parse_qsl(query, keep_blank_values=True))
        record: dict[str, Any] = {"schedule": raw_id, "query": query, "variables": variables}
        with d.lock:
            d.run_now_calls.append(record)
        if sched is None:
            return self._not_found()
        if len(parse_qsl(query, keep_blank_values=True)) != len(variables):
            return self._send(400, "Variable with such name is already in request", "text/plain")
        run = d.create_run(sched, variables, query)
        record["run_id"] = run.id
        self._send(200, {"$id": "1", "RunId": run.id})

    def _stop(self, any_id: str) -> None:
        d = self.double
        key = any_id.lower()
        with d.lock:
            d.stops.append(key)
            targets = (
                [d.runs[key]]
                if key in d.runs
                else [r for r in d.runs.values() if r.schedule.id == key]
            )
            if not targets:
                return self._not_found()
            for run in targets:
                if run.stopped_at is None and d.run_status(run) != "Finished":
                    run.stopped_at = run.t()
        self._send(200, {"$id": "1", "OperationCompleted": True})

    def _run_summary(self, run: Run) -> None:
        d = self.double
        refs = _Refs()
        status = d.run_status(run)
        failed = sum(
            1 for i in run.items if d.item_status(run, i) not in (*TRANSIENT, "Passed", "Done")
        )
        elapsed = min(run.t(), run.finish_at)
        self._send(
            200,
            {
                "$id": refs(),
                "RunId": run.id,
                "Schedule": {
                    "$id": refs(),
                    "ScheduleId": run.schedule.id,
                    "ScheduleTitle": run.schedule.title,
                },
                "Status": status,
                "Failed": failed,
                "Total": len(run.items),
                "ExecutionTotalTime": _elapsed_str(elapsed),
                "ExecutionMilliseconds": round(elapsed * 1000, 4),
            },
        )

    def _item_json(self, run: Run, item: RunItem) -> dict[str, Any]:
        d = self.double
        refs = _Refs()
        status = d.item_status(run, item)
        elapsed = d.item_elapsed(run, item)
        return {
            "$id": refs(),
            "RunItemId": item.id,
            "RunId": run.id,
            "AutomationRunId": run.id,
            "FlowInfo": {
                "$id": refs(),
                "FlowId": item.plan.flow_id,
                "FlowTitle": item.plan.title,
                "Status": status,
            },
            "Status": status,
            "AgentInfo": {
                "$id": refs(),
                "AgentId": "7dbf7cb6-d5df-4f46-8e16-9bd31238c00a",
                "AgentTitle": AGENT_TITLE,
                "EnvironmentTitle": AGENT_TITLE,
                "ConnectionType": "RemoteAgent",
            },
            "Elapsed": _elapsed_str(elapsed),
            "ElapsedMilliseconds": round(elapsed * 1000, 4),
            "ElapsedSeconds": elapsed,
            "CreatedAt": "2024-03-05T10:15:30.0000000+00:00",
            "RunType": "Manual",
        }

    def _keyframes_json(self, run: Run, item: RunItem) -> list[dict[str, Any]]:
        refs = _Refs()
        out = []
        t = run.t()
        for kf in item.plan.keyframes:
            if kf.at > t:
                continue
            obj: dict[str, Any] = {
                "$id": refs(),
                "AutomationRunItemId": item.id,
                "Timestamp": _dt(refs, _ts(kf.at)),
                "Status": "Running",
                "LogMessage": kf.message,
                "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, item.id + kf.message)),
            }
            if kf.level is not None:
                obj["Level"] = kf.level
            if kf.block is not None:
                obj["BlockTitle"] = kf.block
            out.append(obj)
        return out


def keyframe_timestamp(at: float) -> str:
    """The ``Timestamp.Value`` the double emits for a keyframe ``at`` seconds into a run."""
    return _ts(at)
