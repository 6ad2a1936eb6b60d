"""What the features tests share: the scenario of a controller with folders, and its ids."""

from __future__ import annotations

from pathlib import Path

#: The features tests' scenario (schedules in folders, agents, flows by id): under
#: tests/features the ``emulator`` fixture serves it instead of ``tests/scenario.toml``.
FOLDERS_SCENARIO = Path(__file__).with_name("scenario.toml")
LOG_IN_FLOW = "22222222-aaaa-4bbb-8ccc-00000000f001"
AGENT_ONE = "22222222-aaaa-4bbb-8ccc-00000000a001"
BROKEN = "https://broken.example.com"
#: Two marked tests: ``Reports`` (a flow that fails and one that ends in Error, with evidence)
#: and ``Checkout`` (passes): the evidence features' common case.
REPORTS_AND_CHECKOUT = """
import pytest

@pytest.mark.leapwork_schedule("Reports")
def test_reports():
    pass

@pytest.mark.leapwork_schedule("Checkout")
def test_checkout():
    pass
"""
