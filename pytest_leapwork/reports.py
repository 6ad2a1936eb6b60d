"""Every run the session triggered, listed at its end: the summary and the reports.

On the process that writes the reports: the xdist controller under xdist, where runs arrive
inside the workers' test reports, and the runs no test reported in each worker's output.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from .api.models import LeapworkRun
from .options import runs_nothing
from .reporting import job_summary
from .reporting.junit_flows import write_report
from .reporting.records import (
    NotStarted,
    RecordedRun,
    entry_of,
    rerun_ids,
    stopped_entry,
    unreported,
)
from .reporting.text import count_line, flaky_lines, run_summary_lines
from .session import LeapworkSession

RUN_ID_PROPERTY = "leapwork_run_id"
#: Beside the runs' RunIds in pytest's JUnit XML: those of their flows' reruns.
RERUN_RUN_ID_PROPERTY = "leapwork_rerun_run_id"
#: The name the reporting plugin is registered under.
REPORTING = "leapwork-reporting"


class Reporting:
    """What the session reports about its runs, on the process that writes the reports.

    That is the xdist controller under xdist: runs reach it inside the test reports, and
    the runs no test reported in each worker's output when it finishes.
    """

    def __init__(self, session: LeapworkSession) -> None:
        self.session = session
        #: Runs of the tests that ran, as their reports carry them (from every xdist worker).
        self.recorded: list[RecordedRun] = []
        #: Tests whose run never started (their setup errors).
        self.not_started: list[NotStarted] = []
        #: Every run the xdist workers triggered.
        self.worker_runs: list[RecordedRun] = []
        #: Runs no test reported: started ahead for tests that never ran, stopped, lost.
        self.unreported: list[RecordedRun] = []
        self.report_path: str | None = None
        #: Reports of ours that could not be written, said in the summary.
        self.problems: list[str] = []

    def record(self, report: pytest.TestReport) -> None:
        """Keep the run a test report carries (from this process or an xdist worker)."""
        data = getattr(report, "leapwork_run", None)
        if data is not None:
            run = LeapworkRun.from_dict(data)
            path = getattr(report, "leapwork_path", None)
            self.recorded.append(
                RecordedRun(report.nodeid, run, report.leapwork_timeout, path=path)
            )
        not_started = getattr(report, "leapwork_not_started", None)
        if not_started is not None:
            self.not_started.append(NotStarted(report.nodeid, **not_started))

    @property
    def every_run(self) -> list[RecordedRun]:
        return [*self.recorded, *self.unreported]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before pytest writes its JUnit XML: stop what is still running, then list every
        run the session triggered as suite properties and in the per-flow report."""
        if runs_nothing(session.config):
            return
        self.session.finish()
        triggered = [*self.worker_runs, *(entry_of(h) for h in self.session.triggered)]
        reasons = {s.run_id: s.reason for s in self.session.stopped}
        self.unreported = unreported(triggered, self.recorded, reasons)
        listed = {entry.run.run_id for entry in self.every_run}
        self.unreported += [
            stopped_entry(s.nodeid, s.schedule, s.run_id, s.reason, stopped=s.stopped)
            for s in self.session.stopped
            if s.run_id not in listed
        ]
        for plugin in session.config.pluginmanager.get_plugins():
            # pytest's LogXML; unlike record_testsuite_property this works under xdist.
            if hasattr(plugin, "add_global_property") and hasattr(plugin, "logfile"):
                for entry in self.every_run:
                    plugin.add_global_property(RUN_ID_PROPERTY, entry.run.run_id)
                    for rerun_id in rerun_ids(entry.run):
                        plugin.add_global_property(RERUN_RUN_ID_PROPERTY, rerun_id)
        config = session.config
        problem = job_summary.write(
            bool(config.getini(job_summary.INI)),
            os.environ,
            self.every_run,
            self.not_started,
            str(config.invocation_params.dir),
        )
        self.problems += [problem] if problem else []
        settings = self.session.settings
        if settings.junitxml:
            try:
                write_report(
                    settings.junitxml,
                    self.every_run,
                    not_started=self.not_started,
                    passed_keyframes=settings.passed_keyframes,
                )
                self.report_path = os.path.abspath(settings.junitxml)
            except Exception as exc:  # a disk that filled up, a bug of ours
                # Never at the cost of pytest's own reports, which are written after this.
                reason = str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
                self.problems.append(
                    f"--leapwork-junitxml: could not write {settings.junitxml!r}: {reason}"
                )

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        runs, not_started = self.every_run, self.not_started
        report = f"per-flow report: {self.report_path}" if self.report_path else None
        if config.get_verbosity() < 0:
            # -q: one line, only where there is something to say.
            if runs or not_started or report:
                parts = [count_line(runs, not_started), *([report] if report else [])]
                terminalreporter.write_line("leapwork: " + "; ".join(parts))
            self.write_left_executing(terminalreporter)
            self.write_problems(terminalreporter)
            return
        if runs or not_started:
            terminalreporter.write_sep("=", "leapwork runs")
            width = config.get_terminal_writer().fullwidth
            # What did not pass first, whole; the passed runs counted, and listed with -v.
            listed = run_summary_lines(
                runs, not_started, width=width, list_passed=config.get_verbosity() > 0
            )
            for line in listed:
                terminalreporter.write_line(line)
        flaky = flaky_lines(self.recorded)
        if flaky:
            terminalreporter.write_sep("=", "leapwork: flaky flows", yellow=True)
            for line in flaky:
                terminalreporter.write_line(line)
        stopped = [s for s in self.session.stopped if s.stopped]
        if stopped:
            terminalreporter.write_sep("=", "leapwork: runs stopped at session end", yellow=True)
            for entry in stopped:
                terminalreporter.write_line(
                    f"{entry.nodeid or '-'}: schedule {entry.schedule!r}, "
                    f"run {entry.run_id} stopped ({entry.reason})"
                )
        self.write_left_executing(terminalreporter)
        if self.report_path:
            terminalreporter.write_sep("-", f"leapwork per-flow report: {self.report_path}")
        self.write_problems(terminalreporter)

    def write_left_executing(self, terminalreporter: Any) -> None:
        """Runs the plugin could not stop: said even under -q, they hold agents for nothing."""
        left = [s for s in self.session.stopped if not s.stopped]
        if left:
            terminalreporter.write_sep(
                "=", "leapwork: runs that may still be executing on the controller", red=True
            )
            for entry in left:
                terminalreporter.write_line(
                    f"{entry.nodeid or '-'}: schedule {entry.schedule!r}, "
                    f"run {entry.run_id or '(RunId unknown)'}: {entry.reason}"
                )

    def write_problems(self, terminalreporter: Any) -> None:
        for problem in self.problems:
            terminalreporter.write_line(f"leapwork: {problem}", red=True)
