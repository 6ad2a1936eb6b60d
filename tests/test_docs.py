"""The documentation site: its examples run, its tables match the code, and it builds.

Every code example in ``docs/content`` is a file under ``docs/examples`` pulled in with
``pymdownx.snippets``; the tests here run those files against the emulator and assert what
the pages say about them. The configuration table, the troubleshooting messages and the
emulator's command-line table are checked against the code, so they cannot drift.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import pytest_leapwork
import pytest_leapwork.plugin
from pytest_leapwork.emulator import EmulatorServer, load_scenario

from .support import FAST, controller_args

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CONTENT = DOCS / "content"
EXAMPLES = DOCS / "examples"
PACKAGE = REPO / "pytest_leapwork"
#: The documentation's own scenario, not the suite's tests/scenario.toml.
DOCS_SCENARIO = EXAMPLES / "scenario.toml"

# `pytest docs/examples` against either scenario: the README's first command.
ALL_EXAMPLES = {"passed": 33, "xfailed": 3}

SNIPPET = re.compile(r'^[ \t]*-{1,}8<-{1,}[ \t]+"([^"]+)"[ \t]*$', re.MULTILINE)
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```", re.S | re.M
)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


# -- helpers ----------------------------------------------------------------------------------


def page(name: str) -> str:
    return (CONTENT / name).read_text(encoding="utf-8")


def tables(markdown: str) -> list[list[list[str]]]:
    """The pipe tables of a page: each a list of rows (header first), each a list of cells."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", stripped)[1:-1]]
            if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def code_spans(cell: str) -> list[str]:
    return [m.group(2).strip() for m in CODE_SPAN.finditer(cell)]


def table_with_header(markdown: str, first: str) -> list[list[str]]:
    matches = [t for t in tables(markdown) if t[0][0].lower() == first.lower()]
    assert len(matches) == 1, f"expected one table headed {first!r}"
    return matches[0]


def section(markdown: str, heading: str) -> str:
    start = markdown.index(f"\n{heading}\n")
    following = re.search(r"^## ", markdown[start + len(heading) + 2 :], re.M)
    end = start + len(heading) + 2 + following.start() if following else len(markdown)
    return markdown[start:end]


@pytest.fixture
def docs_controller() -> Iterator[EmulatorServer]:
    """The emulator serving the documentation's scenario, to assert on the runs it got."""
    with EmulatorServer(load_scenario(DOCS_SCENARIO)) as server:
        yield server


def variables_of(server: EmulatorServer, title: str) -> list[dict[str, str]]:
    return [run.variables for run in server.runs if run.schedule_title == title]


# -- (a) the examples run, and do what the pages say ------------------------------------------


def test_readme_command_runs_every_example_against_the_demo(pytester: pytest.Pytester) -> None:
    """``pytest docs/examples --leapwork-emulator``: the built-in demo holds every schedule."""
    result = pytester.runpytest(str(EXAMPLES), "--leapwork-emulator", *FAST)
    result.assert_outcomes(**ALL_EXAMPLES)
    result.stdout.fnmatch_lines(["leapwork: controller built-in emulator (scenario demo)*"])


@pytest.mark.parametrize("workers", ["0", "2"])
def test_every_example_runs_against_the_docs_scenario(
    pytester: pytest.Pytester, docs_controller: EmulatorServer, workers: str
) -> None:
    result = pytester.runpytest_subprocess(
        str(EXAMPLES), *controller_args(docs_controller), *FAST, "-n", workers
    )
    result.assert_outcomes(**ALL_EXAMPLES)
    assert docs_controller.runs
    assert not [run for run in docs_controller.runs if run.stopped]


def test_the_emulator_option_takes_the_docs_scenario(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        str(EXAMPLES / "getting_started"), f"--leapwork-emulator={DOCS_SCENARIO}", *FAST
    )
    result.assert_outcomes(passed=1)


def test_cookbook_variables_hooks_and_fixtures(
    pytester: pytest.Pytester, docs_controller: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAPWORK_BROWSER", "edge")
    monkeypatch.setenv("DEPLOY_URL", "https://deploy-42.example.com")
    result = pytester.runpytest(
        str(EXAMPLES / "cookbook"), *controller_args(docs_controller), *FAST, "--junitxml=out.xml"
    )
    result.assert_outcomes(passed=16, xfailed=2)
    smoke = variables_of(docs_controller, "Smoke Login")
    # Computed from the deployment fixture, merged with the marker's variables.
    assert {"URL": "https://deploy-42.example.com", "Browser": "chrome"} in smoke
    # The hook filled in the browser where a test set none, and only there.
    assert {"URL": "https://staging.example.com", "Browser": "edge"} in smoke
    assert {"Browser": "edge"} in smoke
    assert {"URL": "https://staging.example.com/login?next=/home", "Browser": "firefox"} in smoke
    assert sorted(v["Browser"] for v in smoke if v.get("URL") == "https://staging.example.com") == [
        "chrome",
        "chrome",
        "chrome",
        "edge",
        "edge",
        "firefox",
    ]
    assert {"Retries": "3", "Headless": "true", "Proxy": "", "Tags": '["smoke","eu"]'} in (
        variables_of(docs_controller, "Flaky Search")
    )
    # pytest_leapwork_run_finished put each flow's status into the JUnit XML.
    properties = {
        (p.get("name"), p.get("value"))
        for p in ET.parse(pytester.path / "out.xml").iter("property")
    }
    assert ("leapwork_flow:Send Receipt", "Done") in properties


@pytest.mark.parametrize(
    ("selection", "passed", "urls"),
    [
        (["-k", "staging"], 2, {"https://staging.example.com"}),
        (["-m", "prod"], 1, {"https://www.example.com"}),
    ],
)
def test_per_environment_selection(
    pytester: pytest.Pytester,
    docs_controller: EmulatorServer,
    selection: list[str],
    passed: int,
    urls: set[str],
) -> None:
    module = EXAMPLES / "cookbook" / "test_environments.py"
    result = pytester.runpytest(str(module), *controller_args(docs_controller), *FAST, *selection)
    result.assert_outcomes(passed=passed, deselected=3 - passed)
    assert {v["URL"] for v in variables_of(docs_controller, "Smoke Login")} == urls


def test_ini_profiles(pytester: pytest.Pytester, docs_controller: EmulatorServer) -> None:
    cookbook = EXAMPLES / "cookbook"
    # The command line wins over the profile: the emulator stands in for its controller.
    staging = pytester.runpytest(
        "-c", str(cookbook / "staging.ini"), str(cookbook), *controller_args(docs_controller), *FAST
    )
    staging.assert_outcomes(passed=15, xfailed=2, deselected=1)
    staging.stdout.fnmatch_lines(["leapwork: controller *, timeout 900s, poll 0.05s, in flight 8"])
    assert (pytester.path / "reports" / "junit-staging.xml").is_file()
    assert (pytester.path / "reports" / "leapwork-staging.xml").is_file()

    nightly = pytester.runpytest(
        "-c", str(cookbook / "nightly.ini"), str(cookbook), *controller_args(docs_controller), *FAST
    )
    nightly.assert_outcomes(passed=16, xfailed=2)
    nightly.stdout.fnmatch_lines(["leapwork: controller *, timeout 7200s, poll 0.05s, in flight 4"])
    flows = ET.parse(pytester.path / "reports" / "leapwork-nightly.xml")
    assert list(flows.iter("system-out")), "passed flows' keyframes are in the nightly report"


def test_concurrency_examples(pytester: pytest.Pytester, docs_controller: EmulatorServer) -> None:
    directory = str(EXAMPLES / "concurrency")
    args = (*controller_args(docs_controller), *FAST)
    pytester.runpytest(directory, "-m", "not sequential", *args).assert_outcomes(
        passed=5, deselected=2
    )
    runs = sorted(docs_controller.runs, key=lambda r: r.created_at)
    ahead, at_setup = runs[:4], runs[4]
    # The four runs known at collection executed at the same time...
    assert max(r.created_at for r in ahead) < min(r.end_at or 0 for r in ahead)
    # ...and the one whose variables come from a fixture started with its own test.
    assert at_setup.variables["URL"].startswith("https://test_triggered_at_setup")

    pytester.runpytest(
        directory, "-m", "sequential", "--leapwork-max-in-flight=1", *args
    ).assert_outcomes(passed=2, deselected=5)
    first, second = sorted(docs_controller.runs, key=lambda r: r.created_at)[5:]
    assert (first.schedule_title, second.schedule_title) == ("Checkout", "Smoke Login")
    assert first.end_at is not None and second.created_at >= first.end_at


def test_migrating_schedule_list(
    pytester: pytest.Pytester, docs_controller: EmulatorServer
) -> None:
    result = pytester.runpytest(
        str(EXAMPLES / "migrating"), *controller_args(docs_controller), *FAST
    )
    result.assert_outcomes(passed=3)
    assert sorted(r.schedule_title for r in docs_controller.runs) == [
        "Checkout",
        "Checkout",
        "Smoke Login",
    ]
    assert variables_of(docs_controller, "Checkout") == [{}, {}]


def test_the_flaky_scenario_is_ridden_out(pytester: pytest.Pytester) -> None:
    with EmulatorServer(load_scenario(EXAMPLES / "emulator" / "flaky.toml")) as server:
        result = pytester.runpytest(
            str(EXAMPLES / "getting_started"), *controller_args(server), *FAST
        )
        result.assert_outcomes(passed=1)
        answered = {(r.endpoint, r.status) for r in server.requests}
    # Every fault of the scenario fired, and the test passed all the same.
    assert {("schedules", 503), ("run_item", 0), ("run_item_ids", 455)} <= answered
    assert ("run", 404) in answered or ("run_status", 404) in answered


def test_emulator_examples(pytester: pytest.Pytester) -> None:
    pytester.runpytest(str(EXAMPLES / "emulator"), *FAST).assert_outcomes(passed=3)


def test_library_script(
    docs_controller: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = importlib.util.spec_from_file_location(
        "run_schedule", EXAMPLES / "library" / "run_schedule.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    monkeypatch.setenv("LEAPWORK_CONTROLLER", docs_controller.url)
    monkeypatch.setenv("LEAPWORK_KEY", docs_controller.access_key)
    assert script.main(["Smoke Login", "URL=https://broken.example.com"]) == 1
    out = capsys.readouterr().out
    assert "Log In: Failed" in out
    assert "Click Login - Could not find element 'Login button'" in out
    assert script.main(["Checkout"]) == 0
    assert capsys.readouterr().out.endswith(": passed\n")


def test_standalone_emulator_command() -> None:
    """``leapwork-emulator --port ... docs/examples/scenario.toml``, then a client, then Ctrl-C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_leapwork.emulator", "--port", "0", str(DOCS_SCENARIO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(
            r"serving .* at (http://127\.0\.0\.1:\d+) \(AccessKey \*{4}0001\)", banner
        )
        assert match, banner
        response = requests.get(
            f"{match.group(1)}/api/v4/schedules",
            headers={"AccessKey": "EMULATORKEY00001"},
            timeout=10,
        )
        assert "Smoke Login" in {s["Title"] for s in response.json()}
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out


def test_emulator_command_table_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_leapwork.emulator.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    real = set(re.findall(r"--[a-z][a-z-]+", capsys.readouterr().out)) - {"--help"}
    rows = table_with_header(
        section(page("emulator.md"), "## Standalone: `leapwork-emulator`"), "option"
    )
    documented = {code_spans(row[0])[0].split()[0] for row in rows[1:]}
    assert documented - {"SCENARIO"} == real


def test_configuration_file_examples(pytester: pytest.Pytester) -> None:
    (pytester.path / "company-ca.pem").write_text("")  # the ini's leapwork_ca_bundle
    for name in ("pytest.ini", "pyproject-example.toml"):
        result = pytester.runpytest(
            "-c", str(EXAMPLES / "configuration" / name), "--co", str(EXAMPLES / "getting_started")
        )
        assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
        result.stdout.fnmatch_lines(
            [
                "leapwork: controller https://leapwork.example.com:9002, key not set, "
                "timeout 1800s, poll 5s, in flight 8"
            ]
        )


def test_listing_schedules(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--leapwork-emulator", "--leapwork-schedules", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["title*id*enabled", "Smoke Login *yes", "Nightly Regression *no"])


# -- (b) the configuration table is the plugin's options --------------------------------------


class _Group:
    def __init__(self, parser: _StandInParser) -> None:
        self.parser = parser

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.parser.addoption(*names, **kwargs)


class _StandInParser:
    """Records what ``pytest_addoption`` registers."""

    def __init__(self) -> None:
        self.options: dict[str, dict[str, Any]] = {}
        self.inis: dict[str, dict[str, Any]] = {}

    def getgroup(self, name: str, description: str = "", after: str | None = None) -> _Group:
        return _Group(self)

    def addoption(self, *names: str, **kwargs: Any) -> None:
        long_names = [n for n in names if n.startswith("--")]
        self.options[long_names[0]] = kwargs

    def addini(
        self, name: str, help: str, type: str | None = None, default: Any = None, **kwargs: Any
    ) -> None:
        self.inis[name] = {"help": help, "type": type, "default": default}


@pytest.fixture(scope="module")
def registered() -> _StandInParser:
    parser = _StandInParser()
    pytest_leapwork.plugin.pytest_addoption(parser)  # type: ignore[arg-type]
    return parser


def configuration_rows() -> dict[str, dict[str, str]]:
    rows = table_with_header(section(page("configuration.md"), "## All settings"), "option")
    header = [h.lower() for h in rows[0]]
    assert header == ["option", "environment variable", "ini setting", "default", "example"]
    by_option = {}
    for row in rows[1:]:
        cells = dict(zip(header, row, strict=True))
        name = re.match(r"`(--[a-z-]+)", cells["option"])
        assert name, cells["option"]
        by_option[name.group(1)] = cells
    return by_option


def test_configuration_table_lists_every_option(registered: _StandInParser) -> None:
    assert set(configuration_rows()) == set(registered.options)


def test_configuration_table_agrees_with_pytest_help(pytester: pytest.Pytester) -> None:
    help_text = pytester.runpytest("--help").stdout.str()
    group = help_text[help_text.index("Leapwork schedules:") :]
    group = group[: group.index("\n\n")]
    assert set(re.findall(r"^  (--leapwork-[a-z-]+)", group, re.M)) == set(configuration_rows())
    inis = set(re.findall(r"^  (leapwork_[a-z_]+) \(", help_text, re.M))
    documented = {
        i for row in configuration_rows().values() for i in code_spans(row["ini setting"])
    }
    ini_only = table_with_header(
        section(page("configuration.md"), "## All settings"), "ini setting"
    )
    documented |= {i for row in ini_only[1:] for i in code_spans(row[0])}
    assert inis - {"leapwork_key"} == documented


def test_configuration_table_columns(registered: _StandInParser) -> None:
    rows = configuration_rows()
    refused = {n for n, ini in registered.inis.items() if ini["help"].startswith("not allowed")}
    for option, kwargs in registered.options.items():
        cells, help_text = rows[option], kwargs.get("help") or ""
        # The option as the table writes it: with its metavar, optional value in brackets.
        metavar = kwargs.get("metavar")
        if kwargs.get("action") == "store_true":
            spelled = option
        elif kwargs.get("nargs") == "?":
            spelled = f"{option}[={metavar}]"
        else:
            spelled = f"{option}={metavar}"
        assert code_spans(cells["option"]) == [spelled]
        # Environment variable and ini setting, as the option's help names them.
        assert code_spans(cells["environment variable"]) == re.findall(
            r"env (LEAPWORK_[A-Z_]+)", help_text
        )
        ini = re.findall(r"ini (leapwork_[a-z_]+)", help_text)
        assert code_spans(cells["ini setting"]) == ini, option
        assert all(name in registered.inis and name not in refused for name in ini)
        # The default, as the help text or the option's definition says it.
        default = cells["default"]
        stated = re.search(r"default ([\w.]+)\)|(\w+) \(default\)", help_text)
        if stated:
            assert f"`{stated.group(1) or stated.group(2)}`" in default, option
        elif kwargs.get("action") == "store_true":
            assert default.startswith("off"), option
        if kwargs.get("const"):
            assert f"`{kwargs['const']}`" in default, option
        for name in ini:
            if registered.inis[name]["type"] == "bool":
                assert default.startswith("off") and registered.inis[name]["default"] is False
    key_row = rows["--leapwork-key"]
    assert refused == {"leapwork_key"} and "refused" in key_row["ini setting"]


def test_configuration_defaults_are_the_code_defaults() -> None:
    from pytest_leapwork import config as cfg

    rows = configuration_rows()
    assert f"`{cfg.DEFAULT_TIMEOUT:g}`" in rows["--leapwork-timeout"]["default"]
    assert f"`{cfg.DEFAULT_POLL_INTERVAL:g}`" in rows["--leapwork-poll-interval"]["default"]
    assert f"`{cfg.DEFAULT_MAX_IN_FLIGHT}`" in rows["--leapwork-max-in-flight"]["default"]


def test_configuration_examples_are_accepted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each example of the table, given to pytest, is accepted (no usage error)."""
    monkeypatch.setenv("LEAPWORK_KEY", "EXAMPLEKEY000042")
    (pytester.path / "company-ca.pem").write_text("")
    scenario = pytester.path / "docs" / "examples" / "scenario.toml"
    scenario.parent.mkdir(parents=True)
    scenario.write_text(DOCS_SCENARIO.read_text())
    quiet = [
        "-W",
        "ignore::pytest_leapwork.plugin.LeapworkInsecureWarning",
        "-p",
        "no:cacheprovider",
    ]
    for option, cells in configuration_rows().items():
        [example] = code_spans(cells["example"])
        args = shlex.split(os.path.expandvars(example))
        if option in ("--leapwork-select", "--leapwork-var"):  # lists the schedules
            args += ["--leapwork-emulator", "--leapwork-select=Smoke*", "--co"]
        elif option == "--leapwork-schedules":
            args.append("--leapwork-emulator")
        else:
            args += ["--co", str(EXAMPLES / "getting_started")]
        result = pytester.runpytest(*args, *quiet)
        assert result.ret == pytest.ExitCode.OK, (example, result.stdout.str(), result.stderr.str())


# -- other pages checked against the code ------------------------------------------------------


def package_literals() -> list[str]:
    """Every string literal of the package; f-strings split at their placeholders.

    Placeholders that name a module-level constant (``{MARKER}``) are filled in.
    """
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))]
    constants: dict[str, object] = {}
    for tree in trees:
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, (str, int))
                and not isinstance(node.value.value, bool)
            ):
                name = node.targets[0].id
                constants[name] = node.value.value if name not in constants else None
    literals: list[str] = []
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.append(node.value)
            elif isinstance(node, ast.JoinedStr):
                run = ""
                for value in node.values:
                    if isinstance(value, ast.Constant):
                        run += str(value.value)
                    elif (
                        isinstance(value, ast.FormattedValue)
                        and isinstance(value.value, ast.Name)
                        and constants.get(value.value.id) is not None
                        and value.format_spec is None
                    ):
                        constant = constants[value.value.id]
                        run += repr(constant) if value.conversion == ord("r") else str(constant)
                    else:
                        literals.append(run)
                        run = ""
                literals.append(run)
    return [literal for literal in literals if literal]


def unprinted(messages: list[str], literals: list[str]) -> list[tuple[str, str]]:
    """The fixed parts of quoted messages (``…`` stands for what varies) that no string of
    the package contains."""
    missing = []
    for message in messages:
        for part in message.split("…"):
            part = part.strip(" \t:;,.()'\"")
            if len(part) >= 3 and not any(part in literal for literal in literals):
                missing.append((message, part))
    return missing


#: What varies in a message quoted whole, as an example: ``…`` and ``...``, quoted names and
#: values, numbers, URLs, masked keys, type names after "got", the example test's name.
EXAMPLE_VALUES = (
    r"…|\.\.\.|'[^']*'|\b\d+(?:\.\d+)?\b|https?://ctl\S*|\*{4}\w+|\btest_x\b|\bids [\w, ]+"
    r"|\btimout\b|\b(?:int|float|str|bool|list|dict|NoneType)\b"
)
#: Words in those messages that are not the plugin's: the operating system's, urllib3's and
#: the controller's (the emulator answers with the real controller's words).
FOREIGN = (
    "[Errno 111] Connection refused",
    "Remote end closed connection without response",
    "[SSL: CERTIFICATE_VERIFY_FAILED]",
    "Service Unavailable",
    "Bad Gateway",
    "Incorrect AccessKey",
    "Asset not found",
    "Invalid IPv6 URL",
)


class Pieces:
    """The package's string literals as pieces a message is put together from."""

    def __init__(self, literals: list[str]) -> None:
        stripped = {lit.strip() for lit in literals if lit.strip()}
        self.blob = "\x00".join(stripped)
        self.whole = stripped
        self.heads = {lit[:i] for lit in stripped for i in range(1, min(len(lit), 200) + 1)}
        self.tails = {lit[-i:] for lit in stripped for i in range(1, min(len(lit), 200) + 1)}

    def composed(self, part: str) -> bool:
        """Whether ``part`` reads as the end of one literal, whole literals, then the start
        of one (the plugin's f-strings, their placeholders filled with other messages)."""
        if part in self.blob:
            return True
        reach, size = [0], len(part)
        seen = {0}
        while reach:
            start = reach.pop()
            for end in range(start + 1, size + 1):
                piece = part[start:end]
                # Inside a message a piece is a whole literal of some length: one or two
                # characters would let any sentence through.
                joint = not any(c.isalnum() for c in piece)  # ": " between two f-strings
                inner = (len(piece) >= 3 or joint) and piece in self.whole
                ok = piece in self.tails if start == 0 else inner
                if end == size and start > 0:
                    ok = ok or piece in self.heads
                if not ok:
                    continue
                if end == size:
                    return True
                following = end + len(part[end:]) - len(part[end:].lstrip())
                if following not in seen:
                    seen.add(following)
                    reach.append(following)
        return False


def not_composed(messages: list[str], literals: list[str]) -> list[tuple[str, str]]:
    """Parts of example messages that cannot be put together from the package's strings.

    The plugin builds messages from f-strings (``f"{where}: {what} must be ..."``), so each
    part between the example's values (``EXAMPLE_VALUES``, and any word the package never
    contains) must read as whole pieces of the package's string literals (``Pieces``).
    """
    pieces = Pieces(literals)
    missing = []
    for message in messages:
        text = message
        for foreign in FOREIGN:
            text = text.replace(foreign, "…")
        # A name the package never contains (Browser, IPv6) is an example's value, not the
        # plugin's wording; a lower-case word is wording, and checked.
        names = set(re.findall(r"[\w$-]*[A-Z0-9][\w$-]*", text))
        values = [w for w in names if w not in pieces.blob]
        if values:
            words = "|".join(re.escape(w) for w in sorted(values, key=len, reverse=True))
            text = re.sub(rf"(?<![\w$-])(?:{words})(?![\w$-])", "…", text)
        for part in re.split(EXAMPLE_VALUES, text):
            part = part.strip(" \t:;,.()'\"")
            if part and not pieces.composed(part):
                missing.append((message, part))
    return missing


def quoted_in_column(markdown: str, header: str, column: str, after: str = "") -> list[str]:
    """Code spans of one column of the table headed ``header``, those after ``after``."""
    rows = table_with_header(markdown, header)
    index = [h.lower() for h in rows[0]].index(column.lower())
    quoted = []
    for row in rows[1:]:
        cell = row[index]
        if after:
            if after not in cell:
                continue
            cell = cell[cell.index(after) :]
        quoted += code_spans(cell)
    return quoted


def test_troubleshooting_messages_are_the_plugins() -> None:
    literals = package_literals()
    messages = [
        spans[0]
        for table in tables(page("troubleshooting.md"))
        if "message" in [h.lower() for h in table[0]]
        for row in table[1:]
        if (spans := code_spans(row[[h.lower() for h in table[0]].index("message")]))
    ]
    assert len(messages) > 60
    missing = unprinted(messages, literals)
    assert not missing, "messages in troubleshooting.md the plugin does not print:\n" + "\n".join(
        f"  {part!r} of {message!r}" for message, part in missing
    )


# Messages quoted in the other pages: (page, table header, column, where quoting starts).
QUOTING_PAGES = [
    ("bad-input.md", "input", "what you see", "error: "),
    ("faults.md", "fault", "before the trigger", "error"),
    ("faults.md", "fault", "on runNow", "error"),
    ("faults.md", "fault", "while following", "error"),
]


@pytest.mark.parametrize(("name", "header", "column", "after"), QUOTING_PAGES)
def test_messages_quoted_in_other_pages_are_the_plugins(
    name: str, header: str, column: str, after: str
) -> None:
    messages = [
        m for m in quoted_in_column(page(name), header, column, after) if " " in m.strip(". ")
    ]
    assert messages, f"no message quoted in the {column!r} column of {name}"
    missing = not_composed(messages, package_literals())
    assert not missing, f"messages in {name} the plugin does not print:\n" + "\n".join(
        f"  {part!r} of {message!r}" for message, part in missing
    )


def test_getting_started_messages_and_run_ids_are_as_printed() -> None:
    """The console output quoted in getting-started.md: messages the plugin prints, RunIds
    whole (the summary and the reports never shorten them)."""
    text = page("getting-started.md")
    assert not unprinted(
        ["waiting for … run …: …, … started, …", "leapwork per-flow report: …"],
        package_literals(),
    )
    assert re.search(r"^leapwork: \d+ runs: \d+ passed, \d+ failed; per-flow report: ", text, re.M)
    for path in [*CONTENT.glob("*.md"), REPO / "README.md"]:
        shortened = re.findall(r"\b[0-9a-f]{4,}(?:-[0-9a-f]*)*…", path.read_text("utf-8"))
        assert not shortened, f"{path.name} shortens RunIds the plugin prints whole: {shortened}"
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    summary = section(text, "## Try it without a controller")
    demo, selection = (block.split("```")[0] for block in summary.split("```console")[1:3])
    # The demo's failing run is a row; its two passed runs are counted (-v lists them).
    assert len(re.findall(rf"^  \S.*  {uuid}  (passed|failed)", demo, re.M)) == 1
    assert "\n2 passed runs (-v lists them)\n" in demo
    # Long titles at 80 columns: each on lines of its own, wrapped, never cut; no line wider.
    assert len(re.findall(rf"^  {uuid}  failed  ", selection, re.M)) == 3
    assert "\n1 passed run (-v lists it)\n" in selection
    assert "…" not in demo + selection
    for block in (demo, selection):
        table = block[block.index("= leapwork runs =") :].splitlines()
        assert all(len(line) <= 80 for line in table), table


def test_reference_attribute_tables() -> None:
    text = page("reference.md")
    for name in ("LeapworkRun", "FlowResult", "Keyframe"):
        cls = getattr(pytest_leapwork, name)
        assert is_dataclass(cls)
        table = table_with_header(text, f"`{name}`")
        documented = [code_spans(row[0])[0] for row in table[1:]]
        known = {f.name for f in fields(cls)} | {n for n in dir(cls) if not n.startswith("_")}
        assert set(documented) <= known, name


def test_ci_recipes_parse_publish_the_report_and_keep_the_key_secret() -> None:
    yaml = pytest.importorskip("yaml")
    text = page("ci.md")
    recipes = {
        heading: [m.group("body") for m in FENCE.finditer(section(text, f"## {heading}"))]
        for heading in ("Jenkins", "GitHub Actions", "GitLab CI", "Azure DevOps")
    }
    key_from_secret = {
        "Jenkins": "variable: 'LEAPWORK_KEY'",
        "GitHub Actions": "LEAPWORK_KEY: ${{ secrets.LEAPWORK_KEY }}",
        "GitLab CI": None,  # a masked CI/CD variable reaches the job's environment by itself
        "Azure DevOps": "LEAPWORK_KEY: $(LEAPWORK_KEY)",
    }
    for heading, blocks in recipes.items():
        [recipe] = blocks
        if heading != "Jenkins":
            assert isinstance(yaml.safe_load(recipe), dict), heading
        assert "--junitxml=reports/junit.xml" in recipe, heading
        assert recipe.count("reports/junit.xml") >= 2, f"{heading}: written, then published"
        secret = key_from_secret[heading]
        assert secret is None or secret in recipe, heading
        assert "--leapwork-key" not in recipe, f"{heading}: the key belongs in the environment"
    assert "`LEAPWORK_KEY`" in section(text, "## GitLab CI")


def test_scenario_format_example_loads(tmp_path: Path) -> None:
    """The example in SCENARIO.md (shown on the emulator page) is a valid scenario."""
    text = (PACKAGE / "emulator" / "SCENARIO.md").read_text(encoding="utf-8")
    examples = [m.group("body") for m in FENCE.finditer(text) if m.group("info").strip() == "toml"]
    assert examples
    for index, example in enumerate(examples):
        path = tmp_path / f"example{index}.toml"
        path.write_text(example)
        assert load_scenario(path).schedules


# -- how the pages are put together -----------------------------------------------------------


def snippets() -> dict[str, list[str]]:
    """Snippet paths (from the repository root) per page."""
    return {
        p.name: SNIPPET.findall(p.read_text(encoding="utf-8")) for p in sorted(CONTENT.glob("*.md"))
    }


def test_every_snippet_exists() -> None:
    for name, paths in snippets().items():
        for path in paths:
            file = re.sub(r"(:-?\d*)+$", "", path)
            assert (REPO / file).is_file(), f"{name} includes {path}, which does not exist"
            if path.endswith(".md:2:"):  # a page of its own, shown without its title line
                first = (REPO / file).read_text(encoding="utf-8").splitlines()[0]
                assert first.startswith("# "), f"{file} no longer starts with its title"


def test_every_example_is_shown_on_a_page() -> None:
    shown = {re.sub(r"(:-?\d*)+$", "", p) for paths in snippets().values() for p in paths}
    examples = {
        p.relative_to(REPO).as_posix()
        for p in EXAMPLES.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }
    assert examples - shown == set(), "example files that no page shows"


def test_code_in_pages_is_included_from_files() -> None:
    """Python, TOML, ini and JSON examples are files the tests run, never inline text."""
    for path in sorted(CONTENT.glob("*.md")):
        for match in FENCE.finditer(path.read_text(encoding="utf-8")):
            language = match.group("info").split()[0] if match.group("info").strip() else ""
            if language in ("python", "py", "toml", "ini", "json"):
                body = match.group("body").strip()
                assert SNIPPET.fullmatch(body), f"{path.name}: inline {language} block:\n{body}"


def _sync_pages() -> Any:
    spec = importlib.util.spec_from_file_location("sync_pages", DOCS / "sync_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pages_kept_beside_the_site_are_copied_whole() -> None:
    """docs/faults.md, docs/bad-input.md and docs/benchmarks.md are the sources (rows are
    appended there); docs/content holds whole copies, so that GitHub shows the page itself
    rather than an include line."""
    sync = _sync_pages()
    assert set(sync.PAGES) == {"benchmarks.md", "bad-input.md", "faults.md"}
    assert sync.stale() == [], (
        f"stale copies in docs/content: {sync.stale()}; run python docs/sync_pages.py"
    )
    for name in sync.PAGES:
        assert not SNIPPET.search(page(name)), f"docs/content/{name} is an include line"


def test_every_page_reads_without_the_site() -> None:
    """Raw on GitHub a page has its title and prose, not only snippet or ::: lines."""
    for path in sorted(CONTENT.glob("*.md")):
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        prose = [
            line
            for line in text.splitlines()
            if line.strip()
            and not SNIPPET.match(line)
            and not line.startswith(":::")
            and not line.startswith("    ")
            and not line.startswith("<!--")
        ]
        assert any(line.startswith("# ") for line in prose), f"{path.name} has no title"
        assert len(prose) >= 5, f"{path.name} reads as nothing but directives raw"


def test_reference_reads_without_the_site() -> None:
    """Each ``:::`` directive of reference.md is introduced by a sentence naming its object,
    and the page links to the built site first thing."""
    text = page("reference.md")
    head = "\n".join(text.splitlines()[:8])
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    site = re.search(r'^Documentation = "([^"]+)"', pyproject, re.M)
    assert site, "pyproject.toml names no Documentation URL"
    assert f"<{site.group(1).rstrip('/')}/en/latest/reference/>" in head
    paragraphs = re.split(r"\n\s*\n", text)
    directives = 0
    for index, paragraph in enumerate(paragraphs):
        match = re.match(r"::: ([\w.]+)", paragraph)
        if not match:
            continue
        directives += 1
        name = match.group(1).rsplit(".", 1)[-1]
        before = paragraphs[index - 1]
        assert f"`{name}" in before or name in ("hooks", "errors"), (
            f"reference.md: no sentence introduces ::: {match.group(1)}"
        )
        assert "heading_level: 3" not in paragraph, "heading_level 3 is the site's default"
    assert directives >= 15
    import pytest_leapwork.api.errors as errors
    import pytest_leapwork.hooks as hooks

    hooks_prose = section(text, "## Hooks")
    assert all(h in hooks_prose for h in dir(hooks) if h.startswith("pytest_leapwork_"))
    errors_prose = section(text, "## Errors")
    raised = [n for n, v in vars(errors).items() if isinstance(v, type) and n[0].isupper()]
    assert [n for n in raised if f"`{n}`" not in errors_prose] == []


# -- (c) the site builds ----------------------------------------------------------------------


def _missing_docs_tools() -> list[str]:
    def importable(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is missing
            return False

    # mkdocs-material is the `material` package; mkdocstrings[python] adds the handler.
    tools = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "pymdownx")
    return [module for module in tools if not importable(module)]


def test_site_builds_strict(tmp_path: Path) -> None:
    missing = _missing_docs_tools()
    if missing:
        pytest.skip(f"docs tools not installed ({', '.join(missing)}); pip install -e '.[docs]'")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(DOCS / "mkdocs.yml"),
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    built = tmp_path / "site"
    for name in ("index", "configuration", "reference", "troubleshooting"):
        assert (built / ("index.html" if name == "index" else f"{name}/index.html")).is_file()
    reference = (built / "reference" / "index.html").read_text(encoding="utf-8")
    assert "pytest_leapwork_flow_passed" in reference and "failed_flows" in reference


def test_bad_scenario_file_is_the_usage_error_troubleshooting_quotes(
    pytester: pytest.Pytester,
) -> None:
    text = page("troubleshooting.md")
    paragraph = text[text.index("A scenario file that exists but has a mistake") :]
    paragraph = paragraph[: paragraph.index("\n\n")]
    assert "INTERNALERROR" not in paragraph and "usage error" in paragraph
    [quoted] = [s for s in code_spans(paragraph) if "unknown key" in s]
    (pytester.path / "my.toml").write_text('[[schedules]]\ntitle = "A"\nflowz = 1\n')
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.leapwork_schedule('A')\ndef test_a():\n    pass\n"
    )
    result = pytester.runpytest("--leapwork-emulator=my.toml", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    [line] = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    fixed = quoted.split("…")[0]
    assert line.removeprefix("ERROR: ").startswith(fixed), (line, fixed)
