"""What the plugin keeps in pytest's stashes: its session on the config, each marked test's
state on the test's item."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from . import config as cfg
from .api.models import LeapworkRun
from .marker import MarkerError, ScheduleSpec
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
