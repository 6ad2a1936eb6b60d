"""LeapworkClient: the controller's REST API v4 as Python calls.

One ``requests.Session`` per controller (connections are reused), an explicit connect and
read timeout on every request, urllib3 retries for idempotent reads, and HTTP errors turned
into typed exceptions that say what the controller meant. No pytest import here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import (
    ControllerServerError,
    ControllerUnreachable,
    DatabaseUnavailable,
    InvalidResponse,
    error_for_status,
)
from .models import (
    RunSummary,
    FlowResult,
    Keyframe,
    Schedule,
    parse_keyframes,
    parse_operation_completed,
    parse_run_id,
    parse_run_item,
    parse_run_item_ids,
    parse_run_summary,
    parse_schedules,
    parse_status,
)
from .secret import Secret

API_PREFIX = "/api/v4"
# Statuses worth asking again for an idempotent request: a busy or restarting controller,
# a proxy in trouble, the cache timeout (448) and database (455) hiccups the vendor lists.
RETRY_STATUSES = frozenset({448, 455, 500, 502, 503, 504})

#: Longest wait a Retry-After header may impose; a run's own timeout must stay in charge.
MAX_RETRY_AFTER = 30.0

T = TypeVar("T")


class _CappedRetry(Retry):
    """urllib3's Retry, but a Retry-After of an hour does not stall a poll for an hour."""

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        return None if retry_after is None else min(retry_after, MAX_RETRY_AFTER)


def encode_variables(variables: Mapping[str, str]) -> str:
    """The runNow query string: every name and value percent-encoded (``:`` and ``&`` too)."""
    return urlencode(list(variables.items()), quote_via=quote, safe="")


class _KeyKeepingSession(requests.Session):
    """A Session that never sends the access key to another host or scheme.

    On a redirect requests drops ``Authorization`` when the host changes, but keeps custom
    headers such as ``AccessKey``; drop it by the same rule.
    """

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        original_url = response.request.url or ""
        if self.should_strip_auth(original_url, prepared_request.url or ""):
            prepared_request.headers.pop("AccessKey", None)
        super().rebuild_auth(prepared_request, response)


class LeapworkClient:
    """Calls to one controller. Thread-safe for concurrent requests."""

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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = access_key if isinstance(access_key, Secret) else Secret(access_key)
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.session = _KeyKeepingSession()
        self.session.verify = verify
        if verify is False:
            # The user chose this and was warned once at start; not once per request.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.session.headers.update({"Accept": "application/json"})
        retry = _CappedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            # Only reads are repeated automatically. runNow (a PUT) is retried by urllib3
            # only on connection errors, raised before the request left this machine.
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=0.5,
            backoff_max=8.0,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"LeapworkClient({self.base_url!r}, access_key={self._key!r})"

    def close(self) -> None:
        self.session.close()

    # -- the endpoints --------------------------------------------------------------------

    def list_schedules(self) -> list[Schedule]:
        return self._call("GET", "/schedules", "GET /schedules", parse_schedules)

    def run_now(self, schedule_id: str, variables: Mapping[str, str]) -> str:
        """Start a run; returns its RunId. Never repeated once the request was sent."""
        path = f"/schedules/{schedule_id}/runNow"
        if variables:
            path += "?" + encode_variables(variables)
        return self._call("PUT", path, "PUT /schedules/{id}/runNow", parse_run_id)

    def run_status(self, run_id: str) -> str:
        return self._call("GET", f"/run/{run_id}/status", "GET /run/{id}/status", parse_status)

    def run_summary(self, run_id: str) -> RunSummary:
        """``GET /run/{id}``: status plus how many items the run has and how many failed."""
        return self._call("GET", f"/run/{run_id}", "GET /run/{id}", parse_run_summary)

    def run_item_ids(self, run_id: str) -> list[str]:
        return self._call(
            "GET", f"/run/{run_id}/runItemIds", "GET /run/{id}/runItemIds", parse_run_item_ids
        )

    def run_item(self, run_item_id: str) -> FlowResult:
        item = self._call("GET", f"/runItems/{run_item_id}", "GET /runItems/{id}", parse_run_item)
        item.run_item_id = item.run_item_id or run_item_id
        return item

    def keyframes(self, run_item_id: str) -> list[Keyframe]:
        return self._call(
            "GET",
            f"/runItems/{run_item_id}/keyframes",
            "GET /runItems/{id}/keyframes",
            parse_keyframes,
        )

    def stop_run(self, run_id: str, attempts: int = 3) -> bool:
        """Ask the controller to stop a run; True when it says it did.

        Stopping is idempotent, so unlike runNow it is repeated on any transient trouble.
        """
        endpoint = "PUT /run/{id}/stop"
        for attempt in range(1, attempts + 1):
            try:
                return self._call("PUT", f"/run/{run_id}/stop", endpoint, parse_operation_completed)
            except (ControllerUnreachable, ControllerServerError, DatabaseUnavailable):
                if attempt == attempts:
                    raise
                time.sleep(0.5 * 2 ** (attempt - 1))
                continue
        return False  # pragma: no cover - the loop returns or raises

    # -- plumbing -------------------------------------------------------------------------

    def _call(self, method: str, path: str, endpoint: str, parse: Callable[[Any], T]) -> T:
        url = f"{self.base_url}{API_PREFIX}{path}"
        headers = {"AccessKey": self._key.reveal()}
        try:
            response = self.session.request(method, url, headers=headers, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise ControllerUnreachable(f"{endpoint}: TLS error talking to {self.base_url}: {_reason(exc)}") from None
        except requests.exceptions.RetryError as exc:
            raise ControllerUnreachable(f"{endpoint}: gave up after {self.retries + 1} attempts: {_reason(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            raise ControllerUnreachable(
                f"{endpoint}: cannot reach the controller at {self.base_url}: {_reason(exc)}"
            ) from None
        except requests.exceptions.Timeout as exc:
            raise ControllerUnreachable(
                f"{endpoint}: no answer from {self.base_url} within {self.timeout[1]:g} s: {_reason(exc)}"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise ControllerUnreachable(f"{endpoint}: {_reason(exc)}") from None
        if response.status_code >= 400:
            raise error_for_status(response.status_code, endpoint, response.text)
        try:
            data = response.json()
        except ValueError:
            snippet = response.text[:120].replace("\n", " ")
            raise InvalidResponse(
                f"{endpoint} answered HTTP {response.status_code} with a body that is not JSON: {snippet!r}"
            ) from None
        try:
            return parse(data)
        except InvalidResponse as exc:
            raise InvalidResponse(f"{endpoint}: {exc}") from None


def _reason(exc: BaseException) -> str:
    """The innermost useful reason of a requests/urllib3 error, without a traceback."""
    reason: BaseException = exc
    seen = set()
    while id(reason) not in seen:
        seen.add(id(reason))
        inner = getattr(reason, "reason", None) or (reason.args[0] if reason.args else None)
        if isinstance(inner, BaseException):
            reason = inner
        else:
            break
    text = str(reason)
    # urllib3 prefixes the connection object's repr, which says nothing to a user.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text or type(reason).__name__
