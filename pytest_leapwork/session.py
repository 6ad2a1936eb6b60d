"""The plugin's per-session state: settings, the lazily made runner, the emulator, stops.

Nothing here touches the network until a marked test needs a run. Nothing here knows xdist:
an xdist worker is told its controller (``use_controller``) and listens to the runner
(``on_runner``) and to the signal guard (``on_guard``) like any other listener.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from .api.secret import Secret
from .config import Settings, SettingsError, Source, parse_controller_url
from .interrupts import TERMINATED, InterruptGuard
from .reporting.records import StoppedRun

if TYPE_CHECKING:
    from collections.abc import Callable

    from .runs.planning import Planner
    from .runs.runner import RunHandle, Runner, RunRequest

log = logging.getLogger("pytest_leapwork")
#: Why runs still in flight when the session ends are stopped.
SESSION_END = "stopped at session end"


class LeapworkSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: The controller another process gave this one (an xdist worker's, from its controller).
        self._given: tuple[str, Secret] | None = None
        #: Whether a second Ctrl-C exits at once (xdist workers leave Ctrl-C to xdist).
        self.takes_ctrl_c = True
        self._lock = threading.Lock()
        self._runner: Runner | None = None
        self._ahead: Planner | None = None
        #: Makes the trigger-ahead plan from the runner and the window (xdist workers share one).
        self.make_planner: Callable[[Runner, int], Planner] | None = None
        self._emulator: Any = None
        self._interrupts: InterruptGuard | None = None
        #: Runs this plugin stopped before their tests finished, or could not stop.
        self.stopped: list[StoppedRun] = []
        #: Every run this process triggered, whatever became of its test (for the reports).
        self.triggered: list[RunHandle] = []
        #: Called with the runner once it is made (e.g. to listen to runs ending).
        self.on_runner: list[Callable[[Runner], None]] = []
        #: Called with True once Ctrl-C and SIGTERM are guarded, with False once released.
        self.on_guard: list[Callable[[bool], None]] = []

    # -- the controller -------------------------------------------------------------------

    def require_controller(self) -> None:
        """Fail early, with advice, when marked tests will run and nothing says where."""
        if self.settings.emulator is not None or self._given is not None:
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

    def use_controller(self, url: str, key: Secret) -> None:
        """Talk to the controller another process chose (an xdist worker's, from its controller)."""
        self._given = (url, key)

    def controller(self) -> tuple[str, Secret]:
        """The controller URL and key: given by another process, the emulator, or settings."""
        if self._given is not None:
            return self._given
        if self.settings.emulator is not None:
            return self.start_emulator()
        self.require_controller()
        assert self.settings.controller is not None and self.settings.key is not None
        return self.settings.controller, self.settings.key

    def stop_and_list(
        self, nodeid: str, title: str, run_id: str, reason: str, until: float
    ) -> None:
        """Stop a run known here only by its RunId (no handle in this process), and list it."""
        problem = self.runner.stop_run_id(run_id, until, title)  # verified, bounded
        if problem is not None:
            reason += f"; it could not be stopped: {problem}"
        self.add_stopped(StoppedRun(nodeid, title, run_id, reason, problem is None))

    def add_stopped(self, entry: StoppedRun) -> None:
        """List a run once, though a worker's report and its ledger may both name it."""
        with self._lock:
            if not any(
                (e.run_id, e.nodeid, e.schedule) == (entry.run_id, entry.nodeid, entry.schedule)
                for e in self.stopped
            ):
                self.stopped.append(entry)

    # -- signals ---------------------------------------------------------------------------

    def guard_signals(self, *, session_started: bool = True) -> None:
        """Marked tests will run in this process: Ctrl-C and SIGTERM stop their runs first.

        Where Ctrl-C is not this process's to take (an xdist worker), only SIGTERM is guarded.
        Guarded before pytest's session has started (an xdist worker, from its configure), a
        SIGTERM ends the session once ``session_started`` is called.
        """
        with self._lock:
            if self._interrupts is not None:
                return
            self._interrupts = InterruptGuard(
                lambda: self._runner.active() if self._runner else [],
                second_ctrl_c=self.takes_ctrl_c,
                session_started=session_started,
            )
        self._interrupts.install()
        self._notify_guard(True)

    def release_signals(self) -> None:
        """No marked test runs in this process after all: SIGTERM does what it did before."""
        with self._lock:
            if self._interrupts is None or self._interrupts.terminated:
                return  # a SIGTERM ended the collection: the session still ends as terminated
            guard, self._interrupts = self._interrupts, None
        guard.uninstall()
        self._notify_guard(False)

    def session_started(self) -> None:
        """pytest's session has started: a SIGTERM that came before ends it now."""
        if self._interrupts is not None:
            self._interrupts.session_started()

    def tests_over(self) -> None:
        """The test loop has ended: from here the session only finishes."""
        if self._interrupts is not None:
            self._interrupts.tests_over()

    def _notify_guard(self, guarded: bool) -> None:
        for listener in self.on_guard:
            listener(guarded)

    @property
    def terminated(self) -> bool:
        """Whether a SIGTERM ended this process's session."""
        return self._interrupts is not None and self._interrupts.terminated

    def start_emulator(self) -> tuple[str, Secret]:
        """The emulator's URL and key, started on first use (``--leapwork-emulator``)."""
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
            from .api.client import LeapworkClient
            from .runs.runner import Runner

            url, key = self.controller()
            runner = Runner(
                LeapworkClient(url, key, verify=self.settings.verify),
                poll_interval=self.settings.poll_interval,
                done_counts_as_passed=self.settings.done_counts_as_passed,
                keyframes_for_passed=self.settings.passed_keyframes,
                status_client=LeapworkClient(url, key, verify=self.settings.verify, retries=0),
            )
            with self._lock:
                if self._runner is None:
                    self._publish(runner)
                else:
                    runner.close()
                runner = self._runner
        assert runner is not None
        return runner

    def _publish(self, runner: Runner) -> None:
        """Make the runner's planner and listeners, then make both the session's at once.

        A SIGTERM can land anywhere in this (a CI job cancelled as the first test starts):
        the session then ends with neither, not a runner without its planner.
        """
        from .runs.planning import in_process

        try:
            ahead = (self.make_planner or in_process)(runner, self.settings.max_in_flight)
            runner.on_started.append(self.triggered.append)
            runner.on_finished.append(self._list_if_not_stopped)
            for listener in self.on_runner:
                listener(runner)
        except BaseException:
            runner.close()
            raise
        self._runner, self._ahead = runner, ahead

    @property
    def ahead(self) -> Planner:
        self.runner  # noqa: B018 - makes the runner and its planner
        assert self._ahead is not None
        return self._ahead

    # -- runs -----------------------------------------------------------------------------

    def plan(self, entries: list[tuple[str, RunRequest]]) -> None:
        self.ahead.plan(entries)

    def take(self, key: str, request: RunRequest) -> RunHandle:
        try:
            return self.ahead.take(key, request)
        except (Exception, KeyboardInterrupt):
            raise  # an error of the run's own; or the session ends, and its finish looks
        except BaseException as exc:
            # pytest-timeout (or the like) cut the trigger off, and the session goes on:
            # the run the controller may have made is looked for and stopped now.
            self.recover_triggers(f"its runNow was cut off ({type(exc).__name__})", key)
            raise

    def release(self, key: str) -> None:
        """Test ``key`` is over without taking its run (a fixture before it failed or
        skipped): stop the run started ahead for it now, not at session end."""
        if self._runner is None:
            return
        for handle in self.ahead.release(key):
            if not handle.done:
                self.stop_now(handle, "its test ended before it took its run")

    def recover_triggers(self, reason: str, label: str | None = None) -> None:
        """Find and stop the runs of runNow requests cut off before their answer."""
        if self._runner is None:
            return
        for trigger in self._runner.unanswered(label):
            outcome = self._runner.find_and_stop(trigger)
            if outcome.run_id is not None or outcome.problem is not None:
                self.add_stopped(StoppedRun.of_trigger(outcome, reason))

    def _list_if_not_stopped(self, handle: RunHandle) -> None:
        """A run that ended while the plugin could not stop it is listed (it may execute on)."""
        if handle.stop_error:
            reason = handle.stop_reason or "stopped"
            if reason == "timeout":
                reason = f"its timeout of {handle.request.timeout:g}s passed"
            elif reason == SESSION_END:
                reason = "the session ended"
            self.add_stopped(StoppedRun.of(handle, reason))

    def stop_now(self, handle: RunHandle, reason: str) -> None:
        """Stop one run at once (its test was interrupted) and list it as stopped."""
        self.runner.stop(handle, reason)
        self.add_stopped(StoppedRun.of(handle, reason))

    def finish(self) -> None:
        """Stop every run still in flight: started ahead for a test that never ran, or cut off.

        Then the runner stops following, so that nothing is asked or logged after the
        summary, whatever the controller does.
        """
        if self._interrupts is not None:
            self._interrupts.finishing()
        if self._runner is None:
            return
        assert self._ahead is not None
        interrupted = TERMINATED if self.terminated else "interrupted"
        not_taken = {id(h) for h in self._ahead.not_taken()}
        for handle in self._runner.stop_all(SESSION_END):
            reason = "its test did not run" if id(handle) in not_taken else interrupted
            self.add_stopped(StoppedRun.of(handle, reason))
        self.recover_triggers(f"its runNow was cut off ({interrupted})")
        self._runner.close()

    def close(self) -> None:
        if self._interrupts is not None:
            self._interrupts.uninstall()
            self._notify_guard(False)  # an xdist worker's pid file goes: it holds no run now
        if self._runner is not None:
            self._runner.close()
        if self._emulator is not None:
            self._emulator.stop()
