"""A run whose variables come from a fixture triggers at its test's setup, not ahead."""

import pytest


@pytest.mark.leapwork_schedule("Smoke Login", variables={"Browser": "chrome"})
def test_login_on_the_deployment(leapwork_schedule, deployment):
    assert leapwork_schedule.variables == {"URL": deployment.url, "Browser": "chrome"}
