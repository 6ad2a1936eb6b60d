"""At the edges: a dead controller, a hostile answer, a huge answer, sessions that only look.

Each case is a real pytest session against the emulator (or a port nobody listens on) with
the fault on the wire. See the "At the edges" section of docs/faults.md.
"""

from __future__ import annotations

import os
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

import pytest_leapwork.api.client as client_module
import pytest_leapwork.runs.schedules as schedules_module
from pytest_leapwork.emulator import EmulatorServer, Fault

from .support import FAST, RunPytest

ELEVEN_TESTS = """
    import pytest

    @pytest.mark.parametrize("n", range(11))
    @pytest.mark.leapwork_schedule("Smoke Login")
    def test_it(n):
        pass
"""
SMOKE_ID = "11111111-aaaa-4bbb-8ccc-000000000001"
ERRORS = "--junitxml=errors.xml"


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A port that refuses connections: bound, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def error_messages(pytester: pytest.Pytester) -> list[str]:
    """The message of each errored test, from the session's ``--junitxml=errors.xml``."""
    tree = ET.parse(pytester.path / "errors.xml")
    return [error.get("message", "") for error in tree.iter("error")]


# -- one answer per session for a dead controller ----------------------------------------------


def test_dead_controller_is_one_answer_for_the_whole_session(
    pytester: pytest.Pytester, refused_url: str
) -> None:
    """Refused after the retries once (real backoff: 0, 1, 2 s); the other ten tests get the
    same message at once instead of retrying on their own (33 s before)."""
    pytester.makepyfile(ELEVEN_TESTS)
    started = time.monotonic()
    result = pytester.runpytest(
        f"--leapwork-controller={refused_url}", "--leapwork-key=EMULATORKEY00001", *FAST, ERRORS
    )
    elapsed = time.monotonic() - started
    result.assert_outcomes(errors=11)
    messages = error_messages(pytester)
    assert len(messages) == 11
    assert len(set(messages)) == 1, messages
    assert "cannot reach the controller" in messages[0]
    assert "(4 attempts)" in messages[0]
    assert elapsed < 20, f"11 tests against a dead controller took {elapsed:.1f}s"


@pytest.mark.parametrize("workers", [0, 2])
def test_wrong_key_costs_a_request_or_two_not_one_per_test(
    pytester: pytest.Pytester, emulator: EmulatorServer, workers: int
) -> None:
    pytester.makepyfile(ELEVEN_TESTS)
    args = [f"--leapwork-controller={emulator.url}", "--leapwork-key=WRONGKEY12345678", *FAST]
    if workers:
        result = pytester.runpytest_subprocess(*args, "-n", str(workers), ERRORS)
    else:
        result = pytester.runpytest(*args, ERRORS)
    result.assert_outcomes(errors=11)
    messages = error_messages(pytester)
    assert len(set(messages)) == 1, messages
    assert "HTTP 401 (the access key is wrong, expired or lacks the scope)" in messages[0]
    # One refused request per process that has tests: the session, or each xdist worker.
    assert emulator.count_requests() <= max(workers, 1)
    assert emulator.count_requests("run_now") == 0


def test_schedule_list_that_never_comes_fails_once_for_the_session(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hung GET /schedules is waited for once, within a bound, then remembered."""
    monkeypatch.setattr(schedules_module, "LIST_SECONDS", 0.5)
    emulator.add_fault(Fault("schedules", action="slow", delay=2, times=0))
    pytester.makepyfile(ELEVEN_TESTS.replace("range(11)", "range(3)"))
    result = run_pytest(ERRORS)
    result.assert_outcomes(errors=3)
    messages = error_messages(pytester)
    assert len(set(messages)) == 1, messages
    assert "GET /schedules: no answer from" in messages[0]
    assert "within 0.5 s" in messages[0]
    time.sleep(2.5)  # the emulator records a request once it has answered it
    assert emulator.count_requests("schedules") == 1
    assert emulator.count_requests("run_now") == 0


# -- sessions that only show what would run -------------------------------------------------------


@pytest.mark.parametrize(
    "option", ["--setup-plan", "--fixtures", "--fixtures-per-test", "--markers", "--collect-only"]
)
def test_looking_needs_no_controller_and_sends_nothing(
    pytester: pytest.Pytester, emulator: EmulatorServer, option: str
) -> None:
    pytester.makepyfile(ELEVEN_TESTS)
    without = pytester.runpytest(*FAST, option)
    assert without.ret == pytest.ExitCode.OK, without.stdout.str() + without.stderr.str()
    with_controller = pytester.runpytest(
        f"--leapwork-controller={emulator.url}", f"--leapwork-key={emulator.access_key}", option
    )
    assert with_controller.ret == pytest.ExitCode.OK
    assert emulator.count_requests() == 0
    assert emulator.runs == []


# -- ids from answers never steer a request -------------------------------------------------------

INJECTED = f"../schedules/{SMOKE_ID}/runNow?Injected=1&x="


def test_run_id_that_is_a_path_is_refused(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """A RunId that would turn the stop into a second runNow never reaches a URL."""
    emulator.add_fault(
        Fault("run_now", action="wrong_shape", body=f'{{"RunId": "{INJECTED}"}}', times=0)
    )
    pytester.makepyfile(ELEVEN_TESTS.replace("range(11)", "range(1)"))
    result = run_pytest("-rE")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*could not be started: PUT /schedules/{id}/runNow: runNow answer: RunId "
            "'../schedules/*' is not a GUID; runNow is not retried*"
        ]
    )
    assert emulator.count_requests("run_now") == 1
    assert all("Injected" not in str(r.query) for r in emulator.requests)
    assert emulator.count_requests("stop_run") == 0


def test_schedule_id_that_is_a_path_is_refused(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    body = f'[{{"Id": "{INJECTED}", "Title": "Smoke Login", "IsEnabled": true}}]'
    emulator.add_fault(Fault("schedules", action="wrong_shape", body=body, times=0))
    pytester.makepyfile(ELEVEN_TESTS.replace("range(11)", "range(1)"))
    result = run_pytest("-rE")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*could not be started: the controller gave schedule id '../schedules/*not a GUID*"]
    )
    assert emulator.count_requests("run_now") == 0


# -- reports of ours never cost pytest's ----------------------------------------------------------


def test_report_that_cannot_be_written_at_the_end_spares_pytests_own(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    """The path was fine at configure; by the end its directory is a file (a full disk, a
    cleanup job): the summary says so, pytest's --junitxml is written, the test still passes."""
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_it():
            os.rmdir("reports")
            open("reports", "w").close()
        """
    )
    (pytester.path / "reports").mkdir()
    result = run_pytest("--leapwork-junitxml=reports/leapwork.xml", "--junitxml=pytest.xml")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["leapwork: --leapwork-junitxml: could not write *leapwork.xml*"])
    ET.parse(pytester.path / "pytest.xml")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_report_in_a_directory_that_is_not_writable(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    locked = pytester.path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        pytester.makepyfile(ELEVEN_TESTS.replace("range(11)", "range(1)"))
        result = run_pytest("--leapwork-junitxml=locked/out/leapwork.xml")
    finally:
        locked.chmod(0o700)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot write 'locked/out/leapwork.xml'*is not writable*"])


# -- huge answers -----------------------------------------------------------------------------------

FAILING_FLOW = """
    import pytest

    @pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://broken.example.com"})
    def test_it():
        pass
"""
#: Output and reports stay this small whatever the controller sends.
BOUND = 100_000


def outputs(pytester: pytest.Pytester, result: pytest.RunResult) -> dict[str, str]:
    return {
        "terminal": result.stdout.str() + result.stderr.str(),
        "junitxml": (pytester.path / "pytest.xml").read_text(encoding="utf-8"),
        "leapwork-junitxml": (pytester.path / "leapwork.xml").read_text(encoding="utf-8"),
    }


REPORTS = ("--junitxml=pytest.xml", "--leapwork-junitxml=leapwork.xml", "-rA")


def test_keyframes_answer_over_the_cap_is_not_read(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A keyframe of megabytes (50 MB against a real controller; 2 MB over a 1 MB cap here)."""
    monkeypatch.setattr(client_module, "MAX_ANSWER_BYTES", 1024 * 1024)
    emulator.add_fault(
        Fault("keyframes", action="huge", field="LogMessage", size=2_000_000, times=0)
    )
    pytester.makepyfile(FAILING_FLOW)
    result = run_pytest(*REPORTS)
    result.assert_outcomes(failed=1)
    texts = outputs(pytester, result)
    assert "GET /runItems/{id}/keyframes answered more than 1 MB" in texts["terminal"]
    for where, text in texts.items():
        assert len(text) < BOUND, f"{where}: {len(text):,} characters"


@pytest.mark.parametrize(
    ("endpoint", "field", "shown"),
    [
        ("keyframes", "LogMessage", "cut: 600,000 characters in all"),
        ("run_item", "FlowTitle", "cut: 600,000 characters in all"),
    ],
)
def test_huge_text_under_the_cap_is_cut_with_a_note(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    endpoint: str,
    field: str,
    shown: str,
) -> None:
    emulator.add_fault(Fault(endpoint, action="huge", field=field, size=600_000, times=0))
    pytester.makepyfile(FAILING_FLOW)
    result = run_pytest(*REPORTS)
    result.assert_outcomes(failed=1)
    texts = outputs(pytester, result)
    assert shown in texts["terminal"]
    for where, text in texts.items():
        assert len(text) < BOUND, f"{where}: {len(text):,} characters"


def test_schedule_list_over_the_cap_is_a_clear_error(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_module, "MAX_ANSWER_BYTES", 1024 * 1024)
    emulator.add_fault(Fault("schedules", action="huge", size=2_000_000, times=0))
    pytester.makepyfile(ELEVEN_TESTS.replace("range(11)", "range(2)"))
    result = run_pytest("-rE")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*GET /schedules answered more than 1 MB*"])
    assert emulator.count_requests("schedules") == 1


# -- a variable the schedule does not declare -------------------------------------------------------


def test_rejected_variable_names_what_was_sent_and_what_the_schedule_declares(
    pytester: pytest.Pytester, httpserver: HTTPServer
) -> None:
    """Against a controller whose 400 names the variable and whose schedule lists its own."""
    httpserver.expect_request("/api/v4/schedules").respond_with_json(
        [{"Id": SMOKE_ID, "Title": "Smoke Login", "IsEnabled": True}]
    )
    httpserver.expect_request(f"/api/v4/schedules/{SMOKE_ID}/runNow").respond_with_data(
        "Variable name 'Undeclared' is invalid", status=400
    )
    httpserver.expect_request(f"/api/v4/schedules/{SMOKE_ID}").respond_with_json(
        {
            "Id": SMOKE_ID,
            "Title": "Smoke Login",
            "Variables": [{"Name": "URL"}, {"Name": "Browser"}],
        }
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "x", "Undeclared": "y"})
        def test_it():
            pass
        """
    )
    result = pytester.runpytest(
        f"--leapwork-controller=http://127.0.0.1:{httpserver.port}",
        "--leapwork-key=EMULATORKEY00001",
        *FAST,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*runNow answered HTTP 400 (a variable name is not declared in the schedule, or is "
            "given twice): Variable name 'Undeclared' is invalid; variables sent: URL, Undeclared; "
            "the controller names 'Undeclared'; not declared: 'Undeclared'; the schedule declares "
            "URL, Browser*"
        ]
    )
