#!/usr/bin/env python
"""Benchmark: rerunning one flaky flow alone against rerunning the whole schedule.

    python tests/benchmarks/rerun_flows.py [--flows 20] [--seconds 1.0] [--repeat 1]

A schedule of ``--flows`` flows of ``--seconds`` each, one of them failing its first execution
(the emulator's ``fail_first``), run by one marked test in a real pytest session against the
built-in emulator, three ways:

  ideal        the same schedule with no flaky flow: the run alone
  rerun-flows  --leapwork-rerun-flows=1: the run, then the failing flow alone on its agent
  reruns       pytest-rerunfailures --reruns 1: the run, then the whole schedule again

Prints each session's wall time (median of --repeat) and what each adds over the ideal; the
target for rerun-flows is the run plus about one flow's time. A figure, not a timed test:
not collected by pytest (no ``test_`` prefix). The figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
TEST = """
import pytest

@pytest.mark.leapwork_schedule("Twenty")
def test_twenty(leapwork_schedule):
    pass
"""


def scenario(flows: int, seconds: float, flaky: bool) -> str:
    lines = ["[[schedules]]", 'title = "Twenty"']
    for index in range(flows):
        lines += ["  [[schedules.flows]]", f'  title = "Flow {index + 1:02d}"']
        lines.append(f"  seconds = {seconds}")
        if flaky and index == flows // 2:
            lines.append("  fail_first = 1")
    return "\n".join(lines) + "\n"


def session(folder: Path, scenario_file: Path, *extra: str) -> tuple[float, int]:
    """Wall seconds of one pytest session, and its exit status."""
    command = [
        PY,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        f"--leapwork-emulator={scenario_file}",
        "--leapwork-poll-interval=0.5",
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leapwork-rerun-bench-") as directory:
        folder = Path(directory)
        (folder / "test_twenty.py").write_text(TEST, encoding="utf-8")
        steady = folder / "steady.toml"
        steady.write_text(scenario(args.flows, args.seconds, flaky=False), encoding="utf-8")
        flaky = folder / "flaky.toml"
        flaky.write_text(scenario(args.flows, args.seconds, flaky=True), encoding="utf-8")
        ways = {
            "ideal": (steady, ()),
            "rerun-flows": (flaky, ("--leapwork-rerun-flows=1",)),
            "reruns": (flaky, ("-p", "rerunfailures", "--reruns", "1")),
        }
        figures: dict[str, float] = {}
        for name, (scenario_file, extra) in ways.items():
            times = []
            for _ in range(args.repeat):
                seconds, status = session(folder, scenario_file, *extra)
                if status != 0:
                    print(f"{name}: the session failed (exit {status})", file=sys.stderr)
                    return 1
                times.append(seconds)
            figures[name] = statistics.median(times)
    ideal = figures["ideal"]
    print(f"{args.flows} flows of {args.seconds:g} s, one failing its first execution")
    for name, seconds in figures.items():
        print(f"  {name:<12} {seconds:6.1f} s   +{seconds - ideal:5.1f} s over the run alone")
    ok = figures["rerun-flows"] - ideal <= 3 * args.seconds + 1.0
    print(f"target: rerun-flows within the run plus about one flow: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
