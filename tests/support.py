"""What the test modules share: constants and helpers (fixtures stay in conftest.py).

Test modules import from here, never from a conftest: a conftest is pytest's to load, and
importing it as a module a second time gives two copies of its fixtures and globals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

from pytest_leapwork.emulator import Fault

#: The scenario of the shared ``emulator`` fixture.
SCENARIO = Path(__file__).with_name("scenario.toml")
#: Options every inner session gets: a quick poll, and no cache files in the test folders.
FAST = ("--leapwork-poll-interval=0.05", "-p", "no:cacheprovider")
#: The variables that leave the emulator's and the plugin's settings to the options given.
CONTROLLER_VARIABLES = ("LEAPWORK_CONTROLLER", "LEAPWORK_KEY", "LEAPWORK_CA_BUNDLE")
#: ``PYTEST_ADDOPTS`` of every inner pytest session: it keeps its own test order (the outer
#: session runs in random order with pytest-randomly).
INNER_ADDOPTS = "-p no:randomly"

#: ``run_pytest(*args, subprocess=False)``: the conftest fixture's type.
RunPytest = Callable[..., pytest.RunResult]


class Controller(Protocol):
    """What ``controller_args`` reads of an emulator or another controller double."""

    @property
    def url(self) -> str: ...

    @property
    def access_key(self) -> str: ...


def controller_args(server: Controller) -> list[str]:
    """The options that point a session at ``server``."""
    return [f"--leapwork-controller={server.url}", f"--leapwork-key={server.access_key}"]


def on_status(**fields: Any) -> list[Fault]:
    """The same fault on both ways to read a run's status: the summary and the status."""
    return [Fault("run", **fields), Fault("run_status", **fields)]
