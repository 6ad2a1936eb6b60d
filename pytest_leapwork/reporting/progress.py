"""Showing that a test is waiting for its run, and for what, without flooding a log.

On a terminal the status is drawn after the test's line and redrawn in place (the cursor is
saved and restored, so pytest's own output is untouched). Elsewhere (a CI log) a line is
written once a minute. ``-q`` shows nothing. ``make_progress`` picks the kind for a pytest
session from its terminal reporter and capture.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import IO

import pytest

from ..runs.runner import RunHandle
from .text import plural

HEARTBEAT_SECONDS = 60.0
REDRAW_SECONDS = 0.5
# ANSI: save cursor, clear to end of line, restore cursor.
_SAVE, _CLEAR, _RESTORE = "\x1b7", "\x1b[K", "\x1b8"


def describe(handle: RunHandle, now: float) -> str:
    elapsed = int(now - handle.triggered_at)
    flows = ""
    if handle.items_total is not None:
        failed = f", {handle.items_failed} failed" if handle.items_failed else ""
        flows = f", {plural(handle.items_total, 'flow')} started{failed}"
    return (
        f"waiting for {handle.schedule.title!r} run {handle.run_id[:8]}: "
        f"{handle.status}{flows}, {elapsed // 60}m{elapsed % 60:02d}s"
    )


class Progress:
    """Called while a test waits (``on_tick``) and once when the wait ends (``done``)."""

    def __init__(
        self,
        *,
        terminal: IO[str] | None,
        write_line: Callable[[str], None] | None,
        unsuspended: Callable[[], AbstractContextManager[object]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # terminal: a TTY to redraw in place; write_line: a log to append to. Neither: quiet.
        self._terminal = terminal
        self._write_line = write_line
        self._unsuspended = unsuspended
        self._clock = clock
        self._last_shown: float | None = None
        self._drawn = False

    def on_tick(self, handle: RunHandle) -> None:
        now = self._clock()
        if self._terminal is not None:
            if self._last_shown is None or now - self._last_shown >= REDRAW_SECONDS:
                self._draw(" " + describe(handle, now))
                self._last_shown = now
        elif (
            self._write_line is not None
            and now - (self._last_shown or handle.triggered_at) >= HEARTBEAT_SECONDS
        ):
            with self._unsuspended():
                self._write_line("leapwork: " + describe(handle, now))
            self._last_shown = now

    def done(self) -> None:
        if self._drawn:
            self._draw("")

    def _draw(self, text: str) -> None:
        assert self._terminal is not None
        with self._unsuspended():
            self._terminal.write(_SAVE + _CLEAR + text + _RESTORE)
            self._terminal.flush()
        self._drawn = bool(text)


def make_progress(config: pytest.Config) -> Progress:
    """In place on a terminal, a heartbeat line in a log, nothing with -q or on xdist workers."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or config.get_verbosity() < 0 or hasattr(config, "workerinput"):
        terminal, write_line = None, None
    else:
        # Cursor movement, not colour: a terminal without colours (NO_COLOR) still redraws.
        tty = bool(reporter.isatty) and os.environ.get("TERM") != "dumb"
        terminal, write_line = (sys.__stdout__ if tty else None), reporter.write_line
    return Progress(
        terminal=terminal,
        write_line=write_line,
        # The test's output is being captured: write past the capture, as live logging does.
        unsuspended=capture.global_and_fixture_disabled if capture else contextlib.nullcontext,
    )
