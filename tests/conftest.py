"""Shared fixtures: the emulator the plugin's tests run against, and inner pytest runs."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Imported once here: inner in-process pytest runs that import requests afresh fail with
# "You can only merge into CookieJar".
import requests  # noqa: F401

import pytest_leapwork.plugin  # noqa: F401
from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario

pytest_plugins = ["pytester"]

# Tests send real SIGINTs to the pytest processes they start. A shell that starts this suite
# as a background job has it ignore SIGINT, which child processes inherit; a handler they do
# not inherit (exec resets it), so they take Ctrl-C as a terminal's pytest would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SCENARIO = Path(__file__).with_name("scenario.toml")
FAST = ("--leapwork-poll-interval=0.05", "-p", "no:cacheprovider")


@pytest.fixture(autouse=True)
def _no_random_order_in_inner_sessions(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inner sessions keep their test order (pytest-randomly is installed for the compat tests)."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(load_scenario(str(SCENARIO))) as server:
        yield server


@pytest.fixture
def controller_args(emulator: EmulatorServer) -> list[str]:
    return [f"--leapwork-controller={emulator.url}", f"--leapwork-key={emulator.access_key}"]


RunPytest = Callable[..., pytest.RunResult]


def on_status(**fields: Any) -> list[Fault]:
    """The same fault on both ways to read a run's status: the summary and the status."""
    return [Fault("run", **fields), Fault("run_status", **fields)]


@pytest.fixture
def run_pytest(pytester: pytest.Pytester, controller_args: list[str]) -> RunPytest:
    """Run pytest on the files made with ``pytester`` against the emulator."""

    def run(*args: str, subprocess: bool = False) -> pytest.RunResult:
        full = [*controller_args, *FAST, *args]
        if subprocess:
            return pytester.runpytest_subprocess(*full)
        return pytester.runpytest(*full)

    return run
