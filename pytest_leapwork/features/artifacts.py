"""``--leapwork-artifacts=DIR``: keep what a person needs to understand a failing flow.

For every flow that did not pass, its video (``GET /runItems/{id}/video``, streamed, with a
size cap) and its keyframes (as JSON) are saved under DIR. Downloads start the moment a run
ends, on a small pool of daemon threads of their own, so they overlap with the runs still
executing; a test waits only for its own run's files, and only ``ARTIFACT_WAIT_SECONDS`` at
most: a download still trickling in then is abandoned, and nothing waits for it at exit. The
files are linked where people look: a line each in
the terminal summary, the video in the test's pytest-html row, and ``[[ATTACHMENT|path]]`` in
the ``--leapwork-junitxml`` report (written by ``junit_flows``).

Under ``--leapwork-rerun-flows`` every failing attempt's files are saved, each rerun's under
its own RunId; a flow links the files of its last failing attempt: the last rerun's for a
flow that failed every time, the failure before the passing rerun for a flaky one.
"""

from __future__ import annotations

import html
import json
import logging
import math
import operator
import os
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest

from .. import config as cfg
from ..api.errors import LeapworkError, NotFound
from ..api.models import VIDEO_EXTENSIONS, FlowResult, LeapworkRun
from ..options import add_number_ini
from ..reporting.junit_flows import attachment_lines, relative_path
from ..reporting.other_plugins import PYTEST_HTML, is_active
from ..reporting.records import RecordedRun
from ..reporting.text import escape_controls
from ..reports import REPORTING
from ..threads import DaemonPool
from .evidence_files import KEYFRAMES_SUFFIX, saved_once, write_atomically
from .evidence_names import flow_stem

if TYPE_CHECKING:
    from ..api.client import LeapworkClient
    from ..runs.runner import RunHandle, Runner
    from ..session import LeapworkSession

log = logging.getLogger("pytest_leapwork")

HELP_ARTIFACTS = (
    "save the video and keyframes (JSON) of every flow that did not pass under DIR, and link "
    "them from the summary, pytest-html and --leapwork-junitxml (ini leapwork_artifacts)"
)
DEFAULT_MAX_MB = 200.0
HELP_MAX_MB = (
    f"largest video to keep, in megabytes; a larger one is not saved "
    f"(ini leapwork_artifacts_max_mb, default {DEFAULT_MAX_MB:g})"
)
#: Downloads at once: enough to overlap, few enough to spare a controller that serves runs.
DOWNLOADS_AT_ONCE = 4
#: How long a test waits for its failing flows' files, all of them; read when it waits, so an
#: inner conftest can lower it. Past it the test goes on, and the downloads are abandoned.
ARTIFACT_WAIT_SECONDS = 10.0
VIDEO_SUFFIXES = tuple(VIDEO_EXTENSIONS.values())


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("leapwork")
    group.addoption("--leapwork-artifacts", metavar="DIR", help=HELP_ARTIFACTS)
    group.addoption("--leapwork-artifacts-max-mb", metavar="MB", help=HELP_MAX_MB)
    parser.addini("leapwork_artifacts", HELP_ARTIFACTS)
    add_number_ini(parser, "leapwork_artifacts_max_mb", HELP_MAX_MB, float)


@dataclass(frozen=True)
class ArtifactSettings:
    directory: str
    max_bytes: int


def resolve_settings(config: pytest.Config) -> ArtifactSettings | None:
    """The directory (absolute; relative to where pytest started) and the cap, or None."""
    directory = cfg.first_of(
        cfg.from_option("--leapwork-artifacts", config.getoption("leapwork_artifacts")),
        cfg.from_ini("leapwork_artifacts", config.getini("leapwork_artifacts")),
    )
    cap = cfg.first_of(
        cfg.from_option(
            "--leapwork-artifacts-max-mb", config.getoption("leapwork_artifacts_max_mb")
        ),
        cfg.from_ini("leapwork_artifacts_max_mb", config.getini("leapwork_artifacts_max_mb")),
    )
    if directory is None:
        return None
    if not directory.value.strip():
        raise cfg.SettingsError(f"{directory.description}: the directory is empty")
    megabytes = _megabytes(cap) if cap else DEFAULT_MAX_MB
    path = os.path.join(str(config.invocation_params.dir), directory.value.strip())
    if os.path.exists(path) and not os.path.isdir(path):
        raise cfg.SettingsError(f"{directory.description}: {path!r} is a file, not a directory")
    problem = _unreachable(path)
    if problem is not None:
        raise cfg.SettingsError(f"{directory.description}: {path!r} {problem}")
    return ArtifactSettings(os.path.normpath(path), int(megabytes * 1024 * 1024))


def _unreachable(path: str) -> str | None:
    """Why no directory can ever be made at ``path``, or None.

    Checked before any run: otherwise every failing flow's files are lost, each with a
    warning, only at the end. The first part of the path that exists must be a directory:
    not a file, and not a symbolic link to nothing.
    """
    existing = path
    while not os.path.lexists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if os.path.islink(existing) and not os.path.exists(existing):
        target = os.readlink(existing)
        if existing == path:
            return f"is a symbolic link to {target!r}, which does not exist"
        return f"goes through {existing!r}, a symbolic link to {target!r}, which does not exist"
    if existing != path and not os.path.isdir(existing):
        return f"is under {existing!r}, which is a file, not a directory"
    return None


def _megabytes(source: cfg.Source) -> float:
    try:
        value = float(source.value)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise cfg.SettingsError(
            f"{source.description}: the size cap must be a number of megabytes above 0, "
            f"got {source.value!r}"
        )
    return value


class ArtifactSaver:
    """Downloads the failing flows' files on its own pool, as runs end."""

    def __init__(self, settings: ArtifactSettings) -> None:
        self.settings = settings
        self._client: LeapworkClient | None = None
        self._pool = DaemonPool("leapwork-artifacts", DOWNLOADS_AT_ONCE)
        self._lock = threading.Lock()
        self._jobs: dict[int, Future[list[str]]] = {}
        #: Every run that ended with its flows, by RunId: where a rerun's flow was run.
        self._runs: dict[str, LeapworkRun] = {}
        #: Told as each run is added: a rerun's handle ends just before it is.
        self._ended = threading.Condition(self._lock)

    def attach(self, runner: Runner) -> None:
        self._client = runner.client
        runner.on_finished.append(self.run_ended)

    def run_ended(self, handle: RunHandle) -> None:
        """On the poller thread: start saving the flows that did not pass, return at once."""
        run = handle.result
        # A run stopped because the session ends (or its test was cut off) has no test
        # to report on; a run stopped at its timeout does, and its video shows where it hung.
        if run is None:
            return
        with self._ended:
            self._runs[run.run_id] = run
            self._ended.notify_all()
        if run.stopped_reason in (None, "timeout"):
            for flow in run.failed_flows:
                self._submit(run, flow)

    def collect(self, run: LeapworkRun) -> None:
        """Wait for the files of ``run``'s failing flows (by their final verdict); list them.

        A flow that was rerun lists its last failing attempt's files (a flaky flow's too).
        The wait is bounded by ``ARTIFACT_WAIT_SECONDS`` for the whole run: a download still
        going on past it (a controller that trickles the video in) is left to its daemon
        thread, and the test goes on without that flow's files.
        """
        limit = ARTIFACT_WAIT_SECONDS
        until = time.monotonic() + limit
        for flow in run.flows:
            try:
                attempt = self._last_failing_attempt(run, flow, until)
                if attempt is None:
                    continue
                flow.artifacts = self._submit(*attempt).result(
                    timeout=max(0.0, until - time.monotonic())
                )
            except FutureTimeout:
                log.warning(
                    "the files of flow %r were not kept in time: still downloading after %gs, "
                    "the test goes on without them",
                    flow.title,
                    limit,
                )
            except Exception as exc:  # never fail a test over its evidence
                log.warning("could not save the artifacts of flow %r: %s", flow.title, exc)

    def _last_failing_attempt(
        self, run: LeapworkRun, flow: FlowResult, until: float
    ) -> tuple[LeapworkRun, FlowResult] | None:
        """The run and flow of ``flow``'s last attempt that failed; None if none did.

        A rerun that gave no flow (not started, lost) has no files: the attempt before it
        counts, as where its run was stopped for the session's end (nothing saved from it).
        """
        if not flow.reruns:
            return None if flow.passed else (run, flow)
        for rerun in reversed(flow.reruns):
            if rerun.passed or rerun.flow is None:
                continue
            with self._ended:
                # A rerun with its flow ended with its run: told to ``run_ended`` at once.
                self._ended.wait_for(
                    partial(operator.contains, self._runs, rerun.run_id),
                    max(0.0, until - time.monotonic()),
                )
                rerun_run = self._runs.get(rerun.run_id)
            if rerun_run is not None and rerun_run.stopped_reason in (None, "timeout"):
                return rerun_run, rerun.flow
        return None if flow.first_passed else (run, flow)

    def _submit(self, run: LeapworkRun, flow: FlowResult) -> Future[list[str]]:
        with self._lock:
            job = self._jobs.get(id(flow))
            if job is None:
                job = self._pool.submit(self._save, run, flow)
                self._jobs[id(flow)] = job
            return job

    def _save(self, run: LeapworkRun, flow: FlowResult) -> list[str]:
        """The flow's files: saved here, or by whichever process of the session claimed them."""
        stem = flow_stem(self.settings.directory, run, flow)
        try:
            os.makedirs(os.path.dirname(stem), exist_ok=True)
        except OSError as exc:
            log.warning("could not save the files of flow %r: %s", flow.title, exc)
            return []
        return saved_once(stem, lambda: self._download(run, flow, stem), ARTIFACT_WAIT_SECONDS)

    def _download(self, run: LeapworkRun, flow: FlowResult, stem: str) -> list[str]:
        """The flow's video and keyframes: each saved on its own, so one failing (a full
        disk, a controller error) never costs the other; a warning per file not saved."""
        saved: list[str] = []
        video_problem = None
        if self._client is not None and flow.run_item_id:
            try:
                saved.append(
                    self._client.download_video(flow.run_item_id, stem, self.settings.max_bytes)
                )
            except LeapworkError as exc:
                video_problem = str(exc)
                # 404: recorded without video, a choice in Studio rather than a problem.
                level = logging.INFO if isinstance(exc, NotFound) else logging.WARNING
                log.log(level, "no video for flow %r of run %s: %s", flow.title, run.run_id, exc)
            except OSError as exc:  # the disk: full, or refusing the name
                video_problem = f"could not be written: {exc}"
                log.warning("could not save the video of flow %r: %s", flow.title, exc)
            if not flow.keyframes:  # failed by a hook's verdict: not fetched with the run
                try:
                    flow.keyframes = self._client.keyframes(flow.run_item_id)
                except LeapworkError as exc:
                    log.warning("no keyframes for flow %r: %s", flow.title, exc)
        document = {
            "run_id": run.run_id,
            "schedule": run.schedule_title,
            "flow": flow.title,
            "run_item_id": flow.run_item_id,
            "status": flow.status,
            "agent": flow.agent,
            "video": os.path.basename(saved[0]) if saved else None,
            "video_problem": video_problem,
            "keyframes": [asdict(k) for k in flow.keyframes],
        }
        keyframes_path = stem + KEYFRAMES_SUFFIX
        try:
            write_atomically(keyframes_path, json.dumps(document, indent=2, ensure_ascii=False))
        except OSError as exc:
            log.warning("could not save the keyframes of flow %r: %s", flow.title, exc)
            return saved
        return [*saved, keyframes_path]

    def close(self) -> None:
        """Refuse new downloads; those still going on are abandoned, not waited for."""
        self._pool.shutdown(wait=False, cancel_futures=True)


RUN = pytest.StashKey[LeapworkRun]()


class Artifacts:
    """Registered only with ``--leapwork-artifacts``: saving, then linking, the files."""

    def __init__(
        self,
        settings: ArtifactSettings,
        session: LeapworkSession,
        config: pytest.Config,
        prints_summary: bool,
    ) -> None:
        self.config = config
        self.prints_summary = prints_summary
        self.saver = ArtifactSaver(settings)
        self.session = session
        session.on_runner.append(self.saver.attach)

    @pytest.hookimpl(tryfirst=True)
    def pytest_leapwork_run_finished(self, item: pytest.Item, run: LeapworkRun) -> None:
        """Before other implementations (the verdicts are in): they see ``flow.artifacts``."""
        self.saver.collect(run)
        item.stash[RUN] = run

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        run = item.stash.get(RUN, None)
        if call.when == "call" and run is not None and is_active(item.config, PYTEST_HTML):
            add_html_links(item.config, report, run)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """The failing flows' files in the test's own case of pytest's ``--junitxml``, before
        pytest closes the case (on the xdist controller, from the worker's report)."""
        data = getattr(report, "leapwork_run", None)
        if report.when != "teardown" or data is None:
            return
        add_junit_attachments(self.config, report, LeapworkRun.from_dict(data))

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        if not self.prints_summary:
            return
        start = str(config.invocation_params.dir)
        reporting = config.pluginmanager.get_plugin(REPORTING)
        lines = summary_lines(reporting.recorded if reporting else [], start)
        if not lines:
            return
        if config.get_verbosity() < 0:  # -q: one line, as the runs' summary keeps
            where = relative_path(self.saver.settings.directory, start)
            count = len(lines)
            terminalreporter.write_line(
                f"leapwork: {count} artifact file{'s' if count != 1 else ''} of failing flows "
                f"under {where}"
            )
            return
        terminalreporter.write_sep("=", "leapwork artifacts")
        for line in lines:
            terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.saver.close()


def summary_lines(runs: list[RecordedRun], start: str) -> list[str]:
    """A line per saved file: test, flow and status, path relative to where pytest started."""
    lines = []
    for recorded in runs:
        for flow in recorded.run.flows:
            for path in flow.artifacts:
                flow_text = escape_controls(f"{flow.title} ({flow.status})", one_line=True)
                lines.append(f"{recorded.nodeid}: {flow_text}: {relative_path(path, start)}")
    return lines


def add_junit_attachments(
    config: pytest.Config, report: pytest.TestReport, run: LeapworkRun
) -> None:
    """``[[ATTACHMENT|path]]`` lines in a ``system-out`` of the test's ``<testcase>``: the form
    Jenkins' JUnit attachments plugin and GitLab read. Both resolve a relative path from the
    workspace, where CI starts pytest: the paths are relative to where pytest started, so
    they resolve wherever the report is written."""
    from _pytest.junitxml import xml_key  # pytest's own report, where one is written

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    start = str(config.invocation_params.dir)
    lines = [attachment_lines(flow, start) for flow in run.failed_flows]
    text = "\n".join(line for line in lines if line)
    if not text:
        return
    element = ET.Element("system-out")
    element.text = text
    xml.node_reporter(report).append(element)


def add_html_links(config: pytest.Config, report: pytest.TestReport, run: LeapworkRun) -> None:
    """The failing flows' videos, playable, and their files in the test's pytest-html row."""
    import pytest_html  # type: ignore[import-untyped,import-not-found,unused-ignore]

    htmlpath = getattr(config.option, "htmlpath", None) or ""
    start = os.path.dirname(os.path.abspath(htmlpath)) if htmlpath else os.getcwd()
    parts = []
    for flow in run.flows:
        for path in flow.artifacts:
            href = html.escape(relative_path(path, start).replace(os.sep, "/"))
            if path.endswith(VIDEO_SUFFIXES):
                parts.append(
                    f"<p>{html.escape(flow.title)} ({html.escape(flow.status)}): "
                    f'<a href="{href}">video</a></p>'
                    f'<video controls preload="none" width="480" src="{href}"></video>'
                )
            else:
                parts.append(f'<p><a href="{href}">{html.escape(os.path.basename(path))}</a></p>')
    if parts:
        extras = getattr(report, "extras", [])
        extras.append(pytest_html.extras.html("".join(parts)))
        report.extras = extras  # type: ignore[attr-defined]  # pytest-html reads it


def register(config: pytest.Config, session: LeapworkSession, prints_summary: bool) -> None:
    """Called from the plugin's configure: registers the artifacts when a directory is given.

    ``prints_summary``: this process prints the session's summary (not an xdist worker).
    """
    try:
        settings = resolve_settings(config)
    except cfg.SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    if settings is not None:
        config.pluginmanager.register(
            Artifacts(settings, session, config, prints_summary), "leapwork-artifacts"
        )
