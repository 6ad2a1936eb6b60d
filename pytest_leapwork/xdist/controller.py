"""The xdist controller's side: workers' runs reach the reports; a crashed worker's runs stop."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import threading
from typing import Any

import pytest

from ..api.errors import LeapworkError
from ..api.models import FINISHED
from ..interrupts import XdistControllerGuard
from ..reporting.records import RecordedRun, StoppedRun
from ..runs.runner import STOP_GRACE_SECONDS
from ..session import LeapworkSession
from .keys import (
    DIST_INPUT,
    RUNS_OUTPUT,
    STOPPED_OUTPUT,
    WORKER_CONTROLLER,
    WORKER_KEY,
    WORKER_LEDGER,
    WORKER_PARENT,
)
from .ledger import RunLedger
from .store import PlanLog
from .worker import worker_file


class XdistController:
    """Hooks that only exist on the xdist controller process."""

    def __init__(self, session: LeapworkSession, reporting: Any) -> None:
        self.session = session
        self.reporting = reporting
        #: Where the workers share their plan, ledgers and pids (made for the first worker).
        self.directory: str | None = None
        self._lock = threading.Lock()
        self._guard: XdistControllerGuard | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Workers' reports carry their runs; xdist marks them with the worker's node."""
        if getattr(report, "node", None) is not None:
            self.reporting.record(report)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if session.config.pluginmanager.has_plugin("dsession"):  # xdist runs workers
            # A SIGTERM goes on to the workers that hold runs.
            self._guard = XdistControllerGuard(self._worker_pids)
            self._guard.install()

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput.update(self.worker_settings())
        node.workerinput[DIST_INPUT] = getattr(node.config.option, "dist", "load")

    def worker_settings(self) -> dict[str, str]:
        """What a worker needs: the shared directory, and the one emulator of the session."""
        with self._lock:
            if self.directory is None:
                self.directory = tempfile.mkdtemp(prefix="leapwork-runs-")
        settings = {WORKER_LEDGER: self.directory, WORKER_PARENT: str(os.getpid())}
        if self.session.settings.emulator is not None:
            url, key = self.session.start_emulator()
            # The emulator's key guards a loopback test server, not a real controller.
            settings.update({WORKER_CONTROLLER: url, WORKER_KEY: key.reveal()})
        return settings

    def _worker_pids(self) -> list[int]:
        if self.directory is None:
            return []
        pids = []
        for path in glob.glob(os.path.join(self.directory, "*.pid")):
            try:
                with open(path, encoding="ascii") as file:
                    pids.append(int(file.read().strip()))
            except (OSError, ValueError):
                continue
        return pids

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._guard is not None:
            self._guard.uninstall()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Runs a worker had to stop, for the summary; a crashed worker's runs, stopped here."""
        output = getattr(node, "workeroutput", {}) or {}
        for entry in output.get(STOPPED_OUTPUT, []):
            self.session.add_stopped(StoppedRun(**entry))
        self.reporting.worker_runs.extend(
            RecordedRun.from_dict(r) for r in output.get(RUNS_OUTPUT, [])
        )
        if error is not None:
            workerid = node.workerinput["workerid"]
            self._stop_runs_of_crashed_worker(workerid)
            self._forget_worker(workerid)

    def _stop_runs_of_crashed_worker(self, workerid: str) -> None:
        """Stop what a worker that died left running, from its ledger."""
        if self.directory is None:
            return
        entries = RunLedger(worker_file(self.directory, workerid, ".runs")).unfinished()
        if not entries:
            return
        until = self.session.runner.now() + STOP_GRACE_SECONDS
        for entry in entries:
            self.session.stop_and_list(
                entry.nodeid, entry.schedule, entry.run_id, "its xdist worker crashed", until
            )

    def _forget_worker(self, workerid: str) -> None:
        """A crashed worker's claims go back to the plan; its runs were stopped from its ledger."""
        log_ = self._log()
        if log_ is None:
            return
        with log_.locked() as state:
            for key, entry in list(state.entries.items()):
                if entry.claimed_by == workerid and entry.run is None and entry.failed is None:
                    log_.append("reset", key)  # its runNow never answered: a taker retries
                    continue
                holder = entry.taken_by or entry.claimed_by
                if holder != workerid or entry.run is None or entry.ended:
                    continue
                log_.append("end", entry.run.run_id)  # stopped from the worker's ledger
                if entry.taken_by is None:
                    log_.append("reset", key)  # its test has yet to run: triggered anew

    @pytest.hookimpl(tryfirst=True)  # before the reports list the runs and why they stopped
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Every worker is done: stop the runs triggered ahead for tests no worker ran."""
        log_ = self._log()
        if log_ is None:
            return
        with log_.locked() as state:
            left = [(k, e.run) for k, e in state.entries.items() if e.run and not e.ended]
            for _key, run in left:
                log_.append("end", run.run_id)
        if not left:
            return
        runner = self.session.runner
        until = runner.now() + STOP_GRACE_SECONDS
        for key, run in left:
            try:
                if runner.status_of(run.run_id, until) == FINISHED:
                    continue  # ended on its own, as a run nobody follows may
            except LeapworkError:
                pass  # the stop says what is wrong
            self.session.stop_and_list(
                key, run.schedule.title, run.run_id, "its test did not run", until
            )

    def _log(self) -> PlanLog | None:
        if self.directory is None or not os.path.exists(os.path.join(self.directory, "plan.log")):
            return None
        return PlanLog(self.directory)


def register(config: pytest.Config, session: LeapworkSession, reporting: Any) -> None:
    """On a process that starts xdist workers: their runs reach this process's reports."""
    config.pluginmanager.register(XdistController(session, reporting), "leapwork-xdist")
