"""Ini settings that take numbers: TOML numbers in pytest 9's native configuration, strings
everywhere, and the plugin's own message for a bad value in either."""

from __future__ import annotations

import pytest

from .support import NATIVE_TOML_NUMBERS

NUMBERS = """
[pytest]
leapwork_timeout = 60
leapwork_poll_interval = 0.5
leapwork_max_in_flight = 4
leapwork_artifacts_max_mb = 50
leapwork_insecure = false
"""


def header(result: pytest.RunResult) -> str:
    return next(line for line in result.outlines if line.startswith("leapwork: controller"))


@pytest.mark.skipif(not NATIVE_TOML_NUMBERS, reason="pytest before 9.2 reads ini values as text")
def test_numbers_in_native_toml(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pytest=NUMBERS)
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest("--leapwork-emulator", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "timeout 60s, poll 0.5s, in flight 4" in header(result)


@pytest.mark.skipif(not NATIVE_TOML_NUMBERS, reason="pytest before 9.2 reads ini values as text")
def test_strings_still_accepted_in_native_toml(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pytest='[pytest]\nleapwork_timeout = "90"\n')
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest("--leapwork-emulator", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "timeout 90s" in header(result)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(("pytest.toml", '[pytest]\nleapwork_timeout = "abc"\n'), id="toml"),
        pytest.param(("pytest.ini", "[pytest]\nleapwork_timeout = abc\n"), id="ini"),
    ],
)
def test_a_bad_number_names_the_setting(pytester: pytest.Pytester, config: tuple[str, str]) -> None:
    name, text = config
    if name == "pytest.toml" and not NATIVE_TOML_NUMBERS:
        pytest.skip("pytest before 9.2 has no native TOML configuration with types")
    (pytester.path / name).write_text(text, encoding="utf-8")
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest("--leapwork-emulator", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*leapwork_timeout ini setting: the run timeout must be a number of seconds, got 'abc'*"]
    )


def test_strings_in_an_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nleapwork_timeout = 45\nleapwork_max_in_flight = 3\n")
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest("--leapwork-emulator", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "timeout 45s" in header(result) and "in flight 3" in header(result)
