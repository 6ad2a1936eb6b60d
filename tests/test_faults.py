"""Infrastructure faults, each injected by the emulator, as a user meets them in a pytest run.

A test fails only when its schedule fails: trouble while following a run is ridden out,
trouble that cannot be ridden out is a setup error saying exactly what went wrong (endpoint,
status, attempts), runNow is never sent twice, and nothing ends in an INTERNALERROR, a hang
past the run's timeout or a bare traceback from inside requests. See docs/faults.md.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError

import pytest_leapwork.api.client as client_module
from pytest_leapwork.api.client import LeapworkClient
from pytest_leapwork.emulator import EmulatorServer, Fault

from .support import RunPytest, on_status

pytestmark = pytest.mark.usefixtures("fast_backoff")

#: GET retries of the client (3) plus the first attempt.
GET_ATTEMPTS = 4
CHECKOUT_ID = "11111111-aaaa-4bbb-8ccc-000000000002"
REAL_BACKOFF = (client_module.BACKOFF_FACTOR, client_module.BACKOFF_MAX)


def write_test(pytester: pytest.Pytester, marker_args: str = '"Smoke Login"') -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.leapwork_schedule({marker_args})
        def test_it(leapwork_schedule):
            assert leapwork_schedule.run_id
        """
    )


def assert_clean(result: pytest.RunResult) -> str:
    """Whatever the outcome: no INTERNALERROR, no traceback, no object reprs from requests."""
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert "Traceback" not in output
    assert "object at 0x" not in output
    assert "requests.exceptions" not in output
    assert "urllib3.exceptions" not in output
    return output


def timed(run: RunPytest, *args: str) -> tuple[pytest.RunResult, float]:
    started = time.monotonic()
    result = run(*args)
    return result, time.monotonic() - started


def test_backoff_is_exponential_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_FACTOR", REAL_BACKOFF[0])
    client = LeapworkClient("http://ctl:9001", "k" * 16)
    adapter = client.session.get_adapter("http://ctl:9001")
    assert isinstance(adapter, HTTPAdapter)
    retry = adapter.max_retries.new(total=10, read=10)
    waits = []
    for _ in range(7):
        retry = retry.increment(
            "GET", "/api/v4/schedules", error=ProtocolError("Connection aborted.")
        )
        waits.append(retry.get_backoff_time())
    client.close()
    assert waits == [0, 1, 2, 4, 8, 8, 8]
    assert REAL_BACKOFF[1] == 8


def test_retry_after_is_honoured_while_polling(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    for fault in on_status(status=503, retry_after=1):
        emulator.add_fault(fault)
    write_test(pytester, '"Checkout"')
    result, elapsed = timed(run_pytest)
    assert_clean(result)
    result.assert_outcomes(passed=1)
    assert elapsed >= 1


# -- faults while following a run: ridden out ------------------------------------------------


def fault_param(*faults: Fault | list[Fault], id: str) -> Any:
    flat: list[Fault] = []
    for fault in faults:
        flat.extend(fault if isinstance(fault, list) else [fault])
    return pytest.param(flat, id=id)


TRANSIENT_WHILE_POLLING = [
    fault_param(on_status(status=500, times=2), id="500-status"),
    fault_param(on_status(status=502, times=2), id="502-status"),
    fault_param(on_status(status=503, times=2), id="503-status"),
    fault_param(on_status(status=404, times=3), id="404-status"),
    fault_param(on_status(status=455, times=2), id="455-status"),
    fault_param(on_status(status=448, times=2), id="448-status"),
    fault_param(on_status(action="close", times=2), id="close-status"),
    fault_param(on_status(action="slow", delay=0.3, times=2), id="slow-status"),
    fault_param(on_status(action="malformed_json", times=2), id="malformed-status"),
    fault_param(on_status(action="wrong_shape", times=2), id="wrong-shape-status"),
    fault_param(Fault("run_item_ids", status=502, times=2), id="502-item-ids"),
    fault_param(Fault("run_item_ids", action="close", times=1), id="close-item-ids"),
    fault_param(Fault("run_item_ids", action="malformed_json", times=1), id="malformed-item-ids"),
    fault_param(Fault("run_item", status=503, times=2), id="503-item"),
    fault_param(Fault("run_item", status=455, times=5), id="455-item-beyond-retries"),
    fault_param(Fault("run_item", action="wrong_shape", times=1), id="wrong-shape-item"),
    fault_param(Fault("schedules", status=503, times=2), id="503-schedules"),
    fault_param(Fault("schedules", action="close", times=1), id="close-schedules"),
    fault_param(Fault("schedules", action="slow", delay=0.3), id="slow-schedules"),
]


@pytest.mark.parametrize("faults", TRANSIENT_WHILE_POLLING)
def test_transient_fault_does_not_fail_the_test(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    faults: list[Fault],
) -> None:
    for fault in faults:
        emulator.add_fault(fault)
    write_test(pytester, '"Smoke Login", timeout=30')
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(passed=1)
    assert emulator.count_requests("run_now") == 1


def test_keyframes_fault_on_a_failing_flow_still_reports_the_flow(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("keyframes", status=503, times=2))
    write_test(pytester, '"Smoke Login", variables={"URL": "https://broken.example.com"}')
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Click Login - Could not find element 'Login button'*"])


def test_polling_outlasts_the_client_retries(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    # More failures in a row than one request's retries: the runner keeps following.
    for fault in on_status(status=503, times=GET_ATTEMPTS + 2):
        emulator.add_fault(fault)
    write_test(pytester, '"Smoke Login", timeout=30')
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(passed=1)
    assert emulator.count_requests("run_now") == 1


# -- GETs that keep failing: a setup error naming endpoint, status, attempts -----------------


@pytest.mark.parametrize("status", [500, 502, 503, 455, 448])
def test_get_that_keeps_failing_names_endpoint_status_and_attempts(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, status: int
) -> None:
    emulator.add_fault(Fault("schedules", status=status, times=0))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*'Smoke Login' could not be started*GET /schedules*HTTP {status}*"
            f"{GET_ATTEMPTS} attempts*"
        ]
    )
    assert emulator.count_requests("schedules") == GET_ATTEMPTS
    assert emulator.count_requests("run_now") == 0


def test_get_404_is_not_retried(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("schedules", status=404, times=0))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'Smoke Login' could not be started*GET /schedules*HTTP 404*"])
    # A 404 is an answer, not a hiccup: asked once.
    assert emulator.count_requests("schedules") == 1


def test_get_connection_dropped_every_time(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("schedules", action="close", times=0))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*'Smoke Login' could not be started*GET /schedules*closed the connection*"
            f"{GET_ATTEMPTS} attempts*"
        ]
    )
    assert emulator.count_requests("schedules") == GET_ATTEMPTS


@pytest.mark.parametrize(
    ("action", "expected"),
    [("malformed_json", "*GET /schedules*not JSON*"), ("wrong_shape", "*GET /schedules*expected*")],
)
def test_bad_json_on_get_is_a_clear_error(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    action: str,
    expected: str,
) -> None:
    emulator.add_fault(Fault("schedules", action=action, times=0))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*'Smoke Login' could not be started{expected}"])


# -- runNow: never sent twice ----------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 455, 448])
def test_run_now_error_status_is_not_retried(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, status: int
) -> None:
    emulator.add_fault(Fault("run_now", status=status, times=1, retry_after=1))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*'Smoke Login' could not be started*runNow*HTTP {status}*not retried*"]
    )
    assert emulator.count_requests("run_now") == 1


def test_run_now_connection_dropped_after_sending_is_not_retried(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("run_now", action="close", times=1))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'Smoke Login' could not be started*runNow*not retried*"])
    assert emulator.count_requests("run_now") == 1


@pytest.mark.parametrize("action", ["malformed_json", "wrong_shape"])
def test_run_now_bad_json_is_reported_not_retried(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, action: str
) -> None:
    emulator.add_fault(Fault("run_now", action=action, times=1))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'Smoke Login' could not be started*runNow*"])
    assert emulator.count_requests("run_now") == 1


def test_run_now_refused_before_sending_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection refused: the request provably never left, so trying again is safe."""
    monkeypatch.setattr(client_module, "BACKOFF_FACTOR", REAL_BACKOFF[0])
    run_id = "5d0c2f0e-0000-4000-8000-000000000001"
    received: list[bytes] = []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        # Bound but not listening: connections are refused, and no other test can take the
        # port (an ephemeral port given back could be taken by another test's emulator).
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        port = int(listener.getsockname()[1])

        def controller_comes_up() -> None:
            time.sleep(0.3)  # attempts 1 and 2 (at 0 s) are refused, attempt 3 (at 1 s) is not
            listener.listen()
            connection, _ = listener.accept()
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(4096)
                received.append(request.split(b"\r\n", 1)[0])
                body = f'{{"RunId": "{run_id}"}}'.encode()
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

        thread = threading.Thread(target=controller_comes_up)
        thread.start()
        client = LeapworkClient(f"http://127.0.0.1:{port}", "k" * 16)
        try:
            assert client.run_now(CHECKOUT_ID, {}) == run_id
        finally:
            client.close()
            thread.join(timeout=5)
    assert received == [f"PUT /api/v4/schedules/{CHECKOUT_ID}/runNow HTTP/1.1".encode()]


def test_run_now_fault_under_xdist(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("run_now", status=502, times=1))
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_it(n):
            pass
        """
    )
    result = run_pytest("-n", "2", subprocess=True)
    assert_clean(result)
    result.assert_outcomes(passed=2, errors=1)
    assert emulator.count_requests("run_now") == 3


# -- the read timeout (not yet an option: through the client, and a patched session) ---------


def test_run_now_slower_than_the_read_timeout_is_sent_once(emulator: EmulatorServer) -> None:
    emulator.add_fault(Fault("run_now", action="slow", delay=0.6, times=1))
    client = LeapworkClient(emulator.url, emulator.access_key, read_timeout=0.2)
    try:
        [schedule] = [s for s in client.list_schedules() if s.title == "Checkout"]
        with pytest.raises(Exception) as info:
            client.run_now(schedule.id, {})
    finally:
        client.close()
    message = str(info.value)
    assert "runNow" in message and "not retried" in message
    time.sleep(0.7)  # the emulator records a request once it has answered it
    assert emulator.count_requests("run_now") == 1


def test_get_slower_than_the_read_timeout_is_retried(emulator: EmulatorServer) -> None:
    emulator.add_fault(Fault("schedules", action="slow", delay=0.5, times=2))
    client = LeapworkClient(emulator.url, emulator.access_key, read_timeout=0.2)
    try:
        assert any(s.title == "Checkout" for s in client.list_schedules())
    finally:
        client.close()


def test_get_always_slower_than_the_read_timeout(emulator: EmulatorServer) -> None:
    emulator.add_fault(Fault("schedules", action="slow", delay=0.4, times=0))
    client = LeapworkClient(emulator.url, emulator.access_key, read_timeout=0.1, retries=1)
    try:
        with pytest.raises(Exception) as info:
            client.list_schedules()
    finally:
        client.close()
    message = str(info.value)
    assert "GET /schedules" in message
    assert "0.1 s" in message
    assert "2 attempts" in message


@pytest.fixture
def short_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions in this process build their client with a 0.3 s read timeout."""
    import pytest_leapwork.api.client as client_module

    class ShortTimeoutClient(LeapworkClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["read_timeout"] = 0.3
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(client_module, "LeapworkClient", ShortTimeoutClient)


def test_run_now_read_timeout_in_a_session(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    short_read_timeout: None,
) -> None:
    emulator.add_fault(Fault("run_now", action="slow", delay=0.8, times=1))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'Smoke Login' could not be started*runNow*0.3 s*not retried*"])
    time.sleep(0.9)
    assert emulator.count_requests("run_now") == 1


def test_status_read_timeout_in_a_session_is_ridden_out(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    short_read_timeout: None,
) -> None:
    for fault in on_status(action="slow", delay=0.5, times=3):
        emulator.add_fault(fault)
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(passed=1)


# -- the controller changes under a run ------------------------------------------------------


def test_key_revoked_mid_run_is_a_clear_error(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    for fault in on_status(action="revoke_key", after=1):
        emulator.add_fault(fault)
    write_test(pytester, '"Half Second", timeout=20')
    result, elapsed = timed(run_pytest)
    output = assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'Half Second'*could not be followed*HTTP 401*access key*"])
    assert emulator.access_key not in output
    assert elapsed < 10


def test_key_revoked_before_trigger_is_a_setup_error(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("schedules", action="revoke_key"))
    write_test(pytester)
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'Smoke Login' could not be started*HTTP 401*access key*"])
    assert emulator.count_requests("run_now") == 0


def test_restart_mid_run_reports_the_run_lost(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    for fault in on_status(action="restart", after=1):
        emulator.add_fault(fault)
    write_test(pytester, '"Half Second", timeout=3')
    result, elapsed = timed(run_pytest)
    output = assert_clean(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*'Half Second'*could not be followed*run * is unknown to the controller*"]
    )
    assert "was stopped" not in output
    assert elapsed < 3


def test_polling_that_never_recovers_names_the_cause(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    for fault in on_status(status=503, times=0):
        emulator.add_fault(fault)
    write_test(pytester, '"Smoke Login", timeout=2')
    result, elapsed = timed(run_pytest)
    output = assert_clean(result)
    # The schedule did not fail; following it did.
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'Smoke Login'*GET /run/{id}*HTTP 503*"])
    assert "did not finish within its timeout" not in output
    assert elapsed < 2 + 8


# -- stopping on timeout ---------------------------------------------------------------------


def test_stop_is_retried_on_transient_status(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("stop_run", status=503, times=2))
    write_test(pytester, '"Slow", timeout=0.5')
    result = run_pytest()
    assert_clean(result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*'Slow' did not finish within its timeout of 0.5s and was stopped*"]
    )
    [run] = emulator.runs
    assert run.stopped
    assert emulator.count_requests("stop_run") == 3


def test_stop_that_keeps_failing_is_not_claimed(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault("stop_run", status=503, times=0))
    write_test(pytester, '"Slow", timeout=0.5')
    result = run_pytest()
    output = assert_clean(result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*'Slow' did not finish within its timeout of 0.5s*could not be stopped*HTTP 503*"]
    )
    assert "and was stopped" not in output
    [run] = emulator.runs
    assert not run.stopped


def test_stop_failing_at_session_end_is_no_internal_error(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    # -x ends the session after the first test; the second's run, triggered ahead, must be
    # stopped, and a stop that fails must not turn into an INTERNALERROR.
    emulator.add_fault(Fault("stop_run", status=503, times=0))
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Smoke Login", variables={"URL": "https://broken.example.com"})
        def test_first():
            pass

        @pytest.mark.leapwork_schedule("Slow")
        def test_second():
            pass
        """
    )
    result = run_pytest("-x", "-p", "no:randomly")
    assert_clean(result)
    result.assert_outcomes(failed=1)
    assert emulator.count_requests("stop_run") == 3
    result.stdout.fnmatch_lines(["*test_second*'Slow'*"])


# -- no hang past the run's timeout ----------------------------------------------------------


def test_slow_controller_does_not_hold_the_test_past_its_timeout(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    for fault in on_status(action="slow", delay=3, times=0):
        emulator.add_fault(fault)
    write_test(pytester, '"Slow", timeout=0.5')
    result, elapsed = timed(run_pytest)
    assert_clean(result)
    assert result.ret != 0
    assert elapsed < 0.5 + 1.5, f"the test took {elapsed:.1f}s for a 0.5s timeout"
