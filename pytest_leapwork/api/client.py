"""LeapworkClient: the controller's REST API v4 as Python calls.

Each endpoint is a small method that names its path, its label in messages and the parser of
its answer; every request passes the one gate in ``transport.py`` (the bound on how long a
request may take, retries, caps, the key). HTTP errors become typed exceptions that say what
the controller meant (``errors.py``, ``failures.py``). No pytest import here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from .download import VIDEO_ACCEPT, save_video
from .errors import (
    NOT_RETRIED,
    AnswerTooLarge,
    ControllerHTTPError,
    ControllerUnreachable,
    InvalidResponse,
    LeapworkError,
    VariableRejected,
    refused_without_variables,
)
from .limits import MAX_ANSWER_BYTES, cut, is_guid
from .models import (
    FlowResult,
    Keyframe,
    PlacedSchedule,
    RunSummary,
    Schedule,
)
from .parsing import (
    parse_declared_variables,
    parse_keyframes,
    parse_operation_completed,
    parse_run_id,
    parse_run_item,
    parse_run_item_ids,
    parse_run_summary,
    parse_schedule_hierarchy,
    parse_schedule_run_ids,
    parse_schedules,
    parse_status,
)
from .retry import MAX_RETRY_AFTER, RETRY_STATUSES
from .retry import CappedRetry as _CappedRetry
from .secret import Secret
from .transport import API_PREFIX, AccessKeyUnusable, Transport

__all__ = [
    "API_PREFIX",
    "BACKOFF_FACTOR",
    "BACKOFF_MAX",
    "MAX_ANSWER_BYTES",
    "MAX_RETRY_AFTER",
    "NOT_RETRIED",
    "OWN_THREADS",
    "RETRY_STATUSES",
    "AccessKeyUnusable",
    "LeapworkClient",
    "_CappedRetry",
    "encode_variables",
]

#: Waits between attempts: 0 s, then BACKOFF_FACTOR * 2 ** n, at most BACKOFF_MAX
#: (0, 1, 2, 4, 8, 8, ... s). Read when a client is made, so tests can shorten them.
BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 8.0

#: Name prefix of the package's background threads (the runner's poller and fetchers).
OWN_THREADS = "leapwork-"

T = TypeVar("T")


def encode_variables(variables: Mapping[str, str]) -> str:
    """The runNow query string: every name and value percent-encoded (``:`` and ``&`` too)."""
    return urlencode(list(variables.items()), quote_via=quote, safe="")


class LeapworkClient:
    """Calls to one controller. Thread-safe for concurrent requests.

    ``bound``: seconds any one request may take at most, retries and reading included
    (``transport.REQUEST_BOUND_SECONDS`` by default).
    """

    def __init__(
        self,
        base_url: str,
        access_key: Secret | str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retries: int = 3,
        verify: bool | str = True,
        pool_size: int = 16,
        bound: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = access_key if isinstance(access_key, Secret) else Secret(access_key)
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        #: The gate every request passes (read this module's knobs now, so tests can set them).
        self.transport = Transport(
            self.base_url,
            self._key,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            verify=verify,
            pool_size=pool_size,
            backoff_factor=BACKOFF_FACTOR,
            backoff_max=BACKOFF_MAX,
            max_answer_bytes=MAX_ANSWER_BYTES,
            bound=bound,
        )
        self.session = self.transport.session

    def __repr__(self) -> str:
        return f"LeapworkClient({self.base_url!r}, access_key={self._key!r})"

    @property
    def bound(self) -> float:
        """Seconds any one request may take at most."""
        return self.transport.bound

    def close(self) -> None:
        self.transport.close()

    # -- the endpoints --------------------------------------------------------------------

    def list_schedules(self, within: float | None = None) -> list[Schedule]:
        """Every schedule; ``within``: seconds to wait at most, retries included."""
        return self._get("/schedules", "GET /schedules", parse_schedules, within=within)

    def schedule_hierarchy(self, within: float | None = None) -> list[PlacedSchedule]:
        """Every schedule with the folders it sits in (one request for the whole tree)."""
        endpoint = "GET /schedules/hierarchy"
        return self._get("/schedules/hierarchy", endpoint, parse_schedule_hierarchy, within=within)

    def run_now(self, schedule_id: str, variables: Mapping[str, str]) -> str:
        """Start a run; returns its RunId. Never repeated once the request was sent."""
        path = f"/schedules/{_segment(schedule_id, 'schedule id')}/runNow"
        return self._start(
            path,
            "PUT /schedules/{id}/runNow",
            variables,
            lambda exc: self._explain_rejected_variables(
                str(exc), exc.body, schedule_id, variables
            ),
        )

    def declared_variables(self, schedule_id: str) -> list[str] | None:
        """The variables a schedule declares, where ``GET /schedules/{id}`` lists them."""
        path = f"/schedules/{_segment(schedule_id, 'schedule id')}"
        return self._get(path, "GET /schedules/{id}", parse_declared_variables, within=15)

    def schedule_run_ids(self, schedule_id: str, count: int = 10) -> list[str]:
        """``GET /schedules/{id}/runIds/LastHour``: its latest runs' ids, newest first."""
        path = f"/schedules/{_segment(schedule_id, 'schedule id')}/runIds/LastHour?count={count}"
        return self._get(path, "GET /schedules/{id}/runIds", parse_schedule_run_ids)

    def schedule_status(self, schedule_id: str) -> str:
        """``GET /schedules/{id}/status``: ``Finished`` once no run of the schedule is left."""
        path = f"/schedules/{_segment(schedule_id, 'schedule id')}/status"
        return self._get(path, "GET /schedules/{id}/status", parse_status)

    def run_flow(self, flow_id: str, agent_id: str, variables: Mapping[str, str]) -> str:
        """Run one flow on one agent (a temporary schedule); its RunId. Never repeated."""
        path = f"/flows/{_segment(flow_id, 'flow id')}/agent/{_segment(agent_id, 'agent id')}"
        return self._start(
            path,
            "PUT /flows/{id}/agent/{id}",
            variables,
            lambda exc: f"{exc}; variables sent: {', '.join(variables)}",
        )

    def _start(
        self,
        path: str,
        endpoint: str,
        variables: Mapping[str, str],
        explain_refusal: Callable[[VariableRejected], str],
    ) -> str:
        """A PUT that starts a run (the variables as query parameters); its RunId. Never
        repeated once sent. A 400 says what was sent: ``explain_refusal`` where variables were,
        that none were otherwise."""
        if variables:
            path += "?" + encode_variables(variables)
        try:
            return self.transport.call("PUT", path, endpoint, parse_run_id, once=True)
        except VariableRejected as exc:
            if not variables:
                raise refused_without_variables(exc) from None
            exc.args = (explain_refusal(exc),)
            raise exc.with_traceback(None) from None

    def run_status(self, run_id: str, within: float | None = None) -> str:
        path = f"/run/{_segment(run_id, 'RunId')}/status"
        return self._get(path, "GET /run/{id}/status", parse_status, within=within)

    def run_summary(self, run_id: str) -> RunSummary:
        """``GET /run/{id}``: status plus how many items the run has and how many failed."""
        path = f"/run/{_segment(run_id, 'RunId')}"
        return self._get(path, "GET /run/{id}", parse_run_summary)

    def run_item_ids(self, run_id: str) -> list[str]:
        path = f"/run/{_segment(run_id, 'RunId')}/runItemIds"
        return self._get(path, "GET /run/{id}/runItemIds", parse_run_item_ids)

    def run_item(self, run_item_id: str) -> FlowResult:
        path = f"/runItems/{_segment(run_item_id, 'run item id')}"
        item = self._get(path, "GET /runItems/{id}", parse_run_item)
        item.run_item_id = item.run_item_id or run_item_id
        return item

    def keyframes(self, run_item_id: str) -> list[Keyframe]:
        """A flow's log; a note in its place where the log is too large to read."""
        path = f"/runItems/{_segment(run_item_id, 'run item id')}/keyframes"
        try:
            return self._get(path, "GET /runItems/{id}/keyframes", parse_keyframes)
        except AnswerTooLarge as exc:
            return [Keyframe(timestamp="", level="Error", block_title=None, message=str(exc))]

    def download_video(
        self, run_item_id: str, stem: str, max_bytes: int, within: float | None = None
    ) -> str:
        """Save a flow's video as ``stem`` plus the extension its type gives; the path.

        Streamed to a temporary file, so a download cut short, out of time or over
        ``max_bytes`` leaves nothing behind (``ArtifactTooLarge`` for the latter). Bounded
        like every request; ``within``: seconds to wait at most, if less.
        """
        path = f"/runItems/{_segment(run_item_id, 'run item id')}/video"
        endpoint = "GET /runItems/{id}/video"
        receive = partial(save_video, stem, max_bytes)
        return self.transport.send(
            "GET", path, endpoint, receive, within=within, accept=VIDEO_ACCEPT
        )

    def stop_run(self, run_id: str, attempts: int = 3) -> bool:
        """Ask the controller to stop a run; True when it says it did.

        Stopping is idempotent, so unlike runNow it is repeated on any transient trouble,
        all the attempts within the bound of one request; the error after the last attempt
        says how many there were.
        """
        endpoint = "PUT /run/{id}/stop"
        path = f"/run/{_segment(run_id, 'RunId')}/stop"
        ends = time.monotonic() + self.bound
        within: float | None = None  # the first attempt has the whole bound
        for attempt in range(1, attempts + 1):
            try:
                return self.transport.call(
                    "PUT", path, endpoint, parse_operation_completed, within=within
                )
            except (ControllerUnreachable, ControllerHTTPError) as exc:
                transient = not isinstance(exc, ControllerHTTPError) or exc.status in RETRY_STATUSES
                wait = min(BACKOFF_FACTOR * 2 ** (attempt - 1), BACKOFF_MAX)
                within = ends - time.monotonic() - wait
                if transient and attempt < attempts and within > 0:
                    time.sleep(wait)
                    continue
                if attempt > 1:
                    exc.args = (f"{exc} (stop tried {attempt} times)",)
                raise
        return False  # pragma: no cover - the loop returns or raises

    def _get(
        self,
        path: str,
        endpoint: str,
        parse: Callable[[Any], T],
        within: float | None = None,
    ) -> T:
        return self.transport.call("GET", path, endpoint, parse, within=within)

    def _explain_rejected_variables(
        self, message: str, body: str, schedule_id: str, variables: Mapping[str, str]
    ) -> str:
        """A runNow 400 to variables sent: those sent, the one the controller names (if it
        does) and those the schedule declares (where the controller lists them); where
        neither says which, that the controller refused one of those sent. Never probed by
        sending runNow again: a second runNow could start a run."""
        names = list(variables)
        text = f"{message}; variables sent: {', '.join(names)}"
        # The controller's stock answer names no variable; its words ("name", "request")
        # must not pass for one.
        own = re.sub(re.escape(STOCK_VARIABLE_REFUSAL), "", body, flags=re.I)
        named = [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", own, re.I)]
        if named:
            text += f"; the controller names {', '.join(repr(n) for n in named)}"
        try:
            declared = self.declared_variables(schedule_id)
        except LeapworkError:
            declared = None
        undeclared: list[str] = []
        if declared is not None:
            known = {d.lower() for d in declared}
            undeclared = [n for n in names if n.lower() not in known]
            if undeclared:
                text += f"; not declared: {', '.join(repr(n) for n in undeclared)}"
            text += f"; the schedule declares {', '.join(declared) or 'no variables'}"
        if not named and not undeclared:
            text += "; the controller refused one of them and does not say which"
        return text


#: What a controller answers a runNow with a variable its schedule does not declare (HTTP 400).
STOCK_VARIABLE_REFUSAL = "Variable name is invalid or variable with such name is already in request"


def _segment(value: str, what: str) -> str:
    """An id taken from an answer, checked and quoted before it enters a request path.

    A controller or proxy that answers ``../schedules/{id}/runNow?x=`` as a RunId must not
    turn a stop into a second runNow.
    """
    if not is_guid(value):
        raise InvalidResponse(
            f"the controller gave {what} {cut(value, 80)!r}, which is not a GUID; it is not "
            "put into a request"
        )
    return quote(value, safe="")
