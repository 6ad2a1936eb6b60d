"""Every piece of a failing flow's evidence is kept, and what the controller says stays readable.

Each test drives a real pytest process against the emulator: names of 4-byte characters, a
full disk (a small tmpfs in a mount namespace of its own), a DIR that can never be made, and
control characters in the controller's text.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import xmlschema

from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario

from ..support import FAST, RunPytest

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parent.parent / "data" / "junit-10.xsd"))
#: A title of 4-byte characters: 100 characters, 400 bytes of UTF-8.
WIDE_TITLE = "\U0001d4ab" * 100
#: What the controller may put in its texts: a NUL in a title, ANSI colours in a keyframe.
NUL_TITLE = "Pay\x00ment"
COLOURED = "\x1b[31mCard declined\x1b[0m"

SCENARIO = f"""
[controller]
queue_seconds = 0.02

[[schedules]]
title = "Checkout"

  [[schedules.flows]]
  title = {json.dumps(WIDE_TITLE, ensure_ascii=False)}
  seconds = 0.05
  status = "Failed"

[[schedules]]
title = "Payments"

  [[schedules.flows]]
  title = {json.dumps(NUL_TITLE)}
  seconds = 0.05
  status = "Failed"
  keyframes = [{{ level = "Error", message = {json.dumps(COLOURED)} }}]
"""

TEST = """
import pytest

@pytest.mark.leapwork_schedule({schedule!r})
def test_it():
    pass
"""


@pytest.fixture
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """A controller whose flows have titles of 4-byte characters and control characters."""
    path = tmp_path_factory.mktemp("scenario") / "evidence.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    with EmulatorServer(load_scenario(path)) as server:
        yield server


def args_for(server: EmulatorServer, *extra: str) -> list[str]:
    return [
        f"--leapwork-controller={server.url}",
        f"--leapwork-key={server.access_key}",
        *FAST,
        *extra,
    ]


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_a_title_of_four_byte_characters_keeps_both_files_within_255_bytes(
    pytester: pytest.Pytester, controller: EmulatorServer
) -> None:
    """Item: names were cut at 60 characters, 240 bytes and more: 'File name too long'."""
    pytester.makepyfile(TEST.format(schedule="Checkout"))
    result = pytester.runpytest_subprocess(*args_for(controller, "--leapwork-artifacts=evidence"))
    result.assert_outcomes(failed=1)
    files = files_under(pytester.path / "evidence")
    assert [p.suffix for p in files] == [".json", ".webm"]
    for path in files:
        assert len(path.name.encode("utf-8")) <= 255
        assert path.name.startswith("\U0001d4ab" * 10)
    assert files[1].read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # the WebM itself
    assert json.loads(files[0].read_text(encoding="utf-8"))["flow"] == WIDE_TITLE
    output = result.stdout.str() + result.stderr.str()
    assert "too long" not in output
    assert "could not save" not in output


def _can_mount_a_tmpfs() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_a_tmpfs(), reason="needs a mount namespace (Linux)")
@pytest.mark.parametrize(
    ("free_pages", "lost"),
    [
        pytest.param(0, ["video", "keyframes"], id="full"),
        pytest.param(4, ["video"], id="room-for-the-keyframes-only"),
    ],
)
def test_a_full_disk_is_one_warning_per_file_and_spares_what_fits(
    pytester: pytest.Pytester, controller: EmulatorServer, free_pages: int, lost: list[str]
) -> None:
    """Item: one file that cannot be written never costs the other, nor the test its verdict.

    The artifacts directory is a small tmpfs, filled up but for ``free_pages`` pages of 4 KiB,
    in a mount namespace of the pytest process's own; the video is a long recording (64 KiB).
    """
    controller.add_fault(Fault(endpoint="video", action="huge", size=64 * 1024, times=0))
    pytester.makepyfile(TEST.format(schedule="Checkout"))
    (pytester.path / "evidence").mkdir()
    inner = " ".join(
        f"'{arg}'" for arg in args_for(controller, "--leapwork-artifacts=evidence", "-rA")
    )
    script = (
        "mount -t tmpfs -o size=64k tmpfs evidence || exit 99; "
        "head -c 65536 /dev/zero > evidence/filler 2>/dev/null; "
        f"truncate -s {(16 - free_pages) * 4096} evidence/filler; "
        f"exec {sys.executable} -m pytest {inner}"
    )
    result = pytester.run("unshare", "-r", "-m", "sh", "-c", script)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stderr.str()
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output
    for kind in ("video", "keyframes"):
        warnings = [line for line in output.splitlines() if f"could not save the {kind}" in line]
        if kind in lost:
            assert len(warnings) == 1, output
            assert "[Errno 28] No space left on device" in warnings[0]
        else:
            assert warnings == [], output
    # The tmpfs is gone with its namespace: what the test saw is in the summary's links.
    if "keyframes" not in lost:
        result.stdout.fnmatch_lines(["*test_it: * (Failed): evidence/Checkout_*.keyframes.json"])
    else:
        assert "= leapwork artifacts =" not in output


@pytest.mark.parametrize(
    "directory",
    ["afile/evidence", "dangling", "dangling/evidence"],
)
def test_a_directory_that_can_never_be_made_is_a_usage_error_before_any_run(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, directory: str
) -> None:
    """Item: under a regular file, or through a symbolic link to nothing, it only warned at
    the end, once per failing flow, after every run had been made."""
    pytester.makepyfile(TEST.format(schedule="Reports"))
    pytester.makefile("", afile="x")
    (pytester.path / "dangling").symlink_to(pytester.path / "gone")
    result = run_pytest(f"--leapwork-artifacts={directory}", subprocess=True)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = {
        "afile/evidence": "*--leapwork-artifacts option: '*afile/evidence' is under '*afile', "
        "which is a file, not a directory",
        "dangling": "*--leapwork-artifacts option: '*dangling' is a symbolic link to "
        "'*gone', which does not exist",
        "dangling/evidence": "*--leapwork-artifacts option: '*dangling/evidence' goes through "
        "'*dangling', a symbolic link to '*gone', which does not exist",
    }
    result.stderr.fnmatch_lines([expected[directory]])
    assert emulator.count_requests("run_now") == 0


def test_control_characters_from_the_controller_are_escaped_in_reports_and_terminal(
    pytester: pytest.Pytester, controller: EmulatorServer
) -> None:
    """Item: a NUL in a title and ANSI colours in a keyframe made --leapwork-junitxml not
    well-formed ("not well-formed (invalid token)") and went raw to the terminal."""
    pytester.makepyfile(TEST.format(schedule="Payments"))
    result = pytester.runpytest_subprocess(
        *args_for(
            controller,
            "--leapwork-junitxml=reports/flows.xml",
            "--junitxml=reports/pytest.xml",
            "--leapwork-artifacts=evidence",
        )
    )
    result.assert_outcomes(failed=1)
    flows = pytester.path / "reports" / "flows.xml"
    SCHEMA.validate(str(flows))  # parses, and is valid against Jenkins' JUnit schema
    [case] = ET.parse(flows).getroot().iter("testcase")
    assert case.get("name") == "Pay\\x00ment"
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert "\\x1b[31mCard declined\\x1b[0m" in failure.text
    ET.parse(pytester.path / "reports" / "pytest.xml")  # pytest's own report parses too

    output = result.stdout.str() + result.stderr.str()
    assert "\x1b" not in output and "\x00" not in output
    result.stdout.fnmatch_lines(
        [
            "*Pay\\x00ment*Failed*",  # the flow table
            "*test_it: Pay\\x00ment (Failed): evidence/Payments_*",  # the artifacts summary
        ]
    )
    assert " - \\x1b[31mCard declined\\x1b[0m\n" in result.stdout.str()  # the keyframe
    # The keyframes file keeps the controller's text as it was, in JSON's escapes.
    [keyframes] = (pytester.path / "evidence").rglob("*.keyframes.json")
    document = json.loads(keyframes.read_text(encoding="utf-8"))
    assert document["flow"] == NUL_TITLE
    assert document["keyframes"][-1]["message"] == COLOURED
