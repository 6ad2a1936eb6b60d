"""Every row of docs/bad-input.md, as a user meets it: a usage error or a test error whose
message names the bad input and says how to fix it (or, for values that are fine, what is sent).

The rows are read from the document, so a row without a test, or a test without a row, fails.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_leapwork.emulator import EmulatorServer

from .support import FAST

pytestmark = pytest.mark.usefixtures("fast_backoff", "clean_environment")

DOC = Path(__file__).parent.parent / "docs" / "bad-input.md"

USAGE, ERROR, PASSED = "usage error", "setup error", "passed"
COLLECTION = "collection error"


@dataclass(frozen=True)
class Case:
    """One way to give the bad input, and what the user must see."""

    outcome: str
    #: fnmatch patterns, each matched against one line of the output (stderr for usage errors).
    expected: tuple[str, ...]
    marker: str | None = None  # the marker's arguments, e.g. '"Smoke Login", timeout=0'
    module: str | None = None  # a whole test module instead of one marked test
    conftest: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    ini: str | None = None
    #: Pass the emulator as controller, with its key (off for the controller and key rows).
    controller: bool = True
    key: bool = True
    #: For PASSED: the variables the emulator must have received.
    sent: dict[str, str] | None = None


#: Stands for the URL of a port nothing listens on; see the ``refused_url`` fixture.
UNREACHABLE = "http://127.0.0.1:{refused_port}"
UNREACHABLE_TEXT = f"cannot reach the controller at {UNREACHABLE}: *refused*attempts*"
SMOKE = '"Smoke Login"'
#: A schedule that passes quickly and declares no variables (any name is accepted).
TWIN_A = "11111111-aaaa-4bbb-8ccc-000000000005"
LONG_VALUE = "x" * 2100
#: Any GUID does for a leapwork_flow marker that is refused before anything is sent.
FLOW_ID = "0107aa4f-8149-59b2-af49-00823be1f53b"

CASES: dict[str, list[Case]] = {
    "controller URL empty": [
        Case(
            USAGE,
            ("*--leapwork-controller option: the controller URL is empty*http*",),
            args=("--leapwork-controller=",),
            controller=False,
        ),
    ],
    "controller URL without a host": [
        Case(
            USAGE,
            (f"*--leapwork-controller option: {url!r} has no host name*http://host:9001*",),
            args=(f"--leapwork-controller={url}",),
            controller=False,
        )
        for url in ("http://", "http://:9001")
    ],
    "controller URL with a bad scheme": [
        Case(
            USAGE,
            (
                "*--leapwork-controller option: 'ftp://ctl' has scheme 'ftp'; use http:// or https://*",
            ),
            args=("--leapwork-controller=ftp://ctl",),
            controller=False,
        ),
        Case(
            USAGE,
            (
                "*LEAPWORK_CONTROLLER environment variable: 'ws://ctl:9001' has scheme 'ws'*https://*",
            ),
            env={"LEAPWORK_CONTROLLER": "ws://ctl:9001"},
            controller=False,
        ),
        Case(
            USAGE,
            ("*leapwork_controller ini setting: 'file:///ctl' has scheme 'file'*https://*",),
            ini="leapwork_controller = file:///ctl",
            controller=False,
        ),
    ],
    "controller URL with a bad port": [
        *(
            Case(
                USAGE,
                (f"*--leapwork-controller option: {url!r} has an invalid port*1*65535*",),
                args=(f"--leapwork-controller={url}",),
                controller=False,
            )
            for url in ("ctl:99999", "ctl:abc", "http://ctl:-1")
        ),
        Case(
            USAGE,
            ("*--leapwork-controller option: 'ctl:0' has port 0*1*65535*",),
            args=("--leapwork-controller=ctl:0",),
            controller=False,
        ),
    ],
    "controller URL with a query or fragment": [
        Case(
            USAGE,
            (f"*--leapwork-controller option: {url!r} must not contain '?' or '#'*",),
            args=(f"--leapwork-controller={url}",),
            controller=False,
        )
        for url in ("http://ctl:9001/?a=1", "http://ctl:9001/#top")
    ],
    "controller unreachable": [
        Case(
            ERROR,
            (f"*'Smoke Login' could not be started: GET /schedules: {UNREACHABLE_TEXT}",),
            marker=SMOKE,
            args=(f"--leapwork-controller={UNREACHABLE}", "--leapwork-key=EMULATORKEY00001"),
            controller=False,
            key=False,
        ),
    ],
    "no controller": [
        Case(
            USAGE,
            ("*no controller is configured: pass --leapwork-controller=URL*--leapwork-emulator*",),
            marker=SMOKE,
            controller=False,
        ),
    ],
    "key empty or whitespace": [
        Case(
            USAGE,
            ("*--leapwork-key option: the access key is empty*LEAPWORK_KEY*",),
            args=(f"--leapwork-key={value}",),
            key=False,
        )
        for value in ("", "   ")
    ]
    + [
        Case(
            USAGE,
            ("*LEAPWORK_KEY environment variable: the access key is empty*secret*",),
            env={"LEAPWORK_KEY": value},
            key=False,
        )
        for value in ("", " \t ")
    ],
    "key only in the ini file": [
        Case(
            USAGE,
            ("*leapwork_key ini setting: the access key must not live in a file*LEAPWORK_KEY*",),
            ini="leapwork_key = EMULATORKEY00001",
            key=False,
        ),
    ],
    "no key": [
        Case(
            USAGE,
            ("*no access key is configured: set the LEAPWORK_KEY environment variable*",),
            marker=SMOKE,
            key=False,
        ),
    ],
    "key that cannot be sent in a header": [
        Case(
            ERROR,
            (
                "*'Smoke Login' could not be started: the access key ****1234 cannot be sent*"
                "copy it again*",
            ),
            marker=SMOKE,
            env={"LEAPWORK_KEY": value},
            key=False,
        )
        for value in ("EMULATOR\nKEY1234", "EMULATOR€KEY1234")
    ],
    "wrong key": [
        Case(
            ERROR,
            (
                "*'Smoke Login' could not be started: GET /schedules answered HTTP 401 "
                "(the access key is wrong*",
            ),
            marker=SMOKE,
            args=("--leapwork-key=WRONGKEY00000000",),
            key=False,
        ),
    ],
    "schedule missing": [
        Case(
            ERROR,
            (
                "*leapwork_schedule marker: name the schedule, "
                "e.g. leapwork_schedule('Smoke Login')*",
            ),
            marker="",
        ),
        Case(ERROR, ("*name the schedule*",), marker="variables={'URL': 'x'}"),
    ],
    "schedule name empty": [
        Case(
            ERROR,
            ("*leapwork_schedule marker: the schedule title is empty*title or id*",),
            marker=value,
        )
        for value in ('""', '"   "', 'schedule=""')
    ],
    "schedule name not a string": [
        Case(
            ERROR,
            (f"*leapwork_schedule marker: the schedule must be a title or id string, got {name}*",),
            marker=value,
        )
        for value, name in (("42", "int"), ("None", "NoneType"), ('["Smoke Login"]', "list"))
    ],
    "schedule unknown": [
        Case(
            ERROR,
            ("*no schedule titled 'Smoke Logn' on the controller; did you mean 'Smoke Login'?*",),
            marker='"Smoke Logn"',
        ),
        Case(
            ERROR,
            ("*did you mean 'Smoke Login'? (titles are matched exactly, ids in any letter case)*",),
            marker='"smoke login"',
        ),
        Case(
            ERROR,
            (
                "*no schedule titled 'Zzz' on the controller "
                "(run `pytest --leapwork-schedules` to list them)*",
            ),
            marker='"Zzz"',
        ),
        Case(
            ERROR,
            ("*no schedule with id '11111111-aaaa-4bbb-8ccc-0000000000ff' on the controller*",),
            marker='"11111111-aaaa-4bbb-8ccc-0000000000ff"',
        ),
    ],
    "schedule disabled": [
        Case(
            ERROR,
            (
                "*schedule 'Nightly Regression' (*) is disabled on the controller; "
                "enable it in Leapwork Studio*",
            ),
            marker='"Nightly Regression"',
        ),
    ],
    "schedule ambiguous": [
        Case(
            ERROR,
            ("*2 enabled schedules are titled 'Twin' (ids *, *); name the one to run by its id*",),
            marker='"Twin"',
        ),
    ],
    "variables not a dict": [
        Case(
            ERROR,
            (f"*leapwork_schedule marker variables: must be a dict of name to value, got {name}*",),
            marker=f"{SMOKE}, variables={value}",
        )
        for value, name in (
            ('["URL"]', "list"),
            ('"URL=x"', "str"),
            ("3", "int"),
            ('{("URL", "x")}', "set"),
        )
    ]
    + [
        Case(
            ERROR,
            ("*leapwork_variables fixture: must be a dict of name to value, got list*",),
            module="""
                import pytest

                @pytest.mark.leapwork_schedule("Smoke Login")
                @pytest.mark.parametrize("leapwork_variables", [["URL", "x"]])
                def test_it(leapwork_schedule):
                    pass
            """,
        ),
    ],
    "variable name empty": [
        Case(
            ERROR,
            ("*leapwork_schedule marker variables: a variable name is empty*",),
            marker=f"{SMOKE}, variables={value}",
        )
        for value in ('{"": "x"}', '{"  ": "x"}')
    ],
    "variable name with & = ? # or a space": [
        Case(
            ERROR,
            (
                f"*leapwork_schedule marker variables: variable name {name!r} contains {shown}; "
                "Leapwork variable names are plain words*",
            ),
            marker=f"{SMOKE}, variables={{{name!r}: 'x'}}",
        )
        for name, shown in (
            ("A&B", "'&'"),
            ("A=B", "'='"),
            ("A?B", "'?'"),
            ("A#B", "'#'"),
            ("A B", "' '"),
            ("URL ", "' '"),
            ("A\tB", "'\\t'"),
        )
    ],
    "variable name not a string": [
        Case(
            ERROR,
            ("*leapwork_schedule marker variables: variable names must be strings, got 1*",),
            marker=f"{SMOKE}, variables={{1: 'x'}}",
        ),
    ],
    "variable not declared by the schedule": [
        Case(
            ERROR,
            (
                "*'Checkout' could not be started: PUT /schedules/{id}/runNow answered HTTP 400 "
                "(a variable name is not declared in the schedule*; variables sent: Undeclared*",
            ),
            marker='"Checkout", variables={"Undeclared": "x"}',
        ),
    ],
    "variable values of every JSON type": [
        Case(
            PASSED,
            (),
            module="""
                import pytest

                @pytest.mark.leapwork_schedule("11111111-aaaa-4bbb-8ccc-000000000005", variables={
                    "Text": "a b", "Int": 42, "Float": 2.5, "True": True, "False": False,
                    "Null": None, "List": [1, "two", None], "Dict": {"k": [True, 1.5]},
                })
                def test_it():
                    pass
            """,
            sent={
                "Text": "a b",
                "Int": "42",
                "Float": "2.5",
                "True": "true",
                "False": "false",
                "Null": "",
                "List": '[1,"two",null]',
                "Dict": '{"k":[true,1.5]}',
            },
        ),
    ],
    "unicode variable values": [
        Case(
            PASSED,
            (),
            marker=(
                f'"{TWIN_A}", '
                'variables={"Greeting": "Grüße, 日本語 🎉", "Path": "C:\\\\a b\\\\ü&x=1#y"}'
            ),
            sent={"Greeting": "Grüße, 日本語 🎉", "Path": "C:\\a b\\ü&x=1#y"},
        ),
    ],
    "variables longer than the URL limit": [
        Case(
            ERROR,
            (
                "*variables of *test_it: the variables make a *-character query string; "
                "the controller's web server refuses more than 2048. Shorten the values*",
            ),
            marker=f'{SMOKE}, variables={{"Note": "{LONG_VALUE}"}}',
        ),
        Case(
            ERROR,
            ("*refuses more than 2048*",),
            marker=f'{SMOKE}, variables={{"Note": "{"€" * 250}"}}',
        ),
    ],
    "marker keyword typo": [
        Case(
            ERROR,
            (
                f"*leapwork_schedule marker: unknown keyword argument {word}; "
                "it takes schedule, variables= and timeout=*",
            ),
            marker=f"{SMOKE}, {word}=1",
        )
        for word in ("timout", "variable", "schedule_id")
    ],
    "marker with two positional arguments": [
        Case(
            ERROR,
            (
                "*takes one positional argument (the schedule), got 2; "
                "pass variables= and timeout= by keyword*",
            ),
            marker=f'{SMOKE}, {{"URL": "x"}}',
        ),
    ],
    "marker timeout zero, negative or not a number": [
        *(
            Case(
                ERROR,
                (f"*leapwork_schedule marker: timeout must be more than 0 seconds, got {shown}*",),
                marker=f"{SMOKE}, timeout={value}",
            )
            for value, shown in (("0", "0"), ("-5", "-5"), ('float("nan")', "nan"))
        ),
        *(
            Case(
                ERROR,
                (f"*leapwork_schedule marker: timeout must be a number of seconds, got {shown}*",),
                marker=f"{SMOKE}, timeout={value}",
            )
            for value, shown in (('"10"', "'10'"), ("True", "True"), ("[1]", "[[]1[]]"))
        ),
    ],
    "--leapwork-timeout zero, negative or not a number": [
        Case(
            USAGE,
            (f"*--leapwork-timeout option: the run timeout must be {words}, got {value!r}*",),
            args=(f"--leapwork-timeout={value}",),
        )
        for value, words in (
            ("0", "more than 0 seconds"),
            ("-1", "more than 0 seconds"),
            ("soon", "a number of seconds"),
            ("inf", "more than 0 seconds"),
        )
    ]
    + [
        Case(
            USAGE,
            (
                "*leapwork_timeout ini setting: the run timeout must be a number of seconds, "
                "got '1h'*",
            ),
            ini="leapwork_timeout = 1h",
        ),
    ],
    "--leapwork-poll-interval zero, negative or not a number": [
        Case(
            USAGE,
            (f"*--leapwork-poll-interval option: the poll interval must be *, got {value!r}*",),
            args=(f"--leapwork-poll-interval={value}",),
        )
        for value in ("0", "-2", "fast")
    ],
    "--leapwork-done-status other than passed/failed": [
        Case(
            USAGE,
            ("*--leapwork-done-status option: must be 'passed' or 'failed', got 'success'*",),
            args=("--leapwork-done-status=success",),
        ),
    ],
    "--leapwork-max-in-flight below 1 or not a number": [
        Case(
            USAGE,
            (
                "*--leapwork-max-in-flight option: the number of runs in flight "
                "must be at least 1, got 0*",
            ),
            args=("--leapwork-max-in-flight=0",),
        ),
        Case(
            USAGE,
            (
                "*--leapwork-max-in-flight option: the number of runs in flight "
                "must be a whole number, got 'many'*",
            ),
            args=("--leapwork-max-in-flight=many",),
        ),
    ],
    "--leapwork-ca-bundle that does not exist": [
        Case(
            USAGE,
            ("*--leapwork-ca-bundle option: no such CA bundle file 'missing.pem'*",),
            args=("--leapwork-ca-bundle=missing.pem",),
        ),
        Case(
            USAGE,
            ("*LEAPWORK_CA_BUNDLE environment variable: no such CA bundle file 'missing.pem'*",),
            env={"LEAPWORK_CA_BUNDLE": "missing.pem"},
        ),
    ],
    "two markers on one test": [
        Case(
            ERROR,
            (
                "*leapwork_schedule marker: 2 markers on one test; a test runs one schedule "
                "(parametrize with pytest.param(..., marks=...) to run several)*",
            ),
            module="""
                import pytest

                @pytest.mark.leapwork_schedule("Smoke Login")
                @pytest.mark.leapwork_schedule("Checkout")
                def test_it():
                    pass
            """,
        ),
    ],
    "fixture without a marker": [
        Case(
            ERROR,
            (
                "*uses the leapwork_schedule fixture "
                "but has no @pytest.mark.leapwork_schedule(...) marker*",
            ),
            module="""
                def test_it(leapwork_schedule):
                    pass
            """,
        ),
    ],
    "--leapwork-select matching nothing": [
        Case(
            COLLECTION,
            (
                "leapwork: --leapwork-select 'Nope*' matches no enabled schedule on the "
                "controller (run `pytest --leapwork-schedules` to list them)",
            ),
            args=("--leapwork-select=Nope*",),
        ),
    ],
    "--leapwork-var that is not NAME=VALUE": [
        Case(
            USAGE,
            ("*--leapwork-var option: 'URL' is not NAME=VALUE (or PATTERN:NAME=VALUE)*",),
            args=("--leapwork-select=Checkout", "--leapwork-var=URL"),
        ),
    ],
    "--leapwork-var with an empty pattern": [
        Case(
            USAGE,
            (
                "*--leapwork-var option ':URL=x': the pattern before ':' is empty; write "
                "PATTERN:NAME=VALUE for the schedules PATTERN matches, or NAME=VALUE for every "
                "selected schedule*",
            ),
            args=("--leapwork-select=Checkout", "--leapwork-var=:URL=x"),
        ),
    ],
    "--leapwork-var whose pattern matches no schedule": [
        Case(
            COLLECTION,
            (
                "leapwork: --leapwork-var option 'Smok:URL=x': the pattern 'Smok' matches no "
                "schedule on the controller, so its variable would reach none (run `pytest "
                "--leapwork-schedules` to list them)",
            ),
            args=("--leapwork-select=Checkout", "--leapwork-var=Smok:URL=x"),
        ),
    ],
    "a variable a selected schedule does not declare": [
        Case(
            ERROR,
            (
                "*'Checkout' could not be started: PUT /schedules/{id}/runNow answered HTTP 400 "
                "(*; variables sent: Browser; the controller refused one of them and does not "
                "say which; Browser is given to every selected schedule (a --leapwork-var or "
                "leapwork_vars line without a pattern): give a variable only to the schedules "
                "that declare it, as PATTERN:NAME=VALUE",
            ),
            module="",  # the selected schedule's test only
            args=("--leapwork-select=Checkout", "--leapwork-var=Browser=chrome"),
        ),
    ],
    "--leapwork-var without --leapwork-select": [
        Case(
            USAGE,
            ("*--leapwork-var option: gives variables of the schedules --leapwork-select adds*",),
            args=("--leapwork-var=URL=x",),
        ),
    ],
    "--leapwork-artifacts-max-mb not a number above 0": [
        Case(
            USAGE,
            (
                "*--leapwork-artifacts-max-mb option: the size cap must be a number of "
                f"megabytes above 0, got {value!r}*",
            ),
            args=("--leapwork-artifacts=out", f"--leapwork-artifacts-max-mb={value}"),
        )
        for value in ("lots", "0")
    ],
    "--leapwork-artifacts under a file or through a dangling symbolic link": [
        Case(
            USAGE,
            (
                "*--leapwork-artifacts option: '*test_bad_input.py/evidence' is under "
                "'*test_bad_input.py', which is a file, not a directory*",
            ),
            args=("--leapwork-artifacts=test_bad_input.py/evidence",),
        ),
    ],
    "leapwork_flow with a title": [
        Case(
            ERROR,
            (
                "*leapwork_flow marker: the flow id (first argument) must be an id (a GUID), "
                "got 'Log In'; titles are not accepted here. Copy it from the flow's properties*",
            ),
            module=f"""
                import pytest

                @pytest.mark.leapwork_flow("Log In", agent="{FLOW_ID}")
                def test_it():
                    pass
            """,
        ),
    ],
    "leapwork_flow without an agent": [
        Case(
            ERROR,
            ("*leapwork_flow marker: name the agent to run on, agent='<agent id>'*",),
            module=f"""
                import pytest

                @pytest.mark.leapwork_flow("{FLOW_ID}")
                def test_it():
                    pass
            """,
        ),
    ],
    "leapwork_flow and leapwork_schedule on one test": [
        Case(
            ERROR,
            (
                "*a test carries either @pytest.mark.leapwork_schedule or "
                "@pytest.mark.leapwork_flow, not both (a class or module marker counts too)*",
            ),
            module=f"""
                import pytest

                pytestmark = pytest.mark.leapwork_schedule("Checkout")

                @pytest.mark.leapwork_flow("{FLOW_ID}", agent="{FLOW_ID}")
                def test_it():
                    pass
            """,
        ),
    ],
    "--leapwork-emulator followed by a test path": [
        Case(
            USAGE,
            ("*--leapwork-emulator option: 'tests' is not a scenario*--leapwork-emulator=demo*",),
            args=("--leapwork-emulator", "tests"),
            controller=False,
            key=False,
        ),
    ],
    "controller URL that does not parse": [
        Case(
            USAGE,
            (
                "*--leapwork-controller option: 'http://[[]::1' is not a valid URL "
                "(Invalid IPv6 URL)*http://[[]::1]:9001*",
            ),
            args=("--leapwork-controller=http://[::1",),
            controller=False,
        ),
        Case(
            USAGE,
            (
                "*--leapwork-controller option: 'fe80::1' looks like an IPv6 address; put it in "
                "brackets: http://[[]fe80::1]:9001*",
            ),
            args=("--leapwork-controller=fe80::1",),
            controller=False,
        ),
    ],
    "controller URL with a space or a control character": [
        Case(
            USAGE,
            (f"*--leapwork-controller option: {url!r} contains a space or a control character*",),
            args=(f"--leapwork-controller={url}",),
            controller=False,
        )
        for url in ("http://a b:9001", "http://ctl:9001/a\tb")
    ],
    "controller URL of another kind": [
        Case(
            USAGE,
            (f"*--leapwork-controller option: {url!r} has scheme {scheme!r}; use http://*",),
            args=(f"--leapwork-controller={url}",),
            controller=False,
        )
        for url, scheme in (("javascript:alert(1)", "javascript"), ("data:text/html,x", "data"))
    ],
    "controller URL with a user name or password": [
        Case(
            USAGE,
            (
                f"*--leapwork-controller option: {shown!r} carries a user name or password; "
                "remove it from the URL*",
            ),
            args=(f"--leapwork-controller={url}",),
            controller=False,
        )
        for url, shown in (
            ("http://user:Secret9@ctl:9001", "http://***@ctl:9001"),
            ("user:Secret9@ctl", "***@ctl"),
        )
    ],
    "variable name with a control character": [
        Case(
            ERROR,
            (
                f"*leapwork_schedule marker variables: variable name {name!r} contains {shown}; "
                "Leapwork variable names are plain words*",
            ),
            marker=f"{SMOKE}, variables={{{name!r}: 'x'}}",
        )
        for name, shown in (("A\x00B", "'\\x00'"), ("A\x7fB", "'\\x7f'"))
    ],
    "--leapwork-poll-interval below 0.05 seconds": [
        Case(
            USAGE,
            (
                f"*--leapwork-poll-interval option: the poll interval must be at least 0.05 "
                f"seconds, got {value!r}*",
            ),
            args=(f"--leapwork-poll-interval={value}",),
        )
        for value in ("0.000001", "0.01")
    ],
    "--leapwork-junitxml in a file or a directory": [
        Case(
            USAGE,
            (
                "*--leapwork-junitxml option: cannot write 'test_bad_input.py/leapwork.xml': "
                "'*test_bad_input.py' is a file, not a directory*",
            ),
            args=("--leapwork-junitxml=test_bad_input.py/leapwork.xml",),
        ),
        Case(
            USAGE,
            ("*leapwork_junitxml ini setting: '.' is a directory; give the report's file name*",),
            ini="leapwork_junitxml = .",
        ),
    ],
    "--leapwork-schedules without a controller": [
        Case(
            USAGE,
            (
                "*--leapwork-schedules: the option lists a controller's schedules, and no "
                "controller is configured: pass --leapwork-controller=URL*",
            ),
            args=("--leapwork-schedules",),
            controller=False,
            key=False,
        ),
        Case(
            USAGE,
            (
                "*--leapwork-schedules: the option lists a controller's schedules and needs its "
                "access key: set the LEAPWORK_KEY environment variable*",
            ),
            args=("--leapwork-schedules",),
            key=False,
        ),
    ],
}


def doc_rows() -> list[str]:
    """The first cell of every row of the table in docs/bad-input.md."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| input ") or set(line) <= set("|- "):
            continue
        rows.append(line.split(" | ")[0].removeprefix("| ").strip().replace("`", ""))
    return rows


def test_every_row_of_the_table_is_tested() -> None:
    rows = doc_rows()
    assert len(rows) == len(set(rows)), "a row appears twice in docs/bad-input.md"
    assert set(rows) == set(CASES), "docs/bad-input.md and CASES must list the same inputs"


def params() -> list[Any]:
    return [
        pytest.param(case, id=f"{re.sub(r'[^a-z0-9]+', '-', row.lower()).strip('-')}-{index}")
        for row, cases in CASES.items()
        for index, case in enumerate(cases)
    ]


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port that refuses connections: bound, never listening, so no other test can take it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("case", params())
def test_bad_input(
    pytester: pytest.Pytester,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    refused_port: int,
    case: Case,
) -> None:
    if case.module is not None:
        pytester.makepyfile(case.module)
    else:
        pytester.makepyfile(
            f"""
            import pytest

            @pytest.mark.leapwork_schedule({case.marker if case.marker is not None else SMOKE})
            def test_it():
                pass
            """
        )
    if case.ini is not None:
        pytester.makeini(f"[pytest]\n{case.ini}\n")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    args = [*FAST, *(arg.replace("{refused_port}", str(refused_port)) for arg in case.args)]
    if case.controller:
        args.append(f"--leapwork-controller={emulator.url}")
    if case.key:
        args.append(f"--leapwork-key={emulator.access_key}")
    result = pytester.runpytest(*args)
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert "Traceback" not in output
    if case.outcome == USAGE:
        assert result.ret == pytest.ExitCode.USAGE_ERROR, output
        lines = result.stderr
    elif case.outcome in (ERROR, COLLECTION):
        result.assert_outcomes(errors=1)
        lines = result.stdout
    else:
        result.assert_outcomes(passed=1)
        [run] = emulator.runs
        assert run.variables == case.sent
        lines = result.stdout
    for pattern in case.expected:
        lines.fnmatch_lines([pattern.replace("{refused_port}", str(refused_port))])
    # Bad input never triggers anything.
    if case.outcome != PASSED:
        assert emulator.count_requests("run_now") == (
            1 if "HTTP 400" in "".join(case.expected) else 0
        )
