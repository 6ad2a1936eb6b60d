"""The one place the package starts threads: none of them ever holds up the end of the process.

Every thread is a daemon, named ``leapwork-...`` (the client tells its own threads by that
prefix) and never joined at exit. ``DaemonPool`` serves the client's requests made off a
test's thread, the runner's polls, fetches, stops and bounded calls, and the artifacts'
downloads; ``start_daemon`` starts a single long-lived thread (the runner's poller).

``concurrent.futures.ThreadPoolExecutor`` joins its threads when Python exits, so one request
to a controller that never answers (or keeps answering 429 with a long Retry-After) kept a
finished pytest session alive for minutes. The threads here are daemon threads: once the
session is over, a request still waiting is simply abandoned. ``call_within`` bounds how long
a caller waits for a call, whatever the call itself does. No pytest import here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

T = TypeVar("T")

#: An idle thread ends after this long; a busy pool grows instead of queueing behind a hang.
IDLE_SECONDS = 30.0
#: The name prefix of every thread of the package.
PREFIX = "leapwork-"


def thread_name(name: str) -> str:
    """``name`` with the package's prefix, which the client relies on."""
    return name if name.startswith(PREFIX) else PREFIX + name


def start_daemon(name: str, target: Callable[[], object]) -> threading.Thread:
    """Start ``target`` on a daemon thread named ``leapwork-...``; nothing ever joins it."""
    thread = threading.Thread(target=target, name=thread_name(name), daemon=True)
    thread.start()
    return thread


class OutOfTime(Exception):
    """A call did not return within the time it was given (it goes on in the background)."""


class DaemonPool(Executor):
    """Runs each call on an idle daemon thread, or on a new one when none is idle.

    Up to ``max_workers`` threads (unbounded by default: a call stuck on a silent controller
    then never delays the calls after it); beyond that, calls wait their turn.
    """

    def __init__(self, name: str, max_workers: int | None = None) -> None:
        self._name = thread_name(name)
        self._max_workers = max_workers
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name} is shut down")
            self._work.put((future, lambda: fn(*args, **kwargs)))
            if self._idle:
                self._idle -= 1
            elif self._max_workers is None or self._threads < self._max_workers:
                self._threads += 1
                start_daemon(self._name, self._serve)
        return future

    def _serve(self) -> None:
        while True:
            try:
                work = self._work.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle:  # nobody counts on this thread: end it
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue
            if work is None:
                return
            future, call = work
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as exc:  # the caller gets it, whatever it is
                    future.set_exception(exc)
            del work, future, call  # an idle thread keeps nothing of the last call
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls; calls still running are abandoned (``wait`` is not honoured)."""
        with self._lock:
            self._closed = True
            threads = self._threads
        for _ in range(threads):
            self._work.put(None)


def call_within(pool: Executor, seconds: float, call: Callable[[], T], what: str) -> T:
    """``call()`` on ``pool``, waited for ``seconds`` at most.

    Raises ``OutOfTime`` naming ``what`` when the call has not returned by then.
    """
    future = pool.submit(call)
    try:
        return future.result(timeout=max(0.0, seconds))
    except FutureTimeout:
        raise OutOfTime(what) from None
