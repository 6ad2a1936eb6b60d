"""``--leapwork-artifacts`` at its edges: a failing flow's evidence is downloaded once per
session, whichever xdist workers see its run end, and only a video is kept as a video.

Each test is a real pytest session against the emulator, the fault on the wire. See the
"Downloading the evidence" section of docs/faults.md.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_leapwork.emulator import EmulatorServer, Fault, Scenario

from ..support import WITH_HTML, RunPytest

FLOWS = 12
SIGN_IN_PAGE = "<html><head><title>Sign in to the proxy</title></head><body>...</body></html>"


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """Twelve schedules of one failing flow each."""
    schedules = [
        {"title": f"S{i}", "flows": [{"title": f"Flow{i}", "seconds": 0.2, "status": "Failed"}]}
        for i in range(FLOWS)
    ]
    scenario = Scenario.from_dict(
        {"controller": {"queue_seconds": 0.02}, "schedules": schedules}, "evidence"
    )
    with EmulatorServer(scenario) as server:
        yield server


def marked_tests(count: int) -> str:
    return "import pytest\n\n\n" + "".join(
        f'@pytest.mark.leapwork_schedule("S{i}")\ndef test_s{i}():\n    pass\n\n\n'
        for i in range(count)
    )


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_each_failing_flows_evidence_is_downloaded_once_under_worksteal(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """Two workers see most runs end (the one that followed it, the one whose test took it):
    one downloads, the other waits for its files and links them; no file is written twice."""
    # Slow videos: both workers' downloads of one flow would overlap, as on a real controller.
    emulator.add_fault(Fault(endpoint="video", action="slow", delay=0.3, times=0))
    pytester.makepyfile(marked_tests(FLOWS))
    result = run_pytest(
        "-n",
        "2",
        "--dist=worksteal",
        "--leapwork-artifacts=evidence",
        "--leapwork-junitxml=flows.xml",
        subprocess=True,
    )
    result.assert_outcomes(failed=FLOWS)
    output = result.stdout.str() + result.stderr.str()
    assert "could not save the artifacts" not in output
    assert "were not kept in time" not in output
    assert emulator.count_requests("video") == FLOWS
    files = files_under(pytester.path / "evidence")
    # A video and a keyframes JSON per flow, nothing half written, no claim left behind.
    assert len(files) == 2 * FLOWS, [str(f) for f in files]
    assert sum(f.name.endswith(".webm") for f in files) == FLOWS
    assert sum(f.name.endswith(".keyframes.json") for f in files) == FLOWS
    for video in (f for f in files if f.suffix == ".webm"):
        assert video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    # Every test links its flow's two files, whichever worker downloaded them.
    cases = {
        c.get("name"): c for c in ET.parse(pytester.path / "flows.xml").getroot().iter("testcase")
    }
    for i in range(FLOWS):
        out = cases[f"Flow{i}"].findtext("system-out") or ""
        assert out.count("[[ATTACHMENT|") == 2, (i, out)
    summary = [line for line in result.outlines if "::test_s" in line and "evidence/" in line]
    assert len(summary) == 2 * FLOWS


def test_a_page_answered_for_a_video_is_not_saved_as_one(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """A proxy's sign-in page (``text/html``) where the video was asked for: no ``.mp4`` of
    it, no ``<video>`` in the HTML report; the keyframes JSON and the warning say why."""
    emulator.add_fault(
        Fault(endpoint="video", status=200, body=SIGN_IN_PAGE, content_type="text/html", times=0)
    )
    pytester.makepyfile(marked_tests(1))
    result = run_pytest(
        "--leapwork-artifacts=evidence", *WITH_HTML, "--html=report.html", "-rA", subprocess=True
    )
    result.assert_outcomes(failed=1)
    [keyframes] = files_under(pytester.path / "evidence")
    assert keyframes.name.endswith(".keyframes.json")
    document = json.loads(keyframes.read_text())
    assert document["video"] is None
    problem = document["video_problem"]
    assert "GET /runItems/{id}/video answered HTTP 200 with text/html, not a video" in problem
    assert "Sign in to the proxy" in problem
    result.stdout.fnmatch_lines(["*no video for flow 'Flow0' of run *with text/html, not a video*"])
    # pytest-html keeps each row as JSON in an HTML attribute: unescape both layers.
    page = html.unescape((pytester.path / "report.html").read_text()).replace('\\"', '"')
    assert f">{keyframes.name}</a>" in page
    assert '<video controls preload="none"' not in page
