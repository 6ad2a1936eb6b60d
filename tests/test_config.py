"""Settings parsing (config.py) and the access key's wrapper (secret.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from pytest_leapwork.api.secret import Secret, mask
from pytest_leapwork.config import (
    Settings,
    SettingsError,
    Source,
    check_scenario_argument,
    first_of,
    from_env,
    from_ini,
    from_option,
    parse_controller_url,
    parse_done_status,
    parse_key,
    parse_positive_int,
    parse_seconds,
)

ENV = "LEAPWORK_CONTROLLER environment variable"
KEY = "Zq9Xw7PK3yS3cr3t"


def env(value: str) -> Source:
    return Source(ENV, value)


# -- controller URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host", "http://host:9001"),
        ("host:9100", "http://host:9100"),
        ("  host  ", "http://host:9001"),
        ("leap.example.com", "http://leap.example.com:9001"),
        ("10.0.0.5", "http://10.0.0.5:9001"),
        ("http://h:9001", "http://h:9001"),
        ("http://h:9001/", "http://h:9001"),
        ("https://h:9002", "https://h:9002"),
        ("https://gw/leapwork", "https://gw/leapwork"),
        ("https://gw/leapwork/", "https://gw/leapwork"),
        ("https://gw:8443/a/b", "https://gw:8443/a/b"),
        ("http://h:9001/api/v4", "http://h:9001"),
        ("http://h:9001/api/v4/", "http://h:9001"),
        ("http://h:9001/api", "http://h:9001"),
        ("http://h:9001/api/v3", "http://h:9001"),
        ("https://gw/leapwork/api/v4", "https://gw/leapwork"),
        ("https://gw/leapwork/api", "https://gw/leapwork"),
        ("h:9001/api/v4", "http://h:9001"),
        ("[::1]:9001", "http://[::1]:9001"),
        ("[::1]", "http://[::1]:9001"),
        ("http://[::1]:9100", "http://[::1]:9100"),
    ],
)
def test_parse_controller_url(text: str, expected: str) -> None:
    assert parse_controller_url(env(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ftp://x",
        "http://",
        "http://h:99999",
        "http://h:abc",
        "http://h?q",
        "h:9001?q=1",
        "http://h/#frag",
    ],
)
def test_parse_controller_url_errors_name_the_source(text: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_controller_url(env(text))
    assert str(info.value).startswith(ENV)


def test_parse_controller_url_error_for_scheme_shows_the_value() -> None:
    with pytest.raises(SettingsError, match="ftp"):
        parse_controller_url(Source("--leapwork-controller option", "ftp://x"))


# -- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("1", 1.0), ("0.5", 0.5), (" 30 ", 30.0), ("1e3", 1000.0)]
)
def test_parse_seconds(text: str, expected: float) -> None:
    assert parse_seconds(Source("--leapwork-timeout option", text), "timeout") == expected


@pytest.mark.parametrize("text", ["0", "-1", "-0.5", "nan", "inf", "-inf", "abc", ""])
def test_parse_seconds_errors(text: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_seconds(Source("leapwork_timeout ini setting", text), "timeout")
    assert str(info.value).startswith("leapwork_timeout ini setting")
    assert "timeout" in str(info.value)


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("16", 16), (" 4 ", 4)])
def test_parse_positive_int(text: str, expected: int) -> None:
    assert parse_positive_int(Source("x option", text), "in flight") == expected


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "abc", ""])
def test_parse_positive_int_errors(text: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_positive_int(Source("--leapwork-max-in-flight option", text), "in flight")
    assert str(info.value).startswith("--leapwork-max-in-flight option")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("passed", True), ("failed", False), ("PASSED", True), (" Failed ", False)],
)
def test_parse_done_status(text: str, expected: bool) -> None:
    assert parse_done_status(Source("o", text)) is expected


@pytest.mark.parametrize("text", ["success", "", "pass", "true"])
def test_parse_done_status_errors(text: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_done_status(Source("--leapwork-done-status option", text))
    assert str(info.value).startswith("--leapwork-done-status option")


# -- key -------------------------------------------------------------------------------------


def test_parse_key() -> None:
    secret = parse_key(Source("LEAPWORK_KEY environment variable", f" {KEY}\n"))
    assert isinstance(secret, Secret)
    assert secret.reveal() == KEY


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_parse_key_empty(text: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_key(Source("LEAPWORK_KEY environment variable", text))
    assert str(info.value).startswith("LEAPWORK_KEY environment variable")


# -- emulator scenario -----------------------------------------------------------------------


def test_check_scenario_demo() -> None:
    check_scenario_argument("demo")


@pytest.mark.parametrize("name", ["s.toml", "s.json", "S.TOML"])
def test_check_scenario_existing_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("{}" if name.lower().endswith(".json") else "", encoding="utf-8")
    check_scenario_argument(str(path))


def test_check_scenario_invalid_file_is_a_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[schedules]]\nseconds = 'x'\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"--leapwork-emulator option: .*broken\.toml"):
        check_scenario_argument(str(path))


def test_check_scenario_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such scenario file"):
        check_scenario_argument(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize("value", ["tests/", "tests", "test_x.py"])
def test_check_scenario_swallowed_test_path(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        check_scenario_argument(value)
    text = str(info.value)
    assert "--leapwork-emulator" in text
    assert repr(value) in text
    assert "--leapwork-emulator=demo" in text


# -- resolution and description -------------------------------------------------------------


def test_first_of_precedence() -> None:
    environ = {"LEAPWORK_CONTROLLER": "envhost"}
    cli = from_option("--leapwork-controller", "clihost")
    environment = from_env("LEAPWORK_CONTROLLER", environ)
    ini = from_ini("leapwork_controller", "inihost")
    assert first_of(cli, environment, ini) == Source("--leapwork-controller option", "clihost")
    assert first_of(from_option("--leapwork-controller", None), environment, ini) == Source(
        "LEAPWORK_CONTROLLER environment variable", "envhost"
    )
    assert first_of(from_option("x", None), from_env("LEAPWORK_CONTROLLER", {}), ini) == Source(
        "leapwork_controller ini setting", "inihost"
    )
    assert first_of(from_option("x", None), from_env("X", {}), from_ini("y", "")) is None
    assert first_of(from_ini("y", None)) is None


def test_empty_env_var_is_a_value_not_absent() -> None:
    # An empty variable is reported as empty rather than silently falling through.
    source = first_of(from_env("LEAPWORK_CONTROLLER", {"LEAPWORK_CONTROLLER": ""}))
    assert source is not None
    with pytest.raises(SettingsError, match="LEAPWORK_CONTROLLER environment variable"):
        parse_controller_url(source)


def settings(**kwargs: object) -> Settings:
    values: dict[str, object] = {
        "controller": "http://h:9001",
        "key": Secret(KEY),
        "timeout": 60.0,
        "poll_interval": 2.0,
        "done_counts_as_passed": True,
        "max_in_flight": 4,
    }
    values.update(kwargs)
    return Settings(**values)  # type: ignore[arg-type]


def test_describe_masks_the_key() -> None:
    line = settings().describe()
    assert KEY not in line
    assert "****" + KEY[-4:] in line
    assert "http://h:9001" in line
    assert "timeout 60s" in line


def test_describe_without_key() -> None:
    assert "not set" in settings(key=None).describe()


def test_describe_emulator() -> None:
    line = settings(controller=None, emulator="demo").describe()
    assert "emulator" in line
    assert "demo" in line


def test_settings_repr_does_not_show_the_key() -> None:
    assert KEY not in repr(settings())


# -- Secret ----------------------------------------------------------------------------------


def test_secret_repr_and_str_are_masked() -> None:
    secret = Secret(KEY)
    assert repr(secret) == "Secret('****cr3t')"
    assert str(secret) == repr(secret)
    assert f"{secret}" == repr(secret)
    assert KEY not in repr([secret])
    assert secret.masked == "****cr3t"
    assert secret.reveal() == KEY


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "****"),
        ("abc", "****"),
        ("12345678", "****"),
        ("123456789", "****6789"),
        (KEY, "****cr3t"),
    ],
)
def test_mask(value: str, expected: str) -> None:
    assert mask(value) == expected
    assert Secret(value).masked == expected


def test_short_key_shows_nothing() -> None:
    assert "abcd" not in repr(Secret("abcd"))


def test_secret_truthiness_and_equality() -> None:
    assert Secret(KEY)
    assert not Secret("")
    assert Secret(KEY) == Secret(KEY)
    assert Secret(KEY) != Secret("other")
    assert Secret(KEY) != KEY
    assert hash(Secret(KEY)) == hash(Secret(KEY))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_secret_not_picklable(protocol: int) -> None:
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(Secret(KEY), protocol=protocol)
