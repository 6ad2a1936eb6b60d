"""Showing that a test is waiting for its run, and for what, without flooding a log.

On a terminal the status is drawn after the test's line and redrawn in place (the cursor is
saved and restored, so pytest's own output is untouched), kept short of the terminal's right
edge: a status that wrapped would leave its second row behind when it is redrawn or erased.
Elsewhere (a CI log) a line is written once a minute. ``-q`` shows nothing. ``make_progress``
picks the kind for a pytest session from its terminal reporter and capture.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import IO, TYPE_CHECKING

import pytest

from ..runs.runner import RunHandle
from .columns import cut_to_width, display_width
from .text import plural

if TYPE_CHECKING:
    from _pytest._io import TerminalWriter

HEARTBEAT_SECONDS = 60.0
REDRAW_SECONDS = 0.5
# ANSI: save cursor, clear to end of line, restore cursor.
_SAVE, _CLEAR, _RESTORE = "\x1b7", "\x1b[K", "\x1b8"
#: A schedule title cut to fit the status keeps at least this many characters.
MIN_TITLE_WIDTH = 12
#: Fewer columns than this left on the test's line, and no status is drawn.
MIN_STATUS_WIDTH = 20


def describe(handle: RunHandle, now: float, width: int | None = None) -> str:
    """``waiting for 'Smoke Login' run 5d0c2f0e: Executing, 2 flows started, 0m41s``.

    Within ``width`` columns, the first that fits: the line whole; its schedule title cut
    (the test's name before the status says which run it is); without the title, then
    without the RunId, then without the flows (the state and the clock stay in sight); the
    shortest, cut at its end.
    """
    elapsed = int(now - handle.triggered_at)
    state = f"{handle.status}, "
    flows = ""
    if handle.items_total is not None:
        failed = f", {handle.items_failed} failed" if handle.items_failed else ""
        flows = f"{plural(handle.items_total, 'flow')} started{failed}, "
    clock = f"{elapsed // 60}m{elapsed % 60:02d}s"
    run = f"run {handle.run_id[:8]}"
    title = handle.schedule.title
    line = f"waiting for {title!r} {run}: {state}{flows}{clock}"
    if width is None or display_width(line) <= width:
        return line
    candidates = []
    if display_width(title) > MIN_TITLE_WIDTH:
        keep = max(display_width(title) - (display_width(line) - width), MIN_TITLE_WIDTH)
        candidates.append(f"waiting for {cut_to_width(title, keep)!r} {run}: {state}{flows}{clock}")
    candidates += [
        f"waiting for {run}: {state}{flows}{clock}",
        f"waiting: {state}{flows}{clock}",
        f"waiting: {state}{clock}",
    ]
    for candidate in candidates:
        if display_width(candidate) <= width:
            return candidate
    return cut_to_width(candidates[-1], width)


class Progress:
    """Called while a test waits (``on_tick``) and once when the wait ends (``done``)."""

    def __init__(
        self,
        *,
        terminal: IO[str] | None,
        write_line: Callable[[str], None] | None,
        unsuspended: Callable[[], AbstractContextManager[object]],
        clock: Callable[[], float] = time.monotonic,
        room: Callable[[], int] | None = None,
    ) -> None:
        # terminal: a TTY to redraw in place; write_line: a log to append to. Neither: quiet.
        self._terminal = terminal
        # The columns from the cursor to the terminal's right edge; None: no edge known.
        self._room = room
        self._write_line = write_line
        self._unsuspended = unsuspended
        self._clock = clock
        self._last_shown: float | None = None
        self._drawn = False

    def on_tick(self, handle: RunHandle) -> None:
        now = self._clock()
        if self._terminal is not None:
            if self._last_shown is None or now - self._last_shown >= REDRAW_SECONDS:
                self._draw(self._status(handle, now))
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

    def _status(self, handle: RunHandle, now: float) -> str:
        """The status, short of the right edge: a line that fills the last column or
        wraps leaves a fragment on screen when it is redrawn or erased."""
        if self._room is None:
            return " " + describe(handle, now)
        room = self._room()
        if room - 1 < MIN_STATUS_WIDTH:
            return ""
        return cut_to_width(" " + describe(handle, now, room - 2), room - 1)

    def _draw(self, text: str) -> None:
        assert self._terminal is not None
        if not text and not self._drawn:
            return
        with self._unsuspended():
            self._terminal.write(_SAVE + _CLEAR + text + _RESTORE)
            self._terminal.flush()
        self._drawn = bool(text)


def make_progress(config: pytest.Config, on_xdist_worker: bool) -> Progress:
    """In place on a terminal, a heartbeat line in a log, nothing with -q or on xdist workers."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    room: Callable[[], int] | None = None
    if reporter is None or config.get_verbosity() < 0 or on_xdist_worker:
        terminal, write_line = None, None
    else:
        # Cursor movement, not colour: a terminal without colours (NO_COLOR) still redraws.
        tty = bool(reporter.isatty) and os.environ.get("TERM") != "dumb"
        terminal, write_line = (sys.__stdout__ if tty else None), reporter.write_line
        room = _columns_left(config.get_terminal_writer())
    return Progress(
        terminal=terminal,
        write_line=write_line,
        room=room,
        # The test's output is being captured: write past the capture, as live logging does.
        unsuspended=capture.global_and_fixture_disabled if capture else contextlib.nullcontext,
    )


def _columns_left(writer: TerminalWriter) -> Callable[[], int]:
    """The columns from the cursor to the right edge of pytest's terminal, as they are now
    (the terminal may have been resized; pytest's line so far may have wrapped)."""

    def room() -> int:
        width, used = writer.fullwidth, writer.width_of_current_line
        return width - (used % width if used % width or not used else width)

    return room
