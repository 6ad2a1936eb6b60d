"""The controller's API at its edges: what an error says when the controller refused a
request for another reason than its variables, and when the connection that failed was a
proxy's. Each test is a real pytest process against the emulator, the fault on the wire (a
dead proxy: a closed loopback port). See docs/faults.md."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario
from pytest_leapwork.emulator.scenario import default_agent_id, default_flow_id

from .support import FAST, SCENARIO, RunPytest, controller_args

pytestmark = pytest.mark.usefixtures("fast_backoff")

NOT_CONNECTED = '{"Message":"Agent is not connected"}'
PROXY_PASSWORD = "pr0xy-s3cret"


def flow_test(variables: dict[str, str]) -> str:
    return (
        "import pytest\n\n\n"
        f"@pytest.mark.leapwork_flow({default_flow_id('Pay')!r}, "
        f"agent={default_agent_id('Local Agent')!r}, variables={variables!r})\n"
        "def test_pay():\n    pass\n"
    )


@pytest.mark.parametrize("sent", [{}, {"URL": "https://shop.example.com"}], ids=["none", "URL"])
def test_run_flow_refused_blames_variables_only_when_some_were_sent(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, sent: dict[str, str]
) -> None:
    """A 400 to run-flow-on-agent says what the controller said; with no variable sent it
    does not blame variables."""
    emulator.add_fault(
        Fault(
            endpoint="run_flow",
            status=400,
            body=NOT_CONNECTED,
            content_type="application/json; charset=utf-8",
        )
    )
    pytester.makepyfile(flow_test(sent))
    result = run_pytest(subprocess=True)
    result.assert_outcomes(errors=1)
    assert emulator.count_requests("run_flow") == 1
    output = result.stdout.str()
    if sent:
        result.stdout.fnmatch_lines(
            [
                "*could not be started: PUT /flows/{id}/agent/{id} answered HTTP 400 (a variable "
                "name is not declared in the schedule, or is given twice): "
                '{"Message":"Agent is not connected"}; variables sent: URL*'
            ]
        )
    else:
        result.stdout.fnmatch_lines(
            [
                "*could not be started: PUT /flows/{id}/agent/{id} answered HTTP 400 (the "
                "controller refused the request): Agent is not connected*"
            ]
        )
        assert "variable" not in output.split("could not be started")[1].splitlines()[0]


def test_run_now_refused_without_variables_says_what_the_controller_said(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault(endpoint="run_now", status=400, body="Schedule is disabled"))
    pytester.makepyfile(
        'import pytest\n\n\n@pytest.mark.leapwork_schedule("Checkout")\ndef test_it():\n    pass\n'
    )
    result = run_pytest(subprocess=True)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*Leapwork schedule 'Checkout' could not be started: PUT /schedules/{id}/runNow "
            "answered HTTP 400 (the controller refused the request): Schedule is disabled"
        ]
    )


# -- a dead proxy -------------------------------------------------------------------------------


@pytest.fixture
def dead_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def tls_emulator(tmp_path: Path) -> Iterator[tuple[EmulatorServer, Path]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with EmulatorServer(load_scenario(str(SCENARIO)), ssl_context=context) as server:
        yield server, bundle


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_dead_proxy_is_named_without_its_credentials(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    emulator: EmulatorServer,
    tls_emulator: tuple[EmulatorServer, Path],
    dead_port: int,
    scheme: str,
) -> None:
    """HTTP(S)_PROXY points at a closed port: the error names the proxy, not the controller,
    as the one that could not be reached, and never shows the proxy's password."""
    server, bundle = tls_emulator if scheme == "https" else (emulator, None)
    proxy = f"http://ci-user:{PROXY_PASSWORD}@127.0.0.1:{dead_port}"
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, proxy)
        monkeypatch.setenv(name.lower(), proxy)
    pytester.makepyfile(
        'import pytest\n\n\n@pytest.mark.leapwork_schedule("Checkout")\ndef test_it():\n    pass\n'
    )
    extra = [f"--leapwork-ca-bundle={bundle}"] if bundle else []
    result = pytester.runpytest_subprocess(*controller_args(server), *FAST, *extra)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*GET /schedules*: cannot reach the proxy http://127.0.0.1:{dead_port} (set in the "
            f"environment for the controller at {server.url}): *Connection refused*"
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert PROXY_PASSWORD not in output
    assert "ci-user" not in output
    assert server.count_requests() == 0  # nothing reached the controller
