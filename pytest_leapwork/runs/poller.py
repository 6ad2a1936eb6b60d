"""Following runs: one poller thread looks at every run in flight on its own cadence.

Status requests come on an adaptive schedule (``cadence``: often while a run is young, at
most every poll interval); once the controller says ``Finished``, the run's item ids and the
items themselves are collected (``collecting``). A look stuck on a silent controller does not
keep a run executing past its deadline: the poller stops it. No pytest import here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from ..api.errors import (
    AccessKeyRejected,
    ControllerHTTPError,
    ControllerServerError,
    InvalidResponse,
    LeapworkError,
    MethodNotAllowed,
    NotFound,
    RunLost,
)
from ..api.models import FINISHED, TEMPORARY, Schedule
from ..threads import DaemonPool, start_daemon
from . import bounds
from .cadence import poll_delay
from .collecting import Collector, Listeners, notify
from .handle import RunHandle
from .stopping import silence

if TYPE_CHECKING:
    from ..api.client import LeapworkClient
    from .calls import BoundedCalls
    from .stopping import RunStopper

log = logging.getLogger("pytest_leapwork")


def collect_by(handle: RunHandle) -> float:
    """When a run seen Finished must have its flows collected (``COLLECT_SECONDS``)."""
    assert handle.finished_seen_at is not None
    return handle.finished_seen_at + bounds.COLLECT_SECONDS


class Poller:
    """The runs in flight, and the thread that looks at each when its turn comes."""

    def __init__(
        self,
        *,
        status_client: LeapworkClient,
        collector: Collector,
        stopper: RunStopper,
        calls: BoundedCalls,
        clock: Callable[[], float],
        poll_interval: float,
        workers: int,
        on_end_noticed: Listeners,
    ) -> None:
        self.status_client = status_client
        self.poll_interval = poll_interval
        self._collector = collector
        self._stopper = stopper
        self._calls = calls
        self._clock = clock
        self._workers = workers
        self._on_end_noticed = on_end_noticed
        self._run_summary_supported = True
        self._lock = threading.Lock()
        self._active: list[RunHandle] = []
        self._wake = threading.Event()
        self._closed = False
        self._pool: DaemonPool | None = None

    # -- the runs followed ----------------------------------------------------------------

    def follow(self, handle: RunHandle) -> None:
        """Look at ``handle`` from its ``next_poll_at`` on (the thread starts with the first)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("runner is closed")
            self._active.append(handle)
            if self._pool is None:
                self._pool = DaemonPool("leapwork-poll", self._workers)
                self._collector.open_pool(self._workers)
                start_daemon("leapwork-poller", self._loop)
        self._wake.set()

    def release(self, handle: RunHandle) -> None:
        with self._lock:
            if handle in self._active:
                self._active.remove(handle)

    def active(self) -> list[RunHandle]:
        with self._lock:
            return list(self._active)

    def close(self) -> None:
        """Nothing is asked or logged from here on; nothing joins the thread."""
        with self._lock:
            self._closed = True
            pool = self._pool
        self._wake.set()  # the thread sees ``_closed`` and returns
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._collector.close()

    # -- the thread -----------------------------------------------------------------------

    def _loop(self) -> None:
        assert self._pool is not None
        while True:
            with self._lock:
                if self._closed:
                    return
                self._active = [h for h in self._active if not h.done]
                now = self._clock()
                due = [h for h in self._active if not h.poll.busy and h.poll.next_at <= now]
                for handle in due:
                    handle.poll.busy = True
                waits = [h.poll.next_at - now for h in self._active if not h.poll.busy]
                # A look stuck on a silent controller must not keep a run executing past its
                # deadline until a test waits for it: stop it from here (once).
                stuck = [h for h in self._active if h.poll.busy and not h.poll.overdue_stop]
                slack = bounds.DEADLINE_SLACK_SECONDS
                overdue = [h for h in stuck if now >= h.deadline + slack]
                for handle in overdue:
                    handle.poll.overdue_stop = True
                waits += [h.deadline + slack - now for h in stuck]
                # Nor may a finished run's stuck collecting keep its test waiting.
                collecting = [h for h in stuck if h.finished_seen_at is not None]
                uncollected = [h for h in collecting if now >= collect_by(h)]
                for handle in uncollected:
                    handle.poll.overdue_stop = True
                waits += [collect_by(h) - now for h in collecting]
            try:
                for handle in due:
                    future = self._pool.submit(self.poll, handle)
                    future.add_done_callback(partial(self._after_poll, handle))
                for handle in overdue:
                    self._calls.submit(self._stopper.stop, handle, "timeout")
                for handle in uncollected:
                    self._calls.submit(self.give_up_collecting, handle)
            except RuntimeError:  # closed meanwhile: the pool refuses new work
                return
            timeout = max(0.0, min(waits)) if waits else None
            self._wake.wait(timeout)
            self._wake.clear()

    def _after_poll(self, handle: RunHandle, _future: object = None) -> None:
        handle.poll.busy = False
        self._wake.set()

    # -- one look -------------------------------------------------------------------------

    def poll(self, handle: RunHandle) -> None:
        """One look at a run; schedules the next look or ends the run."""
        if self._closed:
            return  # the session is over: nothing more is asked, or logged
        try:
            self._poll_once(handle)
        except AccessKeyRejected as exc:
            self._stopper.fail_and_stop(handle, exc)
        except RunLost as exc:
            self._collector.fail(handle, exc)
        except NotFound as exc:
            handle.poll.error = exc
            # Item ids and items may lag behind the status in the first seconds, too.
            if self._clock() - handle.triggered_at > bounds.START_GRACE_SECONDS:
                self._collector.fail(
                    handle, RunLost(f"run {handle.run_id} is unknown to the controller: {exc}")
                )
        except LeapworkError as exc:
            # Trouble while following is not the schedule's fault: keep following until the
            # run finishes or its timeout passes (asking again when the controller says).
            self._poll_failed(handle, exc)
            if not self._closed:
                log.warning("run %s: %s (still following)", handle.run_id, exc)
        except Exception as exc:  # never let a bug leave a test waiting forever
            if self._closed:
                return
            log.exception("run %s: unexpected error", handle.run_id)
            self._stopper.fail_and_stop(
                handle, LeapworkError(f"internal error following run {handle.run_id}: {exc!r}")
            )
        finally:
            handle.poll.asking = None
        if not handle.done and not self._closed:
            now = self._clock()
            if handle.finished_seen_at is not None and now >= collect_by(handle):
                self.give_up_collecting(handle)
            elif now >= handle.deadline:
                self._stopper.stop(handle, "timeout")
            elif handle.poll.next_at <= now:
                delay = poll_delay(now - handle.triggered_at, self.poll_interval)
                handle.poll.next_at = min(now + delay, handle.deadline)

    def give_up_collecting(self, handle: RunHandle) -> None:
        """End a finished run whose flows could not all be read in time, saying what failed.

        The controller said Finished: there is nothing to stop, and waiting on for the run's
        own timeout (which may be long) would learn nothing more.
        """
        now = self._clock()
        waiting = [
            f"flow {flow.title!r} still says {flow.status or 'nothing'}"
            for flow in handle.flows.values()
            if not flow.finished
        ]
        cause = silence(handle, now)
        if cause is not None:
            waiting.append(cause)
        elif handle.poll.error is not None:
            waiting.append(str(handle.poll.error))
        if not waiting:
            read = len(handle.flows)
            expected = f" of {handle.items_total}" if handle.items_total is not None else ""
            waiting.append(f"{read}{expected} flows were read")
        self._collector.fail(
            handle,
            RunLost(
                f"run {handle.run_id} finished, but its flows could not all be collected "
                f"within {bounds.COLLECT_SECONDS:g}s of that: {'; '.join(waiting)}"
            ),
        )

    def _poll_failed(self, handle: RunHandle, error: LeapworkError) -> None:
        """Remember why a look failed; wait as long as the controller asks before the next."""
        handle.poll.error = error
        if isinstance(error, ControllerHTTPError) and error.retry_after:
            handle.poll.next_at = self._clock() + error.retry_after

    def _poll_once(self, handle: RunHandle) -> None:
        now = self._clock()
        if now >= handle.deadline:
            self._stopper.stop(handle, "timeout")
            return
        try:
            status = self._read_status(handle)
        except (NotFound, ControllerServerError) as exc:
            # Right after runNow the controller may not know the run yet (404 or 500).
            young = now - handle.triggered_at < bounds.START_GRACE_SECONDS
            if not handle.poll.seen and young:
                log.debug("run %s not visible yet: %s", handle.run_id, exc)
                self._poll_failed(handle, exc)
                return
            if handle.poll.seen and isinstance(exc, NotFound):
                # The controller knew the run and has forgotten it (a restart): final.
                raise RunLost(f"run {handle.run_id} is unknown to the controller: {exc}") from None
            raise
        handle.poll.seen, handle.poll.error = True, None
        handle.status = status
        log.debug("run %s (%s): %s", handle.run_id, handle.schedule.title, status)
        if status not in bounds.RUN_STATUSES:
            # Not an answer to act on: keep asking, and say so should the deadline come.
            handle.poll.error = InvalidResponse(
                f"GET /run/{{id}} answered an unknown Status {status!r} (expected Queued, "
                "Executing or Finished)"
            )
            return
        if status != FINISHED:
            return
        self._collect_finished(handle, now)

    def _collect_finished(self, handle: RunHandle, now: float) -> None:
        """Collect a finished run's items, until the list is complete.

        Items can reach RunItemIds after the run says Finished. The run summary's ``Total``
        says how many to expect; where a controller does not give it, the ids must read the
        same twice, ``LATE_ITEMS_SETTLE_SECONDS`` apart. Either way the wait is bounded.
        """
        if handle.finished_seen_at is None:
            handle.finished_seen_at = now
            notify(self._on_end_noticed, handle)
        handle.poll.asking = ("GET /run/{id}/runItemIds", self._clock())
        ids = self._collector.client.run_item_ids(handle.run_id)
        expected = handle.items_total
        handle.poll.asking = ("GET /runItems/{id} and keyframes", self._clock())
        self._collector.fetch_items(handle, ids)
        recheck = min(self.poll_interval, 0.5)
        if any(not handle.flows[i].finished for i in ids):
            handle.poll.next_at = now + recheck
            return
        if expected is not None:
            complete = len(ids) >= expected
        else:
            complete = bool(ids) and handle.poll.finished_ids == ids
            recheck = bounds.LATE_ITEMS_SETTLE_SECONDS
        if complete or now - handle.finished_seen_at >= bounds.LATE_ITEMS_GRACE_SECONDS:
            self._collector.finish(handle, ids)
            return
        handle.poll.finished_ids = ids
        handle.poll.next_at = now + recheck

    def _read_status(self, handle: RunHandle) -> str:
        """The run's status, from the run summary where the controller has one.

        ``GET /run/{id}`` costs the same one request as ``GET /run/{id}/status`` and also
        counts the run's items, for progress and to know when late items have all arrived.
        A controller without it (405, or 404 for a run the status endpoint knows, or no
        ``Status`` in it) is asked the plain status from then on.
        """
        handle.poll.asking = ("GET /run/{id}", self._clock())
        client = self.status_client
        if self._run_summary_supported:
            try:
                summary = client.run_summary(handle.run_id)
            except MethodNotAllowed:
                self._run_summary_supported = False
            except NotFound:
                # The run is not created yet, or there is no such endpoint: ask the status,
                # which raises NotFound again in the first case.
                status = client.run_status(handle.run_id)
                self._run_summary_supported = False
                return status
            else:
                if summary.status is not None:
                    handle.items_total, handle.items_failed = summary.total, summary.failed
                    if handle.request.flow is not None and summary.schedule_title:
                        # The temporary schedule the controller made for the flow: its name.
                        handle.schedule = Schedule(
                            summary.schedule_id or "", summary.schedule_title, True, TEMPORARY
                        )
                    return summary.status
                self._run_summary_supported = False
        return client.run_status(handle.run_id)
