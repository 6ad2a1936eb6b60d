"""How long one request to the controller may take, and how far it got.

A request's deadline is shared by the thread that waits for it and the thread that makes it:
the waiting side stops waiting when it passes, the making side stops reading a dripping body,
and the retry policy (``retry.py``) declines a wait (a back-off, a Retry-After) that would end
past it. No pytest import here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import NOT_RETRIED, AnswerTooSlow

#: Said of a request cut by the session's bound rather than by a caller's own limit.
BOUND_NOTE = ", the bound on any request to the controller"


class Deadline:
    """The moment one request must be over, and what the controller did until then."""

    def __init__(self, seconds: float, *, bound: bool) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        #: Whether the session's bound set it (not a caller's tighter limit).
        self.bound = bound
        #: The answer's headers arrived: its body is on the way.
        self.answering = False
        #: A Retry-After the retry policy declined to wait for, in seconds.
        self.declined_wait: float | None = None
        #: How many attempts were made when the retry policy stopped short of its retries.
        self.attempts: int | None = None

    def left(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0

    def limit_text(self) -> str:
        """The limit in words, for a message."""
        return f"{self.seconds:g} s" + (BOUND_NOTE if self.bound else "")

    def error(self, endpoint: str, where: str, once: bool) -> AnswerTooSlow:
        """The error of a request still unanswered, or still answering, when time is up."""
        if self.answering:
            text = (
                f"{endpoint}: the answer from {where} was still arriving after "
                f"{self.limit_text()}; it is not waited for any longer"
            )
        else:
            # Word for word the message of a caller's own limit (``within``), which docs quote.
            text = f"{endpoint}: no answer from {where} within {self.limit_text()}"
        return AnswerTooSlow(text + (NOT_RETRIED if once else ""))


_local = threading.local()


@contextmanager
def applying(deadline: Deadline) -> Iterator[None]:
    """Make ``deadline`` the one the retry policy sees on this thread while a request runs."""
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = None


def current() -> Deadline | None:
    """The deadline of the request this thread is making, if any."""
    deadline: Deadline | None = getattr(_local, "deadline", None)
    return deadline
