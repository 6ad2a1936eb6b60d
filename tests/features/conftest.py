"""The selection, artifacts and flow-marker tests run against a controller with folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_leapwork.emulator import EmulatorServer, load_scenario

SCENARIO = Path(__file__).with_name("scenario.toml")
LOG_IN_FLOW = "22222222-aaaa-4bbb-8ccc-00000000f001"
AGENT_ONE = "22222222-aaaa-4bbb-8ccc-00000000a001"
BROKEN = "https://broken.example.com"


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """Overrides the shared emulator: the same fixtures (``run_pytest``) serve this scenario."""
    with EmulatorServer(load_scenario(str(SCENARIO))) as server:
        yield server
