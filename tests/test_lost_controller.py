"""An xdist controller that dies (SIGKILL, the OOM killer) leaves its workers alone with the
session's runs: they stop every run of the shared plan that no live worker holds."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from pytest_leapwork.emulator import EmulatorServer

from .support import start_pytest, wait_for_files, wait_for_runs

# Three runs started ahead; two workers each take one test and wait in it; the third test's
# run is nobody's yet.
THREE_SLOW = """
import os
import pathlib
import pytest

@pytest.fixture(autouse=True)
def in_test(request):
    name = request.node.callspec.id + "." + os.environ.get("PYTEST_XDIST_WORKER", "main")
    (pathlib.Path(__file__).parent / "in-test" / name).touch()

@pytest.mark.leapwork_schedule("Slow")
@pytest.mark.parametrize("leapwork_variables", [{"N": str(i)} for i in range(3)])
def test_slow(leapwork_schedule):
    pass
"""


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (its xdist workers)."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(line) for line in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as file:
        return file.read().split()[2] != "Z"


def test_workers_that_lose_their_controller_stop_every_run_of_the_plan(
    pytester: pytest.Pytester, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(THREE_SLOW)
    (pytester.path / "in-test").mkdir()
    process = start_pytest(pytester, emulator, "-n", "2", "--dist=load")
    try:
        wait_for_runs(emulator, 3, process)
        wait_for_files(pytester.path / "in-test", 2, process)  # each worker in a test
        workers = children(process.pid)
        assert len(workers) == 2, workers
        process.kill()  # the xdist controller, alone: its workers live on
        process.communicate()
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers), "the workers did not end"
        left = [run for run in emulator.runs if not run.stopped]
        assert not left, f"still executing: {left}"
    finally:
        for pid in children(process.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.communicate()
