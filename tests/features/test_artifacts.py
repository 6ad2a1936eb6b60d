"""``--leapwork-artifacts``: failing flows' videos and keyframes, saved and linked."""

from __future__ import annotations

import html
import json
import re
import socket
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import pytest_leapwork.api.client as client_module
from pytest_leapwork.api.client import LeapworkClient
from pytest_leapwork.api.errors import ArtifactTooLarge, LeapworkError
from pytest_leapwork.emulator import EmulatorServer
from pytest_leapwork.emulator.faults import Fault

from ..support import WITH_HTML, RunPytest
from .support import REPORTS_AND_CHECKOUT

#: A run item id, as the controller writes them (ids that are not GUIDs never enter a path).
ITEM = "33333333-aaaa-4bbb-8ccc-000000000001"


def saved(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


@pytest.mark.parametrize("workers", ["0", "2"])
def test_failing_flows_videos_and_keyframes_are_saved_and_linked(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    result = run_pytest(
        "--leapwork-artifacts=evidence",
        "--leapwork-junitxml=reports/flows.xml",
        *WITH_HTML,
        "--html=reports/report.html",
        "-n",
        workers,
    )
    result.assert_outcomes(passed=1, failed=1)
    [reports_run] = [run for run in emulator.runs if run.schedule_title == "Reports"]
    folder = f"Reports_{reports_run.run_id[:8]}"
    render, export = (item[:8] for item in reports_run.item_ids)
    # "Render Report" records no video (404): only its keyframes; nothing for passed flows.
    assert saved(pytester.path / "evidence") == [
        f"{folder}/Export-Report_{export}.keyframes.json",
        f"{folder}/Export-Report_{export}.webm",
        f"{folder}/Render-Report_{render}.keyframes.json",
    ]
    video = pytester.path / "evidence" / folder / f"Export-Report_{export}.webm"
    assert video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # a WebM (EBML) file
    document = json.loads(
        (pytester.path / "evidence" / folder / f"Render-Report_{render}.keyframes.json").read_text()
    )
    assert document["status"] == "Failed" and document["video"] is None
    assert "GET /runItems/{id}/video answered HTTP 404" in document["video_problem"]
    assert [k["message"] for k in document["keyframes"]][-1] == "Flow ended with status 'Failed'"

    result.stdout.fnmatch_lines(
        [
            "*= leapwork artifacts =*",
            f"*test_reports: Export Report (Error): evidence/{folder}/Export-Report_{export}.webm",
        ]
    )
    cases = {
        c.get("name"): c
        for c in ET.parse(pytester.path / "reports/flows.xml").getroot().iter("testcase")
    }
    assert cases["Export Report"].findtext("system-out") == (
        f"[[ATTACHMENT|../evidence/{folder}/Export-Report_{export}.webm]]\n"
        f"[[ATTACHMENT|../evidence/{folder}/Export-Report_{export}.keyframes.json]]"
    )
    assert cases["Pay"].find("system-out") is None
    # pytest-html keeps each row as JSON in an HTML attribute: unescape both layers.
    page = html.unescape((pytester.path / "reports/report.html").read_text()).replace('\\"', '"')
    assert (
        f'<video controls preload="none" width="480" '
        f'src="../evidence/{folder}/Export-Report_{export}.webm"></video>'
    ) in page


def test_downloads_overlap_with_runs_still_executing(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """A run that ends early has its video fetched while a slower run still executes."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Slow Nightly")
        def test_slow():
            pass

        @pytest.mark.leapwork_schedule("Reports")
        def test_reports():
            pass
        """
    )
    run_pytest("--leapwork-artifacts=evidence").assert_outcomes(failed=2)
    endpoints = [r.endpoint for r in emulator.requests]
    slow = next(run for run in emulator.runs if run.schedule_title == "Slow Nightly")
    slow_done = max(
        i
        for i, r in enumerate(emulator.requests)
        if r.endpoint == "run_item_ids" and slow.run_id in r.path
    )
    first_video = endpoints.index("video")
    assert first_video < slow_done  # fetched before the slow run's items were collected


def test_a_video_over_the_cap_is_not_kept_and_the_test_is_unaffected(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    result = run_pytest("--leapwork-artifacts=evidence", "--leapwork-artifacts-max-mb=0.0001")
    result.assert_outcomes(passed=1, failed=1)
    files = saved(pytester.path / "evidence")
    assert files and all(f.endswith(".keyframes.json") for f in files)
    assert not list((pytester.path / "evidence").rglob("*.part"))
    export = next(f for f in files if "Export" in f)
    document = json.loads((pytester.path / "evidence" / export).read_text())
    assert "over the cap of 104 bytes" in document["video_problem"]


def test_quiet_summary_is_one_line(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    result = run_pytest("--leapwork-artifacts=evidence", "-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["leapwork: 3 artifact files of failing flows under evidence"])
    assert "leapwork artifacts" not in result.stdout.str()


def test_ini_setting_and_nothing_saved_when_all_pass(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makeini("[pytest]\nleapwork_artifacts = evidence\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.leapwork_schedule("Checkout")
        def test_checkout():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(passed=1)
    assert "leapwork artifacts" not in result.stdout.str()
    assert not (pytester.path / "evidence").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--leapwork-artifacts=out", "--leapwork-artifacts-max-mb=lots"],
            "*--leapwork-artifacts-max-mb option: the size cap must be a number of megabytes "
            "above 0, got 'lots'",
        ),
        (["--leapwork-artifacts=afile"], "*--leapwork-artifacts option: * is a file, not a dir*"),
    ],
)
def test_bad_settings_are_usage_errors(
    pytester: pytest.Pytester, run_pytest: RunPytest, args: list[str], message: str
) -> None:
    pytester.makefile("", afile="x")
    result = run_pytest(*args)
    result.stderr.fnmatch_lines([message])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_a_streamed_video_over_the_cap_leaves_no_file(httpserver: Any, tmp_path: Path) -> None:
    """No Content-Length (chunked): the cap is enforced while streaming, the part file removed."""
    from werkzeug import Response

    chunks = (b"x" * 1000 for _ in range(10))
    httpserver.expect_request(f"/api/v4/runItems/{ITEM}/video").respond_with_response(
        Response(chunks, content_type="video/mp4")
    )
    client = LeapworkClient(httpserver.url_for("/"), "KEYKEYKEYKEY1234")
    with pytest.raises(ArtifactTooLarge, match="over the cap of 2500 bytes"):
        client.download_video(ITEM, str(tmp_path / "clip"), 2500)
    assert list(tmp_path.iterdir()) == []
    httpserver.check()

    httpserver.clear()
    httpserver.expect_request(f"/api/v4/runItems/{ITEM}/video").respond_with_data(
        b"abc", content_type="video/mp4"
    )
    path = client.download_video(ITEM, str(tmp_path / "clip"), 2500)
    assert path == str(tmp_path / "clip.mp4") and Path(path).read_bytes() == b"abc"


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        (Fault(endpoint="video", status=500, times=0), "answered HTTP 500"),
        (Fault(endpoint="video", action="close", times=0), "closed the connection"),
    ],
    ids=["500", "connection-closed"],
)
def test_a_failing_video_download_leaves_the_keyframes_and_the_outcome(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    fault: Fault,
    problem: str,
) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_FACTOR", 0.01)  # retries without the waits
    emulator.add_fault(fault)
    pytester.makepyfile(REPORTS_AND_CHECKOUT)
    result = run_pytest("--leapwork-artifacts=evidence")
    result.assert_outcomes(passed=1, failed=1)
    files = saved(pytester.path / "evidence")
    assert len(files) == 2 and all(f.endswith(".keyframes.json") for f in files)
    for name in files:
        document = json.loads((pytester.path / "evidence" / name).read_text())
        assert document["video"] is None
        if "Export" in name:
            assert problem in document["video_problem"]
            assert "attempts" in document["video_problem"]  # retried, as reads are


def test_a_download_cut_off_midway_leaves_no_file(tmp_path: Path) -> None:
    """The connection drops after part of the body: an error, and no partial file behind."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer_half() -> None:
        for _ in range(4):  # the first attempt and urllib3's retries
            try:
                connection, _address = server.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n"
                    b"Content-Length: 100000\r\n\r\n" + b"x" * 1000
                )

    thread = threading.Thread(target=answer_half, daemon=True)
    thread.start()
    client = LeapworkClient(f"http://127.0.0.1:{server.getsockname()[1]}", "KEYKEYKEYKEY1234")
    try:
        with pytest.raises(LeapworkError, match=re.escape("GET /runItems/{id}/video")):
            client.download_video(ITEM, str(tmp_path / "clip"), 10**6)
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []
