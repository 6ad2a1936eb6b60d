"""HTTPS to the controller: certificates verified by default, a CA bundle to trust a company CA,
an explicit opt-out that warns; against the emulator serving TLS with a self-signed CA (trustme).
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
import requests
import trustme
import urllib3
from requests.adapters import HTTPAdapter

from pytest_leapwork.api.client import LeapworkClient, _CappedRetry
from pytest_leapwork.api.errors import ControllerUnreachable
from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario

from .support import FAST, SCENARIO

pytestmark = pytest.mark.usefixtures("fast_backoff")

MARKED = """
    import pytest

    @pytest.mark.leapwork_schedule("Checkout")
    def test_it(leapwork_schedule):
        assert leapwork_schedule.passed
"""


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tls") / "company-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture
def tls_emulator(ca: trustme.CA) -> Iterator[EmulatorServer]:
    context = server_context(ca, "127.0.0.1", "localhost")
    with EmulatorServer(load_scenario(str(SCENARIO)), ssl_context=context) as server:
        yield server


@pytest.fixture(autouse=True)
def clean_environment_and_certifi_bundle(
    clean_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI machines often point requests at the system bundle; it must not override the
    # plugin's own choice (and the system bundle does not hold the test CA).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())


def run(pytester: pytest.Pytester, server: EmulatorServer, *args: str) -> pytest.RunResult:
    pytester.makepyfile(MARKED)
    return pytester.runpytest(
        f"--leapwork-controller={server.url}", f"--leapwork-key={server.access_key}", *FAST, *args
    )


def test_emulator_serves_https(tls_emulator: EmulatorServer, ca_bundle: Path) -> None:
    assert tls_emulator.url.startswith("https://127.0.0.1:")
    response = requests.get(
        f"{tls_emulator.url}/api/v4/schedules",
        headers={"AccessKey": tls_emulator.access_key},
        verify=str(ca_bundle),
        timeout=5,
    )
    assert response.status_code == 200
    assert any(s["Title"] == "Checkout" for s in response.json())


def test_emulator_keeps_serving_when_a_client_stalls_or_speaks_plain_http(
    tls_emulator: EmulatorServer, ca_bundle: Path
) -> None:
    silent = socket.create_connection(("127.0.0.1", tls_emulator.port))
    plain = socket.create_connection(("127.0.0.1", tls_emulator.port))
    try:
        plain.sendall(b"GET /api/v4/schedules HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        response = requests.get(
            f"{tls_emulator.url}/api/v4/license/active",
            headers={"AccessKey": tls_emulator.access_key},
            verify=str(ca_bundle),
            timeout=5,
        )
        assert response.status_code == 200
        assert time.monotonic() - started < 2
    finally:
        silent.close()
        plain.close()


def test_certificate_is_verified_by_default(
    pytester: pytest.Pytester, tls_emulator: EmulatorServer
) -> None:
    result = run(pytester, tls_emulator)
    result.assert_outcomes(errors=1)
    pattern = (
        "*'Checkout' could not be started: GET /schedules: TLS error talking to https://*"
        "certificate verify failed*--leapwork-ca-bundle*--leapwork-insecure*"
    )
    result.stdout.fnmatch_lines([pattern])
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "attempts" not in output  # an untrusted certificate is not tried again
    # The handshake failed: no request, and so no key, reached the server.
    assert tls_emulator.requests == []


@pytest.mark.parametrize("source", ["option", "environment", "ini"])
def test_ca_bundle_trusts_the_controller(
    pytester: pytest.Pytester,
    tls_emulator: EmulatorServer,
    ca_bundle: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    args: list[str] = []
    if source == "option":
        args.append(f"--leapwork-ca-bundle={ca_bundle}")
    elif source == "environment":
        monkeypatch.setenv("LEAPWORK_CA_BUNDLE", str(ca_bundle))
    else:
        pytester.makeini(f"[pytest]\nleapwork_ca_bundle = {ca_bundle}\n")
    result = run(pytester, tls_emulator, *args)
    result.assert_outcomes(passed=1)
    # Over TLS: the schedule list, then (after a look at the schedule's runs, so that a
    # cut-off runNow can tell its own run from another session's) the runNow.
    endpoints = [r.endpoint for r in tls_emulator.requests]
    assert endpoints[0] == "schedules" and "run_now" in endpoints


def test_ca_bundle_of_another_ca_is_refused(
    pytester: pytest.Pytester, tls_emulator: EmulatorServer, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    result = run(pytester, tls_emulator, f"--leapwork-ca-bundle={other}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TLS error*certificate verify failed*"])


def test_certificate_for_another_host_is_refused(
    pytester: pytest.Pytester, ca: trustme.CA, ca_bundle: Path
) -> None:
    context = server_context(ca, "controller.example.com")
    with EmulatorServer(load_scenario(str(SCENARIO)), ssl_context=context) as server:
        result = run(pytester, server, f"--leapwork-ca-bundle={ca_bundle}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TLS error*certificate verify failed*127.0.0.1*"])


@pytest.mark.parametrize("how", ["option", "ini"])
def test_insecure_connects_and_warns(
    pytester: pytest.Pytester, tls_emulator: EmulatorServer, how: str
) -> None:
    args = ["--leapwork-insecure"] if how == "option" else []
    if how == "ini":
        pytester.makeini("[pytest]\nleapwork_insecure = true\n")
    result = run(pytester, tls_emulator, *args)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*LeapworkInsecureWarning: --leapwork-insecure: "
            "the controller's HTTPS certificate is not verified*"
        ]
    )
    assert "InsecureRequestWarning" not in result.stdout.str()  # warned once, not per request


def test_insecure_beats_a_ca_bundle(
    pytester: pytest.Pytester, tls_emulator: EmulatorServer, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    result = run(pytester, tls_emulator, f"--leapwork-ca-bundle={other}", "--leapwork-insecure")
    result.assert_outcomes(passed=1, warnings=1)


def test_plain_http_to_a_tls_controller_is_a_clear_error(
    pytester: pytest.Pytester, tls_emulator: EmulatorServer
) -> None:
    pytester.makepyfile(MARKED)
    url = tls_emulator.url.replace("https://", "http://")
    result = pytester.runpytest(
        f"--leapwork-controller={url}", f"--leapwork-key={tls_emulator.access_key}", *FAST
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*'Checkout' could not be started: GET /schedules: *http://127.0.0.1*"]
    )
    assert "Traceback" not in result.stdout.str()


# -- runNow over TLS: a connection cut after sending is not a reason to send it again ---------


def test_run_now_cut_off_over_tls_is_sent_once(
    tls_emulator: EmulatorServer, ca_bundle: Path
) -> None:
    tls_emulator.add_fault(Fault("run_now", action="close"))
    client = LeapworkClient(tls_emulator.url, tls_emulator.access_key, verify=str(ca_bundle))
    try:
        [checkout] = [s for s in client.list_schedules() if s.title == "Checkout"]
        with pytest.raises(ControllerUnreachable) as info:
            client.run_now(checkout.id, {})
    finally:
        client.close()
    assert "not retried" in str(info.value)
    assert tls_emulator.count_requests("run_now") == 1


def retry_of(client: LeapworkClient) -> _CappedRetry:
    adapter = client.session.get_adapter("https://ctl")
    assert isinstance(adapter, HTTPAdapter)
    retry = adapter.max_retries
    assert isinstance(retry, _CappedRetry)
    return retry


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            urllib3.exceptions.SSLError("EOF occurred in violation of protocol"), id="eof"
        ),
        pytest.param(urllib3.exceptions.ProtocolError("Connection aborted."), id="aborted"),
    ],
)
def test_tls_error_after_sending_repeats_gets_only(error: Exception) -> None:
    retry = retry_of(LeapworkClient("https://ctl", "k" * 16))
    assert isinstance(retry.total, int)
    assert retry.increment("GET", "/api/v4/schedules", error=error).total == retry.total - 1
    with pytest.raises(type(error)):
        retry.increment("PUT", "/api/v4/schedules/x/runNow", error=error)


def test_untrusted_certificate_is_never_repeated() -> None:
    retry = retry_of(LeapworkClient("https://ctl", "k" * 16))
    error = urllib3.exceptions.SSLError(
        ssl.SSLCertVerificationError(
            1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
        )
    )
    for method in ("GET", "PUT"):
        with pytest.raises(urllib3.exceptions.SSLError):
            retry.increment(method, "/api/v4/schedules", error=error)
