"""Ctrl-C while runs are in flight: the first one stops them cleanly, a second exits at once.

The first SIGINT raises KeyboardInterrupt as usual, so pytest ends the session and the
plugin stops every run it started. Someone pressing Ctrl-C again does not want to wait for
that: the process exits immediately (status 130), naming the runs it left on the controller.
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
        self._previous: Any = None
        self._interrupts = 0
        self._installed = False

    def install(self) -> None:
        """Take over SIGINT, unless another handler than Python's default is in place."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # a debugger, pytest-timeout or the user's own handler: leave it alone
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        self._installed = True

    def uninstall(self) -> None:
        if self._installed and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self._interrupts += 1
        if self._interrupts == 1:
            raise KeyboardInterrupt
        left = [h for h in self._runs_in_flight() if not h.done]
        lines = ["\nleapwork: second Ctrl-C, exiting now without stopping runs"]
        lines += [f"  still running: {h.schedule.title!r} run {h.run_id}" for h in left]
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
