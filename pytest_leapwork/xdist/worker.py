"""The xdist worker's side: the controller it is given, the shared plan, its ledger and its
part of the session's end."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator
from dataclasses import asdict
from typing import Any

import pytest

from ..api.secret import Secret
from ..interrupts import TERMINATED
from ..options import runs_nothing
from ..reporting.records import entry_of
from ..runs.planning import Planner
from ..runs.runner import STOP_GRACE_SECONDS, Runner
from ..session import LeapworkSession
from ..stash import ITEM_STATE
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
from .plan import shared_plan
from .store import PlanLog


def worker_file(directory: str, workerid: str, suffix: str) -> str:
    """A worker's file in the shared directory: its run ledger (``.runs``), its pid (``.pid``)."""
    return os.path.join(directory, f"{workerid}{suffix}")


class XdistWorker:
    """On an xdist worker: the session's plan is the shared one."""

    def __init__(self, session: LeapworkSession, config: pytest.Config) -> None:
        self.session = session
        self.plan: Planner | None = None
        worker_input: dict[str, Any] = config.workerinput  # type: ignore[attr-defined]
        directory = worker_input.get(WORKER_LEDGER)
        worker = str(worker_input.get("workerid", "gw"))
        self.directory, self.worker = directory, worker
        parent = worker_input.get(WORKER_PARENT)
        #: The xdist controller's pid: once this process's parent is another, it is lost.
        self.parent = int(parent) if parent else None
        session.takes_ctrl_c = False  # xdist handles Ctrl-C; SIGTERM is the worker's
        if WORKER_CONTROLLER in worker_input:
            session.use_controller(
                worker_input[WORKER_CONTROLLER], Secret(worker_input[WORKER_KEY])
            )
        if directory is not None:
            session.on_runner.append(self._keep_ledger)
            session.on_guard.append(self._write_pid)
        # --dist each runs every test on every worker: each worker its own runs, its own plan.
        if directory is not None and worker_input.get(DIST_INPUT) != "each":

            def make_planner(runner: Runner, window: int) -> Planner:
                self.plan = shared_plan(runner, window, directory, worker)
                return self.plan

            self.session.make_planner = make_planner

    def _keep_ledger(self, runner: Runner) -> None:
        """Write this worker's runs down, for the xdist controller should the worker die."""
        assert self.directory is not None
        directory = self.directory
        ledger = RunLedger(worker_file(directory, self.worker, ".runs"))
        runner.known_elsewhere = lambda: RunLedger.run_ids_in(directory)
        runner.on_started.append(ledger.started)
        runner.on_finished.append(ledger.ended)

    def _write_pid(self, guarded: bool) -> None:
        """A worker that holds runs says where it is: the controller passes SIGTERM on to it."""
        assert self.directory is not None
        path = worker_file(self.directory, self.worker, ".pid")
        if guarded:
            with open(path, "w", encoding="ascii") as file:
                file.write(str(os.getpid()))
        else:
            with contextlib.suppress(OSError):
                os.remove(path)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        """The session has started: a SIGTERM while this worker was configured ends it now,
        with the worker's report (raised during its configure, xdist took it for a crash)."""
        self.session.session_started()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """A SIGTERM cut the collection short: end the session before xdist hears of it.

        pytest calls this hook even then, and xdist would report the half collection as
        different from the other workers' (an error of its own) instead of the SIGTERM.
        """
        if self.session.terminated:
            raise pytest.Session.Interrupted(TERMINATED)

    # Innermost of the wrappers: done before xdist's own wrapper sends the worker's output.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """Before the plugin stops this worker's unfinished runs: not those others may take.
        After: what the worker stopped and triggered goes to the xdist controller."""
        if self.plan is not None:
            self.plan.release_untaken()
        yield
        leapwork = self.session
        output = session.config.workeroutput  # type: ignore[attr-defined]
        output[STOPPED_OUTPUT] = [asdict(s) for s in leapwork.stopped]
        # The runs no test reported (the others reached the controller with their tests).
        reported = {
            state.run.run_id
            for item in session.items
            if (state := item.stash.get(ITEM_STATE, None)) is not None and state.run is not None
        }
        output[RUNS_OUTPUT] = [
            entry_of(h).to_dict() for h in leapwork.triggered if h.run_id not in reported
        ]
        if self._controller_lost():
            self._stop_orphans()
        if leapwork.terminated:
            # xdist takes a worker's interrupted session for a crash and starts a new worker;
            # told "stop" instead, it ends the whole session with this reason.
            output["exitstatus"] = int(pytest.ExitCode.TESTS_FAILED)
            output["shouldstop"] = TERMINATED

    def _controller_lost(self) -> bool:
        """Whether the xdist controller died (SIGKILL, the OOM killer): this worker was
        handed to another parent, and nobody will stop the runs no worker holds."""
        return self.parent is not None and os.getppid() != self.parent

    def _stop_orphans(self) -> None:
        """Stop every run of the shared plan that no live worker holds: this worker's, those
        of workers that are gone, and those triggered for tests nobody took.

        Each is written down as ended first, under the plan's lock, so that two workers
        ending at once do not both stop it.
        """
        if self.plan is None or self.directory is None:
            return
        log = PlanLog(self.directory)
        orphans = []
        with log.locked() as state:
            for key, entry in state.entries.items():
                if entry.run is None or entry.ended:
                    continue
                holder = entry.taken_by or entry.claimed_by
                if holder != self.worker and holder is not None and self._alive(holder):
                    continue
                orphans.append((key, entry.run))
                log.append("end", entry.run.run_id)
        if not orphans:
            return
        runner = self.session.runner
        until = runner.now() + STOP_GRACE_SECONDS
        for key, run in orphans:
            self.session.stop_and_list(
                key, run.schedule.title, run.run_id, "the xdist controller was lost", until
            )

    def _alive(self, worker: str) -> bool:
        """Whether worker ``worker`` still runs (its pid file names a live process)."""
        assert self.directory is not None
        try:
            with open(worker_file(self.directory, worker, ".pid"), encoding="ascii") as file:
                os.kill(int(file.read().strip()), 0)
        except (OSError, ValueError):
            return False
        return True


def register(config: pytest.Config, session: LeapworkSession) -> None:
    """On an xdist worker: one plan for the whole xdist session, SIGTERM guarded from the start."""
    config.pluginmanager.register(XdistWorker(session, config), "leapwork-xdist")
    if not runs_nothing(config):
        # From the start: a cancelled CI job's SIGTERM reaches every worker at once, and
        # this one may still be collecting while the others have triggered its runs.
        session.guard_signals(session_started=False)
