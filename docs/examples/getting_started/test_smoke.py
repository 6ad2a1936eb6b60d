"""A first Leapwork test: one schedule, its variables, and an assertion on its run."""

import pytest


@pytest.mark.leapwork_schedule(
    "Smoke Login",  # the schedule's exact title in Leapwork, or its id
    variables={"URL": "https://staging.example.com", "Browser": "chrome"},
)
def test_smoke_login(leapwork_schedule):
    # The body runs only when every flow passed; leapwork_schedule is the finished run.
    assert leapwork_schedule.passed
    assert [flow.title for flow in leapwork_schedule.flows] == [
        "Open Browser",
        "Log In",
        "Check Dashboard",
    ]
