"""Every pytest command the pages show runs as shown, and prints the output they quote.

The commands are read from the fenced shell blocks of README.md and docs/content (a line whose
first word, after an optional ``$`` prompt, is ``pytest`` or ``python -m pytest``). Each is
one of two kinds:

(a) runnable here: it names the built-in emulator (``--leapwork-emulator``, or an ini file
    under docs/examples whose ``addopts`` does) and every path it gives is under
    docs/examples. It runs exactly as shown, in a pytest process of its own, from a
    temporary directory holding a copy of docs/examples; it must not end in a usage error,
    an internal error, an interruption or "no tests collected".
(b) for the reader's own controller or project: listed in ``ELSEWHERE`` below with the reason.
    Its options must parse as written. Where the page quotes its output, a stand-in (the
    command with the emulator added) must print that output.

A command that is neither fails ``test_every_command_is_classified`` until it is listed.
Where a command is followed by its output (``$ pytest ...`` console blocks), every quoted line
must be among the lines the command printed, in order, once what changes from run to run is
set aside (``normalized``).

CI recipes (YAML and Jenkinsfile blocks) are checked by tests/test_docs.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support import WITH_ALLURE, WITH_RERUNFAILURES
from .test_docs import FENCE
from .test_docs_quotes import PAGES, REPO

EXAMPLES = Path("docs", "examples")
#: The plugins every session loads: this one and xdist, by their entry points' names (``-p
#: leapwork`` checks the packaging as autoloading would). Autoloading every installed plugin
#: would cost each process 0.6 s of CPU.
ADDOPTS = "-p leapwork -p xdist"
#: The project directory the pages show in absolute paths.
PROJECT_IN_DOCS = "/home/me/project"
#: Exit statuses no command may end with: a usage error, an internal error, an
#: interruption, no tests collected.
NEVER = {
    pytest.ExitCode.INTERRUPTED,
    pytest.ExitCode.INTERNAL_ERROR,
    pytest.ExitCode.USAGE_ERROR,
    pytest.ExitCode.NO_TESTS_COLLECTED,
}

SHELL_BLOCKS = {"", "sh", "bash", "shell", "console"}
#: Blocks that are CI files: a command there runs inside the recipe, as tests/test_docs.py
#: (test_ci_recipes_parse_publish_the_report_and_keep_the_key_secret) checks.
CI_RECIPES = {"yaml", "yml", "groovy"}
PYTEST_FIRST = re.compile(r"(pytest|python3? -m pytest)(\s|$)")
COMMENT = re.compile(r"\s+#(\s.*)?$")
#: The operators between the commands of a list (``a && b``, ``a; b``).
CONTROL = re.compile(r"\s+(?:&&|\|\||;)\s+")


@dataclass(frozen=True)
class Command:
    where: str  # page:line
    text: str  # as shown: continuations joined, the prompt and a trailing comment dropped
    program: tuple[str, ...]  # ("pytest",) or ("python", "-m", "pytest")
    args: tuple[str, ...]
    output: tuple[str, ...]  # the lines quoted after it, up to the next prompt


def command_lines(lines: list[str]) -> Iterator[tuple[int, str, list[str]]]:
    """The command lines of a shell block: (index of its first line, the line with its
    continuations joined, prompt and comment dropped, the output lines after it). In a block
    with ``$`` prompts only the prompted lines are commands, the others their output."""
    prompted = any(line.startswith("$ ") for line in lines)
    index = 0
    while index < len(lines):
        first, shown = index, lines[index]
        index += 1
        if prompted:
            if not shown.startswith("$ "):
                continue
            shown = shown[2:]
        while shown.rstrip().endswith("\\") and index < len(lines):
            shown = shown.rstrip()[:-1] + " " + lines[index].strip()
            index += 1
        output: list[str] = []
        while prompted and index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        yield first, COMMENT.sub("", shown.strip()), output


def commands() -> tuple[list[Command], list[str]]:
    """The pytest commands of the pages, and what could not be read (a problem each)."""
    found: list[Command] = []
    problems: list[str] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            language = (block["info"].split() or [""])[0]
            first = text.count("\n", 0, block.start("body")) + 1
            lines = [line.removeprefix(block["indent"]) for line in block["body"].splitlines()]
            for index, line, output in command_lines(lines):
                where = f"{page.name}:{first + index}"
                # `python3 -m venv .venv && ... && pytest docs/examples ...`: each command of
                # the list; the output quoted after it is the last one's.
                parts = CONTROL.split(line)
                for part in parts:
                    if not PYTEST_FIRST.match(part) or language in CI_RECIPES:
                        continue
                    if language not in SHELL_BLOCKS:
                        problems.append(f"{where}: a pytest command in a {language!r} block")
                        continue
                    try:
                        argv = shlex.split(part)
                    except ValueError as error:
                        problems.append(f"{where}: {error}: {part}")
                        continue
                    size = 1 if argv[0] == "pytest" else 3
                    quoted = tuple(output) if part is parts[-1] else ()
                    found.append(
                        Command(where, part, tuple(argv[:size]), tuple(argv[size:]), quoted)
                    )
    return found, problems


# -- (b) the commands for the reader's own controller or project -------------------------------


@dataclass(frozen=True)
class Elsewhere:
    why: str
    #: ``-p`` options of the other plugins whose options the command uses.
    plugins: tuple[str, ...] = ()
    #: Appended to run it against the emulator, to compare the output the page quotes.
    stand_in: tuple[str, ...] = ()
    #: Quoted lines (their start) the stand-in cannot print, and why.
    not_printed: tuple[tuple[str, str], ...] = ()


READERS_PROJECT = "the tests of the reader's own project, against the reader's controller"
ELSEWHERE: dict[str, Elsewhere] = {
    "pytest --leapwork-controller=http://ctl:9001 --junitxml=out.xml": Elsewhere(
        "the reader's controller and project"
    ),
    "pytest --leapwork-controller=https://ctl.example.com:9002 --junitxml=reports/junit.xml": (
        Elsewhere("the reader's controller and project")
    ),
    "pytest --leapwork-select='Regression/*' --leapwork-select='*Login*' "
    "--leapwork-var='*Login*:URL=https://staging.example.com'": Elsewhere(
        "patterns of the reader's schedule tree (the emulator's has no Regression folder), "
        "on the controller LEAPWORK_CONTROLLER names"
    ),
    "pytest --leapwork-select='Regression/*' "
    "--leapwork-var='Regression/Web/*:URL=https://staging.example.com'": Elsewhere(
        "patterns of the reader's schedule tree (the emulator's has no Regression folder), "
        "on the controller LEAPWORK_CONTROLLER names"
    ),
    "pytest --leapwork-select='Regression/*' --leapwork-select='Smoke/*'": Elsewhere(
        "patterns of the reader's schedule tree, in an 80-column CI log; tests/test_docs.py "
        "(test_getting_started_messages_and_run_ids_are_as_printed) checks the table it quotes"
    ),
    "pytest tests/leapwork --alluredir=allure-results --leapwork-artifacts=leapwork-artifacts": (
        Elsewhere(READERS_PROJECT, plugins=WITH_ALLURE)
    ),
    "pytest -x": Elsewhere(
        f"{READERS_PROJECT}: the output quoted is of the reader's test_suite.py stopped by -x"
    ),
    "pytest -n 4 --junitxml=reports/junit.xml": Elsewhere(READERS_PROJECT),
    "pytest -n 6": Elsewhere(
        "this repository's test suite, which CI runs; run from inside it, it would run itself"
    ),
    "pytest --leapwork-rerun-flows=2": Elsewhere(READERS_PROJECT),
    "pytest --leapwork-rerun-flows=2 --reruns 1": Elsewhere(
        READERS_PROJECT, plugins=WITH_RERUNFAILURES
    ),
    "pytest --junitxml=reports/junit.xml": Elsewhere(READERS_PROJECT),
    "pytest --junitxml=reports/junit.xml --leapwork-junitxml=reports/leapwork-flows.xml": (
        Elsewhere(READERS_PROJECT)
    ),
    "pytest -c docs/examples/cookbook/staging.ini docs/examples/cookbook": Elsewhere(
        "the profile names the reader's staging controller; tests/test_docs.py "
        "(test_ini_profiles) runs it with the emulator standing in"
    ),
    "pytest -c docs/examples/cookbook/nightly.ini docs/examples/cookbook "
    "--leapwork-timeout=10800": Elsewhere(
        "the profile names the reader's controller; tests/test_docs.py (test_ini_profiles) "
        "runs it with the emulator standing in"
    ),
    "pytest docs/examples --leapwork-controller=http://127.0.0.1:9001 "
    "--leapwork-key=EMULATORKEY00001": Elsewhere(
        "the standalone emulator the line before starts on port 9001, which a shared test "
        "machine cannot promise is free; tests/test_docs.py runs that emulator "
        "(test_standalone_emulator_command) and every example against its scenario"
    ),
    "pytest --leapwork-schedules": Elsewhere(
        "the controller LEAPWORK_CONTROLLER names (exported above it); the listing quoted is "
        "the emulator's demo",
        stand_in=("--leapwork-emulator",),
    ),
    "pytest docs/examples/getting_started": Elsewhere(
        "the controller exported above it (https://ctl.example.com:9002)",
        stand_in=("--leapwork-emulator",),
        not_printed=(
            (
                "leapwork: controller https://ctl.example.com:9002,",
                "the header names the reader's controller, the stand-in's the emulator "
                "(tests/test_docs_quotes.py checks the quoted header's form)",
            ),
        ),
    ),
}

#: Runnable commands whose example has tests that fail on purpose (exit status 1), and why.
FAILS_ON_PURPOSE: dict[str, str] = {}


def names_the_emulator(args: tuple[str, ...]) -> bool:
    if any(a == "--leapwork-emulator" or a.startswith("--leapwork-emulator=") for a in args):
        return True
    ini = option_value(args, "-c", "--config-file")
    return ini is not None and "--leapwork-emulator" in ini_addopts(ini)


def option_value(args: tuple[str, ...], short: str, long: str) -> str | None:
    for index, arg in enumerate(args):
        if arg in (short, long) and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{long}="):
            return arg.split("=", 1)[1]
        if arg.startswith(short) and len(arg) > len(short) and not arg.startswith("--"):
            return arg[len(short) :]
    return None


def ini_addopts(ini: str) -> str:
    path = REPO / ini
    if not path.is_file():
        return ""
    match = re.search(r"^addopts\s*=\s*(.*)$", path.read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else ""


def paths_given(args: tuple[str, ...]) -> list[str]:
    """The files and directories a command names: the ini file, a scenario file, and the
    positional arguments that look like paths (a ``-k`` or ``-m`` expression never does)."""
    paths = [p for p in (option_value(args, "-c", "--config-file"),) if p]
    scenario = [a.split("=", 1)[1] for a in args if a.startswith("--leapwork-emulator=")]
    paths += [s for s in scenario if s != "demo"]
    paths += [a for a in args if not a.startswith("-") and ("/" in a or re.search(r"\.\w+$", a))]
    return paths


def runnable(command: Command) -> bool:
    """Kind (a): it names the emulator and all it reads is under docs/examples."""
    under_examples = all(
        Path(p).parts[: len(EXAMPLES.parts)] == EXAMPLES.parts for p in paths_given(command.args)
    )
    return names_the_emulator(command.args) and under_examples


FOUND, PROBLEMS = commands()
RUNNABLE = [c for c in FOUND if runnable(c)]
OTHERS = [c for c in FOUND if c.text in ELSEWHERE and not runnable(c)]


def where(command: Command) -> str:
    return command.where


def test_every_command_is_classified() -> None:
    assert not PROBLEMS, "\n".join(PROBLEMS)
    assert len(RUNNABLE) >= 10 and len(OTHERS) >= 10, "the pages' commands were not found"
    unclassified = [
        f"{c.where}: {c.text}" for c in FOUND if not runnable(c) and c.text not in ELSEWHERE
    ]
    assert not unclassified, (
        "commands that neither run against the emulator as shown nor are listed in "
        "ELSEWHERE with the reason:\n" + "\n".join(unclassified)
    )
    both = [f"{c.where}: {c.text}" for c in RUNNABLE if c.text in ELSEWHERE]
    assert not both, "runnable here, so no longer ELSEWHERE:\n" + "\n".join(both)
    shown = {c.text for c in FOUND}
    stale = [text for text in [*ELSEWHERE, *FAILS_ON_PURPOSE] if text not in shown]
    assert not stale, "listed, but no page shows it any more:\n" + "\n".join(stale)


# -- running them --------------------------------------------------------------------------------


def clean_environment() -> dict[str, str]:
    """No LEAPWORK_* or PYTEST_* variable of this session; only this plugin and xdist load; the
    width of a CI log (80 columns), as the pages' quotes."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEAPWORK_", "PYTEST_")) and k not in ("PY_COLORS", "FORCE_COLOR")
    }
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        PYTEST_ADDOPTS=ADDOPTS,
        COLUMNS="80",
        PYTHONIOENCODING="utf-8",
    )
    return env


def checkout(factory: pytest.TempPathFactory) -> Path:
    """A directory holding a copy of docs/examples at its place in the repository, so the
    commands' paths work and their caches and reports land there."""
    root = factory.mktemp("checkout")
    shutil.copytree(
        REPO / EXAMPLES,
        root / EXAMPLES,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )
    return root


def executable(program: tuple[str, ...]) -> list[str]:
    if program == ("pytest",):
        script = Path(sys.executable).with_name("pytest")
        if script.is_file():
            return [str(script)]
    return [sys.executable, "-m", "pytest"]


@dataclass(frozen=True)
class Ran:
    status: int
    output: str
    directory: Path


def run(program: tuple[str, ...], args: tuple[str, ...], factory: pytest.TempPathFactory) -> Ran:
    directory = checkout(factory)
    done = subprocess.run(
        [*executable(program), *args],
        cwd=directory,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    return Ran(done.returncode, done.stdout, directory)


# -- comparing quoted output with printed output ------------------------------------------------

#: Lines of a session's header that change with the machine and the run.
PER_MACHINE = re.compile(
    r"(platform |rootdir: |plugins: |cachedir: |configfile: |Using --randomly-seed)"
)
#: RunIds and run items' ids: random (version 4) GUIDs. Schedule ids (version 5, from the
#: title) are the same every run and are compared.
RANDOM_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b")
#: The start of a run's or run item's id in an artifact's name (``Smoke-Login_a0921a45``).
SHORT_ID = re.compile(r"(?<=_)[0-9a-f]{8}\b")
#: Durations with a fraction (``4.0s``, ``in 4.52s``, ``in 65.00s (0:01:05)``); whole seconds
#: are settings (``timeout 3600s``) and are compared.
DURATION = re.compile(r"\b\d+\.\d+s\b( \(\d+:\d\d:\d\d\))?")
#: pytest's rules (``=== leapwork runs ===``), as long as the text in them leaves room for.
RULE = re.compile(r"([=-])\1{2,}")


def normalized(line: str, project: str) -> str:
    line = line.replace(project, "<project>")
    line = RANDOM_ID.sub("<id>", line)
    line = SHORT_ID.sub("<id>", line)
    line = DURATION.sub("<t>s", line)
    line = RULE.sub(r"\1\1", line)
    return " ".join(line.split())  # column padding


def compared(quoted: tuple[str, ...]) -> list[str]:
    """The quoted lines to look for: not the elision (``...``), blank lines or the lines of
    the header that name the machine."""
    return [
        line
        for line in quoted
        if line.strip() and line.strip() != "..." and not PER_MACHINE.match(line)
    ]


def not_printed_in_order(quoted: list[str], printed: str, directory: Path) -> list[str]:
    """The quoted lines missing from what was printed, looked for in the quoted order."""
    printed_lines = [normalized(line, str(directory)) for line in printed.splitlines()]
    missing = []
    position = 0
    for line in quoted:
        wanted = normalized(line, PROJECT_IN_DOCS)
        try:
            position = printed_lines.index(wanted, position) + 1
        except ValueError:
            missing.append(wanted)
    return missing


def assert_quoted_output_printed(command: Command, quoted: list[str], ran: Ran) -> None:
    missing = not_printed_in_order(quoted, ran.output, ran.directory)
    assert not missing, (
        f"{command.where}: `{command.text}` did not print these quoted lines (in this order; "
        "shown normalized):\n  "
        + "\n  ".join(missing)
        + "\n\nwhat it printed, normalized:\n"
        + "\n".join(normalized(line, str(ran.directory)) for line in ran.output.splitlines())
    )


# -- (a) runnable here ---------------------------------------------------------------------------


def same_commands() -> list[list[Command]]:
    """The runnable commands, those shown in several places together: each runs once."""
    grouped: dict[tuple[str, ...], list[Command]] = {}
    for command in RUNNABLE:
        grouped.setdefault((*command.program, *command.args), []).append(command)
    return list(grouped.values())


Run = Callable[[tuple[str, ...], tuple[str, ...]], Ran]


def commands_of(items: list[pytest.Item]) -> dict[tuple[tuple[str, ...], tuple[str, ...]], None]:
    """The processes (program, args) the tests of this module among ``items`` need."""
    keys: dict[tuple[tuple[str, ...], tuple[str, ...]], None] = {}
    for item in items:
        if not isinstance(item, pytest.Function) or item.module is not sys.modules[__name__]:
            continue
        params = item.callspec.params if hasattr(item, "callspec") else {}
        shown, command = params.get("shown"), params.get("command")
        if isinstance(shown, list):
            keys[shown[0].program, shown[0].args] = None
        elif isinstance(command, Command) and command.output:
            stand_in = ELSEWHERE[command.text].stand_in
            if stand_in:
                keys[command.program, (*command.args, *stand_in)] = None
    return keys


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """``runs(program, args)``: the process of a command that runs here, as it ended.

    A command spends most of its time waiting for emulated runs, so outside xdist the
    commands of the tests selected run four at a time, ahead of their tests. Under xdist
    each test runs its own (each worker's ``session.items`` are every test, not its share).
    """
    ahead: dict[tuple[tuple[str, ...], tuple[str, ...]], Future[Ran]] = {}

    def ran(program: tuple[str, ...], args: tuple[str, ...]) -> Ran:
        if (program, args) in ahead:
            return ahead[program, args].result()
        return run(program, args, tmp_path_factory)

    if os.environ.get("PYTEST_XDIST_WORKER"):
        yield ran
        return
    tmp_path_factory.getbasetemp()  # made once here: threads making it at once race
    pool = ThreadPoolExecutor(max_workers=4)
    for key in commands_of(request.session.items):
        ahead[key] = pool.submit(run, *key, tmp_path_factory)
    try:
        yield ran
    finally:
        pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("shown", same_commands(), ids=lambda s: "+".join(c.where for c in s))
def test_the_command_runs_as_shown_and_prints_what_is_quoted(
    shown: list[Command], runs: Run
) -> None:
    command = shown[0]
    ran = runs(command.program, command.args)
    allowed = {pytest.ExitCode.OK} | (
        {pytest.ExitCode.TESTS_FAILED} if command.text in FAILS_ON_PURPOSE else set()
    )
    assert ran.status not in NEVER and ran.status in allowed, (
        f"{command.where}: `{command.text}` exited {ran.status}:\n{ran.output}"
    )
    for place in shown:
        if place.output:
            assert_quoted_output_printed(place, compared(place.output), ran)


# -- (b) for the reader's controller or project ----------------------------------------------

#: Runs ``pytest ARGS --markers`` for each command in one process (a process costs 0.5 s of
#: CPU; a parse check costs a fraction of that): reads [[args, PYTEST_ADDOPTS], ...] on stdin,
#: prints [[status, output], ...].
OPTIONS_CHECKER = """
import contextlib, io, json, os, sys
import pytest
results = []
for args, addopts in json.load(sys.stdin):
    os.environ["PYTEST_ADDOPTS"] = addopts
    before = set(sys.modules)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = pytest.main([*args, "--markers"])
    for name in set(sys.modules) - before:  # the examples' conftest modules
        if os.getcwd() in str(getattr(sys.modules[name], "__file__", None) or ""):
            del sys.modules[name]
    results.append([int(status), out.getvalue()])
json.dump(results, sys.stdout)
"""


def missing_plugins(plugins: tuple[str, ...]) -> list[str]:
    names = [p for p in plugins if p != "-p"]
    return [n for n in names if importlib.util.find_spec(n.split(".")[0]) is None]


def test_the_options_of_every_command_for_another_project_parse(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """``--markers`` appended: pytest parses the whole command line (an option no loaded
    plugin defines is a usage error) and configures the plugins (which reject a value they
    cannot use), then lists the markers and exits, collecting and running nothing.
    (``--help`` would not do: pytest shows its help whatever other options it is given.)

    One test for all of them, checked in one process: as a test each, every xdist worker
    that got one would start that process again.
    """
    checked = [c for c in OTHERS if not missing_plugins(ELSEWHERE[c.text].plugins)]
    requests = [[list(c.args), " ".join([ADDOPTS, *ELSEWHERE[c.text].plugins])] for c in checked]
    done = subprocess.run(
        [sys.executable, "-c", OPTIONS_CHECKER],
        input=json.dumps(requests),
        cwd=checkout(tmp_path_factory),
        env=clean_environment(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    failed = [
        f"{c.where}: `{c.text} --markers` exited {status}:\n{output}"
        for c, (status, output) in zip(checked, results, strict=True)
        if status != pytest.ExitCode.OK
    ]
    assert not failed, "\n".join(failed)
    unchecked = [c for c in OTHERS if c not in checked]
    if unchecked:  # a plugin a command needs is not installed: say so, after the others pass
        names = {n for c in unchecked for n in missing_plugins(ELSEWHERE[c.text].plugins)}
        pytest.skip(f"{', '.join(sorted(names))} not installed; pip install -e '.[test]'")


WITH_OUTPUT = [c for c in OTHERS if c.output]


@pytest.mark.parametrize("command", WITH_OUTPUT, ids=where)
def test_a_stand_in_prints_the_output_quoted_for_another_project(
    command: Command, runs: Run
) -> None:
    elsewhere = ELSEWHERE[command.text]
    if not elsewhere.stand_in:
        pytest.skip(f"output not compared: {elsewhere.why}")
    ran = runs(command.program, (*command.args, *elsewhere.stand_in))
    assert ran.status == pytest.ExitCode.OK, f"{command.where} with a stand-in:\n{ran.output}"
    for start, _ in elsewhere.not_printed:
        assert any(line.startswith(start) for line in command.output), (
            f"{command.where}: no quoted line starts {start!r}: drop it from not_printed"
        )
    quoted = [
        line
        for line in compared(command.output)
        if not any(line.startswith(start) for start, _ in elsewhere.not_printed)
    ]
    assert_quoted_output_printed(command, quoted, ran)
