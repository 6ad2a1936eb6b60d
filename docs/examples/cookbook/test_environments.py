"""One test per environment: select environments with -k (by id) or -m (by marker).

    pytest docs/examples/cookbook/test_environments.py -k staging
    pytest docs/examples/cookbook/test_environments.py -m prod

The markers are registered in this directory's conftest.py.
"""

import pytest

ENVIRONMENTS = {
    "staging": "https://staging.example.com",
    "prod": "https://www.example.com",
}


@pytest.mark.leapwork_schedule("Smoke Login", variables={"Browser": "chrome"})
@pytest.mark.parametrize(
    "leapwork_variables",
    [
        pytest.param({"URL": url}, id=name, marks=getattr(pytest.mark, name))
        for name, url in ENVIRONMENTS.items()
    ],
)
def test_smoke(leapwork_schedule):
    assert leapwork_schedule.passed


@pytest.mark.staging
@pytest.mark.leapwork_schedule("Checkout")
def test_checkout_staging(leapwork_schedule):
    # Checkout's last flow ends "Done", which counts as passed by default.
    assert [flow.status for flow in leapwork_schedule.flows] == ["Passed", "Passed", "Done"]
