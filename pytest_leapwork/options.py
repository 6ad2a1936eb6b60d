"""The plugin's options: command line, ini settings, and resolving them into Settings."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from . import config as cfg

HELP_CONTROLLER = (
    "Leapwork controller: http://host:9001, https://host:9002, host[:port] or a proxied URL "
    "(env LEAPWORK_CONTROLLER, ini leapwork_controller)"
)
HELP_KEY = "controller access key (env LEAPWORK_KEY; never put it in an ini file)"
HELP_TIMEOUT = (
    f"seconds a run may take from trigger to finish before it is stopped and fails "
    f"(ini leapwork_timeout, default {cfg.DEFAULT_TIMEOUT:g})"
)
HELP_POLL = (
    f"longest wait between two checks of a running run (at least {cfg.MIN_POLL_INTERVAL:g}); "
    f"checks come often while a run is young (every 0.3 s) and spread out to a tenth of its "
    f"elapsed time, up to this cap "
    f"(ini leapwork_poll_interval, default {cfg.DEFAULT_POLL_INTERVAL:g})"
)
HELP_DONE = (
    "how a flow that ends 'Done' counts: passed (default) or failed (ini leapwork_done_status)"
)
HELP_IN_FLIGHT = (
    f"at most this many runs executing at once, triggered ahead of their tests; 1 runs one "
    f"at a time (ini leapwork_max_in_flight, default {cfg.DEFAULT_MAX_IN_FLIGHT})"
)
HELP_JUNITXML = (
    "also write a JUnit XML report with one testsuite per run and one testcase per flow, "
    "as the vendor's CI plugins do (ini leapwork_junitxml)"
)
HELP_PASSED_KEYFRAMES = (
    "put the keyframes of passed flows in that report's <system-out> "
    "(ini leapwork_junitxml_passed_keyframes)"
)
HELP_CA_BUNDLE = (
    "CA bundle (PEM) to verify the controller's HTTPS certificate, e.g. a company CA "
    "(env LEAPWORK_CA_BUNDLE, ini leapwork_ca_bundle)"
)
HELP_INSECURE = "do not verify the controller's HTTPS certificate (warns; ini leapwork_insecure)"
HELP_JOB_SUMMARY = (
    "append a markdown table of the failing runs to the GitHub Actions job summary when "
    "GITHUB_STEP_SUMMARY is set; false turns it off (default true)"
)
HELP_RERUN_FLOWS = (
    "rerun each flow that failed alone, on the agent where it failed, with the run's "
    "variables, up to N times until it passes; a test whose failing flows all pass on a "
    "rerun passes as flaky (ini leapwork_rerun_flows, default 0)"
)
HELP_EMULATOR = (
    "start the built-in controller emulator on 127.0.0.1 and run against it; SCENARIO is "
    "'demo' (default) or a .toml/.json scenario file"
)


def add_options(parser: pytest.Parser) -> None:
    """Every option in the \"Leapwork schedules\" group of ``pytest --help``, with its ini twin."""
    group = parser.getgroup("leapwork", "Leapwork schedules")
    group.addoption("--leapwork-controller", metavar="URL", help=HELP_CONTROLLER)
    group.addoption("--leapwork-key", metavar="KEY", help=HELP_KEY)
    group.addoption("--leapwork-timeout", metavar="SECONDS", help=HELP_TIMEOUT)
    group.addoption("--leapwork-poll-interval", metavar="SECONDS", help=HELP_POLL)
    group.addoption("--leapwork-done-status", metavar="passed|failed", help=HELP_DONE)
    group.addoption("--leapwork-max-in-flight", metavar="N", help=HELP_IN_FLIGHT)
    group.addoption("--leapwork-rerun-flows", metavar="N", help=HELP_RERUN_FLOWS)
    group.addoption(
        "--leapwork-emulator", metavar="SCENARIO", nargs="?", const="demo", help=HELP_EMULATOR
    )
    group.addoption("--leapwork-ca-bundle", metavar="PATH", help=HELP_CA_BUNDLE)
    group.addoption("--leapwork-insecure", action="store_true", default=None, help=HELP_INSECURE)
    group.addoption("--leapwork-junitxml", metavar="PATH", help=HELP_JUNITXML)
    group.addoption(
        "--leapwork-junitxml-passed-keyframes",
        action="store_true",
        default=None,
        help=HELP_PASSED_KEYFRAMES,
    )
    group.addoption(
        "--leapwork-schedules",
        action="store_true",
        help="list the controller's schedules (title, folder, id, enabled) and exit",
    )
    parser.addini("leapwork_controller", HELP_CONTROLLER)
    add_number_ini(parser, "leapwork_timeout", HELP_TIMEOUT, float)
    add_number_ini(parser, "leapwork_poll_interval", HELP_POLL, float)
    parser.addini("leapwork_done_status", HELP_DONE)
    add_number_ini(parser, "leapwork_max_in_flight", HELP_IN_FLIGHT, int)
    add_number_ini(parser, "leapwork_rerun_flows", HELP_RERUN_FLOWS, int)
    parser.addini("leapwork_junitxml", HELP_JUNITXML)
    parser.addini(
        "leapwork_junitxml_passed_keyframes", HELP_PASSED_KEYFRAMES, type="bool", default=False
    )
    parser.addini("leapwork_ca_bundle", HELP_CA_BUNDLE)
    parser.addini("leapwork_insecure", HELP_INSECURE, type="bool", default=False)
    parser.addini("leapwork_job_summary", HELP_JOB_SUMMARY, type="bool", default=True)
    # Declared only to refuse it with advice: a key in pytest.ini ends up in version control.
    parser.addini("leapwork_key", "not allowed: set LEAPWORK_KEY or pass --leapwork-key")


def add_number_ini(parser: pytest.Parser, name: str, help: str, number: type[float]) -> None:
    """An ini setting that takes a number: a TOML number or a string.

    pytest 9's native TOML configuration checks a value against the declared type, and a
    plain ini setting is a string there (``leapwork_timeout = 60`` would be refused). Where
    pytest takes a union of types, the setting is the number or a string; the plugin checks
    the value itself either way, so a bad one gets its own message naming the setting. Older
    pytest reads every ini value as a string anyway.
    """
    try:
        parser.addini(name, help, type=number | str, default="")  # type: ignore[arg-type,unused-ignore]
    except (AssertionError, TypeError, ValueError):  # pytest before 9.2: no union types
        parser.addini(name, help)


def resolve_settings(config: pytest.Config, environ: Mapping[str, str]) -> cfg.Settings:
    """Command line > environment > ini > default, each value checked once."""
    if str(config.getini("leapwork_key") or "").strip():
        raise cfg.SettingsError(
            "leapwork_key ini setting: the access key must not live in a file that is "
            "committed; remove it and set the LEAPWORK_KEY environment variable (a CI secret) "
            "or pass --leapwork-key"
        )
    opt = config.getoption

    def source(option: str, env: str | None, ini: str | None) -> cfg.Source | None:
        lookups = [cfg.from_option(option, opt(option.lstrip("-").replace("-", "_")))]
        if env:
            lookups.append(cfg.from_env(env, environ))
        if ini:
            lookups.append(cfg.from_ini(ini, config.getini(ini)))
        return cfg.first_of(*lookups)

    controller = source("--leapwork-controller", "LEAPWORK_CONTROLLER", "leapwork_controller")
    key = source("--leapwork-key", "LEAPWORK_KEY", None)
    timeout = source("--leapwork-timeout", None, "leapwork_timeout")
    poll = source("--leapwork-poll-interval", None, "leapwork_poll_interval")
    done = source("--leapwork-done-status", None, "leapwork_done_status")
    in_flight = source("--leapwork-max-in-flight", None, "leapwork_max_in_flight")
    rerun_flows = source("--leapwork-rerun-flows", None, "leapwork_rerun_flows")
    ca_bundle = source("--leapwork-ca-bundle", "LEAPWORK_CA_BUNDLE", "leapwork_ca_bundle")
    insecure = bool(opt("leapwork_insecure") or config.getini("leapwork_insecure"))
    junitxml = source("--leapwork-junitxml", None, "leapwork_junitxml")
    passed_keyframes = bool(
        opt("leapwork_junitxml_passed_keyframes")
        or config.getini("leapwork_junitxml_passed_keyframes")
    )
    emulator = opt("leapwork_emulator")
    if emulator is not None:
        cfg.check_scenario_argument(emulator)
    # An empty key is an error only for a session that needs the controller: CI jobs that
    # cannot see the secret (pull requests from forks) still run their other tests.
    key_problem = None
    try:
        secret = cfg.parse_key(key) if key else None
    except cfg.SettingsError as exc:
        secret, key_problem = None, str(exc)
    return cfg.Settings(
        controller=cfg.parse_controller_url(controller) if controller else None,
        key=secret,
        key_problem=key_problem,
        timeout=cfg.parse_seconds(timeout, "the run timeout") if timeout else cfg.DEFAULT_TIMEOUT,
        poll_interval=(
            cfg.parse_seconds(poll, "the poll interval", minimum=cfg.MIN_POLL_INTERVAL)
            if poll
            else cfg.DEFAULT_POLL_INTERVAL
        ),
        done_counts_as_passed=cfg.parse_done_status(done) if done else True,
        max_in_flight=(
            cfg.parse_positive_int(in_flight, "the number of runs in flight")
            if in_flight
            else cfg.DEFAULT_MAX_IN_FLIGHT
        ),
        emulator=emulator,
        verify=cfg.parse_verify(ca_bundle, insecure),
        junitxml=cfg.parse_report_path(junitxml) if junitxml else None,
        passed_keyframes=passed_keyframes,
        rerun_flows=cfg.parse_count(rerun_flows, "the number of flow reruns") if rerun_flows else 0,
    )


def runs_nothing(config: pytest.Config) -> bool:
    """Sessions that only show what would run: no controller, no key, no request."""
    option = config.option
    return any(
        getattr(option, name, False)
        for name in ("collectonly", "setupplan", "showfixtures", "show_fixtures_per_test")
    )
