"""``--leapwork-schedules``: list the controller's schedules and exit, as ``--markers`` does.

With ``--leapwork-select`` patterns (or the ini's) it lists what those would run instead, each
with the variables its ``--leapwork-var`` lines give it.
"""

from __future__ import annotations

import os

import pytest

from .. import config as cfg
from ..api.errors import LeapworkError
from ..api.models import PlacedSchedule
from ..options import resolve_settings
from ..reporting.text import aligned
from ..session import LeapworkSession
from . import scoped_vars, selection


def list_and_exit(config: pytest.Config) -> int | None:
    """``--leapwork-schedules``: list the controller's schedules and exit, as ``--markers`` does."""
    if not config.getoption("leapwork_schedules"):
        return None
    try:
        settings = resolve_settings(config, os.environ)
        if settings.controller is None and settings.emulator is None:
            raise cfg.SettingsError(
                "the option lists a controller's schedules, and no controller is configured: "
                "pass --leapwork-controller=URL (or set LEAPWORK_CONTROLLER, or the "
                "leapwork_controller ini setting) with its key, or --leapwork-emulator"
            )
        if settings.emulator is None and settings.key is None:
            raise cfg.SettingsError(
                settings.key_problem
                or "the option lists a controller's schedules and needs its access key: set "
                "the LEAPWORK_KEY environment variable (from a CI secret) or pass --leapwork-key"
            )
        chosen = selection.resolve_selection(config)
        session = LeapworkSession(settings)
        try:
            listing = selection.read_listing(session)  # with folders, for patterns
        finally:
            session.close()
        if chosen.patterns:
            lines = selected_listing(listing, chosen)
        else:
            lines = schedule_listing(listing.schedules)
    except (cfg.SettingsError, LeapworkError) as exc:
        raise pytest.UsageError(f"--leapwork-schedules: {exc}") from None
    for line in lines:
        print(line)
    return 0


def schedule_listing(schedules: list[PlacedSchedule]) -> list[str]:
    rows = [("title", "folder", "id", "enabled")]
    rows += [
        (
            p.schedule.title,
            "/".join(p.folders) or "-",
            p.schedule.id,
            "yes" if p.schedule.enabled else "no",
        )
        for p in schedules
        if not p.schedule.is_temporary
    ]
    return aligned(rows)


def selected_listing(listing: selection.Listing, chosen: selection.Selection) -> list[str]:
    """What the patterns would run, as the session would collect it, with each one's variables."""
    selected = selection.select(listing.schedules, chosen.patterns, listing.folders)
    selection.check_scopes(chosen.variables, listing)
    rows = [("title", "folder", "id", "variables")]
    for placed in selected:
        variables = scoped_vars.variables_for(placed, chosen.variables)
        rows.append(
            (
                placed.schedule.title,
                "/".join(placed.folders) or "-",
                placed.schedule.id,
                ", ".join(f"{name}={value}" for name, value in variables.items()) or "-",
            )
        )
    total = sum(1 for p in listing.schedules if not p.schedule.is_temporary)
    patterns = ", ".join(repr(p) for p in chosen.patterns)
    return [
        *aligned(rows),
        f"{len(selected)} of {total} schedules selected by {patterns}",
    ]
