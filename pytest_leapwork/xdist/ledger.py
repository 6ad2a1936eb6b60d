"""Runs an xdist worker has in flight, written down for the controller should the worker die.

A worker that crashes (a segfault, ``os._exit``, the OOM killer) cannot stop its runs. Each
worker appends a line to its own file when a run starts and when it ends; the xdist
controller, told that a worker went down with an error, reads the file and stops every run
that started and never ended. No pytest import here.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from ..runs.runner import RunHandle


@dataclass(frozen=True)
class LedgerEntry:
    run_id: str
    schedule: str
    nodeid: str


class RunLedger:
    def __init__(self, path: str) -> None:
        self.path = path

    def started(self, handle: RunHandle) -> None:
        self._append("start", handle.run_id, handle.schedule.title, handle.request.label)

    def ended(self, handle: RunHandle) -> None:
        self._append("end", handle.run_id)

    def _append(self, *fields: str) -> None:
        # One short line per event, flushed at once: it must be there when the process dies.
        line = "\t".join(f.replace("\t", " ").replace("\n", " ") for f in fields) + "\n"
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(line)

    @staticmethod
    def run_ids_in(directory: str) -> set[str]:
        """Every RunId the ledgers in ``directory`` name (the whole session's, under xdist)."""
        run_ids: set[str] = set()
        for path in glob.glob(os.path.join(directory, "*.runs")):
            try:
                with open(path, encoding="utf-8") as file:
                    lines = file.read().splitlines()
            except OSError:
                continue
            run_ids.update(line.split("\t")[1] for line in lines if line.startswith("start\t"))
        return run_ids

    def unfinished(self) -> list[LedgerEntry]:
        """Runs that started and never ended, oldest first; the file is consumed."""
        try:
            with open(self.path, encoding="utf-8") as file:
                lines = file.read().splitlines()
        except FileNotFoundError:
            return []
        os.unlink(self.path)
        started: dict[str, LedgerEntry] = {}
        for line in lines:
            fields = line.split("\t")
            if fields[0] == "start" and len(fields) == 4:
                started[fields[1]] = LedgerEntry(fields[1], fields[2], fields[3])
            elif fields[0] == "end" and len(fields) == 2:
                started.pop(fields[1], None)
        return list(started.values())
