"""Variables on the marker: a dict of name to value, sent with the run's trigger."""

import pytest


@pytest.mark.leapwork_schedule(
    "Smoke Login",
    variables={"URL": "https://staging.example.com/login?next=/home", "Browser": "firefox"},
)
def test_login_with_firefox(leapwork_schedule):
    # Names and values are percent-encoded in the runNow query: ':', '?', '&' and '/' arrive intact.
    assert leapwork_schedule.variables == {
        "URL": "https://staging.example.com/login?next=/home",
        "Browser": "firefox",
    }


# Values are sent as strings: str(value), booleans as true/false, None as an empty value,
# lists and dicts as compact JSON.
@pytest.mark.leapwork_schedule(
    "Flaky Search",
    variables={"Retries": 3, "Headless": True, "Proxy": None, "Tags": ["smoke", "eu"]},
)
@pytest.mark.inconclusive_ok  # see test_hooks.py
def test_values_become_strings(leapwork_schedule):
    assert leapwork_schedule.variables == {
        "Retries": "3",
        "Headless": "true",
        "Proxy": "",
        "Tags": '["smoke","eu"]',
    }


# On a class (or a module, through pytestmark) the marker applies to every test inside;
# the closest marker wins: function over class over module.
@pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://staging.example.com"})
class TestStaging:
    def test_login(self, leapwork_schedule):
        assert leapwork_schedule.schedule_title == "Smoke Login"

    @pytest.mark.leapwork_schedule("Checkout", timeout=300)
    def test_checkout(self, leapwork_schedule):
        assert leapwork_schedule.schedule_title == "Checkout"
