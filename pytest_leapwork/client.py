"""LeapworkClient: the controller's REST API v4 as Python calls.

One ``requests.Session`` per controller (connections are reused), an explicit connect and
read timeout on every request, urllib3 retries for idempotent reads, and HTTP errors turned
into typed exceptions that say what the controller meant. No pytest import here.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import (
    ControllerHTTPError,
    ControllerUnreachable,
    InvalidResponse,
    LeapworkError,
    error_for_status,
)
from .models import (
    FlowResult,
    Keyframe,
    RunSummary,
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
#: Waits between attempts: 0 s, then BACKOFF_FACTOR * 2 ** n, at most BACKOFF_MAX
#: (0, 1, 2, 4, 8, 8, ... s). Read when a client is made, so tests can shorten them.
BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 8.0

T = TypeVar("T")


#: Said of every runNow failure that happened after the request may have left this machine.
NOT_RETRIED = (
    "; runNow is not retried, since the controller may have started the run anyway: look for "
    "the run in Leapwork before running the test again"
)


class AccessKeyUnusable(LeapworkError):
    """The access key cannot be sent in an HTTP header (a line break, a non-Latin-1 letter)."""


class _CappedRetry(Retry):
    """urllib3's Retry, with three changes for a client that must not send runNow twice.

    - A Retry-After of an hour does not stall a poll for an hour (``MAX_RETRY_AFTER``).
    - A TLS error after the handshake (a connection cut mid-answer) counts as a read error,
      repeated only for the idempotent methods; urllib3 counts it as "other" and would repeat
      a PUT.
    - A certificate the client does not trust is not repeated at all: it will not change.
    """

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        return None if retry_after is None else min(retry_after, MAX_RETRY_AFTER)

    def _is_read_error(self, err: Exception) -> bool:
        return super()._is_read_error(err) or isinstance(err, urllib3.exceptions.SSLError)

    def increment(self, *args: Any, **kwargs: Any) -> Any:
        error = kwargs.get("error")
        if error is not None and _is_certificate_error(error):
            raise error
        return super().increment(*args, **kwargs)


def _is_certificate_error(error: BaseException) -> bool:
    return any(
        isinstance(e, (ssl.SSLCertVerificationError, ssl.CertificateError))
        or "CERTIFICATE_VERIFY_FAILED" in str(e)
        for e in _chain(error)
    )


def encode_variables(variables: Mapping[str, str]) -> str:
    """The runNow query string: every name and value percent-encoded (``:`` and ``&`` too)."""
    return urlencode(list(variables.items()), quote_via=quote, safe="")


class _KeyKeepingSession(requests.Session):
    """A Session that never sends the access key to another host, port or scheme.

    On a redirect requests drops ``Authorization`` when the host changes, but keeps custom
    headers such as ``AccessKey``; drop it by the same rule, and also on the http -> https
    upgrade to the default ports that requests lets through: the key goes only where the
    user pointed the plugin.
    """

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        original_url = response.request.url or ""
        new_url = prepared_request.url or ""
        strip: bool = self.should_strip_auth(original_url, new_url)  # type: ignore[no-untyped-call]
        if strip or urlsplit(original_url).scheme.lower() != urlsplit(new_url).scheme.lower():
            prepared_request.headers.pop("AccessKey", None)
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]


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
            backoff_factor=BACKOFF_FACTOR,
            backoff_max=BACKOFF_MAX,
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
        return self._call("PUT", path, "PUT /schedules/{id}/runNow", parse_run_id, once=True)

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

        Stopping is idempotent, so unlike runNow it is repeated on any transient trouble;
        the error after the last attempt says how many there were.
        """
        endpoint = "PUT /run/{id}/stop"
        for attempt in range(1, attempts + 1):
            try:
                return self._call("PUT", f"/run/{run_id}/stop", endpoint, parse_operation_completed)
            except (ControllerUnreachable, ControllerHTTPError) as exc:
                transient = not isinstance(exc, ControllerHTTPError) or exc.status in RETRY_STATUSES
                if transient and attempt < attempts:
                    time.sleep(min(BACKOFF_FACTOR * 2 ** (attempt - 1), BACKOFF_MAX))
                    continue
                if attempt > 1:
                    exc.args = (f"{exc} (stop tried {attempt} times)",)
                raise
        return False  # pragma: no cover - the loop returns or raises

    # -- plumbing -------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        endpoint: str,
        parse: Callable[[Any], T],
        *,
        once: bool = False,
    ) -> T:
        """One request; its answer parsed, or a ``LeapworkError`` that says what went wrong.

        ``once``: the request must not be repeated (runNow); a failure after it may have
        reached the controller says so. No message carries the key, and no error chains a
        requests or urllib3 traceback (whose frames hold the headers).
        """
        self._check_key()
        url = f"{self.base_url}{API_PREFIX}{path}"
        try:
            response = self.session.request(
                method,
                url,
                headers={"AccessKey": self._key.reveal()},
                timeout=self.timeout,
                # Explicitly, or requests lets REQUESTS_CA_BUNDLE override the session's
                # verify, and with it --leapwork-ca-bundle and --leapwork-insecure.
                verify=self.session.verify,
            )
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, endpoint, once) from None
        except Exception as exc:  # raised below requests (http.client)
            text = f"{endpoint}: the request failed: {type(exc).__name__}: {exc}"
            raise ControllerUnreachable(self._scrub(text + (NOT_RETRIED if once else ""))) from None
        note = NOT_RETRIED if once else ""
        if response.status_code >= 400:
            error = error_for_status(response.status_code, endpoint, self._scrub(response.text))
            attempts = _attempts(response)
            if attempts > 1:
                detail = f": {error.body}" if error.body else ""
                text = f"{endpoint} answered HTTP {error.status} ({error.meaning}) to all "
                error.args = (f"{text}{attempts} attempts{detail}",)
            if once and (error.status >= 500 or error.status in RETRY_STATUSES):
                error.args = (f"{error}{note}",)
            raise error
        try:
            data = response.json()
        except ValueError:
            snippet = self._scrub(response.text[:120].replace("\n", " "))
            raise InvalidResponse(
                f"{endpoint} answered HTTP {response.status_code} with a body that is not JSON: "
                f"{snippet!r}{note}"
            ) from None
        try:
            return parse(data)
        except InvalidResponse as exc:
            raise InvalidResponse(f"{endpoint}: {exc}{note}") from None

    def _transport_error(
        self, exc: requests.exceptions.RequestException, endpoint: str, once: bool
    ) -> ControllerUnreachable:
        """No HTTP answer: what happened, in words, and whether the request left this machine."""
        chain = list(_chain(exc))
        gave_up = any(isinstance(e, urllib3.exceptions.MaxRetryError) for e in chain)
        attempts = self.retries + 1 if gave_up and self.retries else 1
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        reason = _reason(exc)
        where = self.base_url
        sent = True
        if any(isinstance(e, urllib3.exceptions.SSLError) for e in chain) or isinstance(
            exc, requests.exceptions.SSLError
        ):
            text = f"{endpoint}: TLS error talking to {where}: {reason}{tries}"
            if _is_certificate_error(exc):
                sent = False
                text += (
                    "; the controller's certificate is not trusted: give the CA that signed it "
                    "(--leapwork-ca-bundle or LEAPWORK_CA_BUNDLE), or, on a network you trust, "
                    "--leapwork-insecure"
                )
        elif any(isinstance(e, urllib3.exceptions.ConnectTimeoutError) for e in chain):
            # Refused, unresolvable or no TCP connection in time: nothing was sent.
            sent = False
            text = f"{endpoint}: cannot reach the controller at {where}: {reason}{tries}"
        elif isinstance(exc, requests.exceptions.ProxyError):
            text = f"{endpoint}: the proxy to {where} failed{tries}: {reason}"
        elif any(isinstance(e, urllib3.exceptions.ReadTimeoutError) for e in chain):
            text = f"{endpoint}: no answer from {where} within {self.timeout[1]:g} s{tries}"
        elif isinstance(exc, requests.exceptions.ConnectionError):
            text = (
                f"{endpoint}: the controller at {where} closed the connection without an "
                f"answer{tries}: {reason}"
            )
        else:
            text = f"{endpoint}: {reason}"
        if once and sent:
            text += NOT_RETRIED
        return ControllerUnreachable(self._scrub(text))

    def _check_key(self) -> None:
        key = self._key.reveal()
        if key != key.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F or ord(c) > 0xFF for c in key):
            raise AccessKeyUnusable(
                f"the access key {self._key.masked} cannot be sent in an HTTP header: it holds "
                "a line break, a control character or a character outside Latin-1; copy it "
                "again from Leapwork's API access keys page"
            )

    def _scrub(self, text: str) -> str:
        """``text`` with the key masked, should a proxy or controller echo it back."""
        key = self._key.reveal()
        return text.replace(key, self._key.masked) if key else text


def _attempts(response: requests.Response) -> int:
    """How many times urllib3 sent the request that got ``response``."""
    retries = getattr(response.raw, "retries", None)
    history = getattr(retries, "history", None) or ()
    return len(history) + 1


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the errors inside it: requests wraps urllib3, which wraps the socket's."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = getattr(current, "reason", None)
        if isinstance(inner, BaseException):
            pending.append(inner)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        if isinstance(current.__cause__, BaseException):
            pending.append(current.__cause__)


_CONNECTION_REPR = re.compile(r"^(?:<[^>]*>|\w*HTTPS?Connection(?:Pool)?\([^)]*\)): ")


def _reason(exc: BaseException) -> str:
    """The innermost useful reason of a requests/urllib3 error, without a traceback."""
    reason = list(_chain(exc))[-1]
    text = str(reason)
    # urllib3 prefixes the connection object's repr, which says nothing to a user.
    text = _CONNECTION_REPR.sub("", text)
    return text or type(reason).__name__
