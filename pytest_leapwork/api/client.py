"""LeapworkClient: the controller's REST API v4 as Python calls.

One ``requests.Session`` per controller (connections are reused), an explicit connect and
read timeout on every request, urllib3 retries for idempotent reads, and HTTP errors turned
into typed exceptions that say what the controller meant. No pytest import here.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..threads import DaemonPool
from .errors import (
    AccessKeyRejected,
    AnswerTooLarge,
    ArtifactTooLarge,
    ControllerHTTPError,
    ControllerUnreachable,
    InvalidResponse,
    LeapworkError,
    VariableRejected,
    error_for_status,
)
from .limits import MAX_ANSWER_BYTES, MAX_ERROR_BYTES, MAX_SNIPPET_CHARS, cut, is_guid
from .models import (
    VIDEO_EXTENSIONS,
    FlowResult,
    Keyframe,
    PlacedSchedule,
    RunSummary,
    Schedule,
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

#: Name prefix of the package's background threads (the runner's poller and fetchers).
OWN_THREADS = "leapwork-"


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
        #: An error every later request would meet again (a refused key, a dead controller).
        self._remembered: LeapworkError | None = None
        #: Whether the controller has answered anything (an HTTP status) in this session.
        self._answered = False
        #: Where a test's requests are made, off the test's thread (see ``_call``).
        self._threads = DaemonPool("leapwork-request")
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
        _resolve_environment_once(self.session, self.base_url)

    def __repr__(self) -> str:
        return f"LeapworkClient({self.base_url!r}, access_key={self._key!r})"

    def close(self) -> None:
        self.session.close()

    # -- the endpoints --------------------------------------------------------------------

    def list_schedules(self, within: float | None = None) -> list[Schedule]:
        """Every schedule; ``within``: seconds to wait at most, retries included."""
        return self._call("GET", "/schedules", "GET /schedules", parse_schedules, within=within)

    def schedule_hierarchy(self) -> list[PlacedSchedule]:
        """Every schedule with the folders it sits in (one request for the whole tree)."""
        return self._call(
            "GET", "/schedules/hierarchy", "GET /schedules/hierarchy", parse_schedule_hierarchy
        )

    def run_now(self, schedule_id: str, variables: Mapping[str, str]) -> str:
        """Start a run; returns its RunId. Never repeated once the request was sent."""
        path = f"/schedules/{_segment(schedule_id, 'schedule id')}/runNow"
        if variables:
            path += "?" + encode_variables(variables)
        try:
            return self._call("PUT", path, "PUT /schedules/{id}/runNow", parse_run_id, once=True)
        except VariableRejected as exc:
            exc.args = (
                self._explain_rejected_variables(str(exc), exc.body, schedule_id, variables),
            )
            raise exc.with_traceback(None) from None

    def declared_variables(self, schedule_id: str) -> list[str] | None:
        """The variables a schedule declares, where ``GET /schedules/{id}`` lists them."""
        path = f"/schedules/{_segment(schedule_id, 'schedule id')}"
        return self._call("GET", path, "GET /schedules/{id}", parse_declared_variables, within=15)

    def schedule_run_ids(self, schedule_id: str, count: int = 10) -> list[str]:
        """``GET /schedules/{id}/runIds/LastHour``: its latest runs' ids, newest first."""
        path = f"/schedules/{_segment(schedule_id, 'schedule id')}/runIds/LastHour?count={count}"
        endpoint = "GET /schedules/{id}/runIds"
        return self._call("GET", path, endpoint, parse_schedule_run_ids)

    def schedule_status(self, schedule_id: str) -> str:
        """``GET /schedules/{id}/status``: ``Finished`` once no run of the schedule is left."""
        path = f"/schedules/{_segment(schedule_id, 'schedule id')}/status"
        return self._call("GET", path, "GET /schedules/{id}/status", parse_status)

    def run_flow(self, flow_id: str, agent_id: str, variables: Mapping[str, str]) -> str:
        """Run one flow on one agent (a temporary schedule); its RunId. Never repeated."""
        path = f"/flows/{_segment(flow_id, 'flow id')}/agent/{_segment(agent_id, 'agent id')}"
        if variables:
            path += "?" + encode_variables(variables)
        return self._call("PUT", path, "PUT /flows/{id}/agent/{id}", parse_run_id, once=True)

    def run_status(self, run_id: str, within: float | None = None) -> str:
        path = f"/run/{_segment(run_id, 'RunId')}/status"
        return self._call("GET", path, "GET /run/{id}/status", parse_status, within=within)

    def run_summary(self, run_id: str) -> RunSummary:
        """``GET /run/{id}``: status plus how many items the run has and how many failed."""
        path = f"/run/{_segment(run_id, 'RunId')}"
        return self._call("GET", path, "GET /run/{id}", parse_run_summary)

    def run_item_ids(self, run_id: str) -> list[str]:
        path = f"/run/{_segment(run_id, 'RunId')}/runItemIds"
        return self._call("GET", path, "GET /run/{id}/runItemIds", parse_run_item_ids)

    def run_item(self, run_item_id: str) -> FlowResult:
        path = f"/runItems/{_segment(run_item_id, 'run item id')}"
        item = self._call("GET", path, "GET /runItems/{id}", parse_run_item)
        item.run_item_id = item.run_item_id or run_item_id
        return item

    def keyframes(self, run_item_id: str) -> list[Keyframe]:
        """A flow's log; a note in its place where the log is too large to read."""
        path = f"/runItems/{_segment(run_item_id, 'run item id')}/keyframes"
        endpoint = "GET /runItems/{id}/keyframes"
        try:
            return self._call("GET", path, endpoint, parse_keyframes)
        except AnswerTooLarge as exc:
            return [Keyframe(timestamp="", level="Error", block_title=None, message=str(exc))]

    def download_video(self, run_item_id: str, stem: str, max_bytes: int) -> str:
        """Save a flow's video as ``stem`` plus the extension its type gives; the path.

        Streamed to a temporary file, so a download cut short or over ``max_bytes`` leaves
        nothing behind (``ArtifactTooLarge`` for the latter). Made on a thread of the package,
        as every request is (see ``_call``).
        """
        path = f"/runItems/{_segment(run_item_id, 'run item id')}/video"
        self._check_key()
        download = partial(self._download, path, stem, max_bytes)
        if _on_a_thread_of_ours():
            return download()
        try:
            return self._threads.submit(download).result()
        except LeapworkError as exc:
            raise exc.with_traceback(None) from None

    def _download(self, path: str, stem: str, max_bytes: int) -> str:
        endpoint = "GET /runItems/{id}/video"
        try:
            response = self.session.get(
                f"{self.base_url}{API_PREFIX}{path}",
                headers={
                    "AccessKey": self._key.header_value(),
                    "Accept": "video/*, application/octet-stream",
                },
                timeout=self.timeout,
                verify=self.session.verify,
                stream=True,
            )
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, endpoint, False) from None
        with response:
            if response.status_code >= 400:
                raise self._status_error(response, endpoint, self._read(response, endpoint, False))
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ArtifactTooLarge(
                    f"{endpoint}: the video is {int(declared)} bytes, over the cap of "
                    f"{max_bytes} bytes"
                )
            target = stem + _video_extension(response.headers.get("Content-Type", ""))
            partial_file = target + ".part"
            written = 0
            try:
                with open(partial_file, "wb") as file:
                    for chunk in response.iter_content(chunk_size=64 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            raise ArtifactTooLarge(
                                f"{endpoint}: the video is over the cap of {max_bytes} bytes"
                            )
                        file.write(chunk)
                os.replace(partial_file, target)
            except requests.exceptions.RequestException as exc:
                raise self._transport_error(exc, endpoint, False) from None
            finally:
                if os.path.exists(partial_file):
                    os.unlink(partial_file)
        return target

    def stop_run(self, run_id: str, attempts: int = 3) -> bool:
        """Ask the controller to stop a run; True when it says it did.

        Stopping is idempotent, so unlike runNow it is repeated on any transient trouble;
        the error after the last attempt says how many there were.
        """
        endpoint = "PUT /run/{id}/stop"
        for attempt in range(1, attempts + 1):
            try:
                path = f"/run/{_segment(run_id, 'RunId')}/stop"
                return self._call("PUT", path, endpoint, parse_operation_completed)
            except (ControllerUnreachable, ControllerHTTPError) as exc:
                transient = not isinstance(exc, ControllerHTTPError) or exc.status in RETRY_STATUSES
                if transient and attempt < attempts:
                    time.sleep(min(BACKOFF_FACTOR * 2 ** (attempt - 1), BACKOFF_MAX))
                    continue
                if attempt > 1:
                    exc.args = (f"{exc} (stop tried {attempt} times)",)
                raise
        return False  # pragma: no cover - the loop returns or raises

    def _explain_rejected_variables(
        self, message: str, body: str, schedule_id: str, variables: Mapping[str, str]
    ) -> str:
        """A runNow 400, with the variables sent, the one the controller names (if it does)
        and those the schedule declares (where the controller lists them)."""
        if not variables:
            return f"{message}; no variables were sent"
        names = list(variables)
        text = f"{message}; variables sent: {', '.join(names)}"
        named = [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", body, re.I)]
        if named:
            text += f"; the controller names {', '.join(repr(n) for n in named)}"
        try:
            declared = self.declared_variables(schedule_id)
        except LeapworkError:
            declared = None
        if declared is not None:
            known = {d.lower() for d in declared}
            undeclared = [n for n in names if n.lower() not in known]
            if undeclared:
                text += f"; not declared: {', '.join(repr(n) for n in undeclared)}"
            text += f"; the schedule declares {', '.join(declared) or 'no variables'}"
        return text

    # -- plumbing -------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        endpoint: str,
        parse: Callable[[Any], T],
        *,
        once: bool = False,
        within: float | None = None,
    ) -> T:
        """One request; its answer parsed, or a ``LeapworkError`` that says what went wrong.

        ``once``: the request must not be repeated (runNow); a failure after it may have
        reached the controller says so. ``within``: seconds the caller waits at most,
        retries included. No message carries the key, and no error chains a requests or
        urllib3 traceback (whose frames hold the headers).

        The request is made on a thread of its own while the caller waits for the answer:
        no frame of the caller's stack, the one a test's traceback shows (``--showlocals``,
        pytest-timeout, Ctrl-C), ever holds the request's headers. The package's own
        background threads (the poller, the fetchers) make their requests themselves: their
        frames never reach a traceback, and a hop to another thread would cost them time.
        """
        self._check_key()
        if within is None and _on_a_thread_of_ours():
            return self._exchange_remembered(method, path, endpoint, parse, once)
        answer = self._threads.submit(
            partial(self._exchange_remembered, method, path, endpoint, parse, once)
        )
        try:
            return answer.result(timeout=within)
        except FutureTimeout:
            text = f"{endpoint}: no answer from {self.base_url} within {within:g} s"
            raise ControllerUnreachable(text + (NOT_RETRIED if once else "")) from None
        except LeapworkError as exc:
            # The request thread's frames say nothing to a user.
            raise exc.with_traceback(None) from None

    def _check_key(self) -> None:
        """Refuse at once what would fail again: a remembered error, a key no header holds."""
        remembered = self._remembered
        if remembered is not None:
            raise remembered.again()
        if not self._key.header_safe():
            raise AccessKeyUnusable(
                f"the access key {self._key.masked} cannot be sent in an HTTP header: it holds "
                "a line break, a control character or a character outside Latin-1; copy it "
                "again from Leapwork's API access keys page"
            )

    def _exchange_remembered(
        self, method: str, path: str, endpoint: str, parse: Callable[[Any], T], once: bool
    ) -> T:
        try:
            return self._exchange(method, path, endpoint, parse, once)
        except LeapworkError as exc:
            self._remember(exc)
            raise

    def _remember(self, error: LeapworkError) -> None:
        """Keep an error that every later request would meet again, to answer it at once.

        A refused key stays refused; a controller that never answered, refused every
        attempt to connect or is not trusted will not start answering within a session.
        A controller that answered before and is unreachable now may be restarting: that
        is not remembered.
        """
        refused_key = isinstance(error, AccessKeyRejected) and error.status == 401
        dead = (
            isinstance(error, ControllerUnreachable) and error.nothing_sent and not self._answered
        )
        if refused_key or dead:
            self._remembered = error

    def _exchange(
        self, method: str, path: str, endpoint: str, parse: Callable[[Any], T], once: bool
    ) -> T:
        url = f"{self.base_url}{API_PREFIX}{path}"
        note = NOT_RETRIED if once else ""
        try:
            response = self.session.request(
                method,
                url,
                # Added here, on the request thread, as a str whose repr is masked.
                headers={"AccessKey": self._key.header_value()},
                timeout=self.timeout,
                # Explicitly, or requests lets REQUESTS_CA_BUNDLE override the session's
                # verify, and with it --leapwork-ca-bundle and --leapwork-insecure.
                verify=self.session.verify,
                stream=True,  # read below, up to a limit
            )
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, endpoint, once) from None
        except Exception as exc:  # raised below requests (http.client)
            text = f"{endpoint}: the request failed: {type(exc).__name__}: {exc}"
            raise ControllerUnreachable(self._key.scrub(text + note)) from None
        self._answered = True
        with response:
            text = self._read(response, endpoint, once)
        if response.status_code >= 400:
            error = self._status_error(response, endpoint, text)
            if once and (error.status >= 500 or error.status in RETRY_STATUSES):
                error.args = (f"{error}{note}",)
            raise error
        try:
            data = json.loads(text)
        except ValueError:
            snippet = cut(text.replace("\n", " "), MAX_SNIPPET_CHARS)
            raise InvalidResponse(
                f"{endpoint} answered HTTP {response.status_code} with a body that is not JSON: "
                f"{snippet!r}{note}"
            ) from None
        try:
            return parse(data)
        except InvalidResponse as exc:
            raise InvalidResponse(f"{endpoint}: {exc}{note}") from None

    def _status_error(
        self, response: requests.Response, endpoint: str, text: str
    ) -> ControllerHTTPError:
        """The error an HTTP error answer means, saying how many attempts got it."""
        error = error_for_status(response.status_code, endpoint, text)
        error.retry_after = _retry_after(response)
        attempts = _attempts(response)
        if attempts > 1:
            detail = f": {error.body}" if error.body else ""
            text = f"{endpoint} answered HTTP {error.status} ({error.meaning}) to all "
            error.args = (f"{text}{attempts} attempts{detail}",)
        return error

    def _read(self, response: requests.Response, endpoint: str, once: bool) -> str:
        """The answer's text, the key masked in it: read up to a limit, never all of a huge one.

        An error answer is read only as far as its message is shown; a successful one larger
        than ``MAX_ANSWER_BYTES`` is refused.
        """
        error = response.status_code >= 400
        limit = MAX_ERROR_BYTES if error else MAX_ANSWER_BYTES
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, endpoint, once) from None
        if size > limit and not error:
            raise AnswerTooLarge(
                f"{endpoint} answered more than {limit // (1024 * 1024)} MB; the plugin does "
                f"not read answers that large{NOT_RETRIED if once else ''}"
            )
        body = b"".join(chunks)[:limit]
        text = body.decode(response.encoding or "utf-8", errors="replace").lstrip("\ufeff")
        # Mask first, then cut: a key echoed back is masked wherever a message cuts the text.
        return self._key.scrub(text)

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
        error = ControllerUnreachable(self._key.scrub(text))
        error.nothing_sent = not sent
        return error


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


def _video_extension(content_type: str) -> str:
    """The file extension for a video's Content-Type; Leapwork records MP4 by default."""
    return VIDEO_EXTENSIONS.get(content_type.split(";")[0].strip().lower(), ".mp4")


def _on_a_thread_of_ours() -> bool:
    """Whether the caller is one of this package's background threads, never a test's."""
    return threading.current_thread().name.startswith(OWN_THREADS)


def _resolve_environment_once(session: requests.Session, url: str) -> None:
    """Read the proxy settings and ``.netrc`` for the controller now, not on every request.

    With ``trust_env`` on, requests looks up the proxy variables, ``NO_PROXY`` and the
    ``.netrc`` file again for each request (about a millisecond of CPU each time, most of a
    request's cost on loopback). The controller does not change during a session, so the
    answer is resolved once and kept on the session. ``verify`` is passed explicitly per
    request, so the CA-bundle variables never applied.
    """
    session.proxies.update(requests.utils.get_environ_proxies(url))
    auth = requests.utils.get_netrc_auth(url)
    if auth:
        session.auth = auth
    session.trust_env = False


def _retry_after(response: requests.Response) -> float | None:
    """The answer's Retry-After in seconds (capped), if it has a valid one."""
    try:
        return _CappedRetry().get_retry_after(response.raw)
    except (urllib3.exceptions.InvalidHeader, ValueError, TypeError):
        return None


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
