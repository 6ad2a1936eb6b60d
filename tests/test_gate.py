"""One gate for every request: a controller that never finishes answering costs at most the bound.

Every request the client can make meets three faults on the wire of a real emulator: a hang
(the answer comes long after the bound), a 429 whose Retry-After is an hour, and a body that
drips in one byte at a time. With a client bound to about a second, each call raises a
``LeapworkError`` naming its request, well before the fault would have let it go, whether a
test's thread or one of the package's own threads (named ``leapwork-...``) calls. The calls run
all at once in one module fixture, so the module takes seconds; each case is a test of its own.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import pytest_leapwork.api.transport as transport_module
from pytest_leapwork.api.client import OWN_THREADS, LeapworkClient
from pytest_leapwork.api.errors import AnswerTooSlow, ControllerHTTPError, LeapworkError
from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario

SCENARIO = Path(__file__).with_name("scenario.toml")
CHECKOUT_ID = "11111111-aaaa-4bbb-8ccc-000000000002"

#: The bound of the clients under test, in seconds: enough for dozens of answers at once on a
#: machine busy with the rest of the suite (at 1 s, some 429s arrived past it).
BOUND = 3.0
#: Generous room over the bound: dozens of requests at once on a shared machine.
SLACK = 3.0
#: The hung answer comes after this long; every dripping answer (20 bytes at least) takes
#: 20 * DRIP: both far past BOUND + SLACK, so a call that waited for them fails the bound.
HANG = 15.0
DRIP = 0.5

FAULTS: dict[str, Callable[[str], Fault]] = {
    "hang": lambda endpoint: Fault(endpoint, action="slow", delay=HANG, times=0),
    "retry_after": lambda endpoint: Fault(endpoint, status=429, retry_after=3600, times=0),
    "drip": lambda endpoint: Fault(endpoint, action="drip", delay=DRIP, times=0),
}


@dataclass(frozen=True)
class Ids:
    """Real ids of one emulator: a schedule, a finished run, its first item, flow and agent."""

    schedule: str
    run: str
    item: str
    flow: str
    agent: str
    folder: Path


@dataclass(frozen=True)
class Request:
    endpoint: str  # the emulator's name for it, as faults take it
    label: str  # the client's name for it, as its messages say it
    call: Callable[[LeapworkClient, Ids], object]


#: Every request the client can make, by the public method that makes it.
REQUESTS: dict[str, Request] = {
    "list_schedules": Request("schedules", "GET /schedules", lambda c, i: c.list_schedules()),
    "schedule_hierarchy": Request(
        "schedules_hierarchy", "GET /schedules/hierarchy", lambda c, i: c.schedule_hierarchy()
    ),
    "run_now": Request(
        "run_now", "PUT /schedules/{id}/runNow", lambda c, i: c.run_now(i.schedule, {})
    ),
    "declared_variables": Request(
        "schedule", "GET /schedules/{id}", lambda c, i: c.declared_variables(i.schedule)
    ),
    "schedule_run_ids": Request(
        "schedule_run_ids",
        "GET /schedules/{id}/runIds",
        lambda c, i: c.schedule_run_ids(i.schedule),
    ),
    "schedule_status": Request(
        "schedule_status", "GET /schedules/{id}/status", lambda c, i: c.schedule_status(i.schedule)
    ),
    "run_flow": Request(
        "run_flow", "PUT /flows/{id}/agent/{id}", lambda c, i: c.run_flow(i.flow, i.agent, {})
    ),
    "run_status": Request("run_status", "GET /run/{id}/status", lambda c, i: c.run_status(i.run)),
    "run_summary": Request("run", "GET /run/{id}", lambda c, i: c.run_summary(i.run)),
    "run_item_ids": Request(
        "run_item_ids", "GET /run/{id}/runItemIds", lambda c, i: c.run_item_ids(i.run)
    ),
    "run_item": Request("run_item", "GET /runItems/{id}", lambda c, i: c.run_item(i.item)),
    "keyframes": Request(
        "keyframes", "GET /runItems/{id}/keyframes", lambda c, i: c.keyframes(i.item)
    ),
    "download_video": Request(
        "video",
        "GET /runItems/{id}/video",
        lambda c, i: c.download_video(i.item, str(i.folder / "video"), 10**8),
    ),
    "stop_run": Request("stop_run", "PUT /run/{id}/stop", lambda c, i: c.stop_run(i.run)),
}

#: Public methods of the client that send nothing.
NOT_REQUESTS = {"close"}

#: Who calls: a test's thread, and one of the package's own (which once ran requests inline).
CALLERS = ("test-thread", f"{OWN_THREADS}poller")


@dataclass
class Outcome:
    error: BaseException | None = None
    returned: object = None
    seconds: float = float("inf")


@dataclass
class Made:
    """What the module's calls did, by (method, fault, caller); the download folder by fault."""

    outcomes: dict[tuple[str, str, str], Outcome]
    folders: dict[str, Path]

    def error(self, method: str, fault: str, caller: str = CALLERS[0]) -> BaseException | None:
        return self.outcomes[(method, fault, caller)].error


def finished_run(server: EmulatorServer, folder: Path) -> Ids:
    """Run the Checkout schedule to its end on ``server`` (no fault yet); its ids."""
    client = LeapworkClient(server.url, server.access_key)
    try:
        run = client.run_now(CHECKOUT_ID, {})
        until = time.monotonic() + 10
        while client.run_status(run) != "Finished" and time.monotonic() < until:
            time.sleep(0.05)
        item = client.run_item_ids(run)[0]
    finally:
        client.close()
    answer = requests.get(
        f"{server.url}/api/v4/runItems/{item}",
        headers={"AccessKey": server.access_key},
        timeout=10,
    ).json()
    return Ids(
        CHECKOUT_ID, run, item, answer["FlowInfo"]["FlowId"], answer["AgentInfo"]["AgentId"], folder
    )


def timed(call: Callable[[], object], outcome: Outcome) -> None:
    started = time.monotonic()
    try:
        outcome.returned = call()
    except BaseException as exc:  # the test looks at whatever it was
        outcome.error = exc
    outcome.seconds = time.monotonic() - started


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    """Every request x fault x caller, made all at once against emulators with real faults."""
    servers: list[EmulatorServer] = []
    clients: list[LeapworkClient] = []
    calls: list[threading.Thread] = []
    results = Made({}, {})
    try:
        for fault_name, fault in FAULTS.items():
            server = EmulatorServer(load_scenario(str(SCENARIO))).start()
            servers.append(server)
            folder = results.folders[fault_name] = tmp_path_factory.mktemp(fault_name)
            ids = finished_run(server, folder)
            for request in REQUESTS.values():
                server.add_fault(fault(request.endpoint))
            client = LeapworkClient(server.url, server.access_key, bound=BOUND)
            clients.append(client)
            for method, request in REQUESTS.items():
                for caller in CALLERS:
                    outcome = results.outcomes[(method, fault_name, caller)] = Outcome()
                    work = lambda r=request, c=client, i=ids: r.call(c, i)  # noqa: E731
                    calls.append(
                        threading.Thread(
                            target=timed, args=(work, outcome), name=caller, daemon=True
                        )
                    )
        for thread in calls:
            thread.start()
        for thread in calls:
            thread.join(timeout=HANG + 5)
        yield results
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", REQUESTS)
def test_a_controller_that_never_finishes_answering_costs_at_most_the_bound(
    made: Made, method: str, fault: str, caller: str
) -> None:
    outcome = made.outcomes[(method, fault, caller)]
    request = REQUESTS[method]
    assert outcome.seconds < BOUND + SLACK, f"{method} took {outcome.seconds:.1f} s"
    assert isinstance(outcome.error, LeapworkError), (outcome.error, outcome.returned)
    message = str(outcome.error)
    assert request.label in message
    assert "Traceback" not in message
    assert outcome.error.__cause__ is None and outcome.error.__traceback__ is not None
    if fault == "retry_after":
        # The controller's own answer, given up at once rather than slept on for an hour.
        assert isinstance(outcome.error, ControllerHTTPError)
        assert outcome.error.status == 429
    else:
        assert isinstance(outcome.error, AnswerTooSlow)
        happened = "no answer from" if fault == "hang" else "was still arriving after"
        assert f"{happened} " in message
        assert f"{BOUND:g} s, the bound on any request to the controller" in message


def test_a_retry_after_past_the_bound_says_it_was_not_waited_for(made: Made) -> None:
    """A GET would be asked again after the Retry-After; past the bound, the message says why
    it was not."""
    message = str(made.error("list_schedules", "retry_after"))
    assert message.startswith("GET /schedules answered HTTP 429")
    assert (
        "it asks to be asked again after 3600 s (Retry-After), past the "
        f"{BOUND:g} s, the bound on any request to the controller: not waited for"
    ) in message


def test_a_video_that_drips_leaves_no_file(made: Made) -> None:
    assert isinstance(made.error("download_video", "drip"), AnswerTooSlow)
    time.sleep(DRIP * 2)  # the request thread gives up at the next byte, and cleans up
    assert list(made.folders["drip"].iterdir()) == []


def test_every_request_method_of_the_client_is_proven_bounded() -> None:
    """A new public method that sends a request must join ``REQUESTS`` above."""
    public = {
        name
        for name, member in inspect.getmembers(LeapworkClient, inspect.isfunction)
        if not name.startswith("_")
    }
    assert public - NOT_REQUESTS == set(REQUESTS)


def test_the_bound_is_read_when_a_client_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test or a conftest can lower the session's bound; ``bound=`` overrides it."""
    assert LeapworkClient("http://ctl:9001", "k" * 16).bound == 60.0
    monkeypatch.setattr(transport_module, "REQUEST_BOUND_SECONDS", 2.5)
    assert LeapworkClient("http://ctl:9001", "k" * 16).bound == 2.5
    assert LeapworkClient("http://ctl:9001", "k" * 16, bound=7).bound == 7


def test_a_callers_tighter_limit_keeps_its_message() -> None:
    """``within`` shorter than the bound: the message quoted in the docs, word for word."""
    server = EmulatorServer(load_scenario(str(SCENARIO))).start()
    client = LeapworkClient(server.url, server.access_key, bound=BOUND * 5)
    try:
        server.add_fault(Fault("schedules", action="slow", delay=HANG, times=0))
        started = time.monotonic()
        with pytest.raises(AnswerTooSlow) as info:
            client.list_schedules(within=0.5)
        assert time.monotonic() - started < 0.5 + SLACK
    finally:
        client.close()
        server.stop()
    assert str(info.value) == f"GET /schedules: no answer from {server.url} within 0.5 s"
