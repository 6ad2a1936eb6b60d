#!/usr/bin/env python
"""Hunt for a test that waits on a run the controller already says Finished.

    python tests/benchmarks/hunt_finished_waits.py [--tests 300] [--rounds 3] [--busy 2]

Many short runs of a three-flow schedule (items listed late, as real controllers do), in
random order (pytest-randomly, installed: a new seed each round), with ``--busy`` processes spinning
on the CPUs. Each test's time is read from a JUnit report; a test that took longer than its
run plus ``COLLECT_SECONDS`` waited on a finished run, and is printed. Exit status 1 then.
Not collected by pytest: the file name has no ``test_`` prefix.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from pytest_leapwork.emulator import EmulatorServer, load_scenario
from pytest_leapwork.runs import bounds

SCENARIO = """
[controller]
queue_seconds = 0.01

[[schedules]]
title = "Three"
items_lag_seconds = 0.03

  [[schedules.flows]]
  title = "One"
  seconds = 0.02

  [[schedules.flows]]
  title = "Two"
  seconds = 0.02

  [[schedules.flows]]
  title = "Three"
  seconds = 0.02
"""

TESTS = """
import pytest

@pytest.mark.leapwork_schedule("Three", timeout=600)
@pytest.mark.parametrize("leapwork_variables", [{{"N": str(i)}} for i in range({count})])
def test_three(leapwork_schedule):
    pass
"""


def spin() -> None:
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=2)
    args = parser.parse_args()
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    worst = 0.0
    slow: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as work:
            directory = Path(work)
            (directory / "scenario.toml").write_text(SCENARIO)
            (directory / "test_hunt.py").write_text(TESTS.format(count=args.tests))
            scenario = load_scenario(str(directory / "scenario.toml"))
            for round_ in range(args.rounds):
                with EmulatorServer(scenario) as emulator:
                    report = directory / f"round{round_}.xml"
                    done = subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "pytest",
                            "-q",
                            "-p",
                            "no:cacheprovider",
                            f"--leapwork-controller={emulator.url}",
                            f"--leapwork-key={emulator.access_key}",
                            "--leapwork-poll-interval=0.05",
                            f"--junitxml={report}",
                        ],
                        cwd=directory,
                        check=False,
                        capture_output=True,
                        text=True,
                    )
                if not report.exists():
                    print(done.stdout[-3000:], done.stderr[-3000:])
                    return 2
                for case in ET.parse(report).getroot().iter("testcase"):
                    seconds = float(case.get("time", "0"))
                    worst = max(worst, seconds)
                    if seconds > bounds.COLLECT_SECONDS:
                        slow.append(f"round {round_}: {case.get('name')} took {seconds:.1f}s")
    finally:
        for spinner in spinners:
            spinner.terminate()
    print(f"{args.rounds} rounds of {args.tests} runs: the longest test took {worst:.2f}s")
    for line in slow:
        print(line)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
