"""``--leapwork-select``: one test item per matching schedule, without writing a test function.

The controller's schedule tree is listed once per session (``GET /schedules/hierarchy``, one
request; under pytest-xdist the xdist controller lists it and hands it to the workers, so they
all collect the same items). Each enabled, non-temporary schedule whose title or folder path
(``Folder/Sub/Title``) matches a pattern becomes an item under a ``leapwork`` node, marked
``leapwork_schedule(<title or id>, variables=<its --leapwork-var lines>)`` (scoped_vars.py
says which lines reach which schedule): from there on it is a marked test like any other
(triggered ahead, RunId in JUnit, reports, stops, xdist), and ``-k``, ``--lf`` and
``--collect-only`` see it.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pytest

from ..api.errors import LeapworkError, MethodNotAllowed, NotFound
from ..api.models import PlacedSchedule, Schedule
from ..config import SettingsError
from ..marker import MARKER
from ..runs.schedules import looks_like_id
from . import scoped_vars
from .node_ids import round_trip_id, take_named
from .scoped_vars import VariableLine, matches

if TYPE_CHECKING:
    from ..session import LeapworkSession

HELP_SELECT = (
    "add one test per enabled schedule whose title or folder path (Folder/Sub/Title) matches "
    "this fnmatch pattern; repeatable (ini leapwork_select, one pattern a line)"
)
HELP_VAR = (
    "NAME=VALUE: a variable of every schedule --leapwork-select adds, or PATTERN:NAME=VALUE: "
    "of those whose title or folder path matches PATTERN; repeatable (ini leapwork_vars, one "
    "a line)"
)
#: The node the selected schedules are collected under; ``-k leapwork`` selects them all.
NODE_NAME = "leapwork"
#: Key of xdist's workerinput carrying the listed schedules (or the error) to the workers.
WORKER_SELECTION = "leapwork_selection"


class SelectionError(LeapworkError):
    """A pattern matches no schedule the session could run."""


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("leapwork")
    group.addoption(
        "--leapwork-select", metavar="PATTERN", action="append", default=None, help=HELP_SELECT
    )
    group.addoption(
        "--leapwork-var", metavar="NAME=VALUE", action="append", default=None, help=HELP_VAR
    )
    parser.addini("leapwork_select", HELP_SELECT, type="linelist")
    parser.addini("leapwork_vars", HELP_VAR, type="linelist")


@dataclass(frozen=True)
class Selection:
    """The patterns and variables of one session, resolved from the command line and ini."""

    patterns: tuple[str, ...]
    #: The ini file's ``leapwork_vars`` lines, then the command line's ``--leapwork-var``.
    variables: tuple[VariableLine, ...]
    #: Selected tests named on the command line (``leapwork::Title``): only these run.
    named: tuple[str, ...] = ()


def resolve_selection(config: pytest.Config) -> Selection:
    """Command-line patterns replace the ini's; variable lines follow the ini's (later wins)."""
    cli_patterns = config.getoption("leapwork_select") or []
    cli_vars = config.getoption("leapwork_var") or []
    patterns = _patterns(cli_patterns, "--leapwork-select option") or _patterns(
        config.getini("leapwork_select"), "leapwork_select ini setting"
    )
    if cli_vars and not patterns:
        raise SettingsError(
            "--leapwork-var option: gives variables of the schedules --leapwork-select adds, "
            "but no --leapwork-select pattern is given (marked tests take variables= on the "
            "marker)"
        )
    variables = [
        *scoped_vars.parse_lines(config.getini("leapwork_vars"), scoped_vars.INI),
        *scoped_vars.parse_lines(cli_vars, scoped_vars.COMMAND_LINE),
    ]
    return Selection(tuple(patterns), tuple(variables))


def _patterns(values: Iterable[str], source: str) -> list[str]:
    patterns = []
    for value in values:
        if not value.strip():
            raise SettingsError(f"{source}: a pattern is empty; give a title or Folder/* pattern")
        patterns.append(value.strip())
    return patterns


# -- which schedules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """The schedules, and whether the controller said which folders they are in."""

    schedules: list[PlacedSchedule]
    #: False where the controller has no tree endpoint: patterns then see titles only.
    folders: bool = True


def read_listing(session: LeapworkSession) -> Listing:
    """The schedule tree, or the flat list (no folders) from a controller without the tree."""
    client = session.runner.client
    try:
        return Listing(client.schedule_hierarchy())
    except (NotFound, MethodNotAllowed):
        return Listing([PlacedSchedule(s) for s in client.list_schedules()], folders=False)


def select(
    placed: Sequence[PlacedSchedule], patterns: Sequence[str], folders: bool = True
) -> list[PlacedSchedule]:
    """The runnable schedules any pattern matches, by folder path; every pattern must match."""
    candidates = [p for p in placed if not p.schedule.is_temporary]
    chosen: dict[str, PlacedSchedule] = {}
    for pattern in patterns:
        matched = [p for p in candidates if matches(p, pattern)]
        enabled = [p for p in matched if p.schedule.enabled]
        if not enabled:
            message = _no_match_message(pattern, matched, candidates)
            if not folders and "/" in pattern:
                # Without the tree a folder pattern can never match: say so, not "no schedule".
                message = (
                    f"--leapwork-select {pattern!r} matches no enabled schedule on the "
                    "controller: this controller does not list folders (it has no GET "
                    "/schedules/hierarchy), so patterns match schedule titles only; select by "
                    "title instead"
                )
            raise SelectionError(message)
        for entry in enabled:
            chosen.setdefault(entry.schedule.id.lower(), entry)
    return sorted(chosen.values(), key=lambda p: (p.path, p.schedule.id))


def _no_match_message(
    pattern: str, matched: list[PlacedSchedule], candidates: list[PlacedSchedule]
) -> str:
    message = f"--leapwork-select {pattern!r} matches no enabled schedule on the controller"
    if matched:
        disabled = ", ".join(repr(p.path) for p in matched[:5])
        return f"{message} (disabled: {disabled})"
    lowered = pattern.lower()
    by_case = [
        p
        for p in candidates
        if fnmatch.fnmatchcase(p.schedule.title.lower(), lowered)
        or fnmatch.fnmatchcase(p.path.lower(), lowered)
    ]
    if by_case:
        shown = ", ".join(repr(p.path) for p in by_case[:5])
        return f"{message}; patterns are case-sensitive: did you mean {shown}?"
    return f"{message} (run `pytest --leapwork-schedules` to list them)"


def check_scopes(lines: Sequence[VariableLine], listing: Listing) -> None:
    """A scoped variable line whose pattern matches no schedule at all is a typo: say so."""
    line = scoped_vars.scope_matching_nothing(lines, listing.schedules)
    if line is None or line.pattern is None:
        return
    message = (
        f"{line.shown}: the pattern {line.pattern!r} matches no schedule on the controller, "
        "so its variable would reach none"
    )
    if not listing.folders and "/" in line.pattern:
        message += (
            "; this controller does not list folders (it has no GET /schedules/hierarchy), so "
            "patterns match schedule titles only"
        )
    else:
        message += " (run `pytest --leapwork-schedules` to list them)"
    raise SelectionError(message)


def refused_hint(item: pytest.Item, sent: Iterable[str]) -> str:
    """What to add to a selected test's error when the controller refused its variables
    (HTTP 400): those an unscoped line gave it, and how to give them to fewer schedules."""
    selection = item.config.stash.get(SELECTION, None)
    if not isinstance(item, SelectedSchedule) or selection is None:
        return ""
    names = scoped_vars.unscoped_names(item.placed, selection.variables, sent)
    if not names:
        return ""
    verb = "is" if len(names) == 1 else "are"
    return (
        f"; {', '.join(names)} {verb} given to every selected schedule (a --leapwork-var or "
        "leapwork_vars line without a pattern): give a variable only to the schedules that "
        "declare it, as PATTERN:NAME=VALUE"
    )


def item_names(selected: Sequence[PlacedSchedule]) -> list[str]:
    """Each schedule's test name: its title, or its folder path where titles repeat."""
    titles = Counter(p.schedule.title for p in selected)
    names = [
        # "::" separates node names in a test id; an untitled schedule goes by its id.
        (p.schedule.title if titles[p.schedule.title] == 1 else p.path).replace("::", ":")
        or p.schedule.id
        for p in selected
    ]
    repeated = Counter(names)
    return [
        f"{name} ({p.schedule.id})" if repeated[name] > 1 else name
        for name, p in zip(names, selected, strict=True)
    ]


def reference(placed: PlacedSchedule, listing: Sequence[PlacedSchedule]) -> str:
    """What the item's marker names its schedule by: the title where that finds exactly this
    schedule (hooks and messages then read as for a marked test), else the id.

    A marker's title is stripped and matched exactly among the enabled schedules, so a title
    with spaces around it (``'Smoke '`` would run ``Smoke``), an empty one, one that looks
    like an id, or one that two enabled schedules share, goes by id.
    """
    schedule = placed.schedule
    title = schedule.title
    if not title or title != title.strip() or looks_like_id(title):
        return schedule.id
    namesakes = [
        p
        for p in listing
        if p.schedule.title == title and p.schedule.enabled and not p.schedule.is_temporary
    ]
    return title if len(namesakes) == 1 else schedule.id


def to_data(placed: Sequence[PlacedSchedule]) -> list[dict[str, Any]]:
    """Plain data for xdist's workerinput."""
    return [
        {
            "id": p.schedule.id,
            "title": p.schedule.title,
            "enabled": p.schedule.enabled,
            "type": p.schedule.type,
            "folders": list(p.folders),
        }
        for p in placed
    ]


def from_data(data: Sequence[Mapping[str, Any]]) -> list[PlacedSchedule]:
    return [
        PlacedSchedule(Schedule(d["id"], d["title"], d["enabled"], d["type"]), tuple(d["folders"]))
        for d in data
    ]


# -- pytest collection ------------------------------------------------------------------------


def _run_selected_schedule(leapwork_schedule: Any) -> None:
    """Passes when the schedule's run passed; the plugin fails the test before this otherwise."""


class SelectedSchedule(pytest.Function):
    """The test of one selected schedule."""

    placed: PlacedSchedule

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        round_trip_id(self)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"leapwork schedule {self.placed.path}"


class LeapworkSelection(pytest.Collector):
    """The node the selected schedules are collected under."""

    def __init__(self, *, listing: Callable[[], Listing], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing = listing

    def collect(self) -> list[pytest.Item]:
        selection: Selection = self.config.stash[SELECTION]
        listing = self._listing()
        selected = select(listing.schedules, selection.patterns, listing.folders)
        check_scopes(selection.variables, listing)
        items: list[pytest.Item] = []
        for name, placed in zip(item_names(selected), selected, strict=True):
            named_by = reference(placed, listing.schedules)
            variables = scoped_vars.variables_for(placed, selection.variables)
            item = SelectedSchedule.from_parent(self, name=name, callobj=_run_selected_schedule)
            item.placed = placed
            item.add_marker(getattr(pytest.mark, MARKER)(named_by, variables=variables))
            items.append(item)
        if selection.named:
            items = _only_named(items, selection.named)
        return items

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, (LeapworkError, SettingsError)):
            return f"leapwork: {excinfo.value}"
        return str(super().repr_failure(excinfo))


def _only_named(items: list[pytest.Item], named: Sequence[str]) -> list[pytest.Item]:
    """The items named on the command line; a name that is no item is a collection error."""
    by_id = {item.nodeid: item for item in items}
    unknown = [name for name in named if name not in by_id]
    if unknown:
        shown = ", ".join(repr(item.nodeid) for item in items[:5]) or "none"
        raise SelectionError(
            f"not found: {unknown[0]!r} is no test --leapwork-select adds (it adds {shown}); "
            "run `pytest --collect-only -q` to see their names"
        )
    wanted = set(named)
    return [item for item in items if item.nodeid in wanted]


SELECTION = pytest.StashKey[Selection]()


class ScheduleSelection:
    """Registered only when a pattern is given: adds the selected schedules to the items."""

    def __init__(self, session: LeapworkSession, worker_input: Mapping[str, Any] | None) -> None:
        self.session = session
        self.worker_input = worker_input
        self._listed: Listing | None = None

    def listing(self) -> Listing:
        """The schedules, listed at most once per session (handed over on an xdist worker)."""
        if self._listed is None:
            if self.worker_input is not None and WORKER_SELECTION in self.worker_input:
                handed = self.worker_input[WORKER_SELECTION]
                if "error" in handed:
                    raise SelectionError(handed["error"])
                self._listed = Listing(from_data(handed["schedules"]), handed["folders"])
            else:
                self._listed = read_listing(self.session)
            # The selected tests name their schedules by id: resolve them from this listing
            # (and a marker's folder path from this tree, where it is one).
            listed = self._listed
            self.session.runner.schedules.prime(
                [p.schedule for p in listed.schedules], listed.schedules if listed.folders else None
            )
        return self._listed

    def worker_data(self) -> dict[str, Any]:
        """What the xdist controller hands each worker: the listing, or why it failed."""
        try:
            listing = self.listing()
        except (LeapworkError, SettingsError) as exc:
            return {"error": str(exc)}
        return {"schedules": to_data(listing.schedules), "folders": listing.folders}

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Before ``-k``, ``-m`` and ``--lf`` choose among the items."""
        node = LeapworkSelection.from_parent(
            session, name=NODE_NAME, nodeid=NODE_NAME, listing=self.listing
        )
        items.extend(session.genitems(node))


class SelectionXdist:
    """On the xdist controller: list the schedules once and hand them to every worker."""

    def __init__(self, selection: ScheduleSelection) -> None:
        self.selection = selection
        self._data: dict[str, Any] | None = None

    def pytest_configure_node(self, node: Any) -> None:
        if self._data is None:
            self._data = self.selection.worker_data()
        node.workerinput[WORKER_SELECTION] = self._data


def register(
    config: pytest.Config,
    session: LeapworkSession,
    worker_input: dict[str, Any] | None,
    runs_workers: bool,
) -> None:
    """Called from the plugin's configure: registers the selection when a pattern is given.

    ``worker_input`` is an xdist worker's (the listing comes in it); an xdist controller that
    ``runs_workers`` lists the schedules once and hands them on.
    """
    try:
        selection = resolve_selection(config)
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not selection.patterns:
        return
    # pytest would take ``leapwork::Title`` for a file path that does not exist.
    selection = replace(selection, named=take_named(config, NODE_NAME))
    config.stash[SELECTION] = selection
    plugin = ScheduleSelection(session, worker_input)
    config.pluginmanager.register(plugin, "leapwork-selection")
    if runs_workers:
        config.pluginmanager.register(SelectionXdist(plugin), "leapwork-selection-xdist")
