"""Threads that make the client's requests while the caller waits for a future.

Why not ``concurrent.futures.ThreadPoolExecutor``: its threads are joined when the
interpreter exits, so a controller that never answers would hold the process until the
read timeout. These are daemon threads. They are reused (starting a thread per request
costs more than a request to a controller on the same network) and end after a while idle.
No pytest import here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

#: An idle thread ends after this many seconds without a request.
IDLE_SECONDS = 10.0

_Job = tuple["Future[object]", Callable[[], object]]


class RequestThreads:
    def __init__(self, name: str = "leapwork-request") -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        #: Threads waiting for a job that no submit has reserved yet.
        self._idle = 0

    def submit(self, function: Callable[[], T]) -> Future[T]:
        """Run ``function`` on one of the threads; its result or exception in the future."""
        future: Future[T] = Future()
        with self._lock:
            if self._idle:
                self._idle -= 1  # that thread takes this job
                start = False
            else:
                start = True
        self._jobs.put((future, function))  # type: ignore[arg-type]
        if start:
            threading.Thread(target=self._work, name=self._name, daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            try:
                future, function = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle:  # nobody counts on this thread: end it
                        self._idle -= 1
                        return
                continue  # a submit reserved this thread: its job is on the way
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function())
                except BaseException as exc:  # the caller gets it, whatever it is
                    future.set_exception(exc)
            del future, function  # an idle thread keeps nothing of the last request
            with self._lock:
                self._idle += 1
