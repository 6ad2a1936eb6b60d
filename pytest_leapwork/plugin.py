"""pytest-leapwork: what happens to a test marked ``@pytest.mark.leapwork_schedule``.

1. Collection: the marker is read and checked (``leapwork_flow`` names one flow on one agent
   instead of a schedule; ``--leapwork-select`` adds marked tests of its own); the test gets
   the ``leapwork_schedule`` fixture even if it does not ask for it, and moves after the
   unmarked tests (``ordering``).
2. Just before the first test runs, runs whose variables are already known are triggered
   ahead (a bounded number at once), so schedules execute on the controller concurrently
   while the unmarked tests run (under xdist, one plan for all workers: ``xdist``).
3. Setup: the ``leapwork_schedule`` fixture takes the test's run (or triggers it now), records
   its RunId in the JUnit XML, and waits for it. A run that cannot start is a setup error.
4. Call: a run whose flows did not all pass fails the test with a table of its flows and the
   log of each failing flow.
5. Session end: runs still in flight (``-x``, Ctrl-C) are stopped on the controller; every
   run the session triggered is listed in the summary and the reports, whatever became of
   its test, and so is every test whose run never started.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from typing import Any

import pytest

from . import config as cfg
from . import xdist
from .api.errors import LeapworkError, VariableRejected
from .api.models import LeapworkRun
from .features import artifacts, listing, selection
from .interrupts import hide_handler_frame
from .marker import (
    FLOW_MARKER,
    FLOW_MARKER_HELP,
    MARKER,
    MARKER_HELP,
    MarkerError,
)
from .options import add_options, resolve_settings, runs_nothing
from .ordering import MarkedLast, add_order_option, keep_order
from .reporting import allure
from .reporting.html import add_html_extras
from .reporting.progress import make_progress
from .reporting.text import failure_message
from .reports import REPORTING, RUN_ID_PROPERTY, Reporting
from .rerun_flows import rerun_failed_flows
from .run_requests import build_request, plannable
from .runs.runner import RunHandle
from .session import LeapworkSession
from .stash import ITEM_STATE, SESSION, item_state, marked

ELAPSED_PROPERTY = "leapwork_elapsed"
FIXTURE = "leapwork_schedule"


class LeapworkInsecureWarning(pytest.PytestWarning):
    """Certificate verification of the controller is switched off."""


MARKED_TESTS = "leapwork-marked-tests"
REQUESTED_WITHOUT_MARKER = pytest.StashKey[bool]()


# -- options and configuration --------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    add_order_option(parser)
    selection.add_options(parser)
    artifacts.add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", FLOW_MARKER_HELP)
    try:
        settings = resolve_settings(config, os.environ)
    except cfg.SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    if settings.verify is False:
        warning = LeapworkInsecureWarning(
            "--leapwork-insecure: the controller's HTTPS certificate is not verified; "
            "anyone on the network path can read the access key"
        )
        try:
            config.issue_config_time_warning(warning, stacklevel=2)
        except LeapworkInsecureWarning:  # filterwarnings = error: refuse, don't crash
            raise pytest.UsageError(f"{warning} (and warnings are errors here)") from None
    session = LeapworkSession(settings)
    config.stash[SESSION] = session
    if not keep_order(config):
        config.pluginmanager.register(MarkedLast(lambda item: ITEM_STATE in item.stash))
    # --leapwork-select: items without test functions, listed once for all xdist workers
    selection.register(config, session, xdist.worker_input(config), xdist.runs_workers(config))
    # --leapwork-artifacts: failing flows' videos, listed by the process that prints the summary
    artifacts.register(config, session, prints_summary=not xdist.is_worker(config))
    allure.register(config)  # with allure-pytest: flows as steps, evidence attached
    if xdist.is_worker(config):
        xdist.register_worker(config, session)  # one plan for the whole xdist session
        return
    reporting = Reporting(session)  # the summary and the reports are written here
    config.pluginmanager.register(reporting, REPORTING)
    if xdist.runs_workers(config):
        xdist.register_controller(config, session, reporting)


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--leapwork-schedules``: list the controller's schedules and exit."""
    return listing.list_and_exit(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash[SESSION].settings
    if settings.controller is None and settings.emulator is None:
        return None
    return settings.describe()


# -- collection -----------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Parametrized tests share one fixture-name list, so decide who asked for the fixture
    # before adding it to any test.
    explicit = {id(item): FIXTURE in getattr(item, "fixturenames", ()) for item in items}
    for item in items:
        markers = list(item.iter_markers_with_node(MARKER))
        flow_markers = list(item.iter_markers_with_node(FLOW_MARKER))
        if not markers and not flow_markers:
            if explicit[id(item)]:
                item.stash[REQUESTED_WITHOUT_MARKER] = True
            continue
        item.stash[ITEM_STATE] = item_state(markers, flow_markers)
        fixturenames = getattr(item, "fixturenames", None)
        if fixturenames is not None and FIXTURE not in fixturenames:
            fixturenames.append(FIXTURE)
    if marked(items) and not config.pluginmanager.has_plugin(MARKED_TESTS):
        reporting = config.pluginmanager.get_plugin(REPORTING)
        config.pluginmanager.register(MarkedTests(reporting), MARKED_TESTS)


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if runs_nothing(config) or not marked(session.items):
        config.stash[SESSION].release_signals()  # an xdist worker's, guarded from the start
        return
    try:
        config.stash[SESSION].require_controller()
    except cfg.SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION].guard_signals()


# -- running --------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Trigger ahead the runs whose variables are known now, in test order.

    Under xdist every worker does, for the whole session's tests: they share one plan.
    """
    config = session.config
    if runs_nothing(config) or session.testsfailed:
        return
    planned = plannable(session.items)
    if planned:
        config.stash[SESSION].plan(planned)


@pytest.fixture
def leapwork_variables() -> dict[str, Any]:
    """Variables of the test's run, merged over the marker's (these win).

    Parametrize it directly to run one schedule with several variable sets, or override it
    in a conftest to compute variables from other fixtures.
    """
    return {}


@pytest.fixture
def leapwork_schedule(
    request: pytest.FixtureRequest, leapwork_variables: Any
) -> LeapworkRun | None:
    """The finished run of the test's ``leapwork_schedule`` marker (a ``LeapworkRun``)."""
    item = request.node
    state = item.stash.get(ITEM_STATE, None)
    if state is None:
        if item.stash.get(REQUESTED_WITHOUT_MARKER, False):
            pytest.fail(
                f"{item.nodeid} uses the {FIXTURE} fixture but has no "
                f"@pytest.mark.{MARKER}(...) marker naming the schedule to run",
                pytrace=False,
            )
        return None  # a sibling parametrization is marked, this one is not
    if state.error is not None:
        state.not_started = str(state.error)
        pytest.fail(str(state.error), pytrace=False)
    assert state.spec is not None
    problem: str | None = None
    sent: Iterable[str] = ()
    try:
        run_request = build_request(item, state.spec, leapwork_variables)
        sent = run_request.variables
        state.timeout = run_request.timeout
        handle = item.config.stash[SESSION].take(item.nodeid, run_request)
    except MarkerError as exc:
        problem = str(exc)
    except LeapworkError as exc:
        problem = f"{state.spec.described} could not be started: {exc}"
        if isinstance(exc, VariableRejected):  # a selected test's: which lines gave them
            problem += selection.refused_hint(item, sent)
    if problem is not None:  # failed outside the except block: no chained traceback
        state.not_started = problem
        pytest.fail(problem, pytrace=False)
    record_run(item, handle)
    progress = make_progress(item.config, xdist.is_worker(item.config))
    try:
        state.run = item.config.stash[SESSION].runner.wait(handle, on_tick=progress.on_tick)
    except LeapworkError as exc:
        problem = (
            f"Leapwork schedule {handle.schedule.title!r} (run {handle.run_id}) could not be "
            f"followed: {exc}"
        )
    except KeyboardInterrupt:
        raise  # the session ends; its finish stops and lists every run
    except BaseException as exc:
        # Something ended the wait from outside (pytest-timeout, a debugger's quit): the
        # run must not go on executing for a test that is over.
        item.config.stash[SESSION].stop_now(
            handle, f"its test was interrupted: {type(exc).__name__}"
        )
        raise
    finally:
        progress.done()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    run: LeapworkRun = state.run
    # Beside the RunId: a run started ahead leaves the test itself almost no time to report.
    item.user_properties.append((ELAPSED_PROPERTY, f"{run.elapsed:.3f}"))
    for flow in run.flows:
        flow.verdict = item.ihook.pytest_leapwork_flow_passed(item=item, flow=flow)
    rerun_failed_flows(item, run, run_request)  # --leapwork-rerun-flows
    item.ihook.pytest_leapwork_run_finished(item=item, run=run)
    return run


def record_run(item: pytest.Item, handle: RunHandle) -> None:
    # Plain str values: xdist serializes user_properties, and JUnit XML reads them from the
    # teardown report, so they must be on the item before the test ends.
    item.user_properties.append((RUN_ID_PROPERTY, str(handle.run_id)))
    item.ihook.pytest_leapwork_run_started(
        item=item, run_id=handle.run_id, schedule=handle.schedule.title
    )


def schedule_path(item: pytest.Item, spec: Any) -> str | None:
    """The schedule's folder path, where the test knows it: selected, or named by its path."""
    placed = getattr(item, "placed", None)  # a --leapwork-select item
    if placed is not None:
        return str(placed.path)
    named = getattr(spec, "schedule", None)
    return named if isinstance(named, str) and "/" in named else None


class MarkedTests:
    """Hooks of a session's tests, most run for every test, so registered only in sessions
    that collected marked tests: the plugin costs nothing per test where it is not used."""

    def __init__(self, reporting: Reporting | None) -> None:
        self.reporting = reporting  # None on xdist workers: the controller records runs

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        """Past the last test a SIGTERM no longer cuts in: the session ends either way."""
        try:
            return (yield)
        finally:
            session.config.stash[SESSION].tests_over()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        """Fail the test, before its body runs, when its run did not pass."""
        state = item.stash.get(ITEM_STATE, None)
        if state is not None and state.run is not None and not state.run.passed:
            pytest.fail(failure_message(state.run, state.timeout), pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        state = item.stash.get(ITEM_STATE, None)
        if call.when == "teardown" and state is not None and state.run is not None:
            # Plain data on the report travels to the xdist controller with it.
            report.leapwork_run = state.run.to_dict()
            report.leapwork_timeout = state.timeout
            report.leapwork_path = schedule_path(item, state.spec)
        if call.when == "call" and state is not None and state.run is not None:
            add_html_extras(item.config, report, state.run)
        if call.when == "setup" and state is not None and state.not_started is not None:
            mark = item.get_closest_marker(MARKER)
            named = mark.args[0] if mark is not None and mark.args else None
            schedule = state.spec.schedule if state.spec else str(named or "(none)")
            report.leapwork_not_started = {"schedule": schedule, "reason": state.not_started}
        if call.when == "setup" and state is not None and not report.passed:
            # Another fixture failed or skipped before this test took its run.
            item.config.stash[SESSION].release(item.nodeid)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.reporting is not None:
            self.reporting.record(report)


# -- session end ----------------------------------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop every run still in flight: started ahead for a test that never ran, or interrupted."""
    session.config.stash[SESSION].finish()  # an xdist worker then tells its controller


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    hide_handler_frame(excinfo.value)


def pytest_unconfigure(config: pytest.Config) -> None:
    leapwork = config.stash.get(SESSION, None)
    if leapwork is not None:
        leapwork.close()
