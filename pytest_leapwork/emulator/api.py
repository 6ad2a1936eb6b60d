"""The controller API as a function: request in, response out (no sockets here).

Order of checks: faults (they model failures in front of the controller), then the
AccessKey (401 ``Incorrect AccessKey``), then routing (404), method (405), the endpoint.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import render
from .faults import Fault, FaultInjector, format_retry_after
from .routes import ARRAY_ENDPOINTS, Route, match_route
from .scenario import Scenario
from .state import ApiError, Clock, Controller

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
INCORRECT_KEY = "Incorrect AccessKey"
# ASP.NET Web API's own wording for a request that matches no route or no method.
NO_ROUTE = "No HTTP resource was found that matches the request URI '{path}'."
BAD_METHOD = "The requested resource does not support http method '{method}'."
# What a body cut short looks like; not carried out, as the client could not know the result.
MALFORMED_OBJECT = b'{"$id":"1","'
MALFORMED_ARRAY = b'[{"$id":"1","Id":"'
WRONG_OBJECT = b'[{"$id":"1","Message":"An error has occurred."}]'
WRONG_ARRAY = b'{"$id":"1","Message":"An error has occurred."}'


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = TEXT_CONTENT_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False  # drop the connection without answering


def text(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, message.encode(), TEXT_CONTENT_TYPE, headers)


def json_response(document: object) -> Response:
    return Response(200, render.encode(document), render.JSON_CONTENT_TYPE)


class ControllerApi:
    def __init__(self, scenario: Scenario, access_key: str, clock: Clock, base_path: str) -> None:
        self.controller = Controller(scenario, clock)
        self.faults = FaultInjector(scenario.faults)
        self.access_key = access_key
        self.base_path = base_path
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
        }

    def handle(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        access_key: str | None,
    ) -> tuple[str | None, Response]:
        """The endpoint name (None for no route) and the response to send.

        `access_key` is the request's AccessKey header (header names are case-insensitive).
        """
        route = match_route(path, self.base_path)
        endpoint = route.endpoint if route else None
        fault = self.faults.pick(endpoint, lambda: self._run_age(route))
        if fault is not None:
            answer = self._apply(fault, endpoint)
            if answer is not None:
                return endpoint, answer
        if (
            access_key is None
            or self._revoked.is_set()
            or not hmac.compare_digest(access_key.encode(), self.access_key.encode())
        ):
            return endpoint, text(401, INCORRECT_KEY)
        if route is None:
            return None, text(404, NO_ROUTE.format(path=path))
        if method not in route.methods:
            allow = (("Allow", ", ".join(route.methods)),)
            return endpoint, text(405, BAD_METHOD.format(method=method), allow)
        try:
            document = self._handlers[route.endpoint](route, query)
        except ApiError as error:
            return endpoint, text(error.status, error.message)
        return endpoint, json_response(document)

    def _apply(self, fault: Fault, endpoint: str | None) -> Response | None:
        """The fault's answer, or None to go on and answer normally."""
        if fault.action == "status":
            headers: tuple[tuple[str, str], ...] = ()
            if fault.retry_after is not None:
                headers = (("Retry-After", format_retry_after(fault.retry_after)),)
            return text(fault.status, fault.status_body(), headers)
        if fault.action == "close":
            return Response(0, close=True)
        if fault.action == "slow":
            time.sleep(fault.delay)
            return None
        if fault.action == "restart":
            self.controller.restart()
            return None
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
        return [render.schedule_json(schedule) for schedule in self.controller.schedules]

    def _hierarchy(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return render.hierarchy_json(self.controller.schedules)

    def _schedule(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return render.schedule_detail_json(self.controller.schedule(route.params["schedule_id"]))

    def _run_now(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return {"RunId": self.controller.run_now(route.params["schedule_id"], query)}

    def _run_status(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return {"Status": self.controller.run_status(route.params["run_id"])}

    def _schedule_status(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return {"Status": self.controller.schedule_status(route.params["schedule_id"])}

    def _run_item_ids(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return {"RunItemIds": self.controller.run_item_ids(route.params["run_id"])}

    def _run_item(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        return render.item_json(self.controller.run_item(route.params["item_id"]))

    def _keyframes(self, route: Route, query: Sequence[tuple[str, str]]) -> object:
        keyframes = self.controller.keyframes(route.params["item_id"])
        offset = int(route.params.get("offset", "0"))
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
