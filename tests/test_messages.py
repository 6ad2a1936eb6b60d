"""Messages that must say what really happened: a controller URL with an empty port, and a
flow run whose request was cut off. Real pytest processes against the emulator; see
docs/bad-input.md and "At the edges: selected schedules and messages" in docs/faults.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario

from .features.support import AGENT_ONE, FOLDERS_SCENARIO, LOG_IN_FLOW
from .support import FAST, start_pytest

MARKED = """
import pytest

@pytest.mark.leapwork_schedule("Smoke Login")
def test_smoke():
    pass
"""

FLOW = f"""
import pytest

@pytest.mark.leapwork_flow("{LOG_IN_FLOW}", agent="{AGENT_ONE}")
def test_flow():
    pass
"""


@pytest.mark.parametrize("url", ["http://127.0.0.1:", "127.0.0.1:", "https://[::1]:"])
def test_controller_url_with_an_empty_port_is_a_usage_error(
    pytester: pytest.Pytester, emulator: EmulatorServer, url: str
) -> None:
    """It used to be accepted and connect on port 80 (443)."""
    pytester.makepyfile(MARKED)
    result = pytester.runpytest_subprocess(
        f"--leapwork-controller={url}", f"--leapwork-key={emulator.access_key}", *FAST
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        f"ERROR: --leapwork-controller option: {url!r} has no port after ':'; a port is a number"
        in result.stderr.str()
    )
    assert not emulator.runs


@pytest.fixture
def flow_emulator() -> Iterator[EmulatorServer]:
    """A controller with agents, for ``leapwork_flow``."""
    with EmulatorServer(load_scenario(str(FOLDERS_SCENARIO))) as server:
        yield server


def interrupt_when(emulator: EmulatorServer, process: subprocess.Popen[str], count: int) -> str:
    """Ctrl-C once the emulator has made ``count`` runs; the process's output."""
    deadline = time.monotonic() + 30
    while len(emulator.runs) < count and process.poll() is None:
        assert time.monotonic() < deadline, "the run was never made"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    return out


def test_cut_off_flow_run_is_not_called_stopped_in_the_runs_table(
    pytester: pytest.Pytester, flow_emulator: EmulatorServer
) -> None:
    """The run-flow request is on its way when Ctrl-C comes: its run cannot be looked up, so
    the table says it may be executing, as the list below it does, never "stopped"."""
    flow_emulator.add_fault(Fault("run_flow", action="answer_late", delay=5))
    pytester.makepyfile(FLOW)
    process = start_pytest(pytester, flow_emulator, "--leapwork-junitxml=flows.xml")
    try:
        out = interrupt_when(flow_emulator, process, 1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    table = out.split("leapwork runs", 1)[1].split("leapwork: runs that may still be", 1)[0]
    [row] = [line for line in table.splitlines() if "0/0/0" in line]
    assert "stopped" not in row, out
    assert "  -  " in row and "  may be executing  " in row, out  # no RunId
    assert "leapwork: runs that may still be executing on the controller" in out
    assert "test_flow: schedule 'flow " in out and "run (RunId unknown)" in out
    assert "1 run: 1 stopped" not in out
    report = (pytester.path / "flows.xml").read_text(encoding="utf-8")
    assert "may still be executing" in report and "the run was stopped" not in report
