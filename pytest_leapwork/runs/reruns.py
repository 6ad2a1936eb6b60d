"""Rerun what failed: each failing flow of a run alone, on the agent where it failed.

A rerun is a run of its own (``PUT /api/v4/flows/{flowId}/agent/{agentId}``, a RunId) with
the run's variables and time limit, started and followed like any run, so it has what a run
has: the timeout (counted per rerun), the stops (Ctrl-C, SIGTERM, session end) and the plan's
window. The flows still failing after a round are rerun again, up to ``times`` rounds; those
of one round run at once. Passing flows are never rerun. No pytest import here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..api.errors import LeapworkError
from ..api.models import FlowRerun, FlowResult, LeapworkRun
from .handle import RunHandle, RunRequest
from .targets import FlowTarget

#: Starts a run (through the session's plan, so the window counts it) under a plan key.
Start = Callable[[str, RunRequest], RunHandle]
#: Waits for a run to end; raises LeapworkError where it could not be followed.
Wait = Callable[[RunHandle], LeapworkRun]
#: Whether a flow of a rerun counts as passed (a hook may decide); None keeps the rule.
Judge = Callable[[FlowResult], "bool | None"]


@dataclass(frozen=True)
class Rerunner:
    """Reruns the failing flows of a test's run; ``start``/``wait`` are the session's."""

    start: Start
    wait: Wait
    judge: Judge
    #: Stops a rerun whose wait was cut off from outside (pytest-timeout, a debugger).
    stop: Callable[[RunHandle, str], None]

    def rerun(self, run: LeapworkRun, request: RunRequest, times: int) -> list[FlowResult]:
        """Rerun ``run``'s failing flows up to ``times`` times each; the flows rerun.

        Each flow's reruns are appended to its ``reruns``: the run's flows then say, flow by
        flow, whether they passed on a rerun. A flow without flow or agent id (an older
        controller) cannot be rerun and is left failed.
        """
        if times < 1 or run.stopped_reason is not None:
            return []
        pending = [f for f in run.failed_flows if rerunnable(f)]
        rerun = list(pending)
        for attempt in range(1, times + 1):
            if not pending:
                break
            started = [(flow, self._start(run, request, flow, attempt)) for flow in pending]
            for index, (flow, handle) in enumerate(started):
                if isinstance(handle, FlowRerun):
                    flow.reruns.append(handle)
                    continue
                try:
                    flow.reruns.append(self._wait(flow, handle))
                except BaseException as exc:
                    # Cut off from outside: the reruns still executing belong to no test now.
                    if not isinstance(exc, KeyboardInterrupt):
                        reason = f"its test was interrupted: {type(exc).__name__}"
                        for _, other in started[index:]:
                            if isinstance(other, RunHandle) and not other.done:
                                self.stop(other, reason)
                    raise
            pending = [f for f in pending if not f.passed]
        return rerun

    def _start(
        self, run: LeapworkRun, request: RunRequest, flow: FlowResult, attempt: int
    ) -> RunHandle | FlowRerun:
        target = FlowTarget(flow.flow_id, flow.agent_id)
        rerun_request = RunRequest(
            schedule=flow.flow_id,
            variables=dict(run.variables),
            timeout=request.timeout,
            label=request.label,
            flow=target,
        )
        key = f"{request.label}::rerun {attempt} of {flow.flow_id} ({run.run_id})"
        try:
            return self.start(key, rerun_request)
        except LeapworkError as exc:
            return FlowRerun("", None, f"the rerun could not be started: {exc}")

    def _wait(self, flow: FlowResult, handle: RunHandle) -> FlowRerun:
        try:
            result = self.wait(handle)
        except LeapworkError as exc:
            return FlowRerun(handle.run_id, None, f"the rerun could not be followed: {exc}")
        again = next((f for f in result.flows if f.flow_id == flow.flow_id), None)
        if again is None and len(result.flows) == 1:
            again = result.flows[0]
        if again is not None:
            again.verdict = self.judge(again)
        problem = None
        if result.stopped_reason == "timeout":
            problem = f"the rerun did not finish within {handle.request.timeout:g}s"
        elif result.stopped_reason is not None:
            problem = f"the rerun was stopped: {result.stopped_reason}"
        elif again is None:
            problem = "the rerun finished without running the flow"
        return FlowRerun(result.run_id, again, problem)


def rerunnable(flow: FlowResult) -> bool:
    """Whether the controller told where the flow ran, so that it can run there again."""
    return bool(flow.flow_id and flow.agent_id)
