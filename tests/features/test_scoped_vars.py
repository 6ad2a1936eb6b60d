"""``--leapwork-var`` / ``leapwork_vars`` lines: parsing, and which schedule gets which variable
(features/scoped_vars.py). Plain functions, no pytest session: the combinations live here,
the sessions that show them end to end in test_selection.py."""

from __future__ import annotations

import pytest

from pytest_leapwork.api.models import PlacedSchedule, Schedule
from pytest_leapwork.config import SettingsError
from pytest_leapwork.features.scoped_vars import (
    COMMAND_LINE,
    INI,
    VariableLine,
    parse_lines,
    scope_matching_nothing,
    unscoped_names,
    variables_for,
)

LOGIN = PlacedSchedule(Schedule("a", "Login"), ("Regression", "Smoke"))
CHECKOUT = PlacedSchedule(Schedule("b", "Checkout"), ("Regression", "Shop"))
STAGING_LOGIN = PlacedSchedule(Schedule("c", "Login"), ("Staging",))
TEMPORARY = PlacedSchedule(Schedule("d", "Flow run", type="TemporaryScheduleInfo"))


def lines(*ini: str, cli: tuple[str, ...] = ()) -> list[VariableLine]:
    return [*parse_lines(ini, INI), *parse_lines(cli, COMMAND_LINE)]


@pytest.mark.parametrize(
    ("line", "pattern", "name", "value"),
    [
        ("URL=https://x", None, "URL", "https://x"),
        ("URL=", None, "URL", ""),
        ("Browser=a=b", None, "Browser", "a=b"),  # the value is all after the first '='
        (" URL =x ", None, "URL", "x "),  # the name is stripped, the value kept whole
        ("Smoke*:URL=https://x:8080/a", "Smoke*", "URL", "https://x:8080/a"),
        ("Regression/Smoke/*:URL=x", "Regression/Smoke/*", "URL", "x"),
        ("Smoke: Login:URL=x", "Smoke: Login", "URL", "x"),  # the name is after the last ':'
        (" Smoke* : URL =x", "Smoke*", "URL", "x"),
        ("*:URL=x", "*", "URL", "x"),
    ],
)
def test_a_line_is_name_value_or_pattern_name_value(
    line: str, pattern: str | None, name: str, value: str
) -> None:
    [parsed] = parse_lines([line], COMMAND_LINE)
    assert (parsed.pattern, parsed.name, parsed.value, parsed.text) == (pattern, name, value, line)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("URL", "--leapwork-var option: 'URL' is not NAME=VALUE (or PATTERN:NAME=VALUE)"),
        ("Smoke*:URL", "--leapwork-var option: 'Smoke*:URL' is not NAME=VALUE"),
        (
            ":URL=x",
            "--leapwork-var option ':URL=x': the pattern before ':' is empty; write "
            "PATTERN:NAME=VALUE",
        ),
        ("Smoke*:=x", "--leapwork-var option 'Smoke*:=x': a variable name is empty"),
        (
            "Smoke*:U RL=x",
            "--leapwork-var option 'Smoke*:U RL=x': variable name 'U RL' contains ' '",
        ),
        ("U RL=x", "--leapwork-var option: variable name 'U RL' contains ' '"),
        ("=x", "--leapwork-var option: a variable name is empty"),
    ],
)
def test_a_bad_line_is_an_error_naming_it(line: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_lines([line], COMMAND_LINE)
    assert str(info.value).startswith(message)


def test_an_unscoped_line_reaches_every_schedule_a_scoped_one_those_it_matches() -> None:
    given = lines("Browser=chrome", "Regression/Smoke/*:URL=https://a", "Check*:Card=visa")
    assert variables_for(LOGIN, given) == {"Browser": "chrome", "URL": "https://a"}
    assert variables_for(CHECKOUT, given) == {"Browser": "chrome", "Card": "visa"}
    assert variables_for(STAGING_LOGIN, given) == {"Browser": "chrome"}


def test_a_pattern_matches_the_title_or_the_folder_path_as_select_does() -> None:
    given = lines("Login:A=title", "Staging/*:B=folder", "Regression/*:C=deep", "Smoke/*:D=no")
    assert variables_for(STAGING_LOGIN, given) == {"A": "title", "B": "folder"}
    assert variables_for(LOGIN, given) == {"A": "title", "C": "deep"}  # '*' crosses '/'
    assert variables_for(LOGIN, lines("login:A=x")) == {}  # case-sensitive, as titles are


def test_a_scoped_line_overrides_an_unscoped_one_whatever_their_order() -> None:
    assert variables_for(LOGIN, lines("Login:URL=scoped", "URL=every")) == {"URL": "scoped"}
    assert variables_for(CHECKOUT, lines("Login:URL=scoped", "URL=every")) == {"URL": "every"}


def test_of_two_scoped_lines_giving_one_schedule_a_name_the_later_wins() -> None:
    given = lines("Regression/*:URL=general", "Regression/Smoke/*:URL=specific")
    assert variables_for(LOGIN, given) == {"URL": "specific"}
    assert variables_for(CHECKOUT, given) == {"URL": "general"}
    reversed_order = lines("Regression/Smoke/*:URL=specific", "Regression/*:URL=general")
    assert variables_for(LOGIN, reversed_order) == {"URL": "general"}


def test_the_command_line_goes_over_the_ini_file() -> None:
    assert variables_for(LOGIN, lines("URL=ini", cli=("URL=cli",))) == {"URL": "cli"}
    # Over the ini file's scoped lines too: the command line is the last word.
    assert variables_for(LOGIN, lines("Login:URL=ini", cli=("URL=cli",))) == {"URL": "cli"}
    assert variables_for(LOGIN, lines("URL=ini", cli=("Login:URL=cli",))) == {"URL": "cli"}
    # Within the command line, scoped over unscoped again.
    assert variables_for(LOGIN, lines(cli=("Login:URL=s", "URL=u"))) == {"URL": "s"}


def test_names_are_one_variable_whatever_their_letter_case() -> None:
    """The controller compares names without regard to case: sending both would be a 400."""
    assert variables_for(LOGIN, lines("URL=a", "Login:url=b")) == {"url": "b"}
    assert variables_for(LOGIN, lines("A=1", "B=2", "a=3")) == {"a": "3", "B": "2"}


def test_a_scope_matching_no_schedule_on_the_controller_is_found() -> None:
    tree = [LOGIN, CHECKOUT, TEMPORARY]
    assert scope_matching_nothing(lines("URL=x", "Staging/*:URL=y"), [LOGIN]) is not None
    # Any schedule counts, selected or not; a temporary one does not.
    assert scope_matching_nothing(lines("Check*:A=1"), tree) is None
    found = scope_matching_nothing(lines("Check*:A=1", "Flow*:B=2", "Nope:C=3"), tree)
    assert found is not None and found.text == "Flow*:B=2"
    assert found.shown == "leapwork_vars ini setting 'Flow*:B=2'"


def test_the_variables_an_unscoped_line_gave_are_named_for_a_refusal() -> None:
    given = lines("Browser=chrome", "Env=qa", "Login:URL=x", "Login:Env=login")
    sent = variables_for(LOGIN, given)
    assert unscoped_names(LOGIN, given, sent) == ["Browser"]  # Env came from the scoped line
    assert unscoped_names(CHECKOUT, given, variables_for(CHECKOUT, given)) == ["Browser", "Env"]
    assert unscoped_names(CHECKOUT, given, ["browser"]) == ["browser"]
