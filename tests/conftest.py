"""Shared fixtures: the emulator the plugin's tests run against, and inner pytest runs.

Constants and helpers the test modules share are in ``tests/support.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

# Imported once here: inner in-process pytest runs that import requests afresh fail with
# "You can only merge into CookieJar".
import requests  # noqa: F401
from pytest_httpserver import HTTPServer

import pytest_leapwork.api.client as client_module
import pytest_leapwork.plugin  # noqa: F401
from pytest_leapwork.emulator import EmulatorServer, load_scenario

from . import support
from .support import FakeClock

pytest_plugins = ["pytester"]

support.keep_bytecode_outside_the_checkout()  # before pytest imports the test modules

# Tests send real SIGINTs to the pytest processes they start. A shell that starts this suite
# as a background job has it ignore SIGINT, which child processes inherit; a handler they do
# not inherit (exec resets it), so they take Ctrl-C as a terminal's pytest would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _inner_sessions_environment(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inner sessions (in process, by pytester or by ``subprocess``) load the plugins they use
    and keep their test order.

    Set in this process's environment, which every process a test starts inherits.
    """
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts
    for name, value in support.INNER_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(load_scenario(str(support.SCENARIO))) as server:
        yield server


@pytest.fixture
def controller_args(emulator: EmulatorServer) -> list[str]:
    return support.controller_args(emulator)


@pytest.fixture
def run_pytest(pytester: pytest.Pytester, controller_args: list[str]) -> support.RunPytest:
    """Run pytest on the files made with ``pytester`` against the emulator."""

    def run(*args: str, subprocess: bool = False) -> pytest.RunResult:
        full = [*controller_args, *support.FAST, *args]
        if subprocess:
            return pytester.runpytest_subprocess(*full)
        return pytester.runpytest(*full)

    return run


@pytest.fixture(scope="session")
def _httpserver_in_flight(make_httpserver: HTTPServer) -> support.InFlight:
    return support.InFlight(make_httpserver)


@pytest.fixture
def httpserver(
    make_httpserver: HTTPServer, _httpserver_in_flight: support.InFlight
) -> Iterator[HTTPServer]:
    """pytest-httpserver's ``httpserver``, and after the test no answer still on its way.

    A slow handler a test's client gave up on would otherwise log its request in whichever
    test runs next (which random order makes any test).
    """
    make_httpserver.clear()
    yield make_httpserver
    if not _httpserver_in_flight.wait_idle(timeout=30):
        pytest.fail("httpserver: a request was still being answered 30 s after the test")


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients made in this process wait 0, 0.02, 0.04 s between attempts, not 0, 1, 2 s.

    Every attempt still happens; only the waits shrink. The real waits are checked by
    ``test_backoff_is_exponential_and_capped``. Modules ask for it with ``pytestmark``.
    """
    monkeypatch.setattr(client_module, "BACKOFF_FACTOR", 0.01)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No controller, key or CA bundle from the environment: only the options a test gives."""
    for name in support.CONTROLLER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock for the run engine, the planner and the emulator alike."""
    return FakeClock()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """pytest processes a test starts itself: killed with their process group if still alive."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
