"""Run one flow on one agent: the controller makes a temporary schedule for it."""

import pytest

# In Leapwork Studio: the flow's id from its properties, the agent's from right-click > Get Id.
LOG_IN_FLOW = "0107aa4f-8149-59b2-af49-00823be1f53b"
LOCAL_AGENT = "ea8a3902-2199-5982-ae21-9cc88cd41a14"


@pytest.mark.leapwork_flow(
    LOG_IN_FLOW, agent=LOCAL_AGENT, variables={"URL": "https://staging.example.com"}, timeout=600
)
def test_log_in_on_the_local_agent(leapwork_schedule):
    [flow] = leapwork_schedule.flows
    assert flow.title == "Log In"
    assert flow.agent == "Local Agent"
