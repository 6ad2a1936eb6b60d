"""One thread policy: every thread of the package is a named daemon, and none holds up the end.

Each case is a real pytest process against the emulator whose failing flows' videos trickle in
(the ``drip`` fault: one byte every 0.2 s, so a 525-byte video takes over 100 s). The process
must end within 2 s of its summary line whatever is still downloading: under ``-x``, after a
real Ctrl-C, and at the end of a normal session.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from pytest_leapwork.emulator import EmulatorServer, Fault, Scenario

from . import support

#: The issue's bound: the process ends this soon after printing its summary.
EXIT_BOUND_SECONDS = 2.0
#: A hung process is killed after this long, so the suite never hangs with it.
WATCHDOG_SECONDS = 120.0
#: The final "N passed, M failed in 3.21s" (or "no tests ran in 1.02s") line.
SUMMARY = re.compile(r"^=+ .* in \d+(\.\d+)?s\b")

SCENARIO = {
    "controller": {"queue_seconds": 0.05},
    "schedules": [
        # Fails after a while, with no video to download (404): a test that stops the session.
        {
            "title": "Slow Failure",
            "flows": [{"title": "Check", "seconds": 1.5, "status": "Failed", "video": False}],
        },
        # Fails at once, with a video: its download trickles in.
        {
            "title": "Quick Failure",
            "flows": [{"title": "Record", "seconds": 0.1, "status": "Failed"}],
        },
        {"title": "Long", "flows": [{"title": "Wait", "seconds": 60.0}]},
    ],
}

QUICK_TEST = """
import pytest

@pytest.mark.leapwork_schedule("Quick Failure")
def test_quick(leapwork_schedule):
    pass
"""

SHORT_WAIT = """
import pytest_leapwork.features.artifacts as artifacts

artifacts.ARTIFACT_WAIT_SECONDS = 1.0
"""


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """Failing flows whose videos trickle in, every time they are asked for."""
    with EmulatorServer(Scenario.from_dict(SCENARIO, "threads")) as server:
        server.add_fault(Fault("video", action="drip", delay=0.2, times=0))
        yield server


def start_pytest(
    pytester: pytest.Pytester,
    emulator: EmulatorServer,
    processes: list[subprocess.Popen[str]],
    *args: str,
) -> subprocess.Popen[str]:
    """A pytest process of its own process group, as a terminal's or a CI job's."""
    process = support.start_pytest(pytester, emulator, "--leapwork-artifacts=evidence", *args)
    processes.append(process)
    return process


def exit_after_summary(process: subprocess.Popen[str]) -> tuple[str, float]:
    """Read the process to its end: its output, and how long it lived after its summary."""
    assert process.stdout is not None
    watchdog = threading.Timer(WATCHDOG_SECONDS, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    lines, summary_at = [], None
    try:
        for line in process.stdout:
            lines.append(line)
            if SUMMARY.match(line):
                summary_at = time.monotonic()
        process.wait()
        ended_at = time.monotonic()
    finally:
        watchdog.cancel()
        process.stdout.close()
    output = "".join(lines)
    assert summary_at is not None, output
    return output, ended_at - summary_at


def wait_until(condition: object, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.05)
    assert condition(), "the session never got there"  # type: ignore[operator]


def test_exit_under_x_while_a_later_runs_video_trickles(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    """The first test fails and ``-x`` ends the session; the second test's run, started
    ahead and already over, is still downloading its video."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Slow Failure")
        def test_first(leapwork_schedule):
            pass

        @pytest.mark.leapwork_schedule("Quick Failure")
        def test_second(leapwork_schedule):
            pass
        """
    )
    process = start_pytest(pytester, emulator, processes, "-x")
    output, after_summary = exit_after_summary(process)
    assert "(its test did not run)" in output
    assert emulator.count_requests("video") >= 2  # the 404 of the first, the trickle of the second
    assert after_summary < EXIT_BOUND_SECONDS, output


def test_exit_after_ctrl_c_while_a_video_trickles(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    """A real SIGINT while a plain test runs and a finished run's video trickles in."""
    pytester.makepyfile(
        QUICK_TEST
        + """
import pathlib, time

def test_plain():
    pathlib.Path("in-test").touch()
    time.sleep(60)
"""
    )
    process = start_pytest(pytester, emulator, processes)
    wait_until(
        lambda: (pytester.path / "in-test").exists() and emulator.count_requests("video") >= 1,
        process,
    )
    process.send_signal(signal.SIGINT)
    output, after_summary = exit_after_summary(process)
    assert "KeyboardInterrupt" in output
    assert after_summary < EXIT_BOUND_SECONDS, output


def test_exit_at_the_end_of_a_session_whose_last_video_trickles(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    """The test waits its (lowered) bound for its video, says so, and the session ends."""
    pytester.makeconftest(SHORT_WAIT)
    pytester.makepyfile(QUICK_TEST)
    process = start_pytest(pytester, emulator, processes)
    output, after_summary = exit_after_summary(process)
    assert "1 failed" in output
    assert "the files of flow 'Record' were not kept in time" in output
    assert after_summary < EXIT_BOUND_SECONDS, output


THREAD_LOG = """
import json, os, threading, traceback
import pytest
import pytest_leapwork
import pytest_leapwork.features.artifacts as artifacts

artifacts.ARTIFACT_WAIT_SECONDS = 1.0
PACKAGE = os.path.dirname(pytest_leapwork.__file__)
STARTED = []  # (thread, whether code of the package started it)
_start = threading.Thread.start

def start(self):
    by_package = any(f.filename.startswith(PACKAGE) for f in traceback.extract_stack()[:-1])
    STARTED.append((self, by_package))
    _start(self)

threading.Thread.start = start

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    ours = [t for t, by_package in STARTED if by_package]
    others = [t for t, by_package in STARTED if not by_package]
    alive = [t for t in threading.enumerate() if t in ours or t not in others]
    with open("threads.json", "w") as f:
        json.dump(
            {
                "started": [[t.name, t.daemon] for t in ours],
                "alive": [[t.name, t.daemon] for t in alive if t is not threading.main_thread()],
            },
            f,
        )
"""


def test_every_thread_of_a_session_is_a_named_daemon(
    pytester: pytest.Pytester, emulator: EmulatorServer, processes: list[subprocess.Popen[str]]
) -> None:
    """A session that polls, fetches, downloads, stops a run at its timeout (``-x`` then ends
    the session) and stops the run left executing at the end."""
    pytester.makeconftest(THREAD_LOG)
    pytester.makepyfile(
        """
import pytest

@pytest.mark.leapwork_schedule("Long", timeout=0.5)
def test_timeout(leapwork_schedule):
    pass
"""
        + QUICK_TEST.replace("import pytest", "")
        + """
@pytest.mark.leapwork_schedule("Long")
def test_left_running(leapwork_schedule):
    pass
"""
    )
    process = start_pytest(pytester, emulator, processes, "-x")
    output, _ = exit_after_summary(process)
    threads = json.loads((pytester.path / "threads.json").read_text())
    names = {name for name, _ in threads["started"]}
    # The poller, its polls and fetches, the downloads and the stops: all threads of ours.
    expected = {"leapwork-poller", "leapwork-poll", "leapwork-artifacts", "leapwork-stop"}
    assert expected <= names, output
    not_ours = [
        (name, daemon)
        for name, daemon in threads["started"] + threads["alive"]
        if not (name.startswith("leapwork-") and daemon)
    ]
    assert not_ours == [], output
