"""What went wrong with a request, in words: a network error or an HTTP error answer turned
into the package's error, saying how many attempts it took. No pytest import here."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests
import urllib3

from .deadline import Deadline
from .errors import NOT_RETRIED, ControllerHTTPError, ControllerUnreachable, error_for_status
from .retry import CappedRetry, chain, is_certificate_error
from .secret import Secret


def status_error(
    response: requests.Response, endpoint: str, text: str, deadline: Deadline | None = None
) -> ControllerHTTPError:
    """The error an HTTP error answer means, saying how many attempts got it, and why it was
    not asked again when the controller's Retry-After would outlast the request's time."""
    error = error_for_status(response.status_code, endpoint, text)
    error.retry_after = retry_after(response)
    count = attempts(response)
    if count > 1:
        detail = f": {error.body}" if error.body else ""
        words = f"{endpoint} answered HTTP {error.status} ({error.meaning}) to all "
        error.args = (f"{words}{count} attempts{detail}",)
    asked = deadline.declined_wait if deadline is not None else None
    if deadline is not None and asked is not None:
        error.args = (
            f"{error}; it asks to be asked again after {asked:g} s (Retry-After), past the "
            f"{deadline.limit_text()}: not waited for",
        )
    return error


def transport_error(
    exc: BaseException,
    endpoint: str,
    once: bool,
    *,
    where: str,
    retries: int,
    read_timeout: float,
    key: Secret,
    deadline: Deadline | None = None,
    proxy: str | None = None,
) -> ControllerUnreachable:
    """No HTTP answer: what happened, in words, and whether the request left this machine.

    ``proxy``: the proxy the request goes through (no credentials), named when the
    connection that failed was the proxy's, not the controller's.
    """
    errors = list(chain(exc))
    gave_up = any(isinstance(e, urllib3.exceptions.MaxRetryError) for e in errors)
    count = retries + 1 if gave_up and retries else 1
    if deadline is not None and deadline.attempts is not None:
        count = deadline.attempts  # stopped short of its retries: the time was running out
    tries = f" ({count} attempts)" if count > 1 else ""
    why = reason(exc)
    sent = True
    if any(isinstance(e, urllib3.exceptions.SSLError) for e in errors) or isinstance(
        exc, requests.exceptions.SSLError
    ):
        text = f"{endpoint}: TLS error talking to {where}: {why}{tries}"
        if is_certificate_error(exc):
            sent = False
            text += (
                "; the controller's certificate is not trusted: give the CA that signed it "
                "(--leapwork-ca-bundle or LEAPWORK_CA_BUNDLE), or, on a network you trust, "
                "--leapwork-insecure"
            )
    elif proxy is not None and (
        isinstance(exc, requests.exceptions.ProxyError)
        or any(isinstance(e, urllib3.exceptions.ProxyError) for e in errors)
    ):
        if any(isinstance(e, urllib3.exceptions.ConnectTimeoutError) for e in errors):
            # No connection to the proxy (NewConnectionError is a ConnectTimeoutError).
            sent = False
            text = (
                f"{endpoint}: cannot reach the proxy {proxy} (set in the environment for "
                f"the controller at {where}): {why}{tries}"
            )
        else:
            text = f"{endpoint}: the proxy {proxy} to {where} failed{tries}: {why}"
    elif any(isinstance(e, urllib3.exceptions.ConnectTimeoutError) for e in errors):
        # Refused, unresolvable or no TCP connection in time: nothing was sent.
        sent = False
        text = f"{endpoint}: cannot reach the controller at {where}: {why}{tries}"
    elif isinstance(exc, requests.exceptions.ProxyError):
        text = f"{endpoint}: the proxy to {where} failed{tries}: {why}"
    elif any(isinstance(e, urllib3.exceptions.ReadTimeoutError) for e in errors):
        text = f"{endpoint}: no answer from {where} within {read_timeout:g} s{tries}"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        text = (
            f"{endpoint}: the controller at {where} closed the connection without an "
            f"answer{tries}: {why}"
        )
    else:
        text = f"{endpoint}: {why}"
    if once and sent:
        text += NOT_RETRIED
    error = ControllerUnreachable(key.scrub(text))
    error.nothing_sent = not sent
    return error


def shown_proxy(url: str | None) -> str | None:
    """A proxy's URL as a message may show it: without the user name and password."""
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}"


def retry_after(response: requests.Response) -> float | None:
    """The answer's Retry-After in seconds (capped), if it has a valid one."""
    try:
        return CappedRetry().get_retry_after(response.raw)
    except (urllib3.exceptions.InvalidHeader, ValueError, TypeError):
        return None


def attempts(response: requests.Response) -> int:
    """How many times urllib3 sent the request that got ``response``."""
    retries = getattr(response.raw, "retries", None)
    history = getattr(retries, "history", None) or ()
    return len(history) + 1


_CONNECTION_REPR = re.compile(r"^(?:<[^>]*>|\w*HTTPS?Connection(?:Pool)?\([^)]*\)): ")


def reason(exc: BaseException) -> str:
    """The innermost useful reason of a requests/urllib3 error, without a traceback."""
    innermost = list(chain(exc))[-1]
    text = str(innermost)
    # urllib3 prefixes the connection object's repr, which says nothing to a user.
    text = _CONNECTION_REPR.sub("", text)
    return text or type(innermost).__name__
