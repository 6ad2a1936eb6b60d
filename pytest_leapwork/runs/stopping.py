"""Stopping runs, every call of it bounded (``calls``), and making sure a stopped run did stop.

``RunStopper`` stops a followed run and ends its handle
with the reason, or with why nothing usable was heard of it. No pytest import here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..api.errors import LeapworkError, RunLost
from ..api.models import FINISHED
from ..threads import DaemonPool
from . import bounds
from .handle import RunHandle

if TYPE_CHECKING:
    from .calls import BoundedCalls
    from .collecting import Collector

log = logging.getLogger("pytest_leapwork")


def silence(handle: RunHandle, now: float) -> str | None:
    """Why nothing usable was heard of a run by its deadline, if that is the case."""
    asking = handle.poll.asking
    if asking is not None and now - asking[1] >= bounds.SILENCE_SECONDS:
        return f"the controller did not answer {asking[0]} for {now - asking[1]:.1f}s"
    if handle.poll.error is not None:
        return str(handle.poll.error)
    return None


def stop_outcome(handle: RunHandle) -> str:
    if handle.stop_error is None:
        return "it was stopped"
    return (
        f"it could not be stopped ({handle.stop_error}) and may still be executing on "
        "the controller"
    )


class RunStopper:
    """Stops followed runs and ends their handles, each stop bounded by its grace."""

    def __init__(
        self, calls: BoundedCalls, collector: Collector, clock: Callable[[], float]
    ) -> None:
        self._calls = calls
        self._collector = collector
        self._clock = clock

    def stop(self, handle: RunHandle, reason: str) -> None:
        """Stop a run on the controller and end it with ``reason`` (e.g. ``"interrupted"``).

        Bounded: on a timeout, by the run's deadline plus ``STOP_GRACE_SECONDS``; otherwise by
        ``STOP_GRACE_SECONDS`` from now. A stop already under way elsewhere is waited for.
        """
        if handle.done:
            return
        if not handle.stopping.acquire(blocking=False):
            handle.wait_done(bounds.STOP_GRACE_SECONDS)
            return
        try:
            if not handle.done:
                self._stop(handle, reason)
        finally:
            handle.stopping.release()

    def _stop(self, handle: RunHandle, reason: str) -> None:
        now = self._clock()
        grace = bounds.STOP_GRACE_SECONDS
        until = (max(now, handle.deadline) if reason == "timeout" else now) + grace
        cause = silence(handle, now) if reason == "timeout" else None
        handle.stop_reason = reason
        if cause is not None and handle.status == FINISHED:
            # The controller said the run finished; its flows could not be read.
            self._collector.fail(
                handle,
                RunLost(
                    f"run {handle.run_id} finished, but the controller gave no usable "
                    f"answer about its flows before its timeout of "
                    f"{handle.request.timeout:g}s passed: {cause}"
                ),
            )
            return
        handle.stop_error = self._calls.stop_run_id(handle.run_id, until, handle.schedule.title)
        if cause is not None:
            # Nothing usable was heard of the run lately: its outcome is unknown, not a
            # timeout (its flows may well have passed).
            self._collector.fail(
                handle,
                RunLost(
                    f"the controller gave no usable answer about run {handle.run_id} "
                    f"before its timeout of {handle.request.timeout:g}s passed: {cause}; "
                    f"{stop_outcome(handle)}"
                ),
            )
            return
        self._collector.collect_after_stop(handle, reason, until)

    def fail_and_stop(self, handle: RunHandle, error: LeapworkError) -> None:
        """End following a run that may still execute: stop it first, and say how that went."""
        handle.stop_reason = "it could not be followed"
        handle.stop_error = self._calls.stop_run_id(
            handle.run_id, self._clock() + bounds.STOP_GRACE_SECONDS, handle.schedule.title
        )
        if handle.stop_error is None:
            note = f"; run {handle.run_id} was stopped"
        else:
            note = (
                f"; the plugin can no longer stop run {handle.run_id} ({handle.stop_error}): "
                "it may still be executing on the controller"
            )
        error.args = (f"{error}{note}",)
        self._collector.fail(handle, error)

    def stop_all(self, handles: list[RunHandle], reason: str) -> None:
        """Stop ``handles`` concurrently; returns once every stop has (each is bounded)."""
        pool = DaemonPool("leapwork-stop", max_workers=min(8, len(handles)))
        try:
            for future in [pool.submit(self.stop, h, reason) for h in handles]:
                future.result()
        finally:
            pool.shutdown(wait=False)
