"""The access key leaves the process only in the ``AccessKey`` header to the controller.

Not in terminal output at any verbosity, ``-rA``, ``--showlocals``, any ``--tb`` style, DEBUG
logs (urllib3's included), JUnit XML, exception text or the repr of anything the plugin makes;
masked (``****`` + last four) in the header line; not sent on to another host or scheme.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_leapwork.api.client import LeapworkClient
from pytest_leapwork.api.errors import LeapworkError
from pytest_leapwork.api.secret import Secret
from pytest_leapwork.config import Settings
from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario
from pytest_leapwork.runs.runner import RunRequest
from pytest_leapwork.session import LeapworkSession

from .support import FAST, PRELOAD_CONFTEST, SCENARIO, WITH_HTML

pytestmark = pytest.mark.usefixtures("fast_backoff", "clean_environment")

KEY = "LeakCanary7f3Q9zX2"
#: pytest-html's report, when it is installed, is one more place to look.
HTML = importlib.util.find_spec("pytest_html") is not None
#: Any eight characters of the key but the last four would be a leak too.
FRAGMENTS = [KEY[i : i + 8] for i in range(len(KEY) - 8 - 3)]

OUTCOMES = """
    import logging

    import pytest

    log = logging.getLogger("user")


    @pytest.mark.leapwork_schedule("Smoke Login")
    def test_passes(leapwork_schedule):
        log.debug("run %r", leapwork_schedule)


    @pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://broken.example.com"})
    def test_flow_fails():
        pass


    @pytest.mark.leapwork_schedule("Smoke Logn")
    def test_unknown_schedule():
        pass


    @pytest.mark.leapwork_schedule("Checkout", variables={"Undeclared": "x"})
    def test_rejected_variable():
        pass


    @pytest.mark.leapwork_schedule("Slow", timeout=0.3)
    def test_times_out():
        pass


    @pytest.mark.leapwork_schedule("Checkout")
    def test_body_fails_with_plugin_objects_in_locals(leapwork_schedule, pytestconfig):
        from pytest_leapwork.plugin import SESSION

        session = pytestconfig.stash[SESSION]
        settings = session.settings
        runner = session.runner
        client = runner.client
        # Not vars(session): under xdist it holds xdist's workerinput, whose "mainargv" is
        # the command line, --leapwork-key=... included (which is why LEAPWORK_KEY is better).
        everything = {"runner": vars(runner), "client": vars(client), "settings": settings}
        handles = runner.active()
        assert leapwork_schedule is None, "the body fails on purpose"
"""


def leaked(text: str) -> list[str]:
    return [fragment for fragment in [KEY, *FRAGMENTS] if fragment in text]


@pytest.fixture
def keyed_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(load_scenario(str(SCENARIO)), access_key=KEY) as server:
        yield server


LOUD = (
    "-vv",
    "-rA",
    "--showlocals",
    "--log-level=DEBUG",
    "--log-cli-level=DEBUG",
    "-o",
    "junit_logging=all",
    "-o",
    "log_cli=true",
    "--junitxml=out.xml",
)


@pytest.mark.parametrize("tb", ["long", "short", "native", "auto"])
@pytest.mark.parametrize("source", ["option", "environment"])
def test_key_never_in_output_or_junit(
    pytester: pytest.Pytester,
    keyed_emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tb: str,
    source: str,
) -> None:
    pytester.makepyfile(OUTCOMES)
    args = [f"--leapwork-controller={keyed_emulator.url}", *FAST, *LOUD, f"--tb={tb}"]
    if source == "option":
        args.append(f"--leapwork-key={KEY}")
    else:
        monkeypatch.setenv("LEAPWORK_KEY", KEY)
    keyed_emulator.add_fault(Fault("run_item", status=503, times=2))  # retries in the log
    if HTML:
        args += [*WITH_HTML, "--html=report.html"]
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=3, errors=2)
    output = result.stdout.str() + result.stderr.str()
    xml = (pytester.path / "out.xml").read_text(encoding="utf-8")
    if HTML:
        assert leaked((pytester.path / "report.html").read_text(encoding="utf-8")) == []
    # The checks would be empty if the loud options did nothing.
    assert "urllib3.connectionpool" in output
    assert "everything = " in output or tb == "native"
    assert "<system-out>" in xml or "<system-err>" in xml
    assert f"key ****{KEY[-4:]}" in output
    assert leaked(output) == []
    assert leaked(xml) == []
    # Every request carried it, in the header and only there.
    requests_seen = keyed_emulator.requests
    assert requests_seen
    assert all(r.headers.get("AccessKey") == KEY for r in requests_seen)
    assert not any(KEY in r.path or KEY in json.dumps(r.query) for r in requests_seen)


def test_key_never_in_output_under_xdist(
    pytester: pytest.Pytester, keyed_emulator: EmulatorServer
) -> None:
    pytester.makepyfile(OUTCOMES)
    result = pytester.runpytest_subprocess(
        f"--leapwork-controller={keyed_emulator.url}",
        f"--leapwork-key={KEY}",
        *FAST,
        *LOUD,
        "--tb=long",
        "-n",
        "2",
    )
    result.assert_outcomes(passed=1, failed=3, errors=2)
    output = result.stdout.str() + result.stderr.str()
    assert leaked(output) == []
    assert leaked((pytester.path / "out.xml").read_text(encoding="utf-8")) == []


def test_key_of_the_emulator_option_is_masked_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_it():
            pass
        """
    )
    result = pytester.runpytest(
        f"--leapwork-key={KEY}", "--leapwork-emulator", *FAST, "-rA", "-vv", "--log-level=DEBUG"
    )
    result.assert_outcomes(passed=1)
    assert leaked(result.stdout.str() + result.stderr.str()) == []


def test_key_not_in_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--leapwork-key={KEY}", "--leapwork-controller=ftp://ctl", "-vv")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert leaked(result.stdout.str() + result.stderr.str()) == []


# -- repr and exception text of everything the plugin makes ---------------------------------


def plugin_objects(root: object, depth: int = 4) -> Iterator[object]:
    """``root`` and what it holds, down to ``depth``: attributes, fields, items."""
    seen: set[int] = set()
    pending: list[tuple[object, int]] = [(root, 0)]
    while pending:
        current, level = pending.pop()
        if id(current) in seen or isinstance(current, (Secret, str, bytes, int, float)):
            continue
        seen.add(id(current))
        yield current
        if level >= depth:
            continue
        children: list[object] = []
        if isinstance(current, dict):
            children += list(current.keys()) + list(current.values())
        elif isinstance(current, (list, tuple, set, frozenset)):
            children += list(current)
        elif type(current).__module__.startswith("pytest_leapwork"):
            if dataclasses.is_dataclass(current):
                children += [getattr(current, f.name) for f in dataclasses.fields(current)]
            children += list(getattr(current, "__dict__", {}).values())
        pending += [(child, level + 1) for child in children]


def test_repr_of_everything_the_plugin_makes(keyed_emulator: EmulatorServer) -> None:
    settings = Settings(
        controller=keyed_emulator.url,
        key=Secret(KEY),
        timeout=30,
        poll_interval=0.05,
        done_counts_as_passed=True,
        max_in_flight=4,
    )
    session = LeapworkSession(settings)
    errors: list[BaseException] = []
    try:
        runner = session.runner
        handle = runner.start(RunRequest("Smoke Login", {"URL": "x"}, 30, label="t"))
        handle.wait_quietly()
        keyed_emulator.add_fault(Fault("run_now", status=502))
        keyed_emulator.add_fault(Fault("run_item_ids", action="close", times=0))
        for call in (
            lambda: runner.start(RunRequest("Checkout", {}, 30)),
            lambda: runner.start(RunRequest("Nope", {}, 30)),
            lambda: runner.client.run_status("11111111-0000-0000-0000-000000000000"),
            lambda: runner.client.run_item_ids(handle.run_id),
        ):
            with pytest.raises(LeapworkError) as info:
                call()
            errors.append(info.value)
        objects = [
            *plugin_objects(settings),
            *plugin_objects(session),
            *plugin_objects(handle),
            *errors,
        ]
        assert len(objects) > 20
        for thing in objects:
            for text in (repr(thing), str(thing)):
                assert leaked(text) == [], f"{type(thing).__name__} shows the key"
        for error in errors:
            assert leaked(repr(error.args)) == []
            assert error.__cause__ is None
    finally:
        session.close()


# -- redirects -------------------------------------------------------------------------------


def redirect_to(target: str) -> Any:
    def handler(request: Request) -> Response:
        location = target + request.full_path.rstrip("?")
        return Response("", status=307, headers={"Location": location})

    return handler


def test_redirect_to_another_host_does_not_forward_the_key(
    pytester: pytest.Pytester, httpserver: HTTPServer, keyed_emulator: EmulatorServer
) -> None:
    # The configured controller (127.0.0.1) sends everything on to "localhost": another host.
    httpserver.expect_request("/api/v4/schedules").respond_with_handler(
        redirect_to(f"http://localhost:{keyed_emulator.port}")
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_it():
            pass
        """
    )
    result = pytester.runpytest(
        f"--leapwork-controller=http://127.0.0.1:{httpserver.port}", f"--leapwork-key={KEY}", *FAST
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*could not be started*GET /schedules answered HTTP 401*"])
    assert httpserver.log[0][0].headers.get("AccessKey") == KEY
    assert keyed_emulator.requests, "the redirect was not followed"
    assert all("AccessKey" not in r.headers for r in keyed_emulator.requests)


@pytest.mark.parametrize(
    ("origin", "target"),
    [
        ("http://ctl/api/v4/schedules", "https://ctl/api/v4/schedules"),  # requests keeps it
        ("http://ctl:80/api/v4/schedules", "https://ctl:443/api/v4/schedules"),
        ("https://ctl/api/v4/schedules", "http://ctl/api/v4/schedules"),
        ("http://ctl:9001/api/v4/schedules", "https://ctl:9002/api/v4/schedules"),
        ("http://ctl:9001/api/v4/schedules", "http://ctl:9002/api/v4/schedules"),
        ("http://ctl:9001/api/v4/schedules", "http://other:9001/api/v4/schedules"),
    ],
)
def test_redirect_to_another_scheme_port_or_host_drops_the_key(origin: str, target: str) -> None:
    client = LeapworkClient("http://ctl:9001", KEY)
    try:
        previous = requests.Response()
        previous.request = requests.Request("GET", origin, headers={"AccessKey": KEY}).prepare()
        following = requests.Request("GET", target, headers={"AccessKey": KEY}).prepare()
        client.session.rebuild_auth(following, previous)
        assert "AccessKey" not in following.headers
    finally:
        client.close()


def test_redirect_on_the_same_origin_keeps_the_key() -> None:
    client = LeapworkClient("http://ctl:9001", KEY)
    try:
        previous = requests.Response()
        previous.request = requests.Request("GET", "http://ctl:9001/api/v4/schedules").prepare()
        following = requests.Request(
            "GET", "http://ctl:9001/moved/api/v4/schedules", headers={"AccessKey": KEY}
        ).prepare()
        client.session.rebuild_auth(following, previous)
        assert following.headers["AccessKey"] == KEY
    finally:
        client.close()


# -- a controller or proxy that echoes the key ------------------------------------------------


@pytest.mark.parametrize("status", [200, 500, 404])
def test_key_echoed_by_a_proxy_is_masked(
    pytester: pytest.Pytester, httpserver: HTTPServer, status: int
) -> None:
    def echo(request: Request) -> Response:
        headers = dict(request.headers)
        return Response(f"<html>debug: {headers}</html>", status=status)

    httpserver.expect_request("/api/v4/schedules").respond_with_handler(echo)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login")
        def test_it():
            pass
        """
    )
    result = pytester.runpytest(
        f"--leapwork-controller=http://127.0.0.1:{httpserver.port}",
        f"--leapwork-key={KEY}",
        *FAST,
        "-rA",
    )
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "debug:" in output
    assert leaked(output) == []


def test_key_not_in_junit_properties(
    pytester: pytest.Pytester, keyed_emulator: EmulatorServer
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_it(record_property):
            record_property("note", "user data")
        """
    )
    result = pytester.runpytest(
        f"--leapwork-controller={keyed_emulator.url}",
        f"--leapwork-key={KEY}",
        *FAST,
        "--junitxml=out.xml",
        "-o",
        "junit_family=xunit1",
    )
    result.assert_outcomes(passed=1)
    xml = Path(pytester.path / "out.xml").read_text(encoding="utf-8")
    assert "leapwork_run_id" in xml
    assert leaked(xml) == []


# -- a test interrupted while a request is on its way -----------------------------------------

SLOW_TRIGGER = """
    import pytest

    @pytest.fixture
    def leapwork_variables():  # from a fixture: triggered in the test's setup, not ahead
        return {}

    @pytest.mark.leapwork_schedule("Smoke Login")
    def test_slow_trigger():
        pass
"""
#: Every frame a traceback can show, with its locals, into the terminal and the JUnit XML.
SHOW_EVERYTHING = ("--showlocals", "--tb=long", "--junitxml=out.xml", "-o", "junit_logging=all")


def test_key_not_in_the_locals_when_pytest_timeout_fires_during_runnow(
    pytester: pytest.Pytester, keyed_emulator: EmulatorServer
) -> None:
    """pytest-timeout's signal method raises in whatever frame the test's thread is in: that
    is never a frame holding the request's headers."""
    keyed_emulator.add_fault(Fault("run_now", action="slow", delay=4))
    pytester.makepyfile(SLOW_TRIGGER)
    pytester.makeconftest(PRELOAD_CONFTEST)
    result = pytester.runpytest_subprocess(
        f"--leapwork-controller={keyed_emulator.url}",
        f"--leapwork-key={KEY}",
        *FAST,
        "--timeout=1",
        "--timeout-method=signal",
        *SHOW_EVERYTHING,
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Timeout" in output, output
    assert "self = " in output, "--showlocals showed no frame"
    assert leaked(output) == []
    assert leaked((pytester.path / "out.xml").read_text(encoding="utf-8")) == []


def test_key_not_in_the_full_trace_of_ctrl_c_during_runnow(
    pytester: pytest.Pytester, keyed_emulator: EmulatorServer
) -> None:
    """A real SIGINT while runNow is on its way, with every frame and its locals shown."""
    keyed_emulator.add_fault(Fault("run_now", action="slow", delay=3))
    pytester.makepyfile(SLOW_TRIGGER)
    process = pytester.popen(
        [
            sys.executable,
            "-m",
            "pytest",
            f"--leapwork-controller={keyed_emulator.url}",
            f"--leapwork-key={KEY}",
            *FAST,
            "--full-trace",
            *SHOW_EVERYTHING,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while keyed_emulator.count_requests("schedules") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # runNow is on its way now: its answer takes 3 s
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output = stdout.decode() + stderr.decode()
    assert "KeyboardInterrupt" in output, output
    assert "self = " in output, "--showlocals showed no frame"
    assert leaked(output) == []
    assert leaked((pytester.path / "out.xml").read_text(encoding="utf-8")) == []


# -- a key that a cut would leave half-masked ---------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "cut_at"),
    [
        (Fault("schedules", action="malformed_json"), 120),  # the not-JSON snippet
        (Fault("schedules", action="status", status=404), 300),  # the error body
    ],
    ids=["not-json", "error-status"],
)
def test_key_straddling_a_cut_is_masked_whole(
    pytester: pytest.Pytester, keyed_emulator: EmulatorServer, fault: Fault, cut_at: int
) -> None:
    """Masked first, then cut: a key that starts a few characters before the cut leaves no
    prefix behind."""
    lead = "<p>AccessKey="
    body = "x" * (cut_at - len(lead) - 10) + lead + KEY + "</p>" + "y" * 50
    keyed_emulator.add_fault(dataclasses.replace(fault, body=body))
    pytester.makepyfile(SLOW_TRIGGER)
    result = pytester.runpytest(
        f"--leapwork-controller={keyed_emulator.url}",
        f"--leapwork-key={KEY}",
        *FAST,
        "--junitxml=out.xml",
    )
    result.assert_outcomes(errors=1)
    output = result.stdout.str() + result.stderr.str()
    assert "AccessKey=" in output
    assert leaked(output) == []
    assert leaked((pytester.path / "out.xml").read_text(encoding="utf-8")) == []


def test_no_frame_of_the_calling_thread_holds_the_key(httpserver: HTTPServer) -> None:
    """While a request waits for its answer, the caller's stack (the one a test's traceback
    shows) holds nothing that is or shows the key; the request's own thread shows it masked."""

    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response("[]", content_type="application/json")

    httpserver.expect_request("/api/v4/schedules").respond_with_handler(slow)
    client = LeapworkClient(f"http://127.0.0.1:{httpserver.port}", KEY)
    caller = threading.Thread(target=client.list_schedules, name="the-test")
    caller.start()
    try:
        time.sleep(0.4)
        requesting = {t.ident for t in threading.enumerate() if t.name == "leapwork-request"}
        assert requesting, "the request does not run on a thread of its own"
        ours = {caller.ident, *requesting}
        shown: list[str] = []
        held: list[str] = []
        for ident, frame in sys._current_frames().items():
            if ident not in ours:
                continue  # the server's threads
            walk: FrameType | None = frame
            while walk is not None:
                for name, value in walk.f_locals.items():
                    text = repr(value)
                    shown += [f"{walk.f_code.co_name}: {name}"] if KEY in text else []
                    if ident == caller.ident and isinstance(value, str) and KEY in value:
                        held.append(f"{walk.f_code.co_name}: {name}")
                walk = walk.f_back
        assert shown == []
        assert held == []
    finally:
        caller.join(timeout=10)
        client.close()
