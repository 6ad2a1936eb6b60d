"""Selected schedules at the edges: titles that are not plain names, ids that must round-trip
through pytest's command line and cache, and controllers that do not list folders.

Each test is a real pytest session against the emulator; see "At the edges: selected
schedules and messages" in docs/faults.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_leapwork.emulator import EmulatorServer, Fault, load_scenario

from ..support import FAST

SMOKE = "33333333-aaaa-4bbb-8ccc-000000000001"
SMOKE_WITH_SPACE = "33333333-aaaa-4bbb-8ccc-000000000002"
UNTITLED = "33333333-aaaa-4bbb-8ccc-000000000003"
LOGIN_CHROME = "33333333-aaaa-4bbb-8ccc-000000000004"
SMOKE_LOGIN = "33333333-aaaa-4bbb-8ccc-000000000005"

SCENARIO = f"""
[controller]
queue_seconds = 0.02

# Passes: what a selection of 'Smoke ' must never run instead.
[[schedules]]
title = "Smoke"
id = "{SMOKE}"
folder = "Main"
  [[schedules.flows]]
  title = "Pass"
  seconds = 0.05

[[schedules]]
title = "Smoke "
id = "{SMOKE_WITH_SPACE}"
folder = "Other"
  [[schedules.flows]]
  title = "Fails"
  seconds = 0.05
  status = "Failed"

[[schedules]]
title = ""
id = "{UNTITLED}"
folder = "Other"
  [[schedules.flows]]
  title = "Untitled Flow"
  seconds = 0.05

[[schedules]]
title = "Login [chrome]"
id = "{LOGIN_CHROME}"
folder = "Browsers"
  [[schedules.flows]]
  title = "Fails"
  seconds = 0.05
  status = "Failed"

[[schedules]]
title = "Smoke Login"
id = "{SMOKE_LOGIN}"
folder = "Browsers"
  [[schedules.flows]]
  title = "Pass"
  seconds = 0.05
"""


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    """Overrides the shared emulator with schedules whose titles are not plain names."""
    path = tmp_path / "edges.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    with EmulatorServer(load_scenario(path)) as server:
        yield server


def ran(emulator: EmulatorServer, since: int = 0) -> list[str]:
    return [run.schedule_id for run in emulator.runs[since:]]


def test_a_selected_schedule_runs_itself_whatever_its_title(
    pytester: pytest.Pytester, controller_args: list[str], emulator: EmulatorServer
) -> None:
    """'Smoke ' (trailing space) used to run 'Smoke' and pass; an untitled one errored."""
    result = pytester.runpytest_subprocess(
        *controller_args, *FAST, "--leapwork-select=Other/*", "-rA"
    )
    result.assert_outcomes(passed=1, failed=1)
    # The short summary names the failing flow first: the one 'Smoke ' has, not 'Smoke''s.
    result.stdout.fnmatch_lines(["FAILED leapwork::Smoke  - Failed: Fails: Failed*"])
    result.stdout.fnmatch_lines(["*Leapwork schedule 'Smoke ' failed*"])
    assert sorted(ran(emulator)) == sorted([SMOKE_WITH_SPACE, UNTITLED])
    assert SMOKE not in ran(emulator)


def test_selected_test_ids_round_trip_through_lf_deselect_and_the_command_line(
    pytester: pytest.Pytester, controller_args: list[str], emulator: EmulatorServer
) -> None:
    """``[chrome]`` in a title is no parameter: ``--lf`` reruns that test (pytest 9.2 parses
    the ids it stored); ``leapwork::<title>`` names one test on the command line."""
    pytester.makepyfile("def test_plain(): pass")
    args = [*controller_args, "--leapwork-poll-interval=0.05", "--leapwork-select=Browsers/*"]
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=2, failed=1)

    before = len(emulator.runs)
    result = pytester.runpytest_subprocess(*args, "--lf")
    result.assert_outcomes(failed=1, deselected=2)
    assert ran(emulator, before) == [LOGIN_CHROME]

    before = len(emulator.runs)
    result = pytester.runpytest_subprocess(*args, "--deselect", "leapwork::Login [chrome]")
    result.assert_outcomes(passed=2, deselected=1)
    assert ran(emulator, before) == [SMOKE_LOGIN]

    before = len(emulator.runs)
    result = pytester.runpytest_subprocess(*args, "leapwork::Smoke Login", "-v")
    result.assert_outcomes(passed=1)  # neither the other schedule nor the file's test
    result.stdout.fnmatch_lines(["leapwork::Smoke Login PASSED*"])
    assert ran(emulator, before) == [SMOKE_LOGIN]

    before = len(emulator.runs)
    result = pytester.runpytest_subprocess(*args, "leapwork::Login [chrome]", "-n", "2")
    result.assert_outcomes(failed=1)
    assert ran(emulator, before) == [LOGIN_CHROME]


def test_a_test_id_no_pattern_selects_is_a_collection_error(
    pytester: pytest.Pytester, controller_args: list[str], emulator: EmulatorServer
) -> None:
    result = pytester.runpytest_subprocess(
        *controller_args, *FAST, "--leapwork-select=Browsers/*", "leapwork::Smoke"
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting leapwork*",
            # "[[]" is fnmatch for a literal "[".
            "leapwork: not found: 'leapwork::Smoke' is no test --leapwork-select adds (it adds "
            "'leapwork::Login [[]chrome]', 'leapwork::Smoke Login')*",
        ]
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert not emulator.runs


@pytest.mark.parametrize("workers", ["0", "2"])
def test_folder_pattern_where_the_controller_does_not_list_folders(
    pytester: pytest.Pytester, controller_args: list[str], emulator: EmulatorServer, workers: str
) -> None:
    emulator.add_fault(Fault(endpoint="schedules_hierarchy", status=405, times=0))
    result = pytester.runpytest_subprocess(
        *controller_args, *FAST, "--leapwork-select=Other/*", "-n", workers
    )
    result.stdout.fnmatch_lines(
        [
            "*--leapwork-select 'Other/*' matches no enabled schedule on the controller: this "
            "controller does not list folders (it has no GET /schedules/hierarchy), so patterns "
            "match schedule titles only; select by title instead*"
        ]
    )
    assert result.ret != pytest.ExitCode.OK  # under xdist a collection error counts as failed
    # A title pattern still works there.
    result = pytester.runpytest_subprocess(*controller_args, *FAST, "--leapwork-select=Smoke L*")
    result.assert_outcomes(passed=1)
