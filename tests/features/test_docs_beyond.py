"""The page "Select, keep the evidence, run one flow": its commands do what it shows.

``docs/examples/beyond/test_one_flow.py`` runs with every other example (tests/test_docs.py);
here the ini example and the artifacts command run against the demo and the docs scenario.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples"
PAGE = (REPO / "docs" / "content" / "beyond.md").read_text(encoding="utf-8")
README = (REPO / "README.md").read_text(encoding="utf-8")
QUIET = ("--leapwork-poll-interval=0.05", "-p", "no:cacheprovider")


@pytest.mark.parametrize("scenario", ["demo", str(EXAMPLES / "scenario.toml")])
def test_the_select_ini_collects_and_runs_what_the_page_shows(
    pytester: pytest.Pytester, scenario: str
) -> None:
    ini = str(EXAMPLES / "beyond" / "select.ini")
    result = pytester.runpytest("-c", ini, f"--leapwork-emulator={scenario}", "--co", *QUIET)
    shown = re.search(r"--collect-only\n(<LeapworkSelection leapwork>\n(?:  .*\n)+)\$", PAGE)
    assert shown is not None
    result.stdout.fnmatch_lines(shown.group(1).splitlines())

    # Each schedule gets the variables its lines scope to it: Smoke Login URL and Browser,
    # Checkout (which declares none) none, so neither refuses its run.
    result = pytester.runpytest("-c", ini, f"--leapwork-emulator={scenario}", *QUIET)
    result.assert_outcomes(passed=2)

    if scenario == "demo":  # the page's listing shows the demo's ids
        listed = re.search(r"--leapwork-schedules\n((?:[^$`].*\n)+)```", PAGE)
        assert listed is not None
        result = pytester.runpytest("-c", ini, "--leapwork-emulator", "--leapwork-schedules")
        assert result.ret == pytest.ExitCode.OK
        assert result.outlines == listed.group(1).splitlines()


def test_the_artifacts_command_saves_and_links_as_the_page_shows(
    pytester: pytest.Pytester,
) -> None:
    command = re.search(r"\$ pytest (docs/examples/test_demo.py --leapwork-emulator .*)", PAGE)
    assert command is not None
    args = command.group(1).split()
    args[0] = str(REPO / args[0])
    result = pytester.runpytest(*args, *QUIET)
    result.assert_outcomes(passed=2, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*= leapwork artifacts =*",
            "*test_smoke_login[[]broken[]]: Log In (Failed): "
            "leapwork-artifacts/Smoke-Login_*/Log-In_*.webm",
            "*test_smoke_login[[]broken[]]: Log In (Failed): "
            "leapwork-artifacts/Smoke-Login_*/Log-In_*.keyframes.json",
        ]
    )
    root = ET.parse(pytester.path / "reports" / "leapwork.xml").getroot()
    [out] = [
        case.findtext("system-out")
        for case in root.iter("testcase")
        if case.find("failure") is not None
    ]
    assert re.fullmatch(
        r"\[\[ATTACHMENT\|\.\./leapwork-artifacts/Smoke-Login_\w{8}/Log-In_\w{8}\.webm\]\]\n"
        r"\[\[ATTACHMENT\|\.\./leapwork-artifacts/Smoke-Login_\w{8}/Log-In_\w{8}\.keyframes\.json\]\]",
        out or "",
    )


def test_readme_flow_example_uses_the_ids_of_the_example_file() -> None:
    example = (EXAMPLES / "beyond" / "test_one_flow.py").read_text(encoding="utf-8")
    ids = re.findall(r'"([0-9a-f-]{36})"', example)
    assert len(ids) == 2
    for guid in ids:
        assert guid in README
