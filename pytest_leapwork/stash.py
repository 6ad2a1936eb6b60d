"""What the plugin keeps in pytest's stashes: its session on the config, each marked test's
state on the test's item."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from . import config as cfg
from .api.models import LeapworkRun
from .marker import MARKER, MarkerError, ScheduleSpec, flow_spec, parse_marker
from .session import LeapworkSession


@dataclass
class ItemState:
    """What the plugin knows about one marked test."""

    spec: ScheduleSpec | None
    error: MarkerError | None
    run: LeapworkRun | None = None
    timeout: float = cfg.DEFAULT_TIMEOUT
    #: Why the test's run never started (its setup error), for the per-flow report.
    not_started: str | None = None


ITEM_STATE = pytest.StashKey[ItemState]()
SESSION = pytest.StashKey[LeapworkSession]()


def marked(items: list[pytest.Item]) -> list[pytest.Item]:
    """The marked tests among ``items``."""
    return [item for item in items if ITEM_STATE in item.stash]


def item_state(
    markers: list[tuple[Any, pytest.Mark]], flow_markers: list[tuple[Any, pytest.Mark]]
) -> ItemState:
    """A marked test's state from its markers: its spec, or the error in them."""
    if flow_markers:
        return read_flow_marker(markers, flow_markers)
    return read_marker(markers)


def read_marker(markers: list[tuple[Any, pytest.Mark]]) -> ItemState:
    """The closest marker wins (function over class over module); two on one level is an error."""
    closest_node = markers[0][0]
    same_level = [mark for node, mark in markers if node is closest_node]
    try:
        if len(same_level) > 1:
            raise MarkerError(
                f"{MARKER} marker: {len(same_level)} markers on one test; a test runs one "
                "schedule (parametrize with pytest.param(..., marks=...) to run several)"
            )
        spec = parse_marker(same_level[0].args, same_level[0].kwargs)
    except MarkerError as exc:
        return ItemState(spec=None, error=exc)
    return ItemState(spec=spec, error=None)


def read_flow_marker(
    markers: list[tuple[Any, pytest.Mark]], flow_markers: list[tuple[Any, pytest.Mark]]
) -> ItemState:
    try:
        return ItemState(spec=flow_spec(markers, flow_markers), error=None)
    except MarkerError as exc:
        return ItemState(spec=None, error=exc)
