"""Ctrl-C while runs are in flight: the first one stops them cleanly, a second exits at once.

The first SIGINT raises KeyboardInterrupt as usual, so pytest ends the session and the
plugin stops every run it started. Someone pressing Ctrl-C again does not want to wait for
that: the process exits immediately (status 130), naming the runs it left on the controller.
SIGTERM, which CI servers send to a cancelled job, is treated like Ctrl-C: without that the
process would die on the spot and leave its runs executing on the controller.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from .runner import RunHandle

EXIT_INTERRUPTED = 130


class InterruptGuard:
    def __init__(self, runs_in_flight: Callable[[], list[RunHandle]]) -> None:
        self._runs_in_flight = runs_in_flight
        self._previous: dict[int, Any] = {}
        self._interrupts = 0

    def install(self) -> None:
        """Take over SIGINT and SIGTERM where Python's defaults are in place."""
        if threading.current_thread() is not threading.main_thread():
            return
        # Another handler (a debugger, pytest-timeout, the user's own) is left alone.
        for signum, default in (
            (signal.SIGINT, signal.default_int_handler),
            (signal.SIGTERM, signal.SIG_DFL),
        ):
            if signal.getsignal(signum) is default:
                self._previous[signum] = signal.signal(signum, self._on_signal)

    def uninstall(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum, previous in self._previous.items():
                signal.signal(signum, previous)
            self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._interrupts += 1
        if self._interrupts == 1:
            raise KeyboardInterrupt
        left = [h for h in self._runs_in_flight() if not h.done]
        lines = ["\nleapwork: interrupted again, exiting now without stopping runs"]
        lines += [f"  still running: {h.schedule.title!r} run {h.run_id}" for h in left]
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
