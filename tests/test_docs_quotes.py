"""Output the docs quote is output the plugin prints: a quoted line that drifts fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_leapwork import config as cfg

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs" / "content").glob("*.md"))]
HEADER = re.compile(
    r"leapwork: controller (?P<target>.+?), key (?P<key>.+?), timeout (?P<timeout>\S+)s, "
    r"poll (?P<poll>\S+)s, in flight (?P<in_flight>\d+)"
)


def quoted_headers() -> list[tuple[str, re.Match[str]]]:
    found = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            match = HEADER.search(line)
            if match:
                found.append((f"{page.relative_to(REPO)}:{number}", match))
    return found


def test_the_docs_quote_the_header_line() -> None:
    assert len(quoted_headers()) >= 4


def with_default_timeout() -> list[tuple[str, re.Match[str]]]:
    """Headers of sessions with default settings (the others show their own)."""
    return [(w, m) for w, m in quoted_headers() if m["timeout"] == f"{cfg.DEFAULT_TIMEOUT:g}"]


@pytest.mark.parametrize(("where", "quoted"), with_default_timeout(), ids=lambda v: str(v)[:60])
def test_a_quoted_header_with_the_default_timeout_has_every_default(
    where: str, quoted: re.Match[str]
) -> None:
    """A header quoted with the default timeout was printed with default settings: its poll
    interval and in-flight limit are the defaults too (a changed default must change the docs)."""
    assert quoted["poll"] == f"{cfg.DEFAULT_POLL_INTERVAL:g}", where
    assert int(quoted["in_flight"]) == cfg.DEFAULT_MAX_IN_FLIGHT, where


def test_the_emulator_header_is_what_the_plugin_prints(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest("--leapwork-emulator", "-p", "no:cacheprovider")
    printed = next(line for line in result.outlines if line.startswith("leapwork: controller"))
    quoted = {
        m.group(0) for _, m in quoted_headers() if "built-in emulator (scenario demo)" in m[0]
    }
    assert quoted == {printed}
