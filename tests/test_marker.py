"""The leapwork_schedule marker's arguments, parsed strictly (marker.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_leapwork.marker import (
    MAX_QUERY_LENGTH,
    MarkerError,
    ScheduleSpec,
    check_query_length,
    normalize_variables,
    parse_marker,
    parse_timeout,
    variable_value,
)

# -- the schedule ----------------------------------------------------------------------------


def test_positional_schedule() -> None:
    assert parse_marker(("Smoke Login",), {}) == ScheduleSpec("Smoke Login", {}, None)


def test_keyword_schedule() -> None:
    assert parse_marker((), {"schedule": "Smoke Login"}) == ScheduleSpec("Smoke Login", {}, None)


def test_all_arguments() -> None:
    spec = parse_marker(
        ("587d3239-5ccb-402f-a1d1-46d907bd6eaa",),
        {"variables": {"URL": "http://x", "N": 3}, "timeout": 90},
    )
    assert spec.schedule == "587d3239-5ccb-402f-a1d1-46d907bd6eaa"
    assert spec.variables == {"URL": "http://x", "N": "3"}
    assert spec.timeout == 90.0
    assert isinstance(spec.timeout, float)


@pytest.mark.parametrize("keyword", ["variable", "vars", "timeout_s", "Schedule"])
def test_unknown_keyword(keyword: str) -> None:
    with pytest.raises(MarkerError) as info:
        parse_marker(("S",), {keyword: 1})
    assert keyword in str(info.value)
    assert "leapwork_schedule" in str(info.value)


def test_two_positionals() -> None:
    with pytest.raises(MarkerError, match="one positional"):
        parse_marker(("S", {"a": 1}), {})


def test_schedule_given_twice() -> None:
    with pytest.raises(MarkerError, match="twice"):
        parse_marker(("S",), {"schedule": "S"})


def test_schedule_missing() -> None:
    with pytest.raises(MarkerError, match="name the schedule"):
        parse_marker((), {"variables": {"a": "1"}})


@pytest.mark.parametrize("schedule", [None, 42, b"S", ["S"], {"title": "S"}])
def test_schedule_not_a_string(schedule: Any) -> None:
    with pytest.raises(MarkerError) as info:
        parse_marker((schedule,), {})
    assert type(schedule).__name__ in str(info.value)


@pytest.mark.parametrize("schedule", ["", "   ", "\t"])
def test_schedule_empty(schedule: str) -> None:
    with pytest.raises(MarkerError, match="empty"):
        parse_marker((schedule,), {})


def test_schedule_empty_by_keyword() -> None:
    with pytest.raises(MarkerError, match="empty"):
        parse_marker((), {"schedule": ""})


# -- variables -------------------------------------------------------------------------------


@pytest.mark.parametrize("variables", [["a", "b"], [("a", "b")], "a=b", 3, ("a",)])
def test_variables_not_a_dict(variables: Any) -> None:
    with pytest.raises(MarkerError, match="dict"):
        parse_marker(("S",), {"variables": variables})


def test_variables_none_is_empty() -> None:
    assert parse_marker(("S",), {"variables": None}).variables == {}
    assert normalize_variables(None, "w") == {}


@pytest.mark.parametrize("name", [1, None, ("a",), b"a"])
def test_variable_name_not_a_string(name: Any) -> None:
    with pytest.raises(MarkerError, match="strings"):
        parse_marker(("S",), {"variables": {name: "v"}})


@pytest.mark.parametrize("name", ["", " ", "\t"])
def test_variable_name_empty(name: str) -> None:
    with pytest.raises(MarkerError, match="empty"):
        parse_marker(("S",), {"variables": {name: "v"}})


@pytest.mark.parametrize("name", ["a&b", "a=b", "a?b", "a#b", "a b", "a\tb", " a", "a\n"])
def test_variable_name_with_forbidden_characters(name: str) -> None:
    with pytest.raises(MarkerError) as info:
        parse_marker(("S",), {"variables": {name: "v"}})
    assert repr(name) in str(info.value)
    assert "leapwork_schedule marker variables" in str(info.value)


@pytest.mark.parametrize("name", ["URL", "user_name", "Env-1", "Größe", "a.b"])
def test_plain_variable_names(name: str) -> None:
    assert parse_marker(("S",), {"variables": {name: "v"}}).variables == {name: "v"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (None, ""),
        (0, "0"),
        (42, "42"),
        (-7, "-7"),
        (1.5, "1.5"),
        ([1, "a", None, True], '[1,"a",null,true]'),
        ({"k": "v", "n": 1}, '{"k":"v","n":1}'),
        ({"nested": {"l": [1, 2]}}, '{"nested":{"l":[1,2]}}'),
        (["ü", "€"], '["ü","€"]'),
        ("Zürich ☃", "Zürich ☃"),
        ("http://host:8080/a?b=c&d", "http://host:8080/a?b=c&d"),
    ],
)
def test_variable_values(value: Any, expected: str) -> None:
    assert variable_value(value) == expected
    assert parse_marker(("S",), {"variables": {"V": value}}).variables == {"V": expected}


def test_variable_order_is_kept() -> None:
    variables = parse_marker(("S",), {"variables": {"b": 1, "a": 2, "c": 3}}).variables
    assert list(variables) == ["b", "a", "c"]


def test_normalize_variables_names_where() -> None:
    with pytest.raises(MarkerError, match="leapwork_variables fixture"):
        normalize_variables({"a b": 1}, "leapwork_variables fixture")


# -- timeout ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), (1, 1.0), (0.5, 0.5), (3600, 3600.0)]
)
def test_timeout(value: Any, expected: float | None) -> None:
    assert parse_timeout(value) == expected
    assert parse_marker(("S",), {"timeout": value}).timeout == expected


@pytest.mark.parametrize(
    "value", [0, 0.0, -1, -0.5, True, False, "10", float("nan"), float("inf"), [10]]
)
def test_bad_timeout(value: Any) -> None:
    with pytest.raises(MarkerError, match="timeout"):
        parse_marker(("S",), {"timeout": value})


# -- query length ----------------------------------------------------------------------------


def test_query_length_at_the_limit_is_fine() -> None:
    # "V=" + value
    check_query_length({"V": "x" * (MAX_QUERY_LENGTH - 2)}, "w")


def test_query_length_over_the_limit() -> None:
    with pytest.raises(MarkerError) as info:
        check_query_length(
            {"V": "x" * (MAX_QUERY_LENGTH - 1)}, "leapwork_schedule marker variables"
        )
    text = str(info.value)
    assert str(MAX_QUERY_LENGTH + 1) in text
    assert str(MAX_QUERY_LENGTH) in text
    assert text.startswith("leapwork_schedule marker variables")


def test_query_length_counts_the_encoded_form() -> None:
    # Every "€" is nine characters once percent-encoded (%E2%82%AC).
    value = "€" * 300
    assert len("V=" + value) < MAX_QUERY_LENGTH
    with pytest.raises(MarkerError):
        check_query_length({"V": value}, "w")


def test_max_query_length_is_2048() -> None:
    assert MAX_QUERY_LENGTH == 2048
