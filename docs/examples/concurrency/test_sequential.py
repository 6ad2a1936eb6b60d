"""Schedules that build on each other: give them a session of their own, one run at a time.

    pytest docs/examples/concurrency -m "not sequential"
    pytest docs/examples/concurrency -m sequential --leapwork-max-in-flight=1

pytest runs tests in file order, and with one run in flight the second schedule starts
only after the first one finished.
"""

import pytest

pytestmark = pytest.mark.sequential


@pytest.mark.leapwork_schedule("Checkout")  # e.g. places an order
def test_1_place_order():
    pass


@pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://staging.example.com"})
def test_2_log_in_after_the_order():  # e.g. checks the order shows up
    pass
