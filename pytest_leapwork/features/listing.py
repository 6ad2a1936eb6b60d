"""``--leapwork-schedules``: list the controller's schedules and exit, as ``--markers`` does."""

from __future__ import annotations

import os

import pytest

from .. import config as cfg
from ..api.errors import LeapworkError
from ..api.models import PlacedSchedule
from ..options import resolve_settings
from ..reporting.text import aligned
from ..session import LeapworkSession
from . import selection


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
        session = LeapworkSession(settings)
        try:
            schedules = selection.list_schedules(session)  # with folders, for patterns
        finally:
            session.close()
    except (cfg.SettingsError, LeapworkError) as exc:
        raise pytest.UsageError(f"--leapwork-schedules: {exc}") from None
    for line in schedule_listing(schedules):
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
