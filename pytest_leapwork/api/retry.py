"""The retry policy: which answers and errors are asked again, how long between, and never
past the request's deadline. No pytest import here."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import urllib3
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from . import deadline as deadlines

# Statuses worth asking again for an idempotent request: a busy or restarting controller,
# a proxy in trouble, the cache timeout (448) and database (455) hiccups the vendor lists.
RETRY_STATUSES = frozenset({448, 455, 500, 502, 503, 504})

#: Longest wait a Retry-After header may impose; a run's own timeout must stay in charge.
MAX_RETRY_AFTER = 30.0


class CappedRetry(Retry):
    """urllib3's Retry, with four changes for a client that must not send runNow twice.

    - A Retry-After of an hour does not stall a poll for an hour (``MAX_RETRY_AFTER``).
    - No wait (a back-off, a Retry-After) that would end past the request's deadline: the
      last answer or error is given up at once instead, and the deadline notes why.
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
        if error is not None and is_certificate_error(error):
            raise error
        attempts = len(self.history) + 1
        retry = super().increment(*args, **kwargs)
        deadline = deadlines.current()
        if deadline is None:
            return retry
        response = kwargs.get("response")
        asked = None
        if response is not None and self.respect_retry_after_header:
            asked = Retry.get_retry_after(self, response)  # what the controller asked, uncapped
        wait = asked if asked is not None else retry.get_backoff_time()
        if wait < deadline.left():
            return retry
        # Waiting would outlast the request's time: give up now, with what came last.
        deadline.declined_wait = asked
        deadline.attempts = attempts
        pool: Any = kwargs.get("_pool")
        url: Any = args[1] if len(args) > 1 else kwargs.get("url")
        reason = error or ResponseError(f"a wait of {wait:g} s would pass the deadline")
        raise MaxRetryError(pool, url, reason)


def make_retry(retries: int, backoff_factor: float, backoff_max: float) -> CappedRetry:
    """The policy of one client: ``retries`` more attempts of a ``GET`` at most."""
    return CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        # Only reads are repeated automatically. runNow (a PUT) is retried by urllib3
        # only on connection errors, raised before the request left this machine.
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def is_certificate_error(error: BaseException) -> bool:
    return any(
        isinstance(e, (ssl.SSLCertVerificationError, ssl.CertificateError))
        or "CERTIFICATE_VERIFY_FAILED" in str(e)
        for e in chain(error)
    )


def chain(error: BaseException) -> Iterator[BaseException]:
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
