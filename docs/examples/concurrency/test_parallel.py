"""Independent schedules: triggered ahead, they execute on the controller at the same time.

Every run here has its variables at collection time (the marker, or a direct parametrization
of leapwork_variables), so all of them start before the first test, at most
--leapwork-max-in-flight at once. Each test then waits for its own run only.
"""

import pytest

REGIONS = ["eu", "us", "apac"]


@pytest.mark.leapwork_schedule("Smoke Login", timeout=600)  # this run may take 10 minutes
@pytest.mark.parametrize(
    "leapwork_variables",
    [{"URL": f"https://{region}.example.com"} for region in REGIONS],
    ids=REGIONS,
)
def test_smoke_per_region(leapwork_schedule):
    assert leapwork_schedule.passed


@pytest.mark.leapwork_schedule("Checkout", timeout=300)
def test_checkout():
    pass


class TestComputedAtSetup:
    """Variables from a fixture are known only at setup: this run starts when its test does."""

    @pytest.fixture
    def leapwork_variables(self, tmp_path):
        return {"URL": f"https://{tmp_path.name}.example.com"}

    @pytest.mark.leapwork_schedule("Smoke Login")
    def test_triggered_at_setup(self, leapwork_schedule):
        assert leapwork_schedule.passed
