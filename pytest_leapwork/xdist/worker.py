"""The xdist worker's side: its session plans with the others through the shared plan."""

from __future__ import annotations

from typing import Any

import pytest

from ..interrupts import TERMINATED
from ..runs.planning import Planner
from ..runs.runner import Runner
from ..session import WORKER_LEDGER, LeapworkSession
from .keys import DIST_INPUT
from .plan import shared_plan


class XdistWorker:
    """On an xdist worker: the session's plan is the shared one."""

    def __init__(self, session: LeapworkSession, config: pytest.Config) -> None:
        self.session = session
        self.plan: Planner | None = None
        worker_input: dict[str, Any] = config.workerinput  # type: ignore[attr-defined]
        directory = worker_input.get(WORKER_LEDGER)
        worker = str(worker_input.get("workerid", "gw"))
        # --dist each runs every test on every worker: each worker its own runs, its own plan.
        if directory is not None and worker_input.get(DIST_INPUT) != "each":

            def make_planner(runner: Runner, window: int) -> Planner:
                self.plan = shared_plan(runner, window, directory, worker)
                return self.plan

            self.session.make_planner = make_planner

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """A SIGTERM cut the collection short: end the session before xdist hears of it.

        pytest calls this hook even then, and xdist would report the half collection as
        different from the other workers' (an error of its own) instead of the SIGTERM.
        """
        if self.session.terminated:
            raise pytest.Session.Interrupted(TERMINATED)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before the plugin stops this worker's unfinished runs: not those others may take."""
        if self.plan is not None:
            self.plan.release_untaken()
