"""One schedule, several variable sets: parametrize leapwork_variables.

Each set is one test, one run and one RunId. The parameter is merged over the marker's
variables, and wins where both name the same variable.
"""

import pytest

BROWSERS = ["chrome", "firefox", "edge"]


@pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://staging.example.com"})
@pytest.mark.parametrize("leapwork_variables", [{"Browser": b} for b in BROWSERS], ids=BROWSERS)
def test_every_browser(leapwork_schedule, leapwork_variables):
    assert leapwork_schedule.variables["Browser"] == leapwork_variables["Browser"]
    assert leapwork_schedule.variables["URL"] == "https://staging.example.com"


@pytest.mark.leapwork_schedule("Smoke Login", variables={"Browser": "chrome"})
@pytest.mark.parametrize(
    "leapwork_variables",
    [
        {"URL": "https://staging.example.com"},
        # A known-broken environment: its run fails, and the test is an expected failure.
        pytest.param(
            {"URL": "https://broken.example.com"},
            marks=pytest.mark.xfail(reason="no login button on broken", strict=True),
            id="broken",
        ),
    ],
    ids=["staging", "broken"],
)
def test_login_per_site(leapwork_schedule):
    assert leapwork_schedule.passed


# Several schedules in one test function: a marker on each parameter.
@pytest.mark.parametrize(
    "title",
    [
        pytest.param("Smoke Login", marks=pytest.mark.leapwork_schedule("Smoke Login")),
        pytest.param("Checkout", marks=pytest.mark.leapwork_schedule("Checkout")),
    ],
)
def test_each_schedule(title, leapwork_schedule):
    assert leapwork_schedule.schedule_title == title
