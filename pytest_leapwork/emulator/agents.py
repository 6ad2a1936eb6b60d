"""Agents taking queued runs: when each run leaves Queued, given how many agents there are."""

from __future__ import annotations

import bisect
import heapq

from .timeline import EmulatedRun


class AgentQueue:
    """Runs waiting for an agent, in order of readiness; `agents == 0` means no limit.

    Not thread-safe: the controller calls it under its lock.
    """

    def __init__(self, agents: int) -> None:
        self._agents = agents
        self._pending: list[EmulatedRun] = []  # not started, not stopped; by (earliest, seq)
        self._holding: list[EmulatedRun] = []  # started runs that may still hold an agent

    def add(self, run: EmulatedRun) -> None:
        bisect.insort(self._pending, run, key=lambda r: (r.earliest, r.seq))

    def withdraw(self, run: EmulatedRun) -> None:
        """Forget a run stopped before any agent took it."""
        self._pending.remove(run)

    def clear(self) -> None:
        self._pending.clear()
        self._holding.clear()

    def advance(self, now: float) -> None:
        """Give agents to queued runs whose turn has come by `now`, in order of readiness.

        Start times are only fixed once they are in the past, so a stop (which frees an agent
        early) is seen by every run still waiting.
        """
        if not self._pending:
            return
        if not self._agents:
            ready = 0
            while ready < len(self._pending) and self._pending[ready].earliest <= now:
                self._pending[ready].start_at = self._pending[ready].earliest
                ready += 1
            del self._pending[:ready]
            return
        horizon = self._pending[0].earliest
        self._holding = [r for r in self._holding if (r.end_at or 0.0) > horizon]
        ends = [r.end_at or 0.0 for r in self._holding]
        heapq.heapify(ends)
        started = 0
        for run in self._pending:
            start = run.earliest
            while ends and ends[0] <= start:
                heapq.heappop(ends)
            if len(ends) >= self._agents:
                start = heapq.heappop(ends)  # the first agent to come free
            if start > now:
                break
            run.start_at = start
            heapq.heappush(ends, start + run.total)
            self._holding.append(run)
            started += 1
        del self._pending[:started]
