"""Reading a run's flows, and ending its handle with them (or with why it could not be).

A finished run's items are fetched concurrently over the shared connection pool, each item
followed at once by its keyframes where the flow did not pass. Ending a handle tells the
runner's ``on_finished`` listeners. No pytest import here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

from ..api.errors import LeapworkError
from ..api.models import FlowResult, LeapworkRun
from ..threads import DaemonPool
from .handle import RunHandle

if TYPE_CHECKING:
    from ..api.client import LeapworkClient
    from .calls import BoundedCalls

log = logging.getLogger("pytest_leapwork")
T = TypeVar("T")

Listeners = list[Callable[[RunHandle], None]]


def notify(listeners: Listeners, handle: RunHandle) -> None:
    """Call each listener with ``handle``; one that fails is logged and passed over."""
    for listener in list(listeners):
        try:
            listener(handle)
        except Exception:  # a listener must not stop the poller or a test
            log.exception("run listener failed")


class Collector:
    """Fetches a run's items and keyframes, and ends its handle."""

    def __init__(
        self,
        client: LeapworkClient,
        calls: BoundedCalls,
        clock: Callable[[], float],
        on_finished: Listeners,
        *,
        done_counts_as_passed: bool,
        keyframes_for_passed: bool,
    ) -> None:
        self.client = client
        self._calls = calls
        self._clock = clock
        self._on_finished = on_finished
        self.done_counts_as_passed = done_counts_as_passed
        self.keyframes_for_passed = keyframes_for_passed
        self._pool: DaemonPool | None = None

    def open_pool(self, workers: int) -> None:
        """Fetch concurrently from here on (until then, one request after another)."""
        if self._pool is None:
            self._pool = DaemonPool("leapwork-fetch", workers)

    def close(self) -> None:
        """Refuse new fetches; those still waiting for a silent controller are abandoned."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- fetching -------------------------------------------------------------------------

    def fetch_items(self, handle: RunHandle, ids: list[str]) -> None:
        """Fetch every item not yet known to be finished, and keyframes of those not passed."""
        wanted = [i for i in ids if i not in handle.flows or not handle.flows[i].finished]
        for item_id, flow in zip(wanted, self._map(self._fetch_flow, wanted), strict=True):
            handle.flows[item_id] = flow

    def _fetch_flow(self, item_id: str) -> FlowResult:
        """One item and, right after it on the same thread, its keyframes if they are wanted.

        One pipeline rather than all items, then all keyframes: no phase waits for the
        slowest request of the one before.
        """
        flow = self.client.run_item(item_id)
        flow.done_counts_as_passed = self.done_counts_as_passed
        if flow.finished and (self.keyframes_for_passed or not flow.passed):
            flow.keyframes = self.client.keyframes(flow.run_item_id or item_id)
        return flow

    def _map(self, function: Callable[[str], T], args: list[str]) -> list[T]:
        """``function`` over ``args``, concurrently over the shared connection pool."""
        if len(args) <= 1 or self._pool is None:
            return [function(a) for a in args]
        futures: list[Future[T]] = [self._pool.submit(function, a) for a in args]
        return [f.result() for f in futures]

    def collect_after_stop(self, handle: RunHandle, reason: str, until: float) -> None:
        """After a stop, collect whatever flows ran, so the report says how far it got."""
        known = list(handle.flows)

        def collect() -> list[str]:
            ids = self.client.run_item_ids(handle.run_id)
            self.fetch_items(handle, ids)
            return ids

        try:
            ids = self._calls.within(until, collect, "collecting the flows after the stop")
        except (LeapworkError, RuntimeError) as exc:  # RuntimeError: the runner was closed
            log.debug("run %s: could not collect flows after stop: %s", handle.run_id, exc)
            ids = known
        self.finish(handle, ids, stopped_reason=reason)

    # -- ending ---------------------------------------------------------------------------

    def finish(self, handle: RunHandle, ids: list[str], stopped_reason: str | None = None) -> None:
        """End the run with the flows of ``ids`` (a stop and a poll may race: once only)."""
        # A poll can see the end a stop caused before the stop's answer arrives: the run is
        # still the one the plugin stopped.
        reason = stopped_reason or handle.stop_reason
        run = LeapworkRun(
            run_id=handle.run_id,
            schedule_id=handle.schedule.id,
            schedule_title=handle.schedule.title,
            variables=dict(handle.request.variables),
            flows=[handle.flows[i] for i in ids if i in handle.flows],
            elapsed=self._clock() - handle.triggered_at,
            stopped_reason=reason,
            stop_error=handle.stop_error if reason else None,
        )
        if not handle.end(result=run):
            return
        log.info(
            "run %s of %r ended: %s",
            handle.run_id,
            handle.schedule.title,
            reason or ("passed" if run.passed else "failed"),
        )
        notify(self._on_finished, handle)

    def fail(self, handle: RunHandle, error: LeapworkError) -> None:
        """End following the run with ``error`` (once only)."""
        if handle.end(error=error):
            notify(self._on_finished, handle)
