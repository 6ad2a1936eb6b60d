"""The plugin's per-session state: settings, the lazily made runner, the emulator, stops.

Nothing here touches the network until a marked test needs a run.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import Settings, SettingsError, Source, parse_controller_url
from .errors import LeapworkError
from .junit_flows import RecordedRun
from .ledger import RunLedger
from .secret import Secret

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ahead import Planner
    from .interrupts import InterruptGuard
    from .runner import RunHandle, Runner, RunRequest

log = logging.getLogger("pytest_leapwork")

# Keys of xdist's workerinput that carry the controller from the xdist controller process.
WORKER_CONTROLLER = "leapwork_controller"
WORKER_KEY = "leapwork_key"
WORKER_LEDGER = "leapwork_ledger_dir"


@dataclass(frozen=True)
class StoppedRun:
    """A run the plugin stopped because the session ended before its test finished."""

    nodeid: str
    schedule: str
    run_id: str
    reason: str

    @classmethod
    def of(cls, handle: RunHandle, reason: str) -> StoppedRun:
        return cls(handle.request.label, handle.schedule.title, handle.run_id, reason)


class LeapworkSession:
    def __init__(self, settings: Settings, worker_input: dict[str, Any] | None = None) -> None:
        self.settings = settings
        # Only what this plugin sent: the rest of workerinput holds the whole command line.
        self._worker_input = {
            k: v
            for k, v in (worker_input or {}).items()
            if k in (WORKER_CONTROLLER, WORKER_KEY, WORKER_LEDGER, "workerid")
        }
        #: Where xdist workers write down their runs (made by the xdist controller).
        self._ledger_dir: str | None = None
        self._lock = threading.Lock()
        self._runner: Runner | None = None
        self._ahead: Planner | None = None
        #: Makes the trigger-ahead plan from the runner and the window (xdist workers share one).
        self.make_planner: Callable[[Runner, int], Planner] | None = None
        self._emulator: Any = None
        self._interrupts: InterruptGuard | None = None
        #: Runs this plugin had to stop at session end.
        self.stopped: list[StoppedRun] = []
        #: Runs of the tests that ran, as reported (from every xdist worker on the controller).
        self.recorded: list[RecordedRun] = []
        #: Every run this process triggered, whatever became of its test (for the reports).
        self.triggered: list[RunHandle] = []
        #: Called with the runner once it is made (e.g. to listen to runs ending).
        self.on_runner: list[Callable[[Runner], None]] = []

    # -- the controller -------------------------------------------------------------------

    def require_controller(self) -> None:
        """Fail early, with advice, when marked tests will run and nothing says where."""
        if self.settings.emulator is not None or WORKER_CONTROLLER in self._worker_input:
            return
        if self.settings.controller is None:
            raise SettingsError(
                "Leapwork-marked tests are selected but no controller is configured: pass "
                "--leapwork-controller=URL (or set LEAPWORK_CONTROLLER, or the "
                "leapwork_controller ini setting), or --leapwork-emulator to use the built-in one"
            )
        if self.settings.key is None and self.settings.key_problem:
            raise SettingsError(self.settings.key_problem)
        if self.settings.key is None:
            raise SettingsError(
                "Leapwork-marked tests are selected but no access key is configured: set the "
                "LEAPWORK_KEY environment variable (from a CI secret) or pass --leapwork-key"
            )

    def controller(self) -> tuple[str, Secret]:
        """The controller URL and key: from the xdist controller, the emulator, or settings."""
        if WORKER_CONTROLLER in self._worker_input:
            return self._worker_input[WORKER_CONTROLLER], Secret(self._worker_input[WORKER_KEY])
        if self.settings.emulator is not None:
            return self._start_emulator()
        self.require_controller()
        assert self.settings.controller is not None and self.settings.key is not None
        return self.settings.controller, self.settings.key

    def worker_settings(self) -> dict[str, str]:
        """What an xdist worker needs: where to write down its runs, and the emulator."""
        with self._lock:
            if self._ledger_dir is None:
                self._ledger_dir = tempfile.mkdtemp(prefix="leapwork-runs-")
        settings = {WORKER_LEDGER: self._ledger_dir}
        if self.settings.emulator is not None:
            url, key = self._start_emulator()
            # The emulator's key guards a loopback test server, not a real controller.
            settings.update({WORKER_CONTROLLER: url, WORKER_KEY: key.reveal()})
        return settings

    def _own_ledger(self) -> RunLedger | None:
        directory = self._worker_input.get(WORKER_LEDGER)
        if directory is None:
            return None
        return RunLedger(
            os.path.join(directory, f"{self._worker_input.get('workerid', 'gw')}.runs")
        )

    def stop_runs_of_crashed_worker(self, workerid: str) -> None:
        """Stop what a worker that died left running, from its ledger (xdist controller)."""
        if self._ledger_dir is None:
            return
        entries = RunLedger(os.path.join(self._ledger_dir, f"{workerid}.runs")).unfinished()
        if not entries:
            return
        try:
            client = self.runner.client
        except SettingsError:  # pragma: no cover - a worker with runs had a controller
            return
        for entry in entries:
            reason = "its xdist worker crashed"
            try:
                client.stop_run(entry.run_id)
            except LeapworkError as exc:
                reason += f"; the stop failed: {exc}"
            self.stopped.append(StoppedRun(entry.nodeid, entry.schedule, entry.run_id, reason))

    def _start_emulator(self) -> tuple[str, Secret]:
        with self._lock:
            if self._emulator is None:
                from .emulator import DEFAULT_ACCESS_KEY, EmulatorServer, load_scenario

                assert self.settings.emulator is not None
                scenario = load_scenario(self.settings.emulator)
                key = self.settings.key.reveal() if self.settings.key else DEFAULT_ACCESS_KEY
                self._emulator = EmulatorServer(scenario, access_key=key).start()
                log.info("emulator serving %s at %s", self.settings.emulator, self._emulator.url)
            url = parse_controller_url(Source("emulator", self._emulator.url))
            return url, Secret(self._emulator.access_key)

    @property
    def runner(self) -> Runner:
        with self._lock:
            runner = self._runner
        if runner is None:
            # Made on first use, so sessions without a marked test never load requests.
            from .ahead import TriggerAhead
            from .client import LeapworkClient
            from .interrupts import InterruptGuard
            from .runner import Runner

            url, key = self.controller()
            runner = Runner(
                LeapworkClient(url, key, verify=self.settings.verify),
                poll_interval=self.settings.poll_interval,
                done_counts_as_passed=self.settings.done_counts_as_passed,
                keyframes_for_passed=self.settings.passed_keyframes,
            )
            with self._lock:
                if self._runner is None:
                    self._runner = runner
                    make_planner = self.make_planner or TriggerAhead
                    self._ahead = make_planner(runner, self.settings.max_in_flight)
                    if not self._worker_input:  # xdist workers leave Ctrl-C to xdist
                        self._interrupts = InterruptGuard(runner.active)
                        self._interrupts.install()
                    runner.on_started.append(self.triggered.append)
                    ledger = self._own_ledger()
                    if ledger is not None:
                        runner.on_started.append(ledger.started)
                        runner.on_finished.append(ledger.ended)
                    for listener in self.on_runner:
                        listener(runner)
                else:
                    runner.close()
                runner = self._runner
        return runner

    @property
    def ahead(self) -> Planner:
        self.runner  # noqa: B018 - makes the runner and its TriggerAhead
        assert self._ahead is not None
        return self._ahead

    # -- runs -----------------------------------------------------------------------------

    def plan(self, entries: list[tuple[str, RunRequest]]) -> None:
        self.ahead.plan(entries)

    def take(self, key: str, request: RunRequest) -> RunHandle:
        return self.ahead.take(key, request)

    def stop_now(self, handle: RunHandle, reason: str) -> None:
        """Stop one run at once (its test was interrupted) and list it as stopped."""
        self.runner.stop(handle, reason)
        self.stopped.append(StoppedRun.of(handle, reason))

    def finish(self) -> None:
        """Stop every run still in flight: started ahead for a test that never ran, or cut off."""
        if self._runner is None:
            return
        assert self._ahead is not None
        not_taken = {id(h) for h in self._ahead.not_taken()}
        for handle in self._runner.stop_all("stopped at session end"):
            reason = "its test did not run" if id(handle) in not_taken else "interrupted"
            if handle.stop_error:
                reason += f"; the stop failed: {handle.stop_error}"
            self.stopped.append(StoppedRun.of(handle, reason))

    def close(self) -> None:
        if self._ledger_dir is not None:
            shutil.rmtree(self._ledger_dir, ignore_errors=True)
        if self._interrupts is not None:
            self._interrupts.uninstall()
        if self._runner is not None:
            self._runner.close()
        if self._emulator is not None:
            self._emulator.stop()
