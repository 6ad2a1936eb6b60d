"""Fault injection: make chosen requests fail the way real controllers and networks do.

A fault names an endpoint (or ``any``), lets ``after`` matching requests through, then acts on
the next ``times`` ones (0 = forever). Faults are checked in order before authentication, as
if they happened in front of the controller; the first that fires answers, and the faults after
it do not see that request. Counting is per fault and thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .fields import Table
from .routes import ENDPOINTS

ACTIONS = (
    "status",  # answer `status` with `body` (plain text), optionally `Retry-After`
    "close",  # drop the connection without answering
    "slow",  # sleep `delay` seconds, then answer normally
    "answer_late",  # carry the request out at once, answer it `delay` seconds later
    "malformed_json",  # 200 with a truncated JSON body; the request is not carried out
    "wrong_shape",  # 200 with valid JSON of the wrong shape; the request is not carried out
    "revoke_key",  # from now on every request gets 401 Incorrect AccessKey
    "restart",  # forget every run (later requests about them get 404), then answer normally
    "huge",  # answer normally, `field`'s text `size` characters long (no field: `size` bytes more)
    "drip",  # answer normally, but send the body one byte every `delay` seconds
)

FAULT_ENDPOINTS = (*ENDPOINTS, "any")

# Default plain-text bodies of `status` faults, worded as the clients describe the codes.
DEFAULT_BODIES = {
    400: "Bad Request",
    401: "Incorrect AccessKey",
    403: "AccessKey does not have the relevant scope permission",
    404: "Asset not found",
    410: "Schedule is already running",
    444: "Schedule has no cases",
    445: "License has expired",
    446: "Not enough disk space",
    448: "Cache timeout, try again later",
    455: "Database is not responding",
    500: "An error has occurred.",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Fault:
    """One fault to inject (the fields of a scenario's ``[[faults]]`` entry)."""

    endpoint: str = "any"
    action: str = "status"
    times: int = 1
    after: int = 0
    status: int = 500
    body: str | None = None
    delay: float = 1.0
    retry_after: float | None = None  # seconds, sent as a Retry-After header
    run_age_below: float | None = None
    field: str | None = None  # for `huge`: the JSON key whose text is made `size` long
    size: int = 0  # for `huge`
    content_type: str | None = None  # for `status`: the body's type (plain text by default)

    def __post_init__(self) -> None:
        if self.endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"unknown fault endpoint {self.endpoint!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}")
        if self.times < 0 or self.after < 0 or self.delay < 0 or self.size < 0:
            raise ValueError("times, after, delay and size must be >= 0")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status}")

    def matches(self, endpoint: str | None) -> bool:
        return self.endpoint == "any" or self.endpoint == endpoint

    def status_body(self) -> str:
        return self.body if self.body is not None else DEFAULT_BODIES.get(self.status, "Error")


def format_retry_after(seconds: float) -> str:
    """`Retry-After` takes whole seconds; 2.0 is sent as "2"."""
    return str(int(seconds)) if seconds == int(seconds) else str(seconds)


def parse_fault(table: Table) -> Fault:
    table.only(
        "endpoint",
        "action",
        "times",
        "after",
        "status",
        "body",
        "delay",
        "retry_after",
        "run_age_below",
        "field",
        "size",
        "content_type",
    )
    status = table.int_or("status", 500)
    if not 100 <= status <= 599:
        table.fail("status", f"expected an HTTP status code, got {status}")
    return Fault(
        endpoint=table.choice_or("endpoint", FAULT_ENDPOINTS, "any"),
        action=table.choice_or("action", ACTIONS, "status"),
        times=table.int_or("times", 1),
        after=table.int_or("after", 0),
        status=status,
        body=table.optional_str("body"),
        delay=table.number_or("delay", 1.0),
        retry_after=table.optional_number("retry_after"),
        run_age_below=table.optional_number("run_age_below"),
        field=table.optional_str("field"),
        size=table.int_or("size", 0),
        content_type=table.optional_str("content_type"),
    )


def huge_body(document: object, fault: Fault, encode: Callable[[object], bytes]) -> bytes:
    """The normal answer made huge: every `field` text `size` characters long, or, without
    a field, `size` bytes of trailing spaces (still valid JSON)."""
    if fault.field is None:
        return encode(document) + b" " * fault.size
    wanted = fault.field.lower()

    def inflate(node: object) -> object:
        if isinstance(node, Mapping):
            return {
                key: ("x" * fault.size if str(key).lower() == wanted else inflate(value))
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [inflate(value) for value in node]
        return node

    return encode(inflate(document))


class _Counted:
    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.seen = 0


class FaultInjector:
    """Decides, request by request, which fault (if any) answers it."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults = [_Counted(fault) for fault in faults]

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(_Counted(fault))

    def pick(self, endpoint: str | None, run_age: Callable[[], float | None]) -> Fault | None:
        """The fault that fires for this request, counting it for every fault it reaches.

        `run_age` gives the age in seconds of the run the request is about (None when it is
        about no known run); it is only called for faults with `run_age_below`.
        """
        with self._lock:
            for counted in self._faults:
                fault = counted.fault
                if not fault.matches(endpoint):
                    continue
                if fault.run_age_below is not None:
                    age = run_age()
                    if age is None or age >= fault.run_age_below:
                        continue
                counted.seen += 1
                if counted.seen <= fault.after:
                    continue
                if fault.times and counted.seen > fault.after + fault.times:
                    continue
                return fault
        return None
