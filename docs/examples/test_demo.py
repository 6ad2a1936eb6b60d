"""The demo: Leapwork schedules as pytest tests, run against the built-in emulator.

    pytest docs/examples --leapwork-emulator

The emulator's ``demo`` scenario holds the schedules named here, so this runs anywhere.
"""

import pytest


# One schedule, two environments: each variable set is one test, one run, one RunId.
@pytest.mark.leapwork_schedule("Smoke Login", variables={"Browser": "chrome"})
@pytest.mark.parametrize(
    "leapwork_variables",
    [
        {"URL": "https://staging.example.com"},
        # The demo's broken environment has no login button: its run fails, as expected here.
        pytest.param(
            {"URL": "https://broken.example.com"},
            marks=pytest.mark.xfail(reason="broken.example.com has no login button", strict=True),
        ),
    ],
    ids=["staging", "broken"],
)
def test_smoke_login(leapwork_schedule):
    assert leapwork_schedule.variables["Browser"] == "chrome"
    assert [flow.title for flow in leapwork_schedule.flows] == [
        "Open Browser",
        "Log In",
        "Check Dashboard",
    ]


# A marked test that does not ask for the fixture still runs its schedule and passes or
# fails on its flows.
@pytest.mark.leapwork_schedule("Checkout")
def test_checkout():
    pass
