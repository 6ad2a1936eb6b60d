"""Run one Leapwork schedule from a script, without pytest: the plugin's client and runner.

    LEAPWORK_CONTROLLER=http://ctl:9001 LEAPWORK_KEY=... python run_schedule.py "Smoke Login" URL=https://staging.example.com

Prints one line per flow and exits 0 when every flow passed, 1 otherwise.
"""

from __future__ import annotations

import os
import sys

from pytest_leapwork.api.client import LeapworkClient
from pytest_leapwork.runs.runner import Runner, RunRequest


def run_schedule(controller: str, key: str, schedule: str, variables: dict[str, str]) -> int:
    runner = Runner(LeapworkClient(controller, key), poll_interval=0.5)
    try:
        handle = runner.start(RunRequest(schedule, variables, timeout=3600))
        run = runner.wait(handle)
    finally:
        runner.close()
    for flow in run.flows:
        print(f"{flow.title}: {flow.status} ({flow.elapsed:.1f}s)")
        for keyframe in flow.messages:
            print(f"  {keyframe}")
    print(f"run {run.run_id}: {'passed' if run.passed else 'failed'}")
    return 0 if run.passed else 1


def main(argv: list[str]) -> int:
    schedule, *pairs = argv
    variables = dict(pair.split("=", 1) for pair in pairs)
    return run_schedule(
        os.environ["LEAPWORK_CONTROLLER"], os.environ["LEAPWORK_KEY"], schedule, variables
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
