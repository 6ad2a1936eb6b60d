"""A real browser engine calls the emulator from a page on another origin (CORS).

Schedule pickers (Jenkins, TeamCity, TestRail) are such pages; the page also plays a run
item's video, which shows the clip is one a browser decodes. Runs headless Chromium where it
is installed (Debian's `chromium`); skipped elsewhere. test_emulator.py replays the exact
preflight Chromium sends with plain requests, so the behaviour is covered without a browser.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from pytest_leapwork.emulator import ControllerSpec, EmulatorServer, Scenario, load_scenario

BROWSER = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed")
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

# A picker's calls: list the schedules, start one with a variable, read the run's status;
# then play a finished run item's video (fetched with the key, as a page must).
PAGE = """<!doctype html>
<html><body><pre id="out">pending</pre><video id="clip" muted></video><script>
const base = "{url}/api/v4", headers = {{"AccessKey": "{key}"}};
const show = text => {{
  document.getElementById("out").textContent = text;
  // Told to the page's own origin, which the test waits on in real time.
  fetch("/result?" + encodeURIComponent(text));
}};
(async () => {{
  const schedules = await (await fetch(base + "/schedules", {{headers}})).json();
  const smoke = schedules.find(s => s.Title === "Smoke Login" && s.Type === "ScheduleInfo");
  const started = await fetch(base + "/schedules/" + smoke.Id + "/runNow?URL=" +
    encodeURIComponent("https://example.com"), {{method: "PUT", headers}});
  const run = await started.json();
  const status = await (await fetch(base + "/run/" + run.RunId + "/status", {{headers}})).json();
  const denied = await fetch(base + "/schedules", {{headers: {{"AccessKey": "WRONG"}}}});
  const video = await fetch(base + "/runItems/{item}/video", {{headers}});
  const clip = document.getElementById("clip");
  const loaded = new Promise((resolve, reject) => {{
    clip.onloadedmetadata = resolve;
    clip.onerror = () => reject(new Error("video: " + clip.error.code));
  }});
  clip.src = URL.createObjectURL(await video.blob());
  await loaded;
  show(["ok", schedules.length, started.status, status.Status, denied.status,
        await denied.text(), video.headers.get("Content-Type"),
        clip.videoWidth + "x" + clip.videoHeight].join("|"));
}})().catch(error => show("error|" + error));
</script></body></html>
"""


@dataclass
class PageSite:
    """A second loopback origin serving files from a directory, and what its page said."""

    root: Path
    origin: str
    said: list[str] = field(default_factory=list)
    told: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def page_server(tmp_path: Path) -> Iterator[PageSite]:
    root = tmp_path / "site"
    root.mkdir()
    site = PageSite(root, "")
    handler = functools.partial(_PageHandler, site, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    site.origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()


class _PageHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, site: PageSite, *args: Any, **kwargs: Any) -> None:
        self.site = site
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path != "/result":
            super().do_GET()
            return
        self.site.said.append(urllib.parse.unquote(query))
        self.site.told.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def page_text(site: PageSite, page: str, profile: Path) -> str:
    """What the page says once its script is done, waited for in real time (a loaded machine
    slows the browser down; it never cuts the script short)."""
    assert BROWSER is not None
    browser = subprocess.Popen(
        [BROWSER, *HEADLESS, f"--user-data-dir={profile}", f"{site.origin}/{page}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        told = site.told.wait(120)
    finally:
        browser.kill()
        _, errors = browser.communicate()
    assert told, f"the page never said anything; the browser wrote:\n{errors[-2000:]}"
    return site.said[0]


def serve_page(site: PageSite, server: EmulatorServer, item: str = "") -> str:
    page = PAGE.format(url=server.url, key=server.access_key, item=item)
    (site.root / "picker.html").write_text(page)
    return "picker.html"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def finished_item(server: EmulatorServer, clock: FakeClock) -> str:
    """A run item of a run of Checkout that has finished (so it has a video)."""
    checkout = next(s for s in server.scenario.schedules if s.title == "Checkout")
    response = requests.put(
        f"{server.url}/api/v4/schedules/{checkout.id}/runNow",
        headers={"AccessKey": server.access_key},
        timeout=10,
    )
    run = server.run(response.json()["RunId"])
    clock.now += 60
    return run.item_ids[0]


def test_a_page_on_another_origin_lists_schedules_and_starts_a_run(
    page_server: PageSite, tmp_path: Path
) -> None:
    origin = page_server.origin
    clock = FakeClock()
    with EmulatorServer(load_scenario("demo"), clock=clock) as server:
        page = serve_page(page_server, server, finished_item(server, clock))
        text = page_text(page_server, page, tmp_path / "profile")
        assert text == "ok|6|200|Queued|401|Incorrect AccessKey|video/webm|64x48"
        _, run = server.runs
        assert run.variables == {"URL": "https://example.com"}
        preflights = [r for r in server.requests if r.method == "OPTIONS"]
        assert {r.status for r in preflights} == {200}
        assert all("AccessKey" not in r.headers for r in preflights)
        assert {r.headers["Access-Control-Request-Method"] for r in preflights} >= {"GET", "PUT"}
        assert {r.headers.get("Origin") for r in server.requests} == {None, origin}


def test_a_page_from_an_origin_not_allowed_cannot_read_answers(
    page_server: PageSite, tmp_path: Path
) -> None:
    demo = load_scenario("demo")
    only_ci = Scenario(
        controller=ControllerSpec(cors_origins=("http://ci.example.com",)),
        schedules=demo.schedules,
        source="demo",
    )
    with EmulatorServer(only_ci) as server:
        page = serve_page(page_server, server)
        assert page_text(page_server, page, tmp_path / "profile") == (
            "error|TypeError: Failed to fetch"
        )
        assert server.runs == []
        assert [(r.method, r.status) for r in server.requests] == [("OPTIONS", 403)]
