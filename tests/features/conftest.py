"""The selection, artifacts and flow-marker tests run against a controller with folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_leapwork.emulator import EmulatorServer, load_scenario

from .support import FOLDERS_SCENARIO


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """Overrides the shared emulator: the same fixtures (``run_pytest``) serve this scenario."""
    with EmulatorServer(load_scenario(str(FOLDERS_SCENARIO))) as server:
        yield server
