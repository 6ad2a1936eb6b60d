"""One planning policy, two stores: the in-process plan (in memory) and the xdist one (a file
log every worker shares). The policy is driven here by a fake clock, against the emulator:
with the memory store, and with two file stores on one directory standing for two workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_leapwork.api.client import LeapworkClient
from pytest_leapwork.api.errors import AlreadyRunning
from pytest_leapwork.emulator import EmulatorServer, Fault, Scenario, load_scenario
from pytest_leapwork.emulator.scenario import default_flow_id
from pytest_leapwork.runs.plan_store import MemoryStore, PlanStore
from pytest_leapwork.runs.planning import Planner
from pytest_leapwork.runs.runner import RunHandle, Runner, RunRequest
from pytest_leapwork.runs.targets import FlowTarget
from pytest_leapwork.xdist.store import PlanLog
from tests.features.support import AGENT_ONE, LOG_IN_FLOW
from tests.features.support import FOLDERS_SCENARIO as FEATURES_SCENARIO

from .support import RunPytest

AGENT = "33333333-aaaa-4bbb-8ccc-00000000a001"
FLOW = default_flow_id("Only")
#: Generous: the policy answers in milliseconds; a slow machine must not make a test flaky.
PATIENCE = 10.0
#: Fake seconds that end every run of the scenario.
LATER = 60.0


class FakeClock:
    """Time for the emulator's runs and the runners' deadlines, stepped by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[EmulatorServer]:
    schedules = [{"title": f"S{i}", "flows": [{"title": "Only", "seconds": 1}]} for i in range(4)]
    schedules.append(
        {"title": "Busy", "reject_when_running": True, "flows": [{"title": "Only", "seconds": 1}]}
    )
    for schedule in schedules:
        schedule["flows"][0]["agent"] = "Agent"
    scenario = Scenario.from_dict(
        {"agents": [{"title": "Agent", "id": AGENT}], "schedules": schedules}, "planning"
    )
    with EmulatorServer(scenario, clock=clock) as emulator:
        yield emulator


@dataclass
class Plans:
    """The planners of one session: one in memory, or two workers sharing a file log."""

    clock: FakeClock
    emulator: EmulatorServer
    stores: list[PlanStore] = field(default_factory=list)
    runners: list[Runner] = field(default_factory=list)
    planners: list[Planner] = field(default_factory=list)

    def planner(self, worker: int) -> Planner:
        """The planner of worker ``worker``: the same one throughout without xdist."""
        return self.planners[worker % len(self.planners)]

    def state_of(self, key: str, worker: int = 0) -> object:
        with self.stores[worker % len(self.stores)].locked() as state:
            return state.entry(key)

    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.emulator.runs]


MakePlans = Callable[..., Plans]


@pytest.fixture(params=["memory", "files"])
def make_plans(
    request: pytest.FixtureRequest, clock: FakeClock, server: EmulatorServer, tmp_path: Path
) -> Iterator[MakePlans]:
    made: list[Plans] = []

    def make(window: int, emulator: EmulatorServer = server, kind: str = request.param) -> Plans:
        plans = Plans(clock, emulator)
        for worker in range(1 if kind == "memory" else 2):
            client = LeapworkClient(emulator.url, emulator.access_key)
            runner = Runner(client, poll_interval=0.05, clock=clock)
            store: PlanStore = MemoryStore() if kind == "memory" else PlanLog(str(tmp_path))
            plans.stores.append(store)
            plans.runners.append(runner)
            plans.planners.append(Planner(runner, window, store, f"gw{worker}"))
        made.append(plans)
        return plans

    yield make
    for plans in made:
        for runner in plans.runners:
            runner.close()


def schedule(title: str, **variables: str) -> RunRequest:
    return RunRequest(title, variables, timeout=600.0, label=f"test of {title}")


def flow_run() -> RunRequest:
    return RunRequest(FLOW, {}, timeout=600.0, label="flow test", flow=FlowTarget(FLOW, AGENT))


def wait_for(condition: Callable[[], bool]) -> None:
    give_up = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < give_up, "the plan did not get there"
        time.sleep(0.02)


def max_overlap(emulator: EmulatorServer) -> int:
    """The most runs that were unfinished on the controller at one moment (fake time)."""
    events = []
    for run in emulator.runs:
        events += [(run.created_at, 1), (run.end_at or float("inf"), -1)]
    running = peak = 0
    for _, step in sorted(events):
        running += step
        peak = max(peak, running)
    return peak


def test_the_window_counts_the_runs_of_every_worker(make_plans: MakePlans) -> None:
    plans = make_plans(window=2)
    entries = [(f"t{i}", schedule(f"S{i}")) for i in range(4)]
    for planner in plans.planners:  # every worker plans the whole session, as under xdist
        planner.plan(entries)
    assert len(plans.emulator.runs) == 2
    plans.clock.now += LATER  # the first two end: their places go to the next two
    wait_for(lambda: len(plans.emulator.runs) == 4)
    taken = [plans.planner(i).take(key, request) for i, (key, request) in enumerate(entries)]
    assert sorted(h.run_id for h in taken) == sorted(plans.run_ids())
    assert plans.emulator.count_requests("run_now") == 4
    assert max_overlap(plans.emulator) == 2


def test_a_tests_run_is_triggered_once_whichever_worker_takes_it(make_plans: MakePlans) -> None:
    plans = make_plans(window=4)
    plans.planner(0).plan([("t0", schedule("S0"))])
    handle = plans.planner(1).take("t0", schedule("S0"))
    assert plans.run_ids() == [handle.run_id]
    plans.clock.now += LATER
    assert handle.wait_done(PATIENCE)
    assert handle.outcome().passed
    assert plans.emulator.count_requests("run_now") == 1


def test_a_run_that_ended_before_its_test_came_is_read_not_triggered_again(
    make_plans: MakePlans,
) -> None:
    plans = make_plans(window=4)
    plans.planner(0).plan([("t0", schedule("S0"))])
    plans.clock.now += LATER
    wait_for(lambda: getattr(plans.state_of("t0", worker=1), "ended", False))
    handle = plans.planner(1).take("t0", schedule("S0"))
    assert handle.done and handle.outcome().passed
    assert plans.run_ids() == [handle.run_id]


def test_a_run_started_with_other_variables_is_superseded(make_plans: MakePlans) -> None:
    plans = make_plans(window=4)
    plans.planner(0).plan([("t0", schedule("S0", URL="planned"))])
    handle = plans.planner(1).take("t0", schedule("S0", URL="from a fixture"))
    first, second = plans.emulator.runs
    assert first.stopped and first.variables == {"URL": "planned"}
    assert not second.stopped and second.variables == {"URL": "from a fixture"}
    assert handle.run_id == second.run_id


def test_a_refusal_at_plan_time_is_retried_at_the_tests_turn(make_plans: MakePlans) -> None:
    """HTTP 410 (the schedule is already running): no run was made, so one at the test's
    turn, once the session's run of the schedule ended, duplicates nothing."""
    plans = make_plans(window=2)
    plans.planner(0).plan([("t0", schedule("Busy")), ("t1", schedule("Busy"))])
    assert plans.emulator.count_requests("run_now") == 2
    assert len(plans.emulator.runs) == 1
    first = plans.planner(0).take("t0", schedule("Busy"))
    taken: list[RunHandle] = []
    taker = threading.Thread(
        target=lambda: taken.append(plans.planner(1).take("t1", schedule("Busy")))
    )
    taker.start()
    taker.join(0.5)
    assert taker.is_alive(), "the test did not wait for the run of its schedule to end"
    assert len(plans.emulator.runs) == 1
    plans.clock.now += LATER
    taker.join(PATIENCE)
    [second] = taken
    assert [first.run_id, second.run_id] == plans.run_ids()


def test_a_refused_flow_run_is_the_same_error_with_either_store(
    clock: FakeClock, server: EmulatorServer, make_plans: MakePlans
) -> None:
    """A flow run's temporary schedule is no run of the session's to wait for: the 410 is
    the test's error, word for word the same with and without xdist."""
    server.add_fault(Fault("run_flow", status=410, times=0))
    messages = []
    for kind in ("memory", "files"):
        plans = make_plans(window=2, kind=kind)
        plans.planner(0).plan([("t0", flow_run())])
        with pytest.raises(AlreadyRunning) as refused:
            plans.planner(1).take("t0", flow_run())
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    assert "answered HTTP 410 (the schedule is already running)" in messages[0]


def test_release_hands_back_the_run_started_for_a_test_that_ended_early(
    make_plans: MakePlans,
) -> None:
    plans = make_plans(window=1)
    plans.planner(0).plan([("t0", schedule("S0"))])
    [handle] = plans.planner(1).release("t0")
    assert plans.run_ids() == [handle.run_id]
    # What the session does with it: stop it now, not at the session's end.
    plans.runners[-1].stop(handle, "its test ended before it took its run")
    assert plans.emulator.runs[0].stopped


def test_release_before_the_start_means_the_run_is_never_started(make_plans: MakePlans) -> None:
    plans = make_plans(window=1)
    plans.planner(0).plan([("t0", schedule("S0")), ("t1", schedule("S1"))])
    assert plans.planner(1).release("t1") == []
    plans.clock.now += LATER  # t0's run ends: its place would have gone to t1
    wait_for(lambda: bool(getattr(plans.state_of("t0"), "ended", False)))
    time.sleep(0.2)  # long enough for a fill that should not happen to send its runNow
    assert plans.emulator.count_requests("run_now") == 1


# -- end to end -------------------------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """The flow-marker tests' controller (overrides the shared one for ``run_pytest``)."""
    with EmulatorServer(load_scenario(str(FEATURES_SCENARIO))) as emulator:
        yield emulator


def test_a_flow_run_refused_with_410_says_so_with_and_without_xdist(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("run_flow", status=410, times=0))
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.leapwork_flow("{LOG_IN_FLOW}", agent="{AGENT_ONE}")
        def test_flow():
            pass
        """
    )
    said = []
    for workers in ([], ["-n", "1"]):
        result = run_pytest(*workers, subprocess=True)
        result.assert_outcomes(errors=1)
        said += [line for line in result.outlines if line.startswith("Leapwork flow")]
    assert (
        said
        == [
            f"Leapwork flow {LOG_IN_FLOW} on agent {AGENT_ONE} could not be started: "
            "PUT /flows/{id}/agent/{id} answered HTTP 410 (the schedule is already running): "
            "Schedule is already running"
        ]
        * 2
    )
