"""``--leapwork-select`` / ``--leapwork-var``: schedules as test items, without test functions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import pytest_leapwork.api.client as client_module
from pytest_leapwork.api.models import PlacedSchedule, Schedule
from pytest_leapwork.api.parsing import parse_schedule_hierarchy
from pytest_leapwork.emulator import EmulatorServer
from pytest_leapwork.emulator.faults import Fault
from pytest_leapwork.features.selection import item_names, select

from ..support import FAST, RunPytest
from .support import BROKEN

LOGIN = "22222222-aaaa-4bbb-8ccc-000000000001"
CHECKOUT = "22222222-aaaa-4bbb-8ccc-000000000002"
REPORTS = "22222222-aaaa-4bbb-8ccc-000000000003"
STAGING_LOGIN = "22222222-aaaa-4bbb-8ccc-000000000004"


def test_collect_only_lists_the_selected_schedules_with_one_listing(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = run_pytest("--leapwork-select=Regression/*", "--collect-only")
    result.stdout.fnmatch_lines(
        [
            "<Dir *>",
            "  <Module test_collect_only_lists_the_selected_schedules_with_one_listing.py>",
            "    <Function test_plain>",
            "<LeapworkSelection leapwork>",
            "  <SelectedSchedule Checkout>",
            "  <SelectedSchedule Reports>",
            "  <SelectedSchedule Login>",
            "*4 tests collected*",
        ]
    )
    assert "Old Suite" not in result.stdout.str()  # disabled
    assert emulator.count_requests("schedules_hierarchy") == 1
    assert emulator.count_requests() == 1
    assert not emulator.runs


@pytest.mark.parametrize("workers", ["0", "2"])
def test_selected_schedules_run_as_marked_tests(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer, workers: str
) -> None:
    """Folder and title patterns, variables (scoped to a pattern or not), outcomes, RunIds in
    JUnit; one listing with xdist."""
    result = run_pytest(
        "--leapwork-select=Regression/Smoke/*",
        "--leapwork-select=Check*",
        f"--leapwork-var=Regression/Smoke/*:URL={BROKEN}",  # Login's only
        "--leapwork-var=Browser=a=b",  # every selected schedule's; the value is all after '='
        "--junitxml=out.xml",
        "-n",
        workers,
        "-rf",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED leapwork::Login - Failed: Log In: Failed at 'Click Login'*"]
    )
    variables = {run.schedule_id: run.variables for run in emulator.runs}
    assert variables == {LOGIN: {"URL": BROKEN, "Browser": "a=b"}, CHECKOUT: {"Browser": "a=b"}}
    assert emulator.count_requests("schedules_hierarchy") == 1
    assert emulator.count_requests("schedules") == 0  # runs resolve from that one listing
    cases = {
        case.get("name"): (case.get("classname"), case.find("properties/property"))
        for case in ET.parse(pytester.path / "out.xml").getroot().iter("testcase")
    }
    assert set(cases) == {"Login", "Checkout"}
    run_ids = {run.run_id for run in emulator.runs}
    for classname, prop in cases.values():
        assert classname == "leapwork"
        assert prop is not None and prop.get("value") in run_ids


def test_keyword_selection_and_last_failed(
    pytester: pytest.Pytester, controller_args: list[str], emulator: EmulatorServer
) -> None:
    args = [*controller_args, "--leapwork-poll-interval=0.05", "--leapwork-select=Regression/*"]
    result = pytester.runpytest(*args, "-k", "Checkout or Reports")
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    assert {run.schedule_id for run in emulator.runs} == {CHECKOUT, REPORTS}

    before = len(emulator.runs)
    result = pytester.runpytest(*args, "--lf")
    result.assert_outcomes(failed=1, deselected=2)
    assert [run.schedule_id for run in emulator.runs[before:]] == [REPORTS]


def test_ini_patterns_and_variables_command_line_wins(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    pytester.makeini(
        """
        [pytest]
        leapwork_select =
            Regression/Smoke/Login
        leapwork_vars =
            URL=https://staging.example.com
            Browser=firefox
        """
    )
    run_pytest("--leapwork-var=Browser=edge").assert_outcomes(passed=1)
    [run] = emulator.runs
    assert run.variables == {"URL": "https://staging.example.com", "Browser": "edge"}

    run_pytest("--leapwork-select=Checkout").assert_outcomes(passed=1)  # replaces the ini's
    assert emulator.runs[-1].schedule_id == CHECKOUT


def test_same_title_in_two_folders_gets_the_folder_path(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    result = run_pytest("--leapwork-select=Login", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["leapwork::Regression/Smoke/Login", "leapwork::Staging/Login"])


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (
            "Nope*",
            "*--leapwork-select 'Nope*' matches no enabled schedule on the controller (run "
            "`pytest --leapwork-schedules` to list them)",
        ),
        (
            "Regression/Old*",
            "*--leapwork-select 'Regression/Old*' matches no enabled schedule on the controller "
            "(disabled: 'Regression/Old Suite')",
        ),
        (
            "regression/shop/*",
            "*patterns are case-sensitive: did you mean 'Regression/Shop/Checkout', "
            "'Regression/Shop/Reports'?",
        ),
    ],
)
def test_a_pattern_matching_nothing_is_a_collection_error(
    pytester: pytest.Pytester, run_pytest: RunPytest, pattern: str, message: str
) -> None:
    result = run_pytest("--leapwork-select=Checkout", f"--leapwork-select={pattern}")
    result.stdout.fnmatch_lines(["*ERROR collecting leapwork*", message, "*1 error*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--leapwork-select=x", "--leapwork-var=URL"], "*--leapwork-var option: 'URL' is not*"),
        (
            ["--leapwork-select=x", "--leapwork-var=U RL=x"],
            "*--leapwork-var option: variable name 'U RL' contains ' '*",
        ),
        (["--leapwork-var=URL=x"], "*--leapwork-var option: gives variables of the schedules*"),
        (["--leapwork-select= "], "*--leapwork-select option: a pattern is empty*"),
    ],
)
def test_bad_options_are_usage_errors(
    pytester: pytest.Pytester, run_pytest: RunPytest, args: list[str], message: str
) -> None:
    result = run_pytest(*args)
    result.stderr.fnmatch_lines([message])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_unreachable_controller_is_a_collection_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_FACTOR", 0.01)  # retries without the waits
    result = pytester.runpytest(
        "--leapwork-controller=http://127.0.0.1:9",
        "--leapwork-key=KEYKEYKEYKEY1234",
        "--leapwork-select=*",
        *FAST,
    )
    result.stdout.fnmatch_lines(
        ["leapwork: GET /schedules/hierarchy: cannot reach the controller at *"]
    )
    assert "KEYKEYKEYKEY1234" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_no_controller_is_a_collection_error_saying_what_to_configure(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--leapwork-select=*", *FAST)
    result.stdout.fnmatch_lines(["leapwork: *no controller is configured: pass --leapwork-contr*"])
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_without_the_hierarchy_endpoint_titles_are_matched(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    emulator.add_fault(Fault(endpoint="schedules_hierarchy", status=404, times=0))
    result = run_pytest("--leapwork-select=Check*", "--leapwork-select=Regression/*")
    result.stdout.fnmatch_lines(["*'Regression/*' matches no enabled schedule*"])
    run_pytest("--leapwork-select=Check*").assert_outcomes(passed=1)


def test_hierarchy_as_documented_gives_folder_and_run_list_path() -> None:
    """The documentation's example: a schedule in a run list in a folder; $id keys ignored."""
    data = [
        {
            "ScheduleHierarchy": {
                "Id": "c7476922-cc9d-4b45-9a0e-8955c8202f29",
                "Title": "S1",
                "Type": "ScheduleInfo",
                "Parent": [
                    {
                        "$id": "1",
                        "Id": "6fa1c30b-0000-0000-0000-000000000000",
                        "Title": "New Run list 1",
                        "Type": "RunList",
                        "Parent": [
                            {"$id": "2", "Id": "8c8d", "Title": "New Folder 1", "Type": "Folder"}
                        ],
                    }
                ],
            },
            "ScheduleInfo": {"Id": "c7476922-cc9d-4b45-9a0e-8955c8202f29", "IsEnabled": False},
        },
        {"ScheduleHierarchy": {"Id": "f", "Title": "A folder", "Type": "Folder", "Parent": []}},
    ]
    [placed] = parse_schedule_hierarchy(data)
    assert placed.path == "New Folder 1/New Run list 1/S1"
    assert placed.schedule.title == "S1" and not placed.schedule.enabled


def test_selection_skips_temporary_and_deduplicates() -> None:
    one = PlacedSchedule(Schedule("a", "Login"), ("Smoke",))
    temporary = PlacedSchedule(Schedule("b", "Login", type="TemporaryScheduleInfo"))
    chosen = select([one, temporary], ["Login", "Smoke/*"])
    assert chosen == [one]
    twins = [PlacedSchedule(Schedule("x", "T"), ("F",)), PlacedSchedule(Schedule("y", "T"), ("F",))]
    assert item_names(twins) == ["F/T (x)", "F/T (y)"]


def test_selected_schedules_are_triggered_ahead(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """The second test's run starts while the first test still waits for its slow run."""
    result = run_pytest("--leapwork-select=Nightly/*", "--leapwork-select=Checkout", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["leapwork::Slow Nightly FAILED*", "leapwork::Checkout PASSED*"])
    slow, checkout = sorted(emulator.runs, key=lambda run: run.schedule_title != "Slow Nightly")
    assert slow.end_at is not None
    assert checkout.created_at < slow.end_at


def test_listing_shows_the_folders_patterns_match(
    pytester: pytest.Pytester, controller_args: list[str], emulator: EmulatorServer
) -> None:
    result = pytester.runpytest(*controller_args, "--leapwork-schedules")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "title  *folder  *id  *enabled",
            f"Login  *Regression/Smoke  *{LOGIN}  yes",
            "Old Suite  *Regression  *22222222-aaaa-4bbb-8ccc-000000000005  no",
        ]
    )
    assert "00000000ffff" not in result.stdout.str()  # temporary
    emulator.add_fault(Fault(endpoint="schedules_hierarchy", status=404, times=0))
    result = pytester.runpytest(*controller_args, "--leapwork-schedules")
    result.stdout.fnmatch_lines([f"Login  *-  *{LOGIN}  yes"])


def test_a_variable_a_selected_schedule_does_not_declare_is_its_setup_error(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    result = run_pytest(
        "--leapwork-select=Regression/Smoke/*", "--leapwork-select=Checkout", "--leapwork-var=Env=x"
    )
    result.assert_outcomes(passed=1, errors=1)  # Checkout declares no list: it takes any name
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of leapwork schedule Regression/Smoke/Login*",
            # The emulator's 400, as the controller's, does not say which variable it refused.
            f"*Leapwork schedule '{LOGIN}' could not be started: PUT /schedules/{{id}}/runNow "
            "answered HTTP 400 (*): Variable name is invalid or variable with such name is "
            "already in request; variables sent: Env; the controller refused one of them and "
            "does not say which; Env is given to every selected schedule (a --leapwork-var or "
            "leapwork_vars line without a pattern): give a variable only to the schedules that "
            "declare it, as PATTERN:NAME=VALUE",
        ]
    )


def test_hooks_see_the_title_of_a_selected_schedule(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """By title where it is unique (Checkout), by id where two share it (Login)."""
    pytester.makeconftest(
        """
        def pytest_leapwork_variables(item, schedule, variables):
            variables["Browser"] = "edge" if schedule == "Checkout" else schedule
        """
    )
    run_pytest("--leapwork-select=Checkout", "--leapwork-select=Regression/Smoke/*")
    variables = {run.schedule_id: run.variables for run in emulator.runs}
    assert variables == {CHECKOUT: {"Browser": "edge"}, LOGIN: {"Browser": LOGIN}}


def test_listing_with_a_selection_shows_what_would_run_with_its_variables(
    pytester: pytest.Pytester, controller_args: list[str], emulator: EmulatorServer
) -> None:
    result = pytester.runpytest(
        *controller_args,
        "--leapwork-schedules",
        "--leapwork-select=Regression/*",
        f"--leapwork-var=Regression/Smoke/*:URL={BROKEN}",
        "--leapwork-var=Browser=edge",
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "title  *folder  *id  *variables",
            f"Checkout  *Regression/Shop  *{CHECKOUT}  Browser=edge",
            f"Reports  *Regression/Shop  *{REPORTS}  Browser=edge",
            f"Login  *Regression/Smoke  *{LOGIN}  Browser=edge, URL={BROKEN}",
            "3 of 6 schedules selected by 'Regression/*'",
        ]
    )
    assert "Old Suite" not in result.stdout.str()  # disabled: it would not run
    assert "Staging" not in result.stdout.str()
    assert not emulator.runs


def test_a_marker_names_a_schedule_by_its_folder_path(
    pytester: pytest.Pytester, run_pytest: RunPytest, emulator: EmulatorServer
) -> None:
    """Two schedules are titled Login: the path names one; the title alone says where each is."""
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.leapwork_schedule("Regression/Smoke/Login", variables={{"URL": "https://a"}})
        def test_by_path(leapwork_schedule):
            assert leapwork_schedule.schedule_id == "{LOGIN}"

        @pytest.mark.leapwork_schedule("Login")
        def test_by_title():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*2 enabled schedules are titled 'Login' (ids {LOGIN} in Regression/Smoke, "
            f"{STAGING_LOGIN} in Staging); name the one to run by its id or its folder path "
            "('Regression/Smoke/Login' or 'Staging/Login')*"
        ]
    )
    assert [run.schedule_id for run in emulator.runs] == [LOGIN]
    assert emulator.count_requests("schedules_hierarchy") == 1
