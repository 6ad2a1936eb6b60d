#!/usr/bin/env python
"""pytest-leapwork benchmarks: each figure as a ratio to its ideal, measured in one run.

    python tests/benchmarks/bench.py [--quick] [--repeat N] [--only 1,5] [--json PATH]

Every figure is a real pytest session (or the plugin's Runner) against the built-in
controller emulator on loopback, set against the ideal measured in the same run: the same
session's start-up without the plugin plus the time the schedules take on the emulator, or
the plain tests alone, or the latency floor. Median of --repeat runs (default 3); the exit
status is 1 when a target fails. What each figure measures, and the latest results, are in
docs/benchmarks.md.

  1. 12 schedules of 2 s, defaults, no xdist                  <= 1.3x start-up + 2.1 s
  2. the same under -n 2 / -n 4, --dist load / worksteal       <= 1.5x, exactly 12 runNow
  3. 200 x 1 s and 1,000 x 0.5 s, defaults                     <= 1.15x ceil(N/16) rounds
  4. 12 x 2 s first, then 200 x 50 ms plain tests, serial, -n 4 <= 1.15x max(plain, schedules)
  5. 20,000 plain tests, -n 2, load / loadscope / worksteal      <= 1.03x -p no:leapwork
  6. status requests for one 10-minute run (simulated clock)   <= 150 and below the vendor
  7. 2,000 flows with keyframes, 20 ms latency per request      <= 1.15x the latency floor

Sessions run one at a time (figures are ratios to ideals measured beside them, so a busy
machine slows both sides; it still adds noise, which the table marks). The emulator runs in
this process for the session figures (so runNow can be counted) and in a process of its own
for figure 7. Not collected by pytest: the file name has no ``test_`` prefix.

To measure a commit rather than the working tree, put a copy of it first on PYTHONPATH::

    git archive HEAD pytest_leapwork | tar -x -C /tmp/snap
    PYTHONPATH=/tmp/snap python tests/benchmarks/bench.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PY = sys.executable
HERE = Path(__file__).resolve()

WINDOW = 16  # --leapwork-max-in-flight default
QUEUE = 0.1  # the emulator's default Queued time of a new run
# Figures 1, 2, 4
TWELVE, TWELVE_SECONDS = 12, 2.0
# Figure 3
MANY = ((200, 1.0), (1000, 0.5))
# Figure 4
PLAIN, PLAIN_SECONDS = 200, 0.05
# Figure 5
F5_TESTS, F5_FILES = 20_000, 20
# Figure 6
LONG_RUN = 600.0
VENDOR_INTERVAL = 5.0  # the vendor CI plugins' status loop
# Figure 7
F7_FLOWS, F7_LATENCY, F7_CONNECTIONS = 2000, 0.020, 16

TARGETS = {1: 1.3, 2: 1.5, 3: 1.15, 4: 1.15, 5: 1.03, 6: 150, 7: 1.15}
#: Repeated runs further apart than this share of their median make a verdict noisy.
NOISY = 0.15

T0 = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


#: Bytecode cache of the child processes (set in main): an installed package has its
#: bytecode, an editable checkout under PYTHONDONTWRITEBYTECODE would recompile each session.
PYCACHE: list[str] = []


def clean_env() -> dict[str, str]:
    """The environment for child processes: no Leapwork or pytest settings leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEAPWORK_", "PYTEST_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    if PYCACHE:
        env["PYTHONPYCACHEPREFIX"] = PYCACHE[0]
    return env


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> float:
    """(max - min) / median: how far apart repeated runs are."""
    return (max(values) - min(values)) / median(values) if len(values) > 1 else 0.0


def runs_of(values: list[float], unit: str = "s", digits: int = 2) -> str:
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + f"] {unit}"


# -- emulators ---------------------------------------------------------------------------------


@contextmanager
def emulator_here(scenario: dict[str, Any]) -> Iterator[Any]:
    """An emulator in this process, so its requests can be counted."""
    from pytest_leapwork.emulator import EmulatorServer, Scenario

    with EmulatorServer(Scenario.from_dict(scenario, "bench")) as server:
        yield server


class EmulatorProcess:
    """An EmulatorServer in a child process, so its GIL is not the measured client's."""

    def __init__(self, scenario: dict[str, Any], workdir: Path, name: str) -> None:
        path = workdir / f"{name}.json"
        path.write_text(json.dumps(scenario))
        self.proc = subprocess.Popen(
            [PY, str(HERE), "--serve", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline() or "{}")
        self.url: str = info["url"]
        self.access_key: str = info["key"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_main(scenario_path: str) -> int:
    """``--serve``: run an emulator, print its URL and key, stop when stdin closes."""
    from pytest_leapwork.emulator import EmulatorServer, load_scenario

    server = EmulatorServer(load_scenario(scenario_path)).start()
    print(json.dumps({"url": server.url, "key": server.access_key}), flush=True)
    sys.stdin.read()
    server.stop()
    return 0


# -- sessions ----------------------------------------------------------------------------------

SESSION_TIMEOUT = 600.0


#: CPU seconds (user + system) of the last session of each thread, xdist workers included.
LAST_CPU = threading.local()


def run_session(cwd: Path, args: list[str]) -> tuple[float, str]:
    """(wall seconds, output) of one `python -m pytest` in its own process group.

    Its CPU time, workers included, is left in ``LAST_CPU.seconds``: other load on the
    machine disturbs it much less than the wall time.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=SESSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise RuntimeError(f"session {args} stuck; its output ends:\n{out[-3000:]}") from None
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU.seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0 or not re.search(r"\d+ passed", out):
        raise RuntimeError(f"session {args}: exit status {proc.returncode}:\n{out[-3000:]}")
    return wall, out


def controller_args(server: Any) -> list[str]:
    return [f"--leapwork-controller={server.url}", f"--leapwork-key={server.access_key}"]


def one_schedule(title: str, seconds: float) -> dict[str, Any]:
    return {"title": title, "flows": [{"title": "Only flow", "seconds": seconds}]}


def write_marked(folder: Path, name: str, count: int, schedule: str | None = None) -> None:
    """``count`` marked tests: each its own schedule ``S00``..., or all one ``schedule``."""
    if schedule is None:
        body = "import pytest\n\n" + "".join(
            f'\n@pytest.mark.leapwork_schedule("S{i:02d}")\ndef test_schedule_{i:02d}():\n'
            "    pass\n"
            for i in range(count)
        )
    else:
        body = (
            "import pytest\n\n"
            f"MARK = pytest.mark.leapwork_schedule({schedule!r})\n\n"
            f'@pytest.mark.parametrize("i", [pytest.param(i, marks=MARK) for i in range({count})])\n'
            "def test_schedule(i):\n    pass\n"
        )
    (folder / name).write_text(body)


# -- the figures -------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    ours: str
    ideal: str
    ratio: float
    target: float
    details: list[str] = field(default_factory=list)
    noisy: bool = False
    ok: bool | None = None

    @property
    def result(self) -> str:
        ok = self.ok if self.ok is not None else self.ratio <= self.target
        return ("PASS" if ok else "FAIL") + ("*" if self.noisy else "")


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.repeat: int = args.repeat
        self.quick: bool = args.quick
        self.only: set[int] = set(args.only)
        self.workdir = workdir
        self.rows: list[Row] = []
        self.errors: list[str] = []
        self.data: dict[str, Any] = {}

    @staticmethod
    def busy() -> bool:
        """More runnable processes than CPUs (1-minute load average): figures are noisy."""
        return os.getloadavg()[0] > (os.cpu_count() or 1)

    def wanted(self, figure: int) -> bool:
        return not self.only or figure in self.only

    def folder(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(exist_ok=True)
        return path

    def guarded(self, name: str, function: Callable[[], None]) -> None:
        try:
            function()
        except Exception as exc:  # one broken figure must not hide the others
            text = str(exc) or repr(exc)
            self.errors.append(f"{name}: {type(exc).__name__}: {text}")
            say(f"{name} FAILED: {text.splitlines()[0]}")

    def pairs(
        self, name: str, ours: Callable[[], float], ideal: Callable[[], float]
    ) -> tuple[list[float], list[float]]:
        """``repeat`` interleaved (ours, ideal) measurements."""
        got: tuple[list[float], list[float]] = ([], [])
        for i in range(self.repeat):
            got[1].append(ideal())
            got[0].append(ours())
            say(f"{name} {i + 1}/{self.repeat}: ours {got[0][-1]:.2f} s, ideal {got[1][-1]:.2f} s")
        self.data[name] = {"ours": got[0], "ideal": got[1]}
        return got

    def session_row(
        self, figure: int, name: str, ours: list[float], ideal: list[float], details: list[str]
    ) -> Row:
        o, i = median(ours), median(ideal)
        row = Row(
            name,
            f"{o:.2f} s",
            f"{i:.2f} s",
            o / i,
            TARGETS[figure],
            [f"ours {runs_of(ours)}; ideal {runs_of(ideal)}", *details],
            noisy=spread(ours) > NOISY or spread(ideal) > NOISY or self.busy(),
        )
        self.rows.append(row)
        return row

    # figures 1 and 2 --------------------------------------------------------------------------

    def twelve(self) -> None:
        folder = self.folder("twelve")
        write_marked(folder, "test_twelve.py", TWELVE)
        scenario = {"schedules": [one_schedule(f"S{i:02d}", TWELVE_SECONDS) for i in range(TWELVE)]}
        run_length = QUEUE + TWELVE_SECONDS
        configs: list[tuple[int, str, list[str]]] = [(1, "1. 12 x 2 s, defaults", [])]
        if self.wanted(2):
            for n in (2, 4):
                for dist in ("load", "worksteal"):
                    configs.append(
                        (2, f"2. same, -n {n} --dist {dist}", ["-n", str(n), "--dist", dist])
                    )
        for figure, name, extra in configs:
            if not self.wanted(figure):
                continue
            run_nows: list[int] = []

            def ours(extra: list[str] = extra, run_nows: list[int] = run_nows) -> float:
                with emulator_here(scenario) as server:
                    wall, _ = run_session(folder, [*controller_args(server), *extra])
                    run_nows.append(server.count_requests("run_now"))
                return wall

            def ideal(extra: list[str] = extra) -> float:
                return run_session(folder, ["-p", "no:leapwork", *extra])[0] + run_length

            got, base = self.pairs(name, ours, ideal)
            row = self.session_row(
                figure,
                name,
                got,
                base,
                [
                    f"ideal: the same session's start-up with -p no:leapwork + {run_length:.1f} s "
                    f"(a run on the emulator: {QUEUE:g} s queued + {TWELVE_SECONDS:g} s)",
                    f"runNow per session: {run_nows}",
                ],
            )
            if figure == 2:
                row.ok = row.ratio <= row.target and all(n == TWELVE for n in run_nows)
                row.ours += f", {max(run_nows)} runNow"

    # figure 3 ---------------------------------------------------------------------------------

    def many(self) -> None:
        for count, seconds in MANY[:1] if self.quick else MANY:
            folder = self.folder(f"many{count}")
            write_marked(folder, "test_many.py", count, schedule="Short")
            scenario = {"schedules": [one_schedule("Short", seconds)]}
            rounds = math.ceil(count / WINDOW)
            floor = rounds * (seconds + QUEUE)

            def ours(folder: Path = folder, scenario: dict[str, Any] = scenario) -> float:
                with emulator_here(scenario) as server:
                    return run_session(folder, controller_args(server))[0]

            def ideal(folder: Path = folder, floor: float = floor) -> float:
                return run_session(folder, ["-p", "no:leapwork"])[0] + floor

            name = f"3. {count:,} x {seconds:g} s, defaults"
            got, base = self.pairs(name, ours, ideal)
            self.session_row(
                3,
                name,
                got,
                base,
                [
                    f"ideal: start-up with -p no:leapwork + ceil({count}/{WINDOW}) = {rounds} "
                    f"rounds x ({seconds:g} s + {QUEUE:g} s queued) = {floor:.1f} s"
                ],
            )

    # figure 4 ---------------------------------------------------------------------------------

    def mixed(self) -> None:
        folder = self.folder("mixed")
        write_marked(folder, "test_mixed.py", TWELVE)
        plain = "".join(
            f"\ndef test_plain_{i:03d}():\n    time.sleep({PLAIN_SECONDS})\n" for i in range(PLAIN)
        )
        with open(folder / "test_mixed.py", "a") as file:
            file.write("\nimport time\n" + plain)
        scenario = {"schedules": [one_schedule(f"S{i:02d}", TWELVE_SECONDS) for i in range(TWELVE)]}
        run_length = QUEUE + TWELVE_SECONDS
        for name, extra in (("4. mixed, serial", []), ("4. mixed, -n 4", ["-n", "4"])):

            def ours(extra: list[str] = extra) -> float:
                with emulator_here(scenario) as server:
                    return run_session(folder, [*controller_args(server), *extra])[0]

            def plain_only(extra: list[str] = extra) -> float:
                return run_session(folder, ["-k", "plain", *extra])[0]

            def schedules(extra: list[str] = extra) -> float:
                return run_session(folder, ["-p", "no:leapwork", "-k", "not plain", *extra])[0]

            lone: list[float] = []
            starts: list[float] = []

            def ideal(
                extra: list[str] = extra, lone: list[float] = lone, starts: list[float] = starts
            ) -> float:
                lone.append(plain_only(extra))
                starts.append(schedules(extra) + run_length)
                return max(lone[-1], starts[-1])

            got, base = self.pairs(name, ours, ideal)
            self.session_row(
                4,
                name,
                got,
                base,
                [
                    f"ideal: max(the {PLAIN} plain tests alone {runs_of(lone)}, start-up of the "
                    f"12 marked tests without the plugin + {run_length:.1f} s {runs_of(starts)})",
                    "the 12 marked tests come first in the file",
                ],
            )

    # figure 5 ---------------------------------------------------------------------------------

    def overhead(self) -> None:
        folder = self.folder("plain")
        per_file = F5_TESTS // F5_FILES
        for f in range(F5_FILES):
            body = "".join(f"def test_{i:04d}():\n    pass\n\n\n" for i in range(per_file))
            (folder / f"test_plain_{f:02d}.py").write_text(body)
        for dist in ("load", "loadscope", "worksteal"):
            extra = ["-n", "2", "--dist", dist]
            name = f"5. {F5_TESTS:,} plain tests, -n 2 --dist {dist}"
            cpu: tuple[list[float], list[float]] = ([], [])

            def measure(args: list[str], into: list[float]) -> float:
                wall = run_session(folder, args)[0]
                into.append(LAST_CPU.seconds)
                return wall

            got, base = self.pairs(
                name,
                lambda extra=extra, cpu=cpu: measure(extra, cpu[0]),
                lambda extra=extra, cpu=cpu: measure(["-p", "no:leapwork", *extra], cpu[1]),
            )
            ratios = [a / b for a, b in zip(got, base, strict=True)]
            cpu_ratio = median(cpu[0]) / median(cpu[1])
            row = self.session_row(
                5,
                name,
                got,
                base,
                [
                    f"ideal: the same session with -p no:leapwork; {F5_FILES} files of {per_file}",
                    f"ratio of each interleaved pair: {runs_of(ratios, '', 3)}",
                    f"CPU user+sys of the session, workers included: ours {runs_of(cpu[0])}, "
                    f"no plugin {runs_of(cpu[1])}: {cpu_ratio:.3f}x (steadier than wall time "
                    "on a busy machine)",
                ],
            )
            row.ideal += " (no plugin)"

    # figure 6 ---------------------------------------------------------------------------------

    def long_run(self) -> None:
        from pytest_leapwork.api.models import FlowResult, RunSummary, Schedule
        from pytest_leapwork.config import DEFAULT_POLL_INTERVAL
        from pytest_leapwork.runs.runner import RunHandle, Runner, RunRequest

        now = [0.0]
        asked: list[float] = []

        class Controller:
            def run_summary(self, run_id: str) -> RunSummary:
                asked.append(now[0])
                return RunSummary("Finished" if now[0] >= LONG_RUN else "Executing", 1, 0)

            def run_item_ids(self, run_id: str) -> list[str]:
                return ["item"]

            def run_item(self, item_id: str) -> FlowResult:
                return FlowResult("Flow", "Passed", LONG_RUN, "agent", run_item_id=item_id)

            def close(self) -> None:
                pass

        runner = Runner(Controller(), clock=lambda: now[0])  # type: ignore[arg-type]
        handle = RunHandle(RunRequest("Long", {}, 3600), Schedule("id", "Long"), "run", 0.0)
        handle.next_poll_at = 0.3
        while not handle.done:
            now[0] = handle.next_poll_at
            runner._poll(handle)
        vendor = math.ceil(LONG_RUN / VENDOR_INTERVAL)
        late = asked[-1] - LONG_RUN
        self.rows.append(
            Row(
                "6. status requests, one 10-minute run",
                f"{len(asked)}",
                f"{vendor} (vendor loop)",
                len(asked) / vendor,
                TARGETS[6] / vendor,
                [
                    f"simulated clock through Runner._poll, default cap {DEFAULT_POLL_INTERVAL:g} s; "
                    f"end noticed {late:.1f} s late (<= 10 % of 600 s); the vendor plugins check "
                    f"every {VENDOR_INTERVAL:g} s; target <= {TARGETS[6]} and below the vendor",
                ],
                ok=len(asked) <= TARGETS[6] and len(asked) < vendor,
            )
        )

    # figure 7 ---------------------------------------------------------------------------------

    def large_run(self) -> None:
        from pytest_leapwork.api.client import LeapworkClient
        from pytest_leapwork.runs.runner import Runner, RunRequest

        flows = [
            {"title": f"Flow {i:04d}", "seconds": 0.0005, "status": "Failed"}
            for i in range(F7_FLOWS)
        ]
        scenario = {
            "schedules": [{"title": "Large", "flows": flows}],
            "faults": [{"endpoint": "any", "action": "slow", "delay": F7_LATENCY, "times": 0}],
        }
        requests = 1 + 2 * F7_FLOWS  # runItemIds, then each item and its keyframes
        floor = F7_LATENCY * (1 + math.ceil(2 * F7_FLOWS / F7_CONNECTIONS))
        times: list[float] = []
        with EmulatorProcess(scenario, self.workdir, "large") as emulator:
            for i in range(self.repeat):
                client = LeapworkClient(emulator.url, emulator.access_key)
                runner = Runner(client)
                seen: list[float] = []
                original = client.run_summary

                def watched(run_id: str, original: Any = original, seen: list[float] = seen) -> Any:
                    answer = original(run_id)
                    if answer.status == "Finished" and not seen:
                        seen.append(time.perf_counter())
                    return answer

                client.run_summary = watched  # type: ignore[method-assign]
                try:
                    run = runner.wait(runner.start(RunRequest("Large", {}, timeout=600)))
                    times.append(time.perf_counter() - seen[0])
                finally:
                    runner.close()
                assert len(run.flows) == F7_FLOWS and all(f.keyframes for f in run.flows)
                say(f"7. large run {i + 1}/{self.repeat}: {times[-1]:.2f} s, floor {floor:.2f} s")
        self.data["large"] = times
        self.rows.append(
            Row(
                "7. 2,000 flows + keyframes, 20 ms",
                f"{median(times):.2f} s",
                f"{floor:.2f} s (floor)",
                median(times) / floor,
                TARGETS[7],
                [
                    f"ours {runs_of(times)}: from the status answer 'Finished' to the result, "
                    f"{requests} requests, emulator in its own process",
                    f"floor: {F7_LATENCY * 1000:g} ms x (runItemIds + ceil({2 * F7_FLOWS} / "
                    f"{F7_CONNECTIONS} connections))",
                ],
                noisy=spread(times) > NOISY or self.busy(),
            )
        )

    def run(self) -> None:
        subprocess.run(  # fill the children's bytecode cache once
            [PY, "-c", "import pytest, xdist, filelock, pytest_leapwork.plugin, requests"],
            env=clean_env(),
            check=True,
            timeout=120,
            cwd=self.workdir,
        )
        if self.wanted(6):
            self.guarded("figure 6", self.long_run)
        if self.wanted(1) or self.wanted(2):
            self.guarded("figures 1-2", self.twelve)
        if self.wanted(4):
            self.guarded("figure 4", self.mixed)
        if self.wanted(7):
            self.guarded("figure 7", self.large_run)
        if self.wanted(3):
            self.guarded("figure 3", self.many)
        if self.wanted(5):
            self.guarded("figure 5", self.overhead)


def print_table(rows: list[Row]) -> None:
    header = ("figure", "ours", "ideal", "ratio", "target", "result")
    table = [header] + [
        (r.figure, r.ours, r.ideal, f"{r.ratio:.2f}x", f"<= {r.target:.2f}x", r.result)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print(line)
    print(line)
    if any(r.noisy for r in rows):
        print(
            f"* noisy: repeated runs more than {NOISY:.0%} apart, or a 1-minute load average "
            "above the CPU count when the figure was taken: other work shared the machine"
        )
    for r in rows:
        print(f"\n{r.figure}")
        for detail in r.details:
            print(f"  - {detail}")


class LoadSampler:
    """The 1-minute load average every few seconds: how busy the machine was meanwhile."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(5.0):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> str:
        self._stop.set()
        samples = self.samples or [os.getloadavg()[0]]
        return (
            f"load average (1 min) during the run: mean {statistics.mean(samples):.2f}, "
            f"max {max(samples):.2f} on {os.cpu_count()} CPUs"
        )


def plugin_version() -> str:
    """Which pytest_leapwork the child processes import (PYTHONPATH may point at a snapshot)."""
    done = subprocess.run(
        [PY, "-c", "import pytest_leapwork as p; print(p.__version__, p.__file__)"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tempfile.gettempdir(),
    )
    version, _, path = done.stdout.strip().partition(" ")
    folder = Path(path).parent.parent
    rev = subprocess.run(
        ["git", "-C", str(folder), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"pytest-leapwork {version} from {folder}" + (f" (git {rev})" if rev else "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        return serve_main(argv[1])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each, fewer large runs")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument(
        "--only",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[],
        help="comma-separated figure numbers, e.g. 1,5",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures as JSON")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    measured = plugin_version()
    say(f"measuring {measured}; repeat {args.repeat}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="leapwork-bench-") as tmp:
        PYCACHE.append(str(Path(tmp) / "pycache"))
        bench = Bench(args, Path(tmp))
        sampler = LoadSampler()
        bench.run()
        load = sampler.stop()
    print()
    print_table(bench.rows)
    total = time.perf_counter() - T0
    print(f"\nmeasured {measured}")
    print(f"{total:.0f} s in all, median of {args.repeat} run(s); {load}")
    if args.json:
        extra = {"measured": measured, "load": load, "seconds": total, "repeat": args.repeat}
        Path(args.json).write_text(json.dumps({**bench.data, **extra}, indent=2, default=str))
    for error in bench.errors:
        print(f"ERROR {error}")
    failed = [r.figure for r in bench.rows if r.result.startswith("FAIL")]
    if failed or bench.errors:
        print("FAILED: " + "; ".join(failed + [e.split(":", 1)[0] for e in bench.errors]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
