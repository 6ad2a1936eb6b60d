#!/usr/bin/env python
"""pytest-leapwork benchmarks against the built-in controller emulator on loopback.

    python tests/benchmarks/bench.py [--quick] [--repeat N] [--serial] [--only 1,3]

Five figures, each measured side by side with its baseline in one run (median of --repeat
runs, default 3), printed as a table; the exit status is 1 when a target fails. What each
figure measures, and the latest results, are in docs/benchmarks.md.

  1. session wall time: 12 schedules of 2 s, a real pytest session, default settings vs
     --leapwork-max-in-flight=1; also under -n 2 (pytest-xdist) vs its own baseline.
  2. requests per run: 20 flows, 10 s, 3 failing, driven through Runner + LeapworkClient,
     vs the official vendor plugins' poll loop (as the vendor CI plugins implement it).
  3. large run: 2,000 flows, 20 ms injected latency per request; time from the status poll
     that says Finished to all results collected, Runner vs one-by-one; tracemalloc peak.
  4. overhead: 3,000 plain tests with the plugin vs -p no:leapwork.
  5. emulator throughput: GET run status with 16 concurrent clients.

Figures 4 and 5 are CPU-bound and run first, alone. The rest are sleep-bound (poll
intervals, injected latency) and run in four parallel lanes to stay under five minutes on
two cores. Measurements of the plugin's side hold one exclusive lock, and so does the
start-up of each baseline pytest session (its first 1.5 s, 3 s under -n 2), so no CPU burst
of the benchmark itself overlaps what is measured for the plugin. ``--serial`` runs
everything one at a time instead (about 8 minutes).

To measure a commit rather than the working tree, put a copy of it first on PYTHONPATH
(children run outside the checkout, so it wins over the editable install)::

    git archive HEAD pytest_leapwork | tar -x -C /tmp/snap
    PYTHONPATH=/tmp/snap python tests/benchmarks/bench.py

Not collected by pytest: the file name has no ``test_`` prefix.
"""

from __future__ import annotations

import argparse
import json
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
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PY = sys.executable
HERE = Path(__file__).resolve()

# Figure 1
F1_SCHEDULES = 12
F1_SECONDS = 2.0
F1_TARGET = 8.0
# Figure 2
F2_FLOWS = 20
F2_FLOW_SECONDS = 0.5
F2_FAILING = (4, 11, 17)  # 3 of 20 flows fail, so keyframes count
F2_INTERVAL = 2.0  # the plugin's default poll interval
# runNow + runItemIds + the status poll that rounds up past the run's end + one spare (a
# plugin that reads the run summary GET /run/{id} separately after Finished needs it).
F2_CONSTANT = 4
# Figure 3
F3_FLOWS = 2000
F3_FLOW_SECONDS = 0.0005  # the whole run takes 1 s
F3_LATENCY = 0.020
F3_TARGET = 5.0
# Figure 4
F4_TESTS = 3000
F4_TARGET = 1.03
# Figure 5
F5_CLIENTS = 16
F5_TARGET = 2.0  # emulator capacity vs the highest request rate any figure drives

# The vendor plugins' item statuses that mean "not done yet, fetch again next round".
VENDOR_TRANSIENT = frozenset(
    {"NoStatus", "Initializing", "Connecting", "Connected", "Running", "IsProcessing"}
)

T0 = time.perf_counter()
FOREGROUND = threading.Lock()  # CPU-sensitive measurements of the plugin's side
_print_lock = threading.Lock()


def say(message: str) -> None:
    with _print_lock:
        print(f"[{time.perf_counter() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


#: Bytecode cache of the child processes (set in main), in the temporary directory and used
#: even where PYTHONDONTWRITEBYTECODE is set: an installed package has its bytecode (pip
#: compiles at install time), an editable checkout without it recompiles in every session.
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


# -- emulator in its own process ---------------------------------------------------------------


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
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("emulator process did not start")
        info = json.loads(line)
        self.url: str = info["url"]
        self.access_key: str = info["key"]

    def cpu_seconds(self) -> float | None:
        """User + system CPU the emulator process used so far (Linux /proc), else None."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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


# -- results -----------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None  # None: reported, no target
    details: list[str] = field(default_factory=list)
    noisy: bool = False  # the runs disagree more than the margin the verdict rests on

    @property
    def result(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "info"}[self.ok]
        return verdict + ("*" if self.noisy else "")


def spread(values: list[float]) -> float:
    """(max - min) / median: how far apart repeated runs are."""
    return (max(values) - min(values)) / median(values) if len(values) > 1 else 0.0


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def runs_of(values: list[float], unit: str = "s", digits: int = 2) -> str:
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + f"] {unit}"


def wait_for(runner: Any, handle: Any) -> Any:
    """The ended run: ``Runner.wait(handle)`` in newer plugin versions, ``handle.wait()`` before."""
    if hasattr(handle, "wait"):
        return handle.wait()
    return runner.wait(handle)


# -- figure 1: session wall time ---------------------------------------------------------------


def f1_prepare(workdir: Path) -> Path:
    folder = workdir / "f1"
    folder.mkdir()
    scenario = {
        "schedules": [
            {"title": f"Bench {i:02d}", "flows": [{"title": "Only flow", "seconds": F1_SECONDS}]}
            for i in range(F1_SCHEDULES)
        ]
    }
    (folder / "scenario.json").write_text(json.dumps(scenario))
    body = ["import pytest", ""]
    for i in range(F1_SCHEDULES):
        body += [
            "",
            f'@pytest.mark.leapwork_schedule("Bench {i:02d}")',
            f"def test_schedule_{i:02d}():",
            "    pass",
            "",
        ]
    (folder / "test_twelve.py").write_text("\n".join(body))
    return folder.resolve()


#: A figure-1 session that takes this long is stuck (the slowest, the baseline, takes ~50 s).
F1_SESSION_TIMEOUT = 180.0
#: pytest dumps every thread's stack of a test still running after this long, so a stuck
#: session leaves evidence in its output (the bench reports the tail of it).
F1_DUMP_AFTER = 120


def run_session(
    cmd: list[str], cwd: Path, timeout: float, grace: float = 0.0
) -> tuple[int, str, float]:
    """(exit status, output, wall seconds) of a child in its own process group.

    With ``grace``, the child starts while this thread holds the FOREGROUND lock, for that many
    seconds: a baseline's CPU-heavy start-up then never overlaps a measurement of the
    plugin's side. A child still running at ``timeout`` is killed with its group (xdist
    workers included) and reported as exit status -1.
    """

    def launch() -> tuple[float, subprocess.Popen[str]]:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return started, proc

    if grace:
        with FOREGROUND:
            start, proc = launch()
            time.sleep(grace)
    else:
        start, proc = launch()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return -1, out, time.perf_counter() - start
    return proc.returncode, out, time.perf_counter() - start


def f1_session(folder: Path, extra: list[str], grace: float = 0.0) -> tuple[float, float]:
    """(wall time of the whole `python -m pytest` process, pytest's own 'in X s')."""
    cmd = [
        PY,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        f"faulthandler_timeout={F1_DUMP_AFTER}",
        f"--leapwork-emulator={folder / 'scenario.json'}",
        "test_twelve.py",
        *extra,
    ]
    rc, out, wall = run_session(cmd, folder, F1_SESSION_TIMEOUT, grace)
    if rc != 0 or f"{F1_SCHEDULES} passed" not in out:
        what = f"stuck, killed after {F1_SESSION_TIMEOUT:g} s" if rc == -1 else f"exit status {rc}"
        raise RuntimeError(
            f"figure 1 session {' '.join(extra)}: {what}; its output ends:\n{out[-6000:]}"
        )
    match = re.search(r"passed in ([\d.]+)s", out)
    return wall, float(match.group(1)) if match else float("nan")


# -- figure 2: requests per run ----------------------------------------------------------------


def f2_scenario() -> dict[str, Any]:
    flows = [
        {
            "title": f"Flow {i:02d}",
            "seconds": F2_FLOW_SECONDS,
            "status": "Failed" if i in F2_FAILING else "Passed",
        }
        for i in range(F2_FLOWS)
    ]
    return {"schedules": [{"title": "Twenty flows", "flows": flows}]}


def f2_ours(emulator: Any) -> int:
    from pytest_leapwork.client import LeapworkClient
    from pytest_leapwork.runner import Runner, RunRequest

    runner = Runner(LeapworkClient(emulator.url, emulator.access_key), poll_interval=F2_INTERVAL)
    try:
        run = wait_for(runner, runner.start(RunRequest("Twenty flows", {}, timeout=300)))
    finally:
        runner.close()
    assert len(run.flows) == F2_FLOWS, len(run.flows)
    assert len(run.failed_flows) == len(F2_FAILING), run.failed_flows
    assert all(f.keyframes for f in run.failed_flows)
    return sum(1 for r in emulator.requests if r.endpoint != "schedules")


def vendor_poll_loop(client: Any, run_id: str, interval: float) -> dict[str, Any]:
    """The official plugins' loop (as the vendor CI plugins implement it): sleep, items, keyframes, status."""
    processed: dict[str, Any] = {}
    while True:
        time.sleep(interval)  # also before the first check
        for item_id in client.run_item_ids(run_id):
            if item_id in processed:
                continue
            item = client.run_item(item_id)
            if item.status in VENDOR_TRANSIENT:
                continue  # not processed: fetched again next round
            if not item.passed:
                item.keyframes = client.keyframes(item_id)
            processed[item_id] = item
        if client.run_status(run_id) == "Finished":
            every = client.run_item_ids(run_id)
            if 0 < len(every) <= len(processed):
                return processed


def f2_vendor(emulator: Any) -> int:
    from pytest_leapwork.client import LeapworkClient

    client = LeapworkClient(emulator.url, emulator.access_key)
    try:
        (schedule,) = [s for s in client.list_schedules() if s.title == "Twenty flows"]
        run_id = client.run_now(schedule.id, {})
        flows = vendor_poll_loop(client, run_id, F2_INTERVAL)
    finally:
        client.close()
    assert len(flows) == F2_FLOWS
    assert sum(1 for f in flows.values() if not f.passed) == len(F2_FAILING)
    return sum(1 for r in emulator.requests if r.endpoint != "schedules")


def f2_once() -> tuple[int, int, Counter[str], Counter[str]]:
    """Ours and the vendor loop at the same time, each against its own emulator."""
    from pytest_leapwork.emulator import EmulatorServer, Scenario

    results: dict[str, Any] = {}
    servers = {
        "ours": EmulatorServer(Scenario.from_dict(f2_scenario(), "bench-f2")),
        "vendor": EmulatorServer(Scenario.from_dict(f2_scenario(), "bench-f2")),
    }

    def drive(name: str, function: Callable[[Any], int]) -> None:
        try:
            results[name] = function(servers[name])
        except BaseException as exc:  # reported by the caller
            results[name] = exc

    for server in servers.values():
        server.start()
    try:
        threads = [
            threading.Thread(target=drive, args=("ours", f2_ours)),
            threading.Thread(target=drive, args=("vendor", f2_vendor)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        by_endpoint = {
            name: Counter(str(r.endpoint) for r in s.requests if r.endpoint != "schedules")
            for name, s in servers.items()
        }
    finally:
        for server in servers.values():
            server.stop()
    for value in results.values():
        if isinstance(value, BaseException):
            raise value
    return results["ours"], results["vendor"], by_endpoint["ours"], by_endpoint["vendor"]


# -- figure 3: large runs ----------------------------------------------------------------------


def f3_scenario() -> dict[str, Any]:
    flows = [{"title": f"Flow {i:04d}", "seconds": F3_FLOW_SECONDS} for i in range(F3_FLOWS)]
    return {
        "schedules": [{"title": "Large", "flows": flows}],
        "faults": [{"endpoint": "any", "action": "slow", "delay": F3_LATENCY, "times": 0}],
    }


def f3_ours(emulator: EmulatorProcess, measure_memory: bool = False) -> dict[str, float]:
    """Runner: from the status answer 'Finished' (inside the poller) to the run's result."""
    from pytest_leapwork.client import LeapworkClient
    from pytest_leapwork.runner import Runner, RunRequest

    client = LeapworkClient(emulator.url, emulator.access_key)
    runner = Runner(client)  # default poll interval and workers, as the plugin makes it
    seen: dict[str, float] = {}

    def finished_seen() -> None:
        if "finished" not in seen:
            if measure_memory:
                tracemalloc.start()
                tracemalloc.reset_peak()
                seen["mem_start"] = tracemalloc.get_traced_memory()[0]
            seen["emulator_cpu"] = emulator.cpu_seconds() or 0.0
            seen["finished"] = time.perf_counter()

    # The poller reads the status from GET /run/{id}/status or from the run summary
    # GET /run/{id}, depending on the plugin version: watch both for the first 'Finished'.
    for name in ("run_status", "run_summary"):
        original = getattr(client, name, None)
        if original is None:
            continue

        def watched(run_id: str, _original: Callable[[str], Any] = original) -> Any:
            answer = _original(run_id)
            status = answer if isinstance(answer, str) else getattr(answer, "status", None)
            if status == "Finished":
                finished_seen()
            return answer

        setattr(client, name, watched)
    try:
        handle = runner.start(RunRequest("Large", {}, timeout=600))
        run = wait_for(runner, handle)
        done = time.perf_counter()
        emulator_cpu = (emulator.cpu_seconds() or 0.0) - seen["emulator_cpu"]
        result = {
            "seconds": done - seen["finished"],
            "emulator_busy": emulator_cpu / (done - seen["finished"]),
        }
        if measure_memory:
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            result["peak"] = peak - seen["mem_start"]
            result["retained"] = current - seen["mem_start"]
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        runner.close()
    assert len(run.flows) == F3_FLOWS and run.passed, (len(run.flows), run.passed)
    return result


def f3_baseline(emulator: EmulatorProcess) -> float:
    """The same client fetching the items one by one, from the status answer 'Finished'."""
    from pytest_leapwork.client import LeapworkClient

    client = LeapworkClient(emulator.url, emulator.access_key)
    try:
        (schedule,) = [s for s in client.list_schedules() if s.title == "Large"]
        run_id = client.run_now(schedule.id, {})
        while True:
            time.sleep(0.25)
            if client.run_status(run_id) == "Finished":
                break
        start = time.perf_counter()
        flows = [client.run_item(item_id) for item_id in client.run_item_ids(run_id)]
        seconds = time.perf_counter() - start
    finally:
        client.close()
    assert len(flows) == F3_FLOWS and all(f.passed for f in flows)
    return seconds


# -- figure 4: overhead ------------------------------------------------------------------------


def f4_prepare(workdir: Path) -> Path:
    folder = workdir / "f4"
    folder.mkdir()
    body = "".join(f"def test_{i:04d}():\n    pass\n\n\n" for i in range(F4_TESTS))
    (folder / "test_plain.py").write_text(body)
    (folder / "test_one.py").write_text("def test_one():\n    pass\n")
    return folder.resolve()


def f4_session(
    folder: Path, extra: list[str], module: str = "test_plain.py"
) -> tuple[float, float]:
    """(wall, CPU user+sys) of one `pytest -p no:cacheprovider -q` of the plain tests."""
    cmd = [PY, "-m", "pytest", "-p", "no:cacheprovider", "-q", module, *extra]
    expected = f"{F4_TESTS if module == 'test_plain.py' else 1} passed"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc, out, wall = run_session(cmd, folder, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0 or expected not in out:
        raise RuntimeError(f"figure 4 session {extra} failed (exit status {rc}):\n{out[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def f4_import_ms(cwd: Path) -> dict[str, float]:
    """Cumulative import time (ms) of the plugin module and of requests within it."""
    done = subprocess.run(
        [PY, "-X", "importtime", "-c", "import pytest; import pytest_leapwork.plugin"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() in ("pytest_leapwork.plugin", "requests"):
            found[parts[2].strip()] = int(parts[1]) / 1000
    return found


# -- figure 5: emulator throughput -------------------------------------------------------------


def hammer(
    url: str, key: str, run_id: str, threads: int, seconds: float, ready: Callable[[], None]
) -> tuple[int, int, float]:
    """(answers 200, other answers, elapsed) of `threads` sessions asking GET run status."""
    import requests

    target = f"{url}/api/v4/run/{run_id}/status"
    headers = {"AccessKey": key, "Accept": "application/json"}
    sessions = [requests.Session() for _ in range(threads)]
    for session in sessions:  # connect before the clock starts
        session.get(target, headers=headers, timeout=10).raise_for_status()
    go = threading.Event()
    stop_at = [0.0]
    ok = [0] * threads
    bad = [0] * threads

    def work(index: int) -> None:
        session = sessions[index]
        go.wait()
        while time.perf_counter() < stop_at[0]:
            response = session.get(target, headers=headers, timeout=10)
            if response.status_code == 200:
                ok[index] += 1
            else:
                bad[index] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    ready()
    start = time.perf_counter()
    stop_at[0] = start + seconds
    go.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    for session in sessions:
        session.close()
    return sum(ok), sum(bad), elapsed


def load_main(url: str, key: str, run_id: str, threads: int, seconds: float) -> int:
    """``--load``: a client process for figure 5; waits for 'go' on stdin."""

    def ready() -> None:
        print("ready", flush=True)
        sys.stdin.readline()

    ok, bad, elapsed = hammer(url, key, run_id, threads, seconds, ready)
    print(json.dumps({"ok": ok, "bad": bad, "elapsed": elapsed}), flush=True)
    return 0


def f5_scenario() -> dict[str, Any]:
    return {"schedules": [{"title": "Long", "flows": [{"title": "Hours", "seconds": 3600.0}]}]}


def busy(before: float | None, after: float | None, elapsed: float) -> float:
    """Share of one core the emulator used over `elapsed` (NaN where /proc is missing)."""
    if before is None or after is None:
        return float("nan")
    return (after - before) / elapsed


def f5_once(emulator: EmulatorProcess, run_id: str, seconds: float) -> dict[str, float]:
    # A: 16 threads in this process, each with its own requests.Session.
    cpu_before = emulator.cpu_seconds()
    ok, bad, elapsed = hammer(
        emulator.url, emulator.access_key, run_id, F5_CLIENTS, seconds, lambda: None
    )
    cpu_after = emulator.cpu_seconds()
    threads_rate = ok / elapsed
    threads_busy = busy(cpu_before, cpu_after, elapsed)
    # B: the same 16 clients split over 2 processes (8 threads each): no shared client GIL.
    procs = [
        subprocess.Popen(
            [
                PY,
                str(HERE),
                "--load",
                emulator.url,
                emulator.access_key,
                run_id,
                str(F5_CLIENTS // 2),
                str(seconds),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("load client did not start")
        cpu_before = emulator.cpu_seconds()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        answers = []
        for proc in procs:
            assert proc.stdout is not None
            answers.append(json.loads(proc.stdout.readline()))
        cpu_after = emulator.cpu_seconds()
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=30)
    bad += sum(a["bad"] for a in answers)
    process_rate = sum(a["ok"] / a["elapsed"] for a in answers)
    span = max(a["elapsed"] for a in answers)
    process_busy = busy(cpu_before, cpu_after, span)
    if bad:
        raise RuntimeError(f"figure 5: {bad} requests did not answer 200")
    return {
        "threads": threads_rate,
        "processes": process_rate,
        "threads_busy": threads_busy,
        "processes_busy": process_busy,
    }


# -- the run -----------------------------------------------------------------------------------


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
        if not self.samples:
            return f"load average {os.getloadavg()[0]:.2f}"
        return (
            f"load average (1 min) during the run: mean {statistics.mean(self.samples):.2f}, "
            f"max {max(self.samples):.2f} on {os.cpu_count()} CPUs"
        )


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.repeat: int = args.repeat
        self.workdir = workdir
        self.only: set[int] = set(args.only)
        self.data: dict[str, Any] = {}
        self.errors: list[str] = []

    def wanted(self, figure: int) -> bool:
        return not self.only or figure in self.only

    def guarded(self, name: str, function: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                function()
            except Exception as exc:  # one broken figure must not hide the others
                text = str(exc) or repr(exc)
                self.errors.append(f"{name}: {type(exc).__name__}: {text}")
                say(f"{name} FAILED: {text.splitlines()[0]} (details at the end)")

        return run

    # figure 1
    def f1(self, key: str, extra: list[str], foreground: bool) -> None:
        folder = self.f1_folder
        walls, inner = [], []
        for i in range(self.repeat):
            if foreground:
                with FOREGROUND:
                    wall, reported = f1_session(folder, extra)
            else:
                grace = 3.0 if "-n" in extra else 1.5
                wall, reported = f1_session(folder, extra, grace=0.0 if self.args.serial else grace)
            walls.append(wall)
            inner.append(reported)
            say(
                f"figure 1 {key} {i + 1}/{self.repeat}: {wall:.2f} s (pytest says {reported:.2f} s)"
            )
        self.data[key] = {"walls": walls, "inner": inner}

    # figure 2
    def f2(self) -> None:
        ours, vendor = [], []
        for i in range(self.repeat):
            o, v, o_by, v_by = f2_once()
            ours.append(o)
            vendor.append(v)
            self.data["f2_by_endpoint"] = (o_by, v_by)
            say(f"figure 2 {i + 1}/{self.repeat}: ours {o} requests, vendor loop {v}")
        self.data["f2"] = {"ours": ours, "vendor": vendor}

    # figure 3
    def f3_ours(self) -> None:
        ours, busy = [], []
        with EmulatorProcess(f3_scenario(), self.workdir, "f3-ours") as emulator:
            for i in range(self.repeat):
                with FOREGROUND:
                    measured = f3_ours(emulator)
                ours.append(measured["seconds"])
                busy.append(measured["emulator_busy"])
                say(f"figure 3 ours {i + 1}/{self.repeat}: Runner {ours[-1]:.2f} s")
            with FOREGROUND:
                memory = f3_ours(emulator, measure_memory=True)
            say(f"figure 3 memory: tracemalloc peak {memory['peak'] / 1e6:.1f} MB")
        self.data["f3"] = {"ours": ours, "emulator_busy": busy, "memory": memory}

    def f3_baseline(self) -> None:
        base = []
        with EmulatorProcess(f3_scenario(), self.workdir, "f3-baseline") as emulator:
            for i in range(self.repeat):
                base.append(f3_baseline(emulator))
                say(f"figure 3 baseline {i + 1}/{self.repeat}: one by one {base[-1]:.2f} s")
        self.data["f3_base"] = base

    # figure 4
    def f4(self) -> None:
        folder = f4_prepare(self.workdir)
        pairs = 3 if self.args.quick else max(7, 2 * self.repeat + 1)
        f4_session(folder, [])  # warm the file and bytecode caches; not counted
        runs: dict[str, list[float]] = {
            k: [] for k in ("with", "without", "cpu_with", "cpu_without", "one_with", "one_without")
        }
        for i in range(pairs):
            # Interleaved, alternating which goes first.
            order = [("with", []), ("without", ["-p", "no:leapwork"])]
            if i % 2:
                order.reverse()
            for name, extra in order:
                wall, cpu = f4_session(folder, extra)
                runs[name].append(wall)
                runs[f"cpu_{name}"].append(cpu)
            for name, extra in order if i < 3 else ():  # one test: the per-session part
                runs[f"one_{name}"].append(f4_session(folder, extra, "test_one.py")[0])
            say(
                f"figure 4 pair {i + 1}/{pairs}: with {runs['with'][-1]:.2f} s, "
                f"without {runs['without'][-1]:.2f} s"
            )
        imports = [f4_import_ms(folder) for _ in range(3 if self.args.quick else 5)]
        runs["import_plugin_ms"] = [i.get("pytest_leapwork.plugin", float("nan")) for i in imports]
        runs["import_requests_ms"] = [i.get("requests", float("nan")) for i in imports]
        self.data["f4"] = runs

    # figure 5
    def f5(self) -> None:
        from pytest_leapwork.client import LeapworkClient

        seconds = 1.5 if self.args.quick else 2.0
        rates: dict[str, list[float]] = {
            "threads": [],
            "processes": [],
            "threads_busy": [],
            "processes_busy": [],
        }
        with EmulatorProcess(f5_scenario(), self.workdir, "f5") as emulator:
            client = LeapworkClient(emulator.url, emulator.access_key)
            (schedule,) = client.list_schedules()
            run_id = client.run_now(schedule.id, {})
            time.sleep(0.3)
            assert client.run_status(run_id) == "Executing"
            client.close()
            for i in range(self.repeat):
                once = f5_once(emulator, run_id, seconds)
                for k, v in once.items():
                    rates[k].append(v)
                say(
                    f"figure 5 {i + 1}/{self.repeat}: {once['threads']:.0f} req/s (16 threads, 1 "
                    f"process; emulator busy {once['threads_busy']:.0%} of a core), "
                    f"{once['processes']:.0f} req/s (2 processes x 8 threads; emulator busy "
                    f"{once['processes_busy']:.0%})"
                )
        self.data["f5"] = rates

    def run(self) -> None:
        # Fill the children's bytecode cache once, so no measured session compiles.
        subprocess.run(
            [PY, "-c", "import pytest, xdist, pytest_leapwork.plugin, pytest_leapwork.emulator"],
            env=clean_env(),
            check=True,
            timeout=120,
            cwd=self.workdir,
        )
        cpu_bound = []
        if self.wanted(4):
            cpu_bound.append(self.guarded("figure 4", self.f4))
        if self.wanted(5):
            cpu_bound.append(self.guarded("figure 5", self.f5))
        for step in cpu_bound:
            step()
        if self.wanted(1):
            self.f1_folder = f1_prepare(self.workdir)
        # Four lanes of about equal length; the long poles are the sleep-bound baselines.
        lane_a: list[Callable[[], None]] = []  # figure 1 baseline
        lane_b: list[Callable[[], None]] = []  # figure 1 -n 2 baseline, then ours
        lane_c: list[Callable[[], None]] = []  # figure 3 ours, figure 2, figure 1 worksteal
        lane_d: list[Callable[[], None]] = []  # figure 3 baseline
        f1 = self.f1
        if self.wanted(3):
            lane_c.append(self.guarded("figure 3 ours", self.f3_ours))
            lane_d.append(self.guarded("figure 3 baseline", self.f3_baseline))
        if self.wanted(2):
            lane_c.append(self.guarded("figure 2", self.f2))
        if self.wanted(1):
            in_flight_1 = "--leapwork-max-in-flight=1"
            lane_a.append(
                self.guarded("figure 1 baseline", lambda: f1("f1_base", [in_flight_1], False))
            )
            lane_b += [
                self.guarded(
                    "figure 1 xdist baseline",
                    lambda: f1("f1_xbase", ["-n", "2", in_flight_1], False),
                ),
                self.guarded("figure 1 ours", lambda: f1("f1_ours", [], True)),
                self.guarded("figure 1 xdist ours", lambda: f1("f1_xours", ["-n", "2"], True)),
            ]
            lane_c.append(
                self.guarded(
                    "figure 1 xdist worksteal",
                    lambda: f1("f1_xsteal", ["-n", "2", "--dist", "worksteal"], True),
                )
            )
        lanes = [lane for lane in (lane_a, lane_b, lane_c, lane_d) if lane]
        if self.args.serial:
            for lane in lanes:
                for step in lane:
                    step()
            return
        threads = [
            threading.Thread(target=lambda steps=lane: [s() for s in steps]) for lane in lanes
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # the table
    def rows(self) -> list[Row]:
        d = self.data
        rows: list[Row] = []
        if "f1_ours" in d and "f1_base" in d:
            rows.append(self._row_f1(d))
        if "f1_xours" in d and "f1_xbase" in d:
            rows.append(self._row_f1_xdist(d))
        if "f2" in d:
            rows.append(self._row_f2(d))
        if "f3" in d and "f3_base" in d:
            rows += self._rows_f3(d)
        if "f4" in d:
            rows += self._rows_f4(d)
        if "f5" in d:
            rows.append(self._row_f5(d))
        return rows

    @staticmethod
    def _row_f1(d: dict[str, Any]) -> Row:
        walls, base_walls = d["f1_ours"]["walls"], d["f1_base"]["walls"]
        ours, base = median(walls), median(base_walls)
        ratio = base / ours
        inner = median(d["f1_ours"]["inner"])
        ideal = F1_SECONDS
        noisy = spread(walls) > 0.15
        return Row(
            "1. session wall, 12 x 2 s schedules",
            fmt_s(ours),
            fmt_s(base) + " (in flight 1)",
            f"{ratio:.1f}x",
            f">= {F1_TARGET:g}x",
            ratio >= F1_TARGET,
            [
                f"ours {runs_of(walls)}; baseline {runs_of(base_walls)}",
                f"ideal (the slowest schedule) {ideal:.2f} s; ours is {ours - ideal:.2f} s more "
                f"({ours / ideal:.2f}x the ideal); pytest itself reports {inner:.2f} s, the "
                "rest is interpreter start-up and collection",
                "a 2 s flow + 0.1 s emulator queue is seen Finished at the 2nd poll (4 s after "
                "trigger) at the default 2 s poll interval: floor of ours ~4 s + start-up, of "
                "the baseline ~12 x 4 s + start-up",
            ],
            noisy=noisy,
        )

    @staticmethod
    def _row_f1_xdist(d: dict[str, Any]) -> Row:
        walls, base_walls = d["f1_xours"]["walls"], d["f1_xbase"]["walls"]
        ours, base = median(walls), median(base_walls)
        details = [
            f"ours {runs_of(walls)}; baseline {runs_of(base_walls)}",
            "the -n 2 baseline already runs 2 schedules at once (one per worker)",
        ]
        if "f1_xsteal" in d:
            steal = d["f1_xsteal"]["walls"]
            details.append(f"-n 2 --dist worksteal (ours): {median(steal):.2f} s {runs_of(steal)}")
        details.append(
            "under --dist load (the default) xdist hands each worker ~2 tests at a time and a "
            "worker triggers ahead only the tests queued on it (plugin.py XdistWorker), so "
            "~4 runs are in flight, not 12"
        )
        return Row(
            "1b. same under -n 2 (xdist)",
            fmt_s(ours),
            fmt_s(base) + " (-n 2, in flight 1)",
            f"{base / ours:.1f}x",
            "report",
            None,
            details,
        )

    @staticmethod
    def _row_f2(d: dict[str, Any]) -> Row:
        ours, vendor = median(d["f2"]["ours"]), median(d["f2"]["vendor"])
        duration = F2_FLOWS * F2_FLOW_SECONDS
        bound = int(duration / F2_INTERVAL) + F2_FLOWS + len(F2_FAILING) + F2_CONSTANT
        ours_by, vendor_by = d["f2_by_endpoint"]
        return Row(
            "2. requests per run, 20 flows x 0.5 s",
            f"{ours:g}",
            f"{vendor:g} (vendor loop)",
            f"{ours / vendor:.2f}",
            f"< vendor, <= {bound}",
            ours < vendor and ours <= bound,
            [
                f"bound {bound} = {duration:g} s / {F2_INTERVAL:g} s + {F2_FLOWS} flows + "
                f"{len(F2_FAILING)} failing + C={F2_CONSTANT} (runNow, runItemIds, the status "
                "poll rounding up past the end, one spare for a separate run-summary read); "
                "GET /schedules excluded",
                "ours by endpoint (last run): " + by_endpoint(ours_by),
                "vendor by endpoint (last run): " + by_endpoint(vendor_by),
                f"ours {d['f2']['ours']}; vendor {d['f2']['vendor']} (driven through "
                "Runner + LeapworkClient, in-process emulator)",
            ],
        )

    @staticmethod
    def _rows_f3(d: dict[str, Any]) -> list[Row]:
        walls, base_walls = d["f3"]["ours"], d["f3_base"]
        ours, base = median(walls), median(base_walls)
        ratio = base / ours
        memory = d["f3"]["memory"]
        floor = F3_FLOWS / 16 * F3_LATENCY
        return [
            Row(
                "3. collect 2,000 flows, 20 ms latency",
                fmt_s(ours),
                fmt_s(base) + " (one by one)",
                f"{ratio:.1f}x",
                f">= {F3_TARGET:g}x",
                ratio >= F3_TARGET,
                [
                    f"ours {runs_of(walls)}; baseline {runs_of(base_walls)}",
                    "from the status answer 'Finished' to all 2,000 results; emulator in its "
                    f"own process; 16 connections x 20 ms floor = {floor:.2f} s",
                    f"plugin request rate while collecting ~{(F3_FLOWS + 2) / ours:.0f} req/s; "
                    f"the emulator was busy {median(d['f3']['emulator_busy']):.0%} of one core "
                    "meanwhile",
                ],
            ),
            Row(
                "3b. memory of that collection",
                f"{memory['peak'] / 1e6:.1f} MB peak",
                "",
                "",
                "report",
                None,
                [
                    "tracemalloc peak during the collection (a separate, untimed pass): "
                    f"{memory['peak'] / F3_FLOWS / 1e3:.1f} kB per flow; "
                    f"{memory['retained'] / 1e6:.1f} MB still held by the result",
                ],
            ),
        ]

    @staticmethod
    def _rows_f4(d: dict[str, Any]) -> list[Row]:
        f4 = d["f4"]
        w, wo = median(f4["with"]), median(f4["without"])
        cw, cwo = median(f4["cpu_with"]), median(f4["cpu_without"])
        one, one_wo = median(f4["one_with"]), median(f4["one_without"])
        fastest, fastest_wo = min(f4["with"]), min(f4["without"])
        ratio = w / wo
        pair_ratios = [a / b for a, b in zip(f4["with"], f4["without"], strict=True)]
        pair_spread = max(pair_ratios) - min(pair_ratios)
        noisy = pair_spread > 2 * (F4_TARGET - 1)
        return [
            Row(
                "4. overhead, 3,000 plain tests",
                fmt_s(w),
                fmt_s(wo) + " (-p no:leapwork)",
                f"{ratio:.3f}",
                f"<= {F4_TARGET:.2f}",
                ratio <= F4_TARGET,
                [
                    f"with {runs_of(f4['with'])}; without {runs_of(f4['without'])}",
                    f"ratio of each interleaved pair: {runs_of(pair_ratios, '', 3)} (median "
                    f"{median(pair_ratios):.3f}, spread {pair_spread:.3f})",
                    f"fastest runs: with {fastest:.2f} s, without {fastest_wo:.2f} s "
                    f"({fastest / fastest_wo:.3f})",
                    f"a 1-test session: with {one:.3f} s, without {one_wo:.3f} s "
                    f"({(one - one_wo) * 1000:+.0f} ms per session, whatever the test count)",
                    f"importing pytest_leapwork.plugin takes {median(f4['import_plugin_ms']):.0f} "
                    f"ms, of which requests {median(f4['import_requests_ms']):.0f} ms",
                ],
                noisy=noisy,
            ),
            Row(
                "4b. same, CPU user+sys of pytest",
                fmt_s(cw),
                fmt_s(cwo) + " (-p no:leapwork)",
                f"{cw / cwo:.3f}",
                f"<= {F4_TARGET:.2f}",
                None,
                [
                    f"{(cw - cwo) * 1000:+.0f} ms; time on a CPU, not waiting for one: other load "
                    "on the machine disturbs it less than wall time (reported, no verdict)",
                ],
            ),
        ]

    @staticmethod
    def _row_f5(d: dict[str, Any]) -> Row:
        f5 = d["f5"]
        threads, procs = median(f5["threads"]), median(f5["processes"])
        busy_t, busy_p = median(f5["threads_busy"]), median(f5["processes_busy"])
        best = max(threads, procs)
        # Requests served per CPU-second of the emulator process: its rate with the CPU to
        # itself, whatever the clients sharing the two cores could send.
        capacity = median(
            [r / b for r, b in zip(f5["processes"], f5["processes_busy"], strict=True) if b > 0]
            or [float("nan")]
        )
        need = (F3_FLOWS + 2) / median(d["f3"]["ours"]) if "f3" in d else None
        return Row(
            "5. emulator throughput, 16 clients",
            f"{best:.0f} req/s",
            f"{need:.0f} req/s (fig. 3 ours)" if need else "",
            f"{capacity / need:.1f}x" if need else "",
            f"capacity >= {F5_TARGET:g}x that" if need else "report",
            (capacity / need >= F5_TARGET) if need else None,
            [
                f"16 threads in 1 process: {threads:.0f} req/s "
                f"{runs_of(f5['threads'], 'req/s', 0)}, emulator busy {busy_t:.0%} of one core",
                f"2 processes x 8 threads: {procs:.0f} req/s "
                f"{runs_of(f5['processes'], 'req/s', 0)}, emulator busy {busy_p:.0%} of one core",
                "GET /run/{id}/status of an executing run, one requests.Session per client, "
                "emulator in its own process; on 2 cores the clients, not the emulator, limit "
                "the measured rate",
                f"capacity: {capacity:.0f} requests per CPU-second of the emulator process "
                "(its rate with a core to itself); the ratio compares that with the rate figure 3 "
                "drives",
            ],
        )


def by_endpoint(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))


def print_table(rows: list[Row]) -> None:
    header = ("figure", "ours", "baseline", "ratio", "target", "result")
    table = [header] + [
        (
            r.figure,
            r.ours,
            r.baseline,
            r.ratio,
            r.target,
            r.result,
        )
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
            "* noisy: repeated runs disagree by more than the margin the verdict rests on "
            "(figure 1: ours > 15 %; figure 4: pair ratios > 2 x the 3 % margin); the machine "
            "was busy, run again when it is quiet"
        )
    for r in rows:
        print(f"\n{r.figure}")
        for detail in r.details:
            print(f"  - {detail}")


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
    if argv[:1] == ["--load"]:
        url, key, run_id, threads, seconds = argv[1:6]
        return load_main(url, key, run_id, int(threads), float(seconds))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one run each, shorter figures 4 and 5"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per figure, median taken (default 3)"
    )
    parser.add_argument("--serial", action="store_true", help="no parallel lanes (slower)")
    parser.add_argument(
        "--only",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[],
        help="comma-separated figure numbers, e.g. 1,3",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures as JSON")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    measured = plugin_version()
    import pytest_leapwork

    here = Path(pytest_leapwork.__file__).resolve().parent.parent
    if f" from {here}" not in measured:
        say(f"WARNING: this process imports pytest_leapwork from {here}, children elsewhere")
    say(f"measuring {measured}")
    say(
        f"pytest-leapwork benchmarks: repeat {args.repeat}, "
        f"{'serial' if args.serial else 'parallel lanes'}, load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="leapwork-bench-") as tmp:
        PYCACHE.append(str(Path(tmp) / "pycache"))
        bench = Bench(args, Path(tmp))
        sampler = LoadSampler()
        bench.run()
        load = sampler.stop()
    rows = bench.rows()
    print()
    print_table(rows)
    total = time.perf_counter() - T0
    print(f"\nmeasured {measured}")
    print(f"{total:.0f} s in all, median of {args.repeat} run(s); {load}")
    if args.json:
        extra = {"measured": measured, "load": load, "seconds": total, "repeat": args.repeat}
        Path(args.json).write_text(json.dumps({**bench.data, **extra}, indent=2, default=str))
    for error in bench.errors:
        print(f"ERROR {error}")
    failed = [r.figure for r in rows if r.ok is False]
    if failed or bench.errors:
        print("FAILED: " + "; ".join(failed + [e.split(":", 1)[0] for e in bench.errors]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
