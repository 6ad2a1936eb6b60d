"""The one gate every request to the controller passes through.

``Transport.send`` makes a request on a daemon thread of its own and waits for it until the
request's deadline: the session's bound (``REQUEST_BOUND_SECONDS``) or a caller's tighter
``within``. The deadline covers the whole exchange: connecting, urllib3's retries and their
waits (a back-off or a Retry-After that would end past it is not waited for; see
``retry.py``), and reading the body (a body that drips in is given up between its chunks). A
controller that never finishes answering costs a caller at most the deadline, whichever
thread calls. The key is added to the headers on the request thread, so no frame of the
caller's stack (the one a test's traceback shows) holds it, and no error chains a requests or
urllib3 traceback. No pytest import here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from ..threads import DaemonPool
from . import deadline as deadlines
from .deadline import Deadline
from .errors import (
    NOT_RETRIED,
    AccessKeyRejected,
    AnswerTooLarge,
    ControllerHTTPError,
    ControllerUnreachable,
    InvalidResponse,
    LeapworkError,
)
from .failures import shown_proxy, status_error, transport_error
from .limits import MAX_ERROR_BYTES, MAX_SNIPPET_CHARS, cut
from .retry import RETRY_STATUSES, make_retry
from .secret import Secret

#: The longest any request to the controller may take, retries and reading included. Read
#: when a client is made (its ``bound=`` overrides it), so a test or a conftest can lower it.
REQUEST_BOUND_SECONDS = 60.0

API_PREFIX = "/api/v4"
#: Most bytes taken from the socket at once.
CHUNK_BYTES = 64 * 1024

T = TypeVar("T")


class AccessKeyUnusable(LeapworkError):
    """The access key cannot be sent in an HTTP header (a line break, a non-Latin-1 letter)."""


class Transport:
    """The connection to one controller and the gate its requests pass. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        key: Secret,
        *,
        connect_timeout: float,
        read_timeout: float,
        retries: int,
        verify: bool | str,
        pool_size: int,
        backoff_factor: float,
        backoff_max: float,
        max_answer_bytes: int,
        bound: float | None = None,
    ) -> None:
        self.base_url = base_url
        self.key = key
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.max_answer_bytes = max_answer_bytes
        self.bound = REQUEST_BOUND_SECONDS if bound is None else bound
        #: An error every later request would meet again (a refused key, a dead controller).
        self.remembered: LeapworkError | None = None
        #: Whether the controller has answered anything (an HTTP status) in this session.
        self.answered = False
        #: Where every request is made, off its caller's thread (see ``send``).
        self._threads = DaemonPool("leapwork-request")
        self.session = _KeyKeepingSession()
        self.session.verify = verify
        if verify is False:
            # The user chose this and was warned once at start; not once per request.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.session.headers.update({"Accept": "application/json"})
        adapter = HTTPAdapter(
            max_retries=make_retry(retries, backoff_factor, backoff_max),
            pool_connections=1,
            pool_maxsize=pool_size,
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        _resolve_environment_once(self.session, self.base_url)
        #: The proxy requests go through, as messages name it (no credentials), if any.
        self.proxy = shown_proxy(requests.utils.select_proxy(self.base_url, self.session.proxies))

    def close(self) -> None:
        self.session.close()

    # -- the gate ---------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        endpoint: str,
        receive: Callable[[Answer], T],
        *,
        once: bool = False,
        within: float | None = None,
        accept: str | None = None,
    ) -> T:
        """One request, ``receive`` reading its answer; or a ``LeapworkError`` saying what
        went wrong. Every request of the client passes here.

        ``once``: the request must not be repeated (runNow); a failure after it may have
        reached the controller says so. ``within``: seconds the caller waits at most, if less
        than the session's bound. The request runs on a daemon thread while the caller waits
        for it until the deadline; a request still going then is abandoned. The package's
        own threads wait the same way: a thread of a request has no limit of its own on how
        long a controller may take to answer, only on each read.
        """
        self.check_key()
        limit = self.bound if within is None else min(within, self.bound)
        deadline = Deadline(limit, bound=limit >= self.bound)
        request = partial(self._exchange_remembered, method, path, endpoint, receive)
        answer = self._threads.submit(request, once, deadline, accept)
        try:
            return answer.result(timeout=max(0.0, deadline.left()))
        except FutureTimeout:
            raise deadline.error(endpoint, self.base_url, once) from None
        except LeapworkError as exc:
            # The request thread's frames say nothing to a user.
            raise exc.with_traceback(None) from None

    def call(
        self,
        method: str,
        path: str,
        endpoint: str,
        parse: Callable[[Any], T],
        *,
        once: bool = False,
        within: float | None = None,
    ) -> T:
        """A request whose answer is JSON, parsed by ``parse``."""
        receive = partial(_parsed, parse)
        return self.send(method, path, endpoint, receive, once=once, within=within)

    def check_key(self) -> None:
        """Refuse at once what would fail again: a remembered error, a key no header holds."""
        remembered = self.remembered
        if remembered is not None:
            raise remembered.again()
        if not self.key.header_safe():
            raise AccessKeyUnusable(
                f"the access key {self.key.masked} cannot be sent in an HTTP header: it holds "
                "a line break, a control character or a character outside Latin-1; copy it "
                "again from Leapwork's API access keys page"
            )

    # -- on the request thread ----------------------------------------------------------------

    def _exchange_remembered(
        self,
        method: str,
        path: str,
        endpoint: str,
        receive: Callable[[Answer], T],
        once: bool,
        deadline: Deadline,
        accept: str | None,
    ) -> T:
        try:
            return self._exchange(method, path, endpoint, receive, once, deadline, accept)
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
        dead = isinstance(error, ControllerUnreachable) and error.nothing_sent and not self.answered
        if refused_key or dead:
            self.remembered = error

    def _exchange(
        self,
        method: str,
        path: str,
        endpoint: str,
        receive: Callable[[Answer], T],
        once: bool,
        deadline: Deadline,
        accept: str | None,
    ) -> T:
        # Added here, on the request thread, as a str whose repr is masked.
        headers = {"AccessKey": self.key.header_value()}
        if accept:
            headers["Accept"] = accept
        try:
            with deadlines.applying(deadline):
                response = self.session.request(
                    method,
                    f"{self.base_url}{API_PREFIX}{path}",
                    headers=headers,
                    timeout=self.timeout,
                    # Explicitly, or requests lets REQUESTS_CA_BUNDLE override the session's
                    # verify, and with it --leapwork-ca-bundle and --leapwork-insecure.
                    verify=self.session.verify,
                    stream=True,  # read by ``receive``, chunk by chunk, up to the deadline
                )
        except requests.exceptions.RequestException as exc:
            raise self.failure(exc, endpoint, once, deadline) from None
        except Exception as exc:  # raised below requests (http.client)
            if deadline.passed():
                raise deadline.error(endpoint, self.base_url, once) from None
            text = f"{endpoint}: the request failed: {type(exc).__name__}: {exc}"
            note = NOT_RETRIED if once else ""
            raise ControllerUnreachable(self.key.scrub(text + note)) from None
        self.answered = True
        deadline.answering = True
        with response:
            return receive(Answer(self, response, endpoint, once, deadline))

    def failure(
        self, exc: BaseException, endpoint: str, once: bool, deadline: Deadline
    ) -> ControllerUnreachable:
        """The error of a request that got no (complete) answer."""
        if deadline.passed():
            return deadline.error(endpoint, self.base_url, once)
        return transport_error(
            exc,
            endpoint,
            once,
            where=self.base_url,
            retries=self.retries,
            read_timeout=self.timeout[1],
            key=self.key,
            deadline=deadline,
            proxy=self.proxy,
        )


class Answer:
    """An answer whose headers have arrived, its body read on the request thread."""

    def __init__(
        self,
        transport: Transport,
        response: requests.Response,
        endpoint: str,
        once: bool,
        deadline: Deadline,
    ) -> None:
        self.transport = transport
        self.response = response
        self.endpoint = endpoint
        self.once = once
        self.deadline = deadline

    @property
    def status(self) -> int:
        return self.response.status_code

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives, the deadline checked between chunks: a body that drips in
        byte by byte never stalls long enough for a read timeout, but it ends here."""
        raw = self.response.raw
        # read1 returns what has arrived (urllib3 2.3+); read waits for a whole chunk.
        read = getattr(raw, "read1", None) or raw.read
        try:
            while True:
                if self.deadline.passed():
                    raise self.deadline.error(self.endpoint, self.transport.base_url, self.once)
                chunk = read(CHUNK_BYTES, decode_content=True)
                if not chunk:
                    return
                yield chunk
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise self.transport.failure(exc, self.endpoint, self.once, self.deadline) from None

    def text(self) -> str:
        """The answer's text, the key masked in it: read up to a limit, never all of a huge one.

        An error answer is read only as far as its message is shown; a successful one larger
        than the client's ``max_answer_bytes`` is refused.
        """
        error = self.status >= 400
        limit = MAX_ERROR_BYTES if error else self.transport.max_answer_bytes
        chunks: list[bytes] = []
        size = 0
        for chunk in self.chunks():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        if size > limit and not error:
            raise AnswerTooLarge(
                f"{self.endpoint} answered more than {limit // (1024 * 1024)} MB; the plugin "
                f"does not read answers that large{NOT_RETRIED if self.once else ''}"
            )
        body = b"".join(chunks)[:limit]
        text = body.decode(self.response.encoding or "utf-8", errors="replace").lstrip("\ufeff")
        # Mask first, then cut: a key echoed back is masked wherever a message cuts the text.
        return self.transport.key.scrub(text)

    def error(self, text: str | None = None) -> ControllerHTTPError:
        """The error this HTTP error answer means (its body read, unless given)."""
        body = self.text() if text is None else text
        return status_error(self.response, self.endpoint, body, self.deadline)


def _parsed(parse: Callable[[Any], T], answer: Answer) -> T:
    """A JSON answer, parsed; an error answer as its error."""
    text = answer.text()
    note = NOT_RETRIED if answer.once else ""
    if answer.status >= 400:
        error = answer.error(text)
        if answer.once and (error.status >= 500 or error.status in RETRY_STATUSES):
            error.args = (f"{error}{note}",)
        raise error
    try:
        data = json.loads(text)
    except ValueError:
        snippet = cut(text.replace("\n", " "), MAX_SNIPPET_CHARS)
        raise InvalidResponse(
            f"{answer.endpoint} answered HTTP {answer.status} with a body that is not JSON: "
            f"{snippet!r}{note}"
        ) from None
    try:
        return parse(data)
    except InvalidResponse as exc:
        raise InvalidResponse(f"{answer.endpoint}: {exc}{note}") from None


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
