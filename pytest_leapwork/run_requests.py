"""The run a marked test asks for: known at collection where its variables are, so that it
can start ahead of the test's turn, else built at the test's setup."""

from __future__ import annotations

from typing import Any

import pytest

from .marker import MarkerError, ScheduleSpec, check_query_length, normalize_variables
from .runs.runner import RunRequest
from .stash import ITEM_STATE, SESSION, marked

#: Where the default ``leapwork_variables`` fixture is defined (an override is elsewhere).
PLUGIN_MODULE = "pytest_leapwork.plugin"


def plannable(items: list[pytest.Item]) -> list[tuple[str, RunRequest]]:
    """(test id, run) of the marked tests among ``items`` whose runs can start ahead."""
    planned = []
    for item in marked(items):
        request = known_request(item)
        if request is not None:
            planned.append((item.nodeid, request))
    return planned


def known_request(item: pytest.Item) -> RunRequest | None:
    """The run a test will ask for, if its variables do not depend on other fixtures."""
    state = item.stash[ITEM_STATE]
    if state.spec is None or _may_be_skipped(item):
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "leapwork_variables" in params:
        variables = params["leapwork_variables"]
    elif _default_variables_fixture(item):
        variables = {}
    else:
        return None
    try:
        return build_request(item, state.spec, variables)
    except MarkerError:
        return None  # reported by the test's own setup


def _may_be_skipped(item: pytest.Item) -> bool:
    if item.get_closest_marker("skip") or item.get_closest_marker("skipif"):
        return True
    xfail = item.get_closest_marker("xfail")
    return xfail is not None and xfail.kwargs.get("run", True) is False


def _default_variables_fixture(item: pytest.Item) -> bool:
    """Whether ``leapwork_variables`` resolves to this plugin's empty default for ``item``."""
    manager = item.session._fixturemanager  # no public API tells which fixture overrides
    try:
        defs = manager.getfixturedefs("leapwork_variables", item)
    except (TypeError, AttributeError):  # pytest 8.0 takes a node id
        defs = manager.getfixturedefs("leapwork_variables", item.nodeid)  # type: ignore[arg-type]
    if not defs:
        return False
    return getattr(defs[-1].func, "__module__", None) == PLUGIN_MODULE


def build_request(item: pytest.Item, spec: ScheduleSpec, fixture_variables: Any) -> RunRequest:
    variables = dict(spec.variables)
    variables.update(normalize_variables(fixture_variables, "leapwork_variables fixture"))
    item.ihook.pytest_leapwork_variables(item=item, schedule=spec.schedule, variables=variables)
    variables = normalize_variables(variables, "variables after pytest_leapwork_variables")
    check_query_length(variables, f"variables of {item.nodeid}")
    settings = item.config.stash[SESSION].settings
    timeout = spec.timeout if spec.timeout is not None else settings.timeout
    return RunRequest(spec.schedule, variables, timeout, label=item.nodeid, flow=spec.flow)
