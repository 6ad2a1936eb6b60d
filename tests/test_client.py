"""LeapworkClient against pytest-httpserver: paths, encoding, errors, retries, the key."""

from __future__ import annotations

import json
import logging
import pickle
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_leapwork.api.client import LeapworkClient, encode_variables
from pytest_leapwork.api.errors import (
    AccessKeyRejected,
    AlreadyRunning,
    ControllerHTTPError,
    ControllerServerError,
    ControllerUnreachable,
    DatabaseUnavailable,
    DiskFull,
    InvalidResponse,
    LeapworkError,
    NotFound,
    VariableRejected,
)
from pytest_leapwork.api.secret import Secret

KEY = "Zq9Xw7PK3yS3cr3t"
SCHEDULE_ID = "587d3239-5ccb-402f-a1d1-46d907bd6eaa"
RUN_ID = "da6845c9-1b6b-4c4f-8d52-0b7f2f7a1c11"
ITEM_ID = "8d329bd0-698f-4900-8bad-ffa584d4461b"
RUN_NOW = f"/api/v4/schedules/{SCHEDULE_ID}/runNow"


def base_url(server: HTTPServer) -> str:
    # The fixture's server listens on localhost's IPv4 address; name it by address so a
    # redirect to "localhost" is a redirect to another host.
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
def make_client(httpserver: HTTPServer) -> Iterator[Any]:
    clients: list[LeapworkClient] = []

    def make(url: str | None = None, **kwargs: Any) -> LeapworkClient:
        kwargs.setdefault("connect_timeout", 2.0)
        kwargs.setdefault("read_timeout", 5.0)
        client = LeapworkClient(url or base_url(httpserver), kwargs.pop("key", KEY), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Any) -> LeapworkClient:
    made: LeapworkClient = make_client()
    return made


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raw_uri(request: Request) -> str:
    return str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI"))


# -- endpoints -------------------------------------------------------------------------------


def test_list_schedules(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request(
        "/api/v4/schedules", method="GET", headers={"AccessKey": KEY, "Accept": "application/json"}
    ).respond_with_json(
        [{"$id": "1", "Id": SCHEDULE_ID, "Title": "UAT", "IsEnabled": True, "Type": "ScheduleInfo"}]
    )
    (schedule,) = client.list_schedules()
    assert (schedule.id, schedule.title, schedule.enabled) == (SCHEDULE_ID, "UAT", True)
    httpserver.check_assertions()
    assert len(httpserver.log) == 1


def test_run_now_is_a_put_with_an_empty_body(
    httpserver: HTTPServer, client: LeapworkClient
) -> None:
    httpserver.expect_request(
        RUN_NOW, method="PUT", headers={"AccessKey": KEY}, query_string=""
    ).respond_with_json({"$id": "1", "RunId": RUN_ID})
    assert client.run_now(SCHEDULE_ID, {}) == RUN_ID
    httpserver.check_assertions()
    ((request, _),) = httpserver.log
    assert request.get_data() == b""
    # IIS refuses a body-less PUT without a length.
    assert request.headers.get("Content-Length") == "0"


def test_run_now_without_variables_has_no_question_mark(
    httpserver: HTTPServer, client: LeapworkClient
) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(raw_uri(request))
        return Response(json.dumps({"$id": "1", "RunId": RUN_ID}), content_type="application/json")

    httpserver.expect_request(RUN_NOW, method="PUT").respond_with_handler(handler)
    client.run_now(SCHEDULE_ID, {})
    httpserver.check_assertions()
    assert seen == [RUN_NOW]


@pytest.mark.parametrize(
    ("variables", "query"),
    [
        ({"Environment": "Accept"}, "Environment=Accept"),
        ({"a": "1", "b": "2"}, "a=1&b=2"),
        ({"URL": "http://host:8080/path"}, "URL=http%3A%2F%2Fhost%3A8080%2Fpath"),
        ({"Q": "x=1&y=2"}, "Q=x%3D1%26y%3D2"),
        ({"Name": "two words"}, "Name=two%20words"),
        ({"City": "Zürich €"}, "City=Z%C3%BCrich%20%E2%82%AC"),
        ({"Größe": "ß"}, "Gr%C3%B6%C3%9Fe=%C3%9F"),
        ({"Empty": ""}, "Empty="),
        ({"Frag": "a#b?c+d%e"}, "Frag=a%23b%3Fc%2Bd%25e"),
    ],
    ids=[
        "plain",
        "two",
        "colon-slash",
        "amp-equals",
        "space",
        "unicode",
        "unicode-name",
        "empty",
        "hash-plus-percent",
    ],
)
def test_run_now_query_encoding(
    httpserver: HTTPServer, client: LeapworkClient, variables: dict[str, str], query: str
) -> None:
    httpserver.expect_request(
        RUN_NOW, method="PUT", headers={"AccessKey": KEY}, query_string=query
    ).respond_with_json({"$id": "1", "RunId": RUN_ID})
    assert client.run_now(SCHEDULE_ID, variables) == RUN_ID
    httpserver.check_assertions()
    ((request, _),) = httpserver.log
    assert raw_uri(request) == f"{RUN_NOW}?{query}"
    # The server decodes it back to exactly what was given.
    assert request.args.to_dict() == variables


def test_encode_variables_keeps_order_and_encodes_everything() -> None:
    assert encode_variables({"b": "x y", "a": "1:2"}) == "b=x%20y&a=1%3A2"


def test_run_now_accepts_lower_case_run_id(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request(RUN_NOW, method="PUT").respond_with_json(
        {"$id": "1", "runId": RUN_ID}
    )
    assert client.run_now(SCHEDULE_ID, {}) == RUN_ID


def test_run_status(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request(
        f"/api/v4/run/{RUN_ID}/status", method="GET", headers={"AccessKey": KEY}
    ).respond_with_json({"$id": "1", "Status": "Executing"})
    assert client.run_status(RUN_ID) == "Executing"
    httpserver.check_assertions()


def test_run_item_ids(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request(
        f"/api/v4/run/{RUN_ID}/runItemIds", method="GET", headers={"AccessKey": KEY}
    ).respond_with_json({"$id": "1", "RunItemIds": [ITEM_ID]})
    assert client.run_item_ids(RUN_ID) == [ITEM_ID]
    httpserver.check_assertions()


def test_run_item(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request(
        f"/api/v4/runItems/{ITEM_ID}", method="GET", headers={"AccessKey": KEY}
    ).respond_with_json(
        {
            "$id": "1",
            "RunId": RUN_ID,
            "FlowInfo": {"$id": "2", "FlowTitle": "Login", "Status": "Failed"},
            "AgentInfo": {"$id": "3", "AgentTitle": "Agent 1"},
            "ElapsedSeconds": 3.5,
        }
    )
    item = client.run_item(ITEM_ID)
    assert (item.title, item.status, item.agent, item.elapsed) == (
        "Login",
        "Failed",
        "Agent 1",
        3.5,
    )
    # The id asked for fills a run item that does not repeat its own id.
    assert item.run_item_id == ITEM_ID
    httpserver.check_assertions()


def test_keyframes(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request(
        f"/api/v4/runItems/{ITEM_ID}/keyframes", method="GET", headers={"AccessKey": KEY}
    ).respond_with_json(
        [
            {
                "$id": "1",
                "Timestamp": {"$id": "2", "Value": "2018-12-21T11:57:28"},
                "Level": "Error",
                "BlockTitle": "Click",
                "LogMessage": "not found",
            }
        ]
    )
    (frame,) = client.keyframes(ITEM_ID)
    assert str(frame) == "2018-12-21T11:57:28 - Click - not found"
    httpserver.check_assertions()


@pytest.mark.parametrize(("answer", "expected"), [(True, True), (False, False)])
def test_stop_run(
    httpserver: HTTPServer, client: LeapworkClient, answer: bool, expected: bool
) -> None:
    httpserver.expect_request(
        f"/api/v4/run/{RUN_ID}/stop", method="PUT", headers={"AccessKey": KEY}
    ).respond_with_json({"$id": "1", "OperationCompleted": answer})
    assert client.stop_run(RUN_ID) is expected
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    assert httpserver.log[0][0].get_data() == b""


def test_base_url_path_prefix_is_kept(httpserver: HTTPServer, make_client: Any) -> None:
    httpserver.expect_request("/leapwork/api/v4/schedules", method="GET").respond_with_json([])
    client = make_client(base_url(httpserver) + "/leapwork/")
    assert client.list_schedules() == []
    httpserver.check_assertions()


# -- HTTP errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, VariableRejected),
        (401, AccessKeyRejected),
        (404, NotFound),
        (410, AlreadyRunning),
        (446, DiskFull),
        (455, DatabaseUnavailable),
        (500, ControllerServerError),
        (502, ControllerServerError),
        (503, ControllerServerError),
    ],
)
def test_run_now_status_mapping(
    httpserver: HTTPServer, client: LeapworkClient, status: int, error: type[Exception]
) -> None:
    httpserver.expect_request(RUN_NOW, method="PUT").respond_with_data(
        "Asset not found", status=status
    )
    with pytest.raises(error) as info:
        client.run_now(SCHEDULE_ID, {"a": "1"})
    assert isinstance(info.value, ControllerHTTPError)
    assert info.value.status == status
    text = str(info.value)
    assert "runNow" in text
    assert f"HTTP {status}" in text
    assert KEY not in text


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AccessKeyRejected),
        (404, NotFound),
        (446, DiskFull),
        (455, DatabaseUnavailable),
        (500, ControllerServerError),
        (504, ControllerServerError),
    ],
)
def test_get_status_mapping(
    httpserver: HTTPServer, make_client: Any, status: int, error: type[Exception]
) -> None:
    client = make_client(retries=0)
    httpserver.expect_request(f"/api/v4/run/{RUN_ID}/status").respond_with_data("x", status=status)
    with pytest.raises(error) as info:
        client.run_status(RUN_ID)
    assert "GET /run/{id}/status" in str(info.value)
    assert f"HTTP {status}" in str(info.value)


def test_unlisted_4xx_is_a_plain_http_error(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request(RUN_NOW).respond_with_data("no cases", status=444)
    with pytest.raises(ControllerHTTPError) as info:
        client.run_now(SCHEDULE_ID, {})
    assert info.value.status == 444
    assert "no cases" in str(info.value)


def test_404_on_get_is_not_retried(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request(f"/api/v4/runItems/{ITEM_ID}").respond_with_data(
        "Asset not found", status=404
    )
    with pytest.raises(NotFound):
        client.run_item(ITEM_ID)
    assert len(httpserver.log) == 1


# -- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_get_retried_on_transient_status_then_succeeds(
    httpserver: HTTPServer, client: LeapworkClient, status: int
) -> None:
    path = f"/api/v4/run/{RUN_ID}/status"
    httpserver.expect_ordered_request(path, method="GET").respond_with_data("busy", status=status)
    httpserver.expect_ordered_request(path, method="GET").respond_with_json({"Status": "Finished"})
    assert client.run_status(RUN_ID) == "Finished"
    httpserver.check_assertions()
    assert [response.status_code for _, response in httpserver.log] == [status, 200]


def test_get_retried_on_502_then_503_then_succeeds(
    httpserver: HTTPServer, client: LeapworkClient
) -> None:
    path = "/api/v4/schedules"
    httpserver.expect_ordered_request(path).respond_with_data("bad gateway", status=502)
    httpserver.expect_ordered_request(path).respond_with_data("unavailable", status=503)
    httpserver.expect_ordered_request(path).respond_with_json([])
    assert client.list_schedules() == []
    httpserver.check_assertions()
    assert [response.status_code for _, response in httpserver.log] == [502, 503, 200]


def test_retry_after_is_honoured(httpserver: HTTPServer, client: LeapworkClient) -> None:
    path = f"/api/v4/run/{RUN_ID}/runItemIds"
    httpserver.expect_ordered_request(path).respond_with_data(
        "later", status=503, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request(path).respond_with_json({"RunItemIds": []})
    started = time.monotonic()
    assert client.run_item_ids(RUN_ID) == []
    # Without Retry-After the first retry is immediate.
    assert time.monotonic() - started >= 0.9
    httpserver.check_assertions()
    assert len(httpserver.log) == 2


def test_get_retries_are_bounded(httpserver: HTTPServer, make_client: Any) -> None:
    client = make_client(retries=1)
    httpserver.expect_request("/api/v4/schedules").respond_with_data("down", status=503)
    with pytest.raises(ControllerServerError) as info:
        client.list_schedules()
    assert info.value.status == 503
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 455])
def test_run_now_is_never_retried(
    httpserver: HTTPServer, client: LeapworkClient, status: int
) -> None:
    httpserver.expect_request(RUN_NOW, method="PUT").respond_with_data(
        "error", status=status, headers={"Retry-After": "1"}
    )
    with pytest.raises(ControllerHTTPError):
        client.run_now(SCHEDULE_ID, {"Environment": "Accept"})
    assert len(httpserver.log) == 1


def test_stop_run_repeated_on_transient_error(
    httpserver: HTTPServer, client: LeapworkClient
) -> None:
    path = f"/api/v4/run/{RUN_ID}/stop"
    httpserver.expect_ordered_request(path, method="PUT").respond_with_data("busy", status=500)
    httpserver.expect_ordered_request(path, method="PUT").respond_with_json(
        {"OperationCompleted": True}
    )
    assert client.stop_run(RUN_ID) is True
    httpserver.check_assertions()
    assert len(httpserver.log) == 2


# -- bad bodies, no answer -------------------------------------------------------------------


@pytest.mark.parametrize("body", ["<html>IIS error</html>", "", "{not json"])
def test_non_json_body_is_invalid_response(
    httpserver: HTTPServer, client: LeapworkClient, body: str
) -> None:
    httpserver.expect_request("/api/v4/schedules").respond_with_data(body, status=200)
    with pytest.raises(InvalidResponse) as info:
        client.list_schedules()
    assert "GET /schedules" in str(info.value)


def test_wrong_json_shape_is_invalid_response_naming_the_endpoint(
    httpserver: HTTPServer, client: LeapworkClient
) -> None:
    httpserver.expect_request(f"/api/v4/run/{RUN_ID}/runItemIds").respond_with_json(["a"])
    with pytest.raises(InvalidResponse) as info:
        client.run_item_ids(RUN_ID)
    assert "GET /run/{id}/runItemIds" in str(info.value)


def test_connection_refused_is_unreachable_and_bounded(make_client: Any) -> None:
    port = free_port()
    client = make_client(f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(ControllerUnreachable) as info:
        client.list_schedules()
    elapsed = time.monotonic() - started
    assert elapsed < 8.0, f"gave up only after {elapsed:.1f}s"
    text = str(info.value)
    assert f"127.0.0.1:{port}" in text
    assert "GET /schedules" in text
    assert "object at 0x" not in text  # no urllib3 object reprs
    assert "Traceback" not in text
    assert KEY not in text


def test_connection_refused_on_run_now(make_client: Any) -> None:
    client = make_client(f"http://127.0.0.1:{free_port()}", retries=0)
    with pytest.raises(ControllerUnreachable) as info:
        client.run_now(SCHEDULE_ID, {"a": "1"})
    assert "runNow" in str(info.value)


def slow_json(delay: float, payload: Any) -> Any:
    def handler(_: Request) -> Response:
        time.sleep(delay)
        return Response(json.dumps(payload), content_type="application/json")

    return handler


def test_read_timeout_is_unreachable(httpserver: HTTPServer, make_client: Any) -> None:
    client = make_client(read_timeout=0.1, retries=0)
    httpserver.expect_request("/api/v4/schedules").respond_with_handler(slow_json(0.4, []))
    started = time.monotonic()
    with pytest.raises(ControllerUnreachable) as info:
        client.list_schedules()
    assert time.monotonic() - started < 2.0
    assert "GET /schedules" in str(info.value)
    assert KEY not in str(info.value)


def test_read_timeout_on_run_now_is_not_retried(httpserver: HTTPServer, make_client: Any) -> None:
    client = make_client(read_timeout=0.1)
    httpserver.expect_request(RUN_NOW, method="PUT").respond_with_handler(
        slow_json(0.4, {"RunId": RUN_ID})
    )
    with pytest.raises(ControllerUnreachable):
        client.run_now(SCHEDULE_ID, {})
    time.sleep(0.5)  # let the server finish the slow answer before counting
    assert len(httpserver.log) == 1


def test_errors_are_leapwork_errors() -> None:
    for error in (ControllerUnreachable, InvalidResponse, ControllerHTTPError, NotFound):
        assert issubclass(error, LeapworkError)


# -- the access key --------------------------------------------------------------------------


def test_key_not_in_repr(make_client: Any) -> None:
    client = make_client()
    assert KEY not in repr(client)
    assert KEY not in str(client)
    assert "****" in repr(client)
    client2 = make_client(key=Secret(KEY))
    assert KEY not in repr(client2)


def test_key_not_in_exception_text(httpserver: HTTPServer, make_client: Any) -> None:
    client = make_client(retries=0)
    httpserver.expect_request("/api/v4/schedules").respond_with_data(
        "Incorrect AccessKey", status=401
    )
    httpserver.expect_request(f"/api/v4/run/{RUN_ID}/status").respond_with_data("oops", status=500)
    httpserver.expect_request(f"/api/v4/run/{RUN_ID}/runItemIds").respond_with_data("<html/>")
    errors: list[Exception] = []
    for call in (
        client.list_schedules,
        lambda: client.run_status(RUN_ID),
        lambda: client.run_item_ids(RUN_ID),
    ):
        with pytest.raises(LeapworkError) as info:
            call()
        errors.append(info.value)
    for error in errors:
        assert KEY not in str(error)
        assert KEY not in repr(error)
        assert KEY not in repr(error.args)


def test_key_not_in_debug_logs(
    httpserver: HTTPServer, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    caplog.set_level(logging.DEBUG, logger="pytest_leapwork")
    client = make_client()
    httpserver.expect_request("/api/v4/schedules", headers={"AccessKey": KEY}).respond_with_json([])
    httpserver.expect_request(RUN_NOW, headers={"AccessKey": KEY}).respond_with_json(
        {"RunId": RUN_ID}
    )
    path = f"/api/v4/run/{RUN_ID}/status"
    # One-shot, not ordered: ordered handlers would have to be used before the others.
    httpserver.expect_oneshot_request(path).respond_with_data("busy", status=503)
    httpserver.expect_oneshot_request(path).respond_with_json({"Status": "Finished"})
    client.list_schedules()
    client.run_now(SCHEDULE_ID, {"a": "b"})
    client.run_status(RUN_ID)
    httpserver.check_assertions()
    assert caplog.records, "urllib3 logged nothing at DEBUG; the check would be empty"
    assert any("urllib3" in record.name for record in caplog.records)
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in record.getMessage()


def test_secret_key_not_picklable_with_client(make_client: Any) -> None:
    client = make_client()
    with pytest.raises(TypeError):
        pickle.dumps(client._key)


# -- redirects -------------------------------------------------------------------------------


def record_headers(seen: list[dict[str, str]], payload: Any) -> Any:
    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response(json.dumps(payload), content_type="application/json")

    return handler


def lower_keys(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_to_another_host_drops_the_key(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer, client: LeapworkClient, status: int
) -> None:
    seen: list[dict[str, str]] = []
    target = f"http://localhost:{httpserver_ipv4.port}/elsewhere/api/v4/schedules"
    httpserver.expect_request("/api/v4/schedules").respond_with_data(
        "", status=status, headers={"Location": target}
    )
    httpserver_ipv4.expect_request("/elsewhere/api/v4/schedules").respond_with_handler(
        record_headers(seen, [])
    )
    assert client.list_schedules() == []
    httpserver.check_assertions()
    httpserver_ipv4.check_assertions()
    assert len(seen) == 1
    assert "accesskey" not in lower_keys(seen[0])
    assert KEY not in json.dumps(seen[0])
    # The first request did carry it.
    assert httpserver.log[0][0].headers.get("AccessKey") == KEY


def test_redirect_of_run_now_to_another_host_drops_the_key(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer, client: LeapworkClient
) -> None:
    seen: list[dict[str, str]] = []
    target = f"http://localhost:{httpserver_ipv4.port}{RUN_NOW}?a=1"
    httpserver.expect_request(RUN_NOW).respond_with_data(
        "", status=307, headers={"Location": target}
    )
    httpserver_ipv4.expect_request(RUN_NOW).respond_with_handler(
        record_headers(seen, {"RunId": RUN_ID})
    )
    client.run_now(SCHEDULE_ID, {"a": "1"})
    assert len(seen) == 1
    assert "accesskey" not in lower_keys(seen[0])


def test_same_host_redirect_keeps_the_key(httpserver: HTTPServer, client: LeapworkClient) -> None:
    seen: list[dict[str, str]] = []
    target = f"{base_url(httpserver)}/moved/api/v4/schedules"
    httpserver.expect_request("/api/v4/schedules").respond_with_data(
        "", status=302, headers={"Location": target}
    )
    httpserver.expect_request("/moved/api/v4/schedules").respond_with_handler(
        record_headers(seen, [])
    )
    assert client.list_schedules() == []
    httpserver.check_assertions()
    assert len(seen) == 1
    assert lower_keys(seen[0]).get("accesskey") == KEY


# -- concurrency -----------------------------------------------------------------------------


def test_concurrent_requests_share_one_client(
    httpserver: HTTPServer, client: LeapworkClient
) -> None:
    httpserver.expect_request(f"/api/v4/run/{RUN_ID}/status").respond_with_json(
        {"Status": "Executing"}
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: client.run_status(RUN_ID), range(8)))
    assert results == ["Executing"] * 8


def test_one_requests_session_per_client(make_client: Any) -> None:
    first, second = make_client(), make_client()
    assert isinstance(first.session, requests.Session)
    assert first.session is not second.session


# -- ids from answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    ["../schedules/x/runNow?Injected=1&x=", "", "da6845c9", f"{RUN_ID}/stop", f" {RUN_ID}"],
)
def test_an_id_that_is_not_a_guid_never_enters_a_path(
    httpserver: HTTPServer, client: LeapworkClient, bad_id: str
) -> None:
    for call in (client.run_status, client.run_summary, client.run_item_ids, client.stop_run):
        with pytest.raises(InvalidResponse, match="is not a GUID"):
            call(bad_id)
    for call in (client.run_item, client.keyframes):
        with pytest.raises(InvalidResponse, match="is not a GUID"):
            call(bad_id)
    with pytest.raises(InvalidResponse, match=r"schedule id .* is not a GUID"):
        client.run_now(bad_id, {})
    assert httpserver.log == []


def test_an_upper_case_guid_is_sent_as_given(
    httpserver: HTTPServer, client: LeapworkClient
) -> None:
    httpserver.expect_request(f"/api/v4/run/{RUN_ID.upper()}/status").respond_with_json(
        {"Status": "Queued"}
    )
    assert client.run_status(RUN_ID.upper()) == "Queued"


def test_within_bounds_the_wait_whatever_the_read_timeout(
    httpserver: HTTPServer, client: LeapworkClient
) -> None:
    httpserver.expect_request(f"/api/v4/run/{RUN_ID}/status").respond_with_handler(
        slow_json(0.8, {"Status": "Queued"})
    )
    started = time.monotonic()
    with pytest.raises(ControllerUnreachable, match=r"GET /run/\{id\}/status: no answer .* 0.2 s"):
        client.run_status(RUN_ID, within=0.2)
    while not httpserver.log and time.monotonic() - started < 5:
        time.sleep(0.05)  # the answer still arrives; the next test must not see it


def test_a_refused_key_is_asked_once(httpserver: HTTPServer, client: LeapworkClient) -> None:
    httpserver.expect_request("/api/v4/schedules").respond_with_data("Incorrect AccessKey", 401)
    messages = []
    for _ in range(3):
        with pytest.raises(AccessKeyRejected) as info:
            client.list_schedules()
        messages.append(str(info.value))
    with pytest.raises(AccessKeyRejected):
        client.run_status(RUN_ID)
    assert len(httpserver.log) == 1
    assert len(set(messages)) == 1


def test_a_controller_that_answered_before_is_not_given_up(make_client: Any) -> None:
    """Refused after it answered (a restart): asked again next time, not remembered."""
    port = free_port()
    client = make_client(f"http://127.0.0.1:{port}", retries=0)
    client.transport.answered = True  # as after any answer
    for _ in range(2):
        with pytest.raises(ControllerUnreachable, match="cannot reach"):
            client.list_schedules()
    assert client.transport.remembered is None
