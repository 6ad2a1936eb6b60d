"""Ctrl-C and SIGTERM while runs are in flight: stop them, list them, then exit.

The first SIGINT raises KeyboardInterrupt as usual, so pytest ends the session and the
plugin stops every run it started. Someone pressing Ctrl-C again does not want to wait for
that: the process exits immediately (status 130), naming the runs it left on the controller.

SIGTERM, which CI servers send to a cancelled job (often to the whole process group), ends the
session the same way, as ``Interrupted: the session was terminated (SIGTERM)``: without that
the process would die on the spot and leave its runs executing. It cuts in only while pytest
catches it, between the start of the session and the end of its tests. Before (an xdist
worker still being configured) it ends the session as soon as that starts; after, it only
marks the session as terminated, which is ending already (raised in pytest's finish, it
would end an xdist worker in a traceback, taken for a crash). Further SIGTERMs are ignored
while the runs are being stopped (the stop is bounded; a CI server that will not wait sends
SIGKILL). Under pytest-xdist the workers, which hold the runs, take SIGTERM over the same way,
and the xdist controller passes a SIGTERM it gets on to them, then waits for their reports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from .runs.runner import RunHandle

EXIT_INTERRUPTED = 130
TERMINATED = "the session was terminated (SIGTERM)"


def _take_over(handler: Callable[[int, FrameType | None], None], *signals: int) -> dict[int, Any]:
    """Install ``handler`` for each signal whose Python default is in place; the previous ones.

    Another handler (a debugger, pytest-timeout, the user's own) is left alone, and signals
    can only be handled from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    defaults: dict[int, object] = {
        signal.SIGINT: signal.default_int_handler,
        signal.SIGTERM: signal.SIG_DFL,
    }
    return {
        signum: signal.signal(signum, handler)
        for signum in signals
        if signal.getsignal(signum) is defaults[signum]
    }


def _give_back(previous: dict[int, Any]) -> None:
    if threading.current_thread() is threading.main_thread():
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    previous.clear()


class InterruptGuard:
    """In a process that runs tests (without xdist, or an xdist worker)."""

    def __init__(
        self,
        runs_in_flight: Callable[[], list[RunHandle]],
        *,
        second_ctrl_c: bool = True,
        session_started: bool = True,
    ) -> None:
        self._runs_in_flight = runs_in_flight
        #: xdist workers leave Ctrl-C to xdist: only SIGTERM is theirs.
        self._signals = (signal.SIGINT, signal.SIGTERM) if second_ctrl_c else (signal.SIGTERM,)
        self._previous: dict[int, Any] = {}
        self._interrupts = 0
        #: Whether a SIGTERM ends the session where it lands. Not before the session has
        #: started (pytest would end it without its finish, and an xdist worker without its
        #: report), nor once the tests are over (pytest does not catch it in its finish).
        self._cuts_in = session_started
        self._finishing = False
        #: The terminal's stderr, kept while pytest captures a test's output (fd 2 is then a
        #: temporary file): the exit message must reach the terminal, not the capture.
        self._terminal_fd: int | None = None
        #: Whether a SIGTERM ended the session.
        self.terminated = False

    def install(self) -> None:
        """Called between pytest's captures (configure, end of collection): fd 2 is the terminal."""
        if not self._previous:
            self._previous = _take_over(self._on_signal, *self._signals)
        if signal.SIGINT in self._previous and self._terminal_fd is None:
            with contextlib.suppress(OSError):
                self._terminal_fd = os.dup(2)

    def uninstall(self) -> None:
        _give_back(self._previous)
        if self._terminal_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._terminal_fd)
            self._terminal_fd = None

    def session_started(self) -> None:
        """The session has started: a SIGTERM ends it, and one that came before does now."""
        self._cuts_in = True
        if self.terminated:
            raise pytest.Session.Interrupted(TERMINATED)

    def tests_over(self) -> None:
        """The test loop is over: a SIGTERM no longer cuts in, it only marks the session."""
        self._cuts_in = False

    def finishing(self) -> None:
        """The session is stopping its runs: a SIGTERM changes nothing, a Ctrl-C exits now."""
        self._cuts_in = False
        self._finishing = True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGTERM:
            already, self.terminated = self.terminated, True
            if already or not self._cuts_in:
                return  # it ends the session where that is safe, or the session is ending
            # pytest's own "the session was told to stop", so no frame of ours is shown.
            raise pytest.Session.Interrupted(TERMINATED)
        self._interrupts += 1
        if self._interrupts == 1 and not self.terminated and not self._finishing:
            raise KeyboardInterrupt
        left = [h for h in self._runs_in_flight() if not h.done]
        lines = ["\nleapwork: interrupted again, exiting now without stopping runs"]
        lines += [f"  still running: {h.schedule.title!r} run {h.run_id}" for h in left]
        self._write_to_terminal("\n".join(lines) + "\n")
        os._exit(EXIT_INTERRUPTED)

    def _write_to_terminal(self, text: str) -> None:
        # os.write, not sys.stderr: the handler may have cut into a write on that very stream.
        data = text.encode(errors="replace")
        with contextlib.suppress(OSError):
            os.write(self._terminal_fd if self._terminal_fd is not None else 2, data)


def hide_handler_frame(error: BaseException) -> None:
    """Cut the guard's own frame off the KeyboardInterrupt it raised for a Ctrl-C, so that
    pytest shows where the session was when Ctrl-C came, not this module."""
    previous, tb = None, error.__traceback__
    while tb is not None and tb.tb_next is not None:
        previous, tb = tb, tb.tb_next
    handler = InterruptGuard._on_signal.__code__
    if previous is not None and tb is not None and tb.tb_frame.f_code is handler:
        previous.tb_next = None


class XdistControllerGuard:
    """On the xdist controller: a SIGTERM goes on to the workers that hold runs.

    They end their sessions, stop their runs and report them; the controller, still
    listening, prints the summary. With no such worker (no marked test collected yet) the
    SIGTERM does what it would without this plugin; a second SIGTERM ends the session now.
    """

    def __init__(self, worker_pids: Callable[[], list[int]]) -> None:
        self._worker_pids = worker_pids
        self._previous: dict[int, Any] = {}
        self._passed_on = False

    def install(self) -> None:
        if not self._previous:
            self._previous = _take_over(self._on_signal, signal.SIGTERM)

    def uninstall(self) -> None:
        _give_back(self._previous)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._passed_on:
            raise pytest.Session.Interrupted(TERMINATED)
        pids = self._worker_pids()
        if not pids:
            self.uninstall()
            os.kill(os.getpid(), signum)  # the default action, now that it is back
            return
        self._passed_on = True
        for pid in pids:
            with contextlib.suppress(OSError):  # that worker is gone already
                os.kill(pid, signal.SIGTERM)
