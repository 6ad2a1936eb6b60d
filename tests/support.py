"""What the test modules share: constants and helpers (fixtures stay in conftest.py).

Test modules import from here, never from a conftest: a conftest is pytest's to load, and
importing it as a module a second time gives two copies of its fixtures and globals.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from pytest_httpserver import HTTPServer

from pytest_leapwork.emulator import EmulatorServer, Fault

#: The scenario of the shared ``emulator`` fixture.
SCENARIO = Path(__file__).with_name("scenario.toml")
#: Options every inner session gets: a quick poll, and no cache files in the test folders.
FAST = ("--leapwork-poll-interval=0.05", "-p", "no:cacheprovider")
#: The variables that leave the emulator's and the plugin's settings to the options given.
CONTROLLER_VARIABLES = ("LEAPWORK_CONTROLLER", "LEAPWORK_KEY", "LEAPWORK_CA_BUNDLE")
#: Whether this pytest reads numbers from its native TOML configuration (``pytest.toml``):
#: pytest 9.2 and later, whose ini settings can be a union of types.
NATIVE_TOML_NUMBERS = tuple(int(p) for p in pytest.__version__.split(".")[:2]) >= (9, 2)
#: An inner conftest that imports what a run needs before any test's timer starts: a 1 s
#: pytest-timeout then falls on the runNow it is about, not on importing (and, in a fresh
#: checkout, compiling) the modules a session loads when its first run is made.
PRELOAD_CONFTEST = (
    "import pytest_leapwork.api.client\n"
    "import pytest_leapwork.runs.planning\n"
    "import pytest_leapwork.runs.runner\n"
)
#: ``PYTEST_ADDOPTS`` of every inner pytest session, whose plugins are not loaded from the
#: installed entry points (``INNER_ENV``): this plugin, and the two that many of its tests
#: use, each by its entry point's name (by module name, pytest 8.0 warns that a module the
#: outer session imported cannot be rewritten). Without pytest-randomly the inner session
#: keeps its own test order. Loading every installed plugin costs a process 0.6 s of CPU
#: (more than most inner sessions run), so a test that needs another one names it.
INNER_ADDOPTS = "-p leapwork -p xdist -p timeout"
#: Plugins an inner session loads where its test uses them (see ``INNER_ADDOPTS``).
WITH_HTML = ("-p", "metadata", "-p", "html")
WITH_ALLURE = ("-p", "allure_pytest")
WITH_RERUNFAILURES = ("-p", "rerunfailures")
#: The environment of every inner pytest session (set for every test by conftest.py).
INNER_ENV = {"PYTEST_ADDOPTS": INNER_ADDOPTS, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def keep_bytecode_outside_the_checkout() -> None:
    """Cache compiled modules in a folder of the temp dir, even where the environment says
    not to write bytecode (``PYTHONDONTWRITEBYTECODE``, which keeps checkouts clean).

    Without a cache, each of the hundreds of pytest processes this suite starts compiles the
    package and rewrites its test files again: 0.2 s of CPU a process. Set here for this
    process (before it imports the test modules) and, through the environment, for every
    process it starts; the checkout stays as clean as that variable keeps it.
    """
    prefix = Path(tempfile.gettempdir()) / f"pytest-leapwork-bytecode-{getpass.getuser()}"
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(prefix)


class FakeClock:
    """Monotonic seconds that move only when a test moves them (``clock.now += 5``): for the
    run engine, the planner and the emulator at once."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


class InFlight:
    """Counts the requests a pytest-httpserver server is still answering.

    A test whose client gives up on a slow answer ends before the server has answered; the
    answer then lands in the next test's ``httpserver.log``. Waiting for the count to reach
    zero after each test keeps every test's log its own, whatever order the tests run in.
    """

    def __init__(self, server: HTTPServer) -> None:
        assert server.server is not None, "the server is started before it is wrapped"
        self._idle = threading.Condition()
        self._count = 0
        app = server.server.app

        def counted(environ: Any, start_response: Any) -> Any:
            with self._idle:
                self._count += 1
            try:
                # The log entry is written before the wrapped app returns.
                return app(environ, start_response)
            finally:
                with self._idle:
                    self._count -= 1
                    self._idle.notify_all()

        server.server.app = counted

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being answered; False if one still is after ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


# -- pytest processes of their own (signals, crashes, exits) ---------------------------------


def start_pytest(
    pytester: pytest.Pytester, emulator: EmulatorServer, *args: str
) -> subprocess.Popen[str]:
    """A pytest process of its own process group (as a CI job's), against the emulator."""
    return start_pytest_in(pytester.path, emulator, *args)


def start_pytest_in(directory: Path, emulator: EmulatorServer, *args: str) -> subprocess.Popen[str]:
    """``start_pytest`` in ``directory``: for tests that run several sessions (CI jobs)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            f"--leapwork-controller={emulator.url}",
            f"--leapwork-key={emulator.access_key}",
            *FAST,
            *args,
        ],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **INNER_ENV},
        start_new_session=True,
    )


@contextlib.contextmanager
def interrupted_after(seconds: float) -> Iterator[None]:
    """The body, cut off ``seconds`` in by a real signal that raises KeyboardInterrupt as
    Ctrl-C does (which must happen): the engine's own tests of a cut-off runNow."""

    def ctrl_c(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, ctrl_c)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def wait_until(
    condition: Callable[[], bool],
    process: subprocess.Popen[str],
    failure: str = "the session never got there",
) -> None:
    """Wait for ``condition`` while the pytest process lives, 60 s at most."""
    deadline = time.monotonic() + 60
    while not condition() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.05)
    assert condition(), failure


def wait_for_runs(emulator: EmulatorServer, count: int, process: subprocess.Popen[str]) -> None:
    wait_until(lambda: len(emulator.runs) >= count, process, "the runs were never triggered")
    assert len(emulator.runs) == count, "the runs were never triggered"


def wait_for_files(directory: Path, count: int, process: subprocess.Popen[str]) -> None:
    wait_until(lambda: len(list(directory.iterdir())) >= count, process)


# -- what a session printed ------------------------------------------------------------------


def leapwork_section(output: str) -> list[str]:
    """The lines of the ``leapwork runs`` summary section."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "= leapwork runs =" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("==", "--")))
    return lines[start + 1 : end]


def run_in_pty(args: list[str], cwd: Path, seconds: float = 30, columns: int = 120) -> str:
    """Run a command on a pseudo-terminal ``columns`` wide; everything it drew."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        args,
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        env={**os.environ, "TERM": "xterm", "COLUMNS": str(columns)},
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")
