"""Resolving a marker's schedule reference against the controller's list (schedules.py)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from pytest_leapwork.api.client import LeapworkClient
from pytest_leapwork.api.errors import (
    ControllerUnreachable,
    NotFound,
    ScheduleAmbiguous,
    ScheduleDisabled,
    ScheduleNotFound,
)
from pytest_leapwork.api.models import PlacedSchedule, Schedule
from pytest_leapwork.runs.schedules import ScheduleDirectory, looks_like_id

UAT_ID = "587d3239-5ccb-402f-a1d1-46d907bd6eaa"
NIGHT_ID = "11111111-2222-3333-4444-555555555555"
TEMP_ID = "99999999-8888-7777-6666-555555555555"
DUP_A = "aaaaaaaa-0000-0000-0000-000000000001"
DUP_B = "aaaaaaaa-0000-0000-0000-000000000002"


class FakeClient:
    """Stands in for LeapworkClient: answers list_schedules from a script of lists, and
    schedule_hierarchy with the tree given (404, as a controller without one, if none)."""

    def __init__(self, *answers: list[Schedule], tree: list[PlacedSchedule] | None = None) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.tree = tree
        self.tree_calls = 0

    def list_schedules(self, within: float | None = None) -> list[Schedule]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return list(answer)

    def schedule_hierarchy(self, within: float | None = None) -> list[PlacedSchedule]:
        self.tree_calls += 1
        if self.tree is None:
            raise NotFound(404, "GET /schedules/hierarchy", "")
        return list(self.tree)


def directory(*answers: list[Schedule]) -> tuple[ScheduleDirectory, FakeClient]:
    client = FakeClient(*answers)
    return ScheduleDirectory(cast(LeapworkClient, client)), client


BASE = [
    Schedule(UAT_ID, "UAT"),
    Schedule(NIGHT_ID, "Nightly Regression"),
    Schedule("22222222-2222-2222-2222-222222222222", "Smoke Login"),
]


def test_exact_title() -> None:
    found, client = directory(BASE)
    assert found.resolve("UAT").id == UAT_ID
    assert client.calls == 1


def test_list_is_read_once_for_several_hits() -> None:
    found, client = directory(BASE)
    found.resolve("UAT")
    found.resolve("Smoke Login")
    found.resolve(NIGHT_ID)
    assert client.calls == 1


@pytest.mark.parametrize(
    "reference",
    [
        UAT_ID,
        UAT_ID.upper(),
        "{" + UAT_ID + "}",
        "{" + UAT_ID.upper() + "}",
        f"  {UAT_ID}  ",
    ],
    ids=["lower", "upper", "braces", "upper-braces", "spaces"],
)
def test_id_in_any_case_or_braces(reference: str) -> None:
    found, _ = directory(BASE)
    assert found.resolve(reference).id == UAT_ID


def test_controller_id_in_upper_case_matches_lower_case_reference() -> None:
    found, _ = directory([Schedule(UAT_ID.upper(), "UAT")])
    assert found.resolve(UAT_ID).id == UAT_ID.upper()


@pytest.mark.parametrize("reference", [UAT_ID, UAT_ID.upper(), "{" + UAT_ID + "}", "not-a-guid"])
def test_looks_like_id(reference: str) -> None:
    assert looks_like_id(reference) is (reference != "not-a-guid")


def test_temporary_schedule_with_the_same_title_never_matches() -> None:
    schedules = [Schedule(TEMP_ID, "UAT", True, "TemporaryScheduleInfo"), *BASE]
    found, _ = directory(schedules)
    # Not ambiguous: the temporary one is not a candidate.
    assert found.resolve("UAT").id == UAT_ID


def test_temporary_schedule_alone_is_not_found_by_title() -> None:
    found, client = directory([Schedule(TEMP_ID, "Flow run", True, "TemporaryScheduleInfo")])
    with pytest.raises(ScheduleNotFound):
        found.resolve("Flow run")
    assert client.calls == 2


def test_temporary_schedule_is_not_found_by_id() -> None:
    found, _ = directory([Schedule(TEMP_ID, "Flow run", True, "TemporaryScheduleInfo"), *BASE])
    with pytest.raises(ScheduleNotFound):
        found.resolve(TEMP_ID)


def test_temporary_titles_are_not_suggested() -> None:
    found, _ = directory([Schedule(TEMP_ID, "Flow run", True, "TemporaryScheduleInfo")])
    with pytest.raises(ScheduleNotFound) as info:
        found.resolve("Flow runs")
    assert "did you mean" not in str(info.value)


def test_two_enabled_with_one_title_is_ambiguous() -> None:
    found, _ = directory([Schedule(DUP_A, "Dup"), Schedule(DUP_B, "Dup"), *BASE])
    with pytest.raises(ScheduleAmbiguous) as info:
        found.resolve("Dup")
    text = str(info.value)
    assert DUP_A in text
    assert DUP_B in text
    assert "'Dup'" in text
    assert "id" in text


def test_ambiguous_title_resolved_by_id() -> None:
    found, _ = directory([Schedule(DUP_A, "Dup"), Schedule(DUP_B, "Dup")])
    assert found.resolve(DUP_B.upper()).id == DUP_B


@pytest.mark.parametrize("order", ["disabled-first", "enabled-first"])
def test_one_enabled_one_disabled_same_title_picks_the_enabled(order: str) -> None:
    pair = [Schedule(DUP_A, "Dup", enabled=False), Schedule(DUP_B, "Dup", enabled=True)]
    if order == "enabled-first":
        pair.reverse()
    found, _ = directory(pair)
    assert found.resolve("Dup").id == DUP_B


def test_disabled_schedule() -> None:
    found, _ = directory([Schedule(UAT_ID, "UAT", enabled=False)])
    with pytest.raises(ScheduleDisabled) as info:
        found.resolve("UAT")
    assert "UAT" in str(info.value)
    assert UAT_ID in str(info.value)


def test_disabled_schedule_by_id() -> None:
    found, _ = directory([Schedule(UAT_ID, "UAT", enabled=False)])
    with pytest.raises(ScheduleDisabled):
        found.resolve(UAT_ID.upper())


def test_unknown_title_suggests_close_matches() -> None:
    found, _ = directory(BASE)
    with pytest.raises(ScheduleNotFound) as info:
        found.resolve("Smoke Logn")
    text = str(info.value)
    assert "'Smoke Logn'" in text
    assert "did you mean 'Smoke Login'" in text


def test_title_in_another_case_gets_the_case_hint() -> None:
    found, _ = directory(BASE)
    with pytest.raises(ScheduleNotFound) as info:
        found.resolve("smoke login")
    text = str(info.value)
    assert "'Smoke Login'" in text
    assert "exactly" in text
    assert "any letter case" in text


def test_unknown_id() -> None:
    found, _ = directory(BASE)
    unknown = "deadbeef-0000-0000-0000-000000000000"
    with pytest.raises(ScheduleNotFound) as info:
        found.resolve(unknown)
    assert unknown in str(info.value)
    assert "id" in str(info.value)


def test_unknown_title_without_close_match() -> None:
    found, _ = directory(BASE)
    with pytest.raises(ScheduleNotFound) as info:
        found.resolve("Completely Different")
    assert "did you mean" not in str(info.value)


def test_miss_refreshes_once_and_finds_a_schedule_created_later() -> None:
    later = Schedule("33333333-3333-3333-3333-333333333333", "Created Later")
    found, client = directory(BASE, [*BASE, later])
    assert found.resolve("Created Later") == later
    assert client.calls == 2
    # The refreshed list is kept.
    assert found.resolve("Created Later") == later
    assert client.calls == 2


def test_miss_by_id_refreshes_once() -> None:
    later = Schedule("33333333-3333-3333-3333-333333333333", "Created Later")
    found, client = directory(BASE, [*BASE, later])
    assert found.resolve(later.id.upper()) == later
    assert client.calls == 2


def test_true_miss_fetches_the_list_twice_not_more() -> None:
    found, client = directory(BASE)
    with pytest.raises(ScheduleNotFound):
        found.resolve("Nope")
    assert client.calls == 2


def test_all_returns_a_copy() -> None:
    found, _ = directory(BASE)
    schedules: Any = found.all()
    schedules.clear()
    assert len(found.all()) == len(BASE)


def test_not_found_hint_names_only_options_the_plugin_offers() -> None:
    """A user who follows the advice in the message must not get 'unrecognized arguments'."""
    import re

    from pytest_leapwork import plugin

    offered: list[str] = []

    class Group:
        def addoption(self, *names: str, **_: Any) -> None:
            offered.extend(names)

    class Parser:
        def getgroup(self, *_: Any, **__: Any) -> Group:
            return Group()

        def addoption(self, *names: str, **_: Any) -> None:
            offered.extend(names)

        def addini(self, *_: Any, **__: Any) -> None:
            pass

    plugin.pytest_addoption(cast(Any, Parser()))
    assert "--leapwork-controller" in offered  # the fake parser saw the real options

    found, _ = directory(BASE)
    with pytest.raises(ScheduleNotFound) as info:
        found.resolve("Completely Different")
    for option in re.findall(r"--leapwork-[a-z-]+", str(info.value)):
        assert option in offered, f"the message advises {option}, which is not an option"


class FailingAfter(FakeClient):
    """Answers the first list, then fails; counts every call."""

    def list_schedules(self, within: float | None = None) -> list[Schedule]:
        self.calls += 1
        if self.calls > 1:
            raise ControllerUnreachable("GET /schedules: cannot reach the controller")
        return list(self.answers[0])


def test_a_list_that_could_not_be_read_is_not_asked_for_again() -> None:
    class Down(FakeClient):
        def list_schedules(self, within: float | None = None) -> list[Schedule]:
            self.calls += 1
            raise ControllerUnreachable("GET /schedules: cannot reach the controller")

    client = Down([])
    down = ScheduleDirectory(cast(LeapworkClient, client))
    messages = []
    for _ in range(3):
        with pytest.raises(ControllerUnreachable) as info:
            down.resolve("Smoke")
        messages.append(str(info.value))
    assert client.calls == 1
    assert len(set(messages)) == 1


def test_a_second_look_that_fails_keeps_the_list_read_before() -> None:
    client = FailingAfter([Schedule(id=UAT_ID, title="Smoke")])
    flaky = ScheduleDirectory(cast(LeapworkClient, client))
    with pytest.raises(ScheduleNotFound):
        flaky.resolve("Smok")  # a miss: looked at again, which fails
    assert flaky.resolve("Smoke").title == "Smoke"


# -- a folder path: the same title in two folders --------------------------------------------

SMOKE_LOGIN = Schedule(DUP_A, "Login")
STAGING_LOGIN = Schedule(DUP_B, "Login")
TREE = [
    PlacedSchedule(SMOKE_LOGIN, ("Regression", "Smoke")),
    PlacedSchedule(STAGING_LOGIN, ("Staging",)),
    PlacedSchedule(Schedule(UAT_ID, "UAT"), ()),
    PlacedSchedule(
        Schedule(TEMP_ID, "Login", True, "TemporaryScheduleInfo"), ("Regression", "Smoke")
    ),
]


def in_folders(tree: list[PlacedSchedule] | None = TREE) -> tuple[ScheduleDirectory, FakeClient]:
    client = FakeClient([p.schedule for p in TREE], tree=tree)
    return ScheduleDirectory(cast(LeapworkClient, client)), client


def test_a_folder_path_names_one_of_two_schedules_sharing_a_title() -> None:
    found, client = in_folders()
    assert found.resolve("Regression/Smoke/Login") == SMOKE_LOGIN
    assert found.resolve("Staging/Login") == STAGING_LOGIN
    assert client.tree_calls == 1  # the tree is read once, when a path first needs it


def test_a_title_or_id_never_reads_the_tree() -> None:
    found, client = in_folders()
    found.resolve("UAT")
    found.resolve(DUP_A.upper())
    assert client.tree_calls == 0


def test_an_exact_title_with_a_slash_comes_before_a_folder_path() -> None:
    titled = Schedule(NIGHT_ID, "Staging/Login")
    client = FakeClient([*[p.schedule for p in TREE], titled], tree=TREE)
    found = ScheduleDirectory(cast(LeapworkClient, client))
    assert found.resolve("Staging/Login") == titled
    assert client.tree_calls == 0


def test_a_title_two_enabled_schedules_share_lists_each_ids_folder() -> None:
    found, _ = in_folders()
    with pytest.raises(ScheduleAmbiguous) as info:
        found.resolve("Login")
    assert str(info.value) == (
        f"2 enabled schedules are titled 'Login' (ids {DUP_A} in Regression/Smoke, {DUP_B} in "
        "Staging); name the one to run by its id or its folder path ('Regression/Smoke/Login' "
        "or 'Staging/Login')"
    )


def test_without_the_tree_the_ambiguity_lists_the_ids_alone() -> None:
    found, _ = in_folders(tree=None)
    with pytest.raises(ScheduleAmbiguous) as info:
        found.resolve("Login")
    assert str(info.value) == (
        f"2 enabled schedules are titled 'Login' (ids {DUP_A}, {DUP_B}); name the one to run "
        "by its id"
    )


def test_one_folder_path_two_enabled_schedules_asks_for_the_id() -> None:
    twins = [PlacedSchedule(Schedule(i, "T"), ("F",)) for i in (DUP_A, DUP_B)]
    client = FakeClient([Schedule(UAT_ID, "UAT")], tree=twins)
    found = ScheduleDirectory(cast(LeapworkClient, client))
    with pytest.raises(ScheduleAmbiguous) as info:
        found.resolve("F/T")
    assert str(info.value) == (
        f"2 enabled schedules have the folder path 'F/T' (ids {DUP_A} in F, {DUP_B} in F); "
        "name the one to run by its id"
    )


def test_a_folder_path_of_a_disabled_schedule() -> None:
    off = Schedule(UAT_ID, "Nightly", enabled=False)
    client = FakeClient([off], tree=[PlacedSchedule(off, ("Regression",))])
    with pytest.raises(ScheduleDisabled):
        ScheduleDirectory(cast(LeapworkClient, client)).resolve("Regression/Nightly")


def test_an_unknown_folder_path_suggests_close_paths() -> None:
    found, client = in_folders()
    with pytest.raises(ScheduleNotFound) as info:
        found.resolve("Regression/Smok/Login")
    assert str(info.value) == (
        "no schedule titled 'Regression/Smok/Login' or at that folder path on the controller; "
        "did you mean 'Regression/Smoke/Login'?"
    )
    assert client.tree_calls == 2  # looked at again, as a title is


def test_a_folder_path_where_the_controller_has_no_tree() -> None:
    found, client = in_folders(tree=None)
    with pytest.raises(ScheduleNotFound) as info:
        found.resolve("Staging/Login")
    assert str(info.value) == (
        "no schedule titled 'Staging/Login' on the controller; a folder path needs the schedule "
        "tree, and this controller does not list folders (it has no GET /schedules/hierarchy): "
        "name the schedule by its title or id"
    )
    assert client.tree_calls == 1  # not asked again


def test_a_primed_tree_is_not_read_again() -> None:
    found, client = in_folders()
    found.prime([p.schedule for p in TREE], TREE)
    assert found.resolve("Staging/Login") == STAGING_LOGIN
    assert (client.calls, client.tree_calls) == (0, 0)


def test_a_tree_that_cannot_be_read_is_said_and_not_asked_for_again() -> None:
    class TreeDown(FakeClient):
        def schedule_hierarchy(self, within: float | None = None) -> list[PlacedSchedule]:
            self.tree_calls += 1
            raise ControllerUnreachable("GET /schedules/hierarchy: cannot reach the controller")

    client = TreeDown([p.schedule for p in TREE])
    found = ScheduleDirectory(cast(LeapworkClient, client))
    with pytest.raises(ScheduleAmbiguous) as info:
        found.resolve("Login")  # the ambiguity still says what it can
    assert "name the one to run by its id" in str(info.value)
    with pytest.raises(ScheduleNotFound) as info2:
        found.resolve("Staging/Login")
    assert "and the folders could not be read: GET /schedules/hierarchy: cannot reach" in str(
        info2.value
    )
    assert client.tree_calls == 1
