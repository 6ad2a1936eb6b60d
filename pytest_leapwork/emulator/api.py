"""The controller API as a function: request in, response out (no sockets here).

Order of checks: a browser's CORS preflight (answered without a key), faults (they model
failures in front of the controller), then the AccessKey (401 ``Incorrect AccessKey``), then
routing (404), method (405), the endpoint. Every answer carries the CORS headers.
"""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources

from . import render
from .cors import CorsPolicy
from .errors import INVALID_REQUEST, ApiError
from .faults import Fault, FaultInjector, format_retry_after, huge_body
from .queries import like
from .routes import ARRAY_ENDPOINTS, Route, match_route
from .scenario import Scenario
from .state import Clock, Controller

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
VIDEO_CONTENT_TYPE = "video/webm"
INCORRECT_KEY = "Incorrect AccessKey"
# ASP.NET Web API's own wording for a request that matches no route or no method.
NO_ROUTE = "No HTTP resource was found that matches the request URI '{uri}'."
BAD_METHOD = "The requested resource does not support http method '{method}'."
PREFLIGHT_REFUSED = "The origin '{origin}' is not allowed"
# The clip every run item's video is: one second of 64x48 VP8 in WebM (525 bytes).
VIDEO = resources.files(__package__).joinpath("video.webm").read_bytes()
# What a body cut short looks like; not carried out, as the client could not know the result.
MALFORMED_OBJECT = b'{"$id":"1","'
MALFORMED_ARRAY = b'[{"$id":"1","Id":"'
WRONG_OBJECT = b'[{"$id":"1","Message":"An error has occurred."}]'
WRONG_ARRAY = b'{"$id":"1","Message":"An error has occurred."}'


@dataclass(frozen=True)
class Request:
    """What the API needs of an HTTP request; header names in lower case."""

    method: str
    path: str  # without the query
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def uri(self) -> str:
        """The request URI as ASP.NET quotes it in a 404 (scheme and host as the client sent)."""
        host = self.headers.get("host")
        return f"http://{host}{self.path}" if host else self.path


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = TEXT_CONTENT_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False  # drop the connection without answering
    #: Seconds between the body's bytes (the ``drip`` fault); None sends it at once.
    drip: float | None = None


def text(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, message.encode(), TEXT_CONTENT_TYPE, headers)


def dripping(response: Response, fault: Fault | None) -> Response:
    """``response``, its body sent one byte every ``delay`` seconds under a ``drip`` fault."""
    if fault is None or fault.action != "drip":
        return response
    return replace(response, drip=fault.delay)


def json_response(document: object) -> Response:
    return Response(200, render.encode(document), render.JSON_CONTENT_TYPE)


def json_error(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """An error as ASP.NET Web API writes it: `{"Message": "..."}`."""
    return Response(status, render.encode({"Message": message}), render.JSON_CONTENT_TYPE, headers)


class ControllerApi:
    def __init__(
        self,
        scenario: Scenario,
        access_key: str,
        clock: Clock,
        base_path: str,
        cors: CorsPolicy | None = None,
    ) -> None:
        self.controller = Controller(scenario, clock)
        self.faults = FaultInjector(scenario.faults)
        self.access_key = access_key
        self.base_path = base_path
        self.cors = cors if cors is not None else CorsPolicy([])
        self._revoked = threading.Event()
        self._handlers: dict[str, Callable[[Route, Sequence[tuple[str, str]]], object]] = {
            "schedules": self._schedules,
            "schedules_hierarchy": self._hierarchy,
            "schedule": self._schedule,
            "run_now": self._run_now,
            "run_status": self._run_status,
            "schedule_status": self._schedule_status,
            "run_item_ids": self._run_item_ids,
            "run_item": self._run_item,
            "keyframes": self._keyframes,
            "run": self._run,
            "stop_run": self._stop_run,
            "stop_schedule": self._stop_schedule,
            "license": self._license,
            "run_flow": self._run_flow,
            "schedules_by_name": self._schedules_by_name,
            "schedule_of_run": self._schedule_of_run,
            "schedule_run_ids": self._schedule_run_ids,
            "flow_run_items": self._flow_run_items,
        }

    def handle(self, request: Request) -> tuple[str | None, Response]:
        """The endpoint name and the response to send, CORS headers on.

        The name is None for no route, and for a preflight (it calls no endpoint), so that
        counts of an endpoint's requests are counts of calls.
        """
        if self.cors.enabled and CorsPolicy.is_preflight(request.method, request.headers):
            allowed = self.cors.preflight_headers(request.headers)
            if allowed is None:
                origin = request.headers.get("origin", "")
                return None, text(403, PREFLIGHT_REFUSED.format(origin=origin))
            return None, Response(200, headers=allowed)
        route = match_route(request.path, self.base_path)
        endpoint = route.endpoint if route else None
        response = self._answer(request, route)
        cors = self.cors.answer_headers(request.headers.get("origin"))
        if cors and not response.close:
            response = replace(response, headers=(*response.headers, *cors))
        return endpoint, response

    def _answer(self, request: Request, route: Route | None) -> Response:
        endpoint = route.endpoint if route else None
        fault = self.faults.pick(endpoint, lambda: self._run_age(route))
        if fault is not None:
            answer = self._apply(fault, endpoint)
            if answer is not None:
                return answer
            if fault.action == "answer_late":
                answered = self._carry_out(request, route, fault)
                time.sleep(fault.delay)  # done at once, answered late: the client may give up
                return answered
        return self._carry_out(request, route, fault)

    def _carry_out(self, request: Request, route: Route | None, fault: Fault | None) -> Response:
        access_key = request.headers.get("accesskey")
        if (
            access_key is None
            or self._revoked.is_set()
            or not hmac.compare_digest(access_key.encode(), self.access_key.encode())
        ):
            return text(401, INCORRECT_KEY)
        if route is None:
            return json_error(404, NO_ROUTE.format(uri=request.uri()))
        if request.method not in route.methods:
            allow = (("Allow", ", ".join(route.methods)),)
            return json_error(405, BAD_METHOD.format(method=request.method), allow)
        try:
            if route.endpoint == "video":
                self.controller.check_video(route.params["item_id"])
                clip = VIDEO
                if fault is not None and fault.action == "huge":  # a long recording
                    clip += bytes(fault.size)
                return dripping(Response(200, clip, VIDEO_CONTENT_TYPE), fault)
            document = self._handlers[route.endpoint](route, request.query)
        except ApiError as error:
            if error.message == INVALID_REQUEST:
                return json_error(error.status, error.message)
            return text(error.status, error.message)
        if fault is not None and fault.action == "huge":
            return Response(
                200, huge_body(document, fault, render.encode), render.JSON_CONTENT_TYPE
            )
        return dripping(json_response(document), fault)

    def _apply(self, fault: Fault, endpoint: str | None) -> Response | None:
        """The fault's answer, or None to go on and answer normally."""
        if fault.action == "status":
            headers: tuple[tuple[str, str], ...] = ()
            if fault.retry_after is not None:
                headers = (("Retry-After", format_retry_after(fault.retry_after)),)
            body = fault.status_body().encode()
            return Response(fault.status, body, fault.content_type or TEXT_CONTENT_TYPE, headers)
        if fault.action == "close":
            return Response(0, close=True)
        if fault.action in ("slow", "answer_late"):
            if fault.action == "slow":
                time.sleep(fault.delay)
            return None
        if fault.action == "restart":
            self.controller.restart()
            return None
        if fault.action in ("huge", "drip"):
            return None  # made huge, or sent slowly, once answered
        if fault.action == "revoke_key":
            self._revoked.set()
            return text(401, INCORRECT_KEY)
        is_array = endpoint in ARRAY_ENDPOINTS
        if fault.action == "malformed_json":
            body = MALFORMED_ARRAY if is_array else MALFORMED_OBJECT
        else:  # wrong_shape: an object where an array is expected and vice versa
            body = WRONG_ARRAY if is_array else WRONG_OBJECT
        if fault.body is not None:
            body = fault.body.encode()
        return Response(200, body, render.JSON_CONTENT_TYPE)

    def _run_age(self, route: Route | None) -> float | None:
        if route is None:
            return None
        params = route.params
        return self.controller.age(
            run_id=params.get("run_id") or params.get("id"), item_id=params.get("item_id")
        )

    # --- endpoints: each returns the JSON document (without `$id`) -------------------------

    def _schedules(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return [render.schedule_json(schedule) for schedule in self.controller.schedules()]

    def _hierarchy(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return render.hierarchy_json(self.controller.schedules())

    def _schedule(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        """By id (an object); anything not a GUID is a name, `%` a wildcard (an array)."""
        key = route.params["schedule_id"]
        if is_guid(key):
            return render.schedule_detail_json(self.controller.schedule(key))
        return [render.schedule_detail_json(s) for s in self.controller.schedules_by_name(key)]

    def _schedules_by_name(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        page = _int_param(query, "pageNumber", 1, minimum=1)
        per_page = _int_param(query, "perPage", 1, minimum=1)
        found = self.controller.schedules_by_name(route.params["name"])
        start = (page - 1) * per_page
        return [render.schedule_detail_json(s) for s in found[start : start + per_page]]

    def _schedule_of_run(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        schedule = self.controller.schedule_of_run(route.params["run_id"])
        return [render.schedule_detail_json(schedule)]

    def _schedule_run_ids(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        count = _int_param(query, "count", 0, minimum=0)
        filter_by = route.params.get("filter_by", "")
        run_ids = self.controller.schedule_run_ids(route.params["schedule_id"], filter_by, count)
        return {"runIds": run_ids}  # lower camel case, as the documentation's example shows

    def _flow_run_items(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        # The documentation's example has "RunItemId " with a trailing space: a typo, not kept.
        return {"RunItemId": self.controller.flow_run_items(route.params["flow_id"])}

    def _run_flow(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        params = route.params
        return {"RunId": self.controller.run_flow(params["flow_id"], params["agent_id"], query)}

    def _run_now(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return {"RunId": self.controller.run_now(route.params["schedule_id"], query)}

    def _run_status(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return {"Status": self.controller.run_status(route.params["run_id"])}

    def _schedule_status(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return {"Status": self.controller.schedule_status(route.params["id"])}

    def _run_item_ids(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return {"RunItemIds": self.controller.run_item_ids(route.params["run_id"])}

    def _run_item(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return render.item_json(self.controller.run_item(route.params["item_id"]), route.version)

    def _keyframes(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        keyframes = self.controller.keyframes(route.params["item_id"])
        offset = int(route.params.get("offset", "0"))
        block = route.params.get("block_title")
        message = route.params.get("log_message")
        if block is not None and message is not None:
            keyframes = [
                k for k in keyframes if like(k.block or "", block) and like(k.message, message)
            ]
        return [render.keyframe_json(keyframe) for keyframe in keyframes[offset:]]

    def _run(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return render.run_json(self.controller.run_summary(route.params["run_id"]))

    def _stop_run(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        self.controller.stop_run(route.params["run_id"])
        return {"OperationCompleted": True}

    def _stop_schedule(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        self.controller.stop_schedule(route.params["id"])
        return {"OperationCompleted": True}

    def _license(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return render.license_json()


def is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _int_param(query: Sequence[tuple[str, str]], name: str, default: int, minimum: int) -> int:
    """A query integer (name in any letter case); 400 as ASP.NET answers a value it cannot bind."""
    for key, value in query:
        if key.lower() == name.lower():
            if not (value.isascii() and value.isdigit()) or int(value) < minimum:
                raise ApiError(400, INVALID_REQUEST)
            return int(value)
    return default
