"""What a run targets besides a schedule: one flow on one agent (``leapwork_flow``).

The controller runs it through a temporary schedule (``PUT /api/v4/flows/{flowId}/agent/
{agentId}``, which answers a RunId like runNow); from there the run is followed, stopped and
reported like any schedule's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..api.models import TEMPORARY, Schedule


@dataclass(frozen=True)
class FlowTarget:
    """The flow and the agent of a ``leapwork_flow`` run."""

    flow_id: str
    agent_id: str

    @property
    def label(self) -> str:
        return f"flow {self.flow_id} on agent {self.agent_id}"

    def temporary_schedule(self) -> Schedule:
        """What stands for the schedule the controller makes for the run."""
        return Schedule(id="", title=self.label, type=TEMPORARY)
