"""Acceptance: user test modules, written only from the plugin's pinned public surface, run in a
pytest subprocess against the independent controller double (``controller_double.py``).

Each scenario writes a user's test module into ``tmp_path``, runs ``python -m pytest`` on it
(cwd = ``tmp_path``) with ``--leapwork-controller`` / ``--leapwork-key`` (or the environment
variables) and ``--junitxml``, and then checks what the design promises: outcomes, failure and error
messages, the ``leapwork_run_id`` JUnit property, variable round-trips (what the double received),
stopping a run on timeout, no PytestWarning and no access key in any output.

The interpreter of the user session is, in this order:
- ``LEAPWORK_ACCEPTANCE_PYTHON=/path/to/python``: a python where pytest-leapwork (and
  pytest-xdist) are installed already;
- ``LEAPWORK_ACCEPTANCE_FRESH_VENV=1``: a fresh virtualenv made once per session
  (``python -m venv`` + ``pip install <repo> pytest-xdist``, a regular non-editable install, so
  packaging and the ``pytest11`` entry point are checked too; adds ~15 s);
- otherwise ``sys.executable`` (the development virtualenv).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .controller_double import (
    ACCESS_KEY,
    AGENT_TITLE,
    DISABLED_ID,
    DISABLED_TITLE,
    DUP_A_ID,
    DUP_B_ID,
    DUP_TITLE,
    EMPTY_ID,
    EMPTY_LEVEL_MESSAGE,
    EMPTY_TITLE,
    ENDLESS_ID,
    ERROR_BLOCK,
    ERROR_MESSAGE,
    FAILING_FLOW,
    LATE_FLOW,
    LATE_ID,
    LATE_TITLE,
    LOGIN_ID,
    NO_BLOCK_MESSAGE,
    SMOKE_ID,
    SMOKE_LOWER_TITLE_ID,
    SMOKE_TEMP_ID,
    SMOKE_TITLE,
    TRACE_MESSAGE,
    ControllerDouble,
)

REPO = Path(__file__).resolve().parents[2]
PROPERTY = "leapwork_run_id"
WRONG_KEY = "WrongKey-0000000"
UNKNOWN_TITLE = "No Such Schedule Anywhere"

# A value that a naive client cuts or mangles: ':' '/' spaces '&' '=' '+' '%' '#' '?' unicode.
TRICKY_URL = "https://user:p@ss w0rd@good.test/a/b?x=1&y=2+3%20&z=#frag ünïcødé ✓ 東京"
BROKEN_URL = "https://broken.test/login"
MARKER_VARIABLES: dict[str, Any] = {
    "User": "admin",
    "Retries": 3,
    "Headless": True,
    "URL": "https://marker.test/overridden-by-the-fixture",
}
SENT_MARKER = {"User": "admin", "Retries": "3", "Headless": "true"}

# ---------------------------------------------------------------------------------------------
# The user's test module. Only names of the pinned public surface are used.
# ---------------------------------------------------------------------------------------------
USER_MODULE = '''
import json
import pathlib
import re

import pytest

from pytest_leapwork import FlowResult, Keyframe, LeapworkRun

SMOKE_ID = @@SMOKE_ID@@
TRICKY_URL = @@TRICKY_URL@@
BROKEN_URL = @@BROKEN_URL@@
MARKER_VARIABLES = @@MARKER_VARIABLES@@
RESULTS = pathlib.Path(__file__).with_name("results")


@pytest.fixture
def dump(request, leapwork_schedule):
    """Save what the finished run looked like (runs even when the call phase fails)."""
    yield
    run = leapwork_schedule
    data = {
        "is_run": isinstance(run, LeapworkRun),
        "run_id": run.run_id,
        "schedule_id": run.schedule_id,
        "schedule_title": run.schedule_title,
        "variables": dict(run.variables),
        "passed": run.passed,
        "elapsed": run.elapsed,
        "failed_flows": [f.title for f in run.failed_flows],
        "flows": [
            {
                "is_flow": isinstance(f, FlowResult),
                "title": f.title,
                "status": f.status,
                "elapsed": f.elapsed,
                "agent": f.agent,
                "passed": f.passed,
                "keyframes": [
                    {
                        "is_keyframe": isinstance(k, Keyframe),
                        "timestamp": str(k.timestamp),
                        "level": k.level,
                        "block_title": k.block_title,
                        "message": k.message,
                    }
                    for k in f.keyframes
                ],
            }
            for f in run.flows
        ],
    }
    RESULTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.nodeid)
    (RESULTS / (name + ".json")).write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.leapwork_schedule("Smoke Suite")
def test_smoke_by_title(leapwork_schedule, dump):
    run = leapwork_schedule
    assert isinstance(run, LeapworkRun)
    assert run.passed and run.failed_flows == []
    assert run.schedule_title == "Smoke Suite"
    assert run.schedule_id.lower() == SMOKE_ID
    assert run.variables == {}


@pytest.mark.leapwork_schedule(SMOKE_ID.upper())
def test_smoke_by_upper_case_id(leapwork_schedule, dump):
    assert leapwork_schedule.passed
    assert leapwork_schedule.schedule_id.lower() == SMOKE_ID
    assert leapwork_schedule.schedule_title == "Smoke Suite"


@pytest.mark.leapwork_schedule("Smoke Suite")
def test_smoke_without_requesting_the_fixture():
    pass


@pytest.mark.leapwork_schedule("Login Flow", variables=MARKER_VARIABLES)
@pytest.mark.parametrize(
    "leapwork_variables", [{"URL": TRICKY_URL}, {"URL": BROKEN_URL}], ids=["good", "broken"]
)
def test_login(leapwork_schedule, leapwork_variables, dump):
    expected = {"User": "admin", "Retries": "3", "Headless": "true", "URL": leapwork_variables["URL"]}
    assert leapwork_schedule.variables == expected


@pytest.mark.leapwork_schedule("Login Flow", variables={"User": "class-marker-user"})
class TestComputedVariables:
    @pytest.fixture
    def leapwork_variables(self, request):
        return {"URL": "https://computed.test/" + request.node.name}

    def test_computed(self, leapwork_schedule, dump):
        assert leapwork_schedule.passed
        assert leapwork_schedule.variables == {
            "User": "class-marker-user",
            "URL": "https://computed.test/test_computed",
        }


@pytest.mark.leapwork_schedule("Nightly Disabled")
def test_disabled_schedule():
    pass


@pytest.mark.leapwork_schedule("No Such Schedule Anywhere")
def test_unknown_schedule():
    pass


@pytest.mark.leapwork_schedule("Duplicate Suite")
def test_ambiguous_title():
    pass


@pytest.mark.leapwork_schedule("Endless Soak", timeout=2)
def test_endless_schedule_times_out():
    pass


def test_plain_test_without_marker():
    pass
'''

MODULE_MARKER_MODULE = """
import pytest

pytestmark = pytest.mark.leapwork_schedule("Smoke Suite")


def test_module_marked(leapwork_schedule):
    assert leapwork_schedule.passed
"""


def _render(template: str, **values: Any) -> str:
    for key, value in values.items():
        template = template.replace(f"@@{key}@@", repr(value))
    assert "@@" not in template
    return template


MAIN_FILES = {
    "test_user_leapwork.py": _render(
        USER_MODULE,
        SMOKE_ID=SMOKE_ID,
        TRICKY_URL=TRICKY_URL,
        BROKEN_URL=BROKEN_URL,
        MARKER_VARIABLES=MARKER_VARIABLES,
    ),
    "test_user_module_marker.py": MODULE_MARKER_MODULE,
}

# test name -> (outcome, schedule id of its run or None, variables the controller must receive)
EXPECTED: dict[str, tuple[str, str | None, dict[str, str] | None]] = {
    "test_smoke_by_title": ("passed", SMOKE_ID, {}),
    "test_smoke_by_upper_case_id": ("passed", SMOKE_ID, {}),
    "test_smoke_without_requesting_the_fixture": ("passed", SMOKE_ID, {}),
    "test_login[good]": ("passed", LOGIN_ID, {**SENT_MARKER, "URL": TRICKY_URL}),
    "test_login[broken]": ("failed", LOGIN_ID, {**SENT_MARKER, "URL": BROKEN_URL}),
    "test_computed": (
        "passed",
        LOGIN_ID,
        {"User": "class-marker-user", "URL": "https://computed.test/test_computed"},
    ),
    "test_disabled_schedule": ("error", None, None),
    "test_unknown_schedule": ("error", None, None),
    "test_ambiguous_title": ("error", None, None),
    "test_endless_schedule_times_out": ("failed", ENDLESS_ID, {}),
    "test_plain_test_without_marker": ("passed", None, None),
    "test_module_marked": ("passed", SMOKE_ID, {}),
}
UNMARKED = {"test_plain_test_without_marker"}


# ---------------------------------------------------------------------------------------------
# Running a user session
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def user_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The python that runs the user's session (see the module docstring)."""
    given = os.environ.get("LEAPWORK_ACCEPTANCE_PYTHON")
    if given:
        return given
    if os.environ.get("LEAPWORK_ACCEPTANCE_FRESH_VENV", "") not in ("", "0"):
        venv = tmp_path_factory.mktemp("fresh-venv")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
        subprocess.run(
            [python, "-m", "pip", "install", "-q", str(REPO), "pytest-xdist"],
            check=True,
            timeout=600,
        )
        return python
    return sys.executable


@dataclass
class Case:
    name: str
    classname: str
    outcome: str
    message: str  # message attribute + text of <failure>/<error>
    time: float
    run_ids: list[str]
    elem: ET.Element


@dataclass
class Session:
    returncode: int
    stdout: str
    stderr: str
    xml_text: str
    cases: dict[str, Case] = field(default_factory=dict)
    dumps: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-3000:]}"


def _parse_junit(xml_text: str) -> dict[str, Case]:
    root = ET.fromstring(xml_text)
    cases: dict[str, Case] = {}
    for tc in root.iter("testcase"):
        # "failed+error" when a call failure is followed by a teardown error, and so on.
        outcomes, message = [], ""
        for tag, word in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            for child in tc.findall(tag):
                outcomes.append(word)
                message += (child.get("message") or "") + "\n" + (child.text or "") + "\n"
        outcome = "+".join(outcomes) or "passed"
        run_ids = [
            p.get("value") or ""
            for p in tc.findall("./properties/property")
            if p.get("name") == PROPERTY
        ]
        name = tc.get("name") or ""
        assert name not in cases, f"duplicate testcase {name} in JUnit XML"
        cases[name] = Case(
            name,
            tc.get("classname") or "",
            outcome,
            message,
            float(tc.get("time") or 0),
            run_ids,
            tc,
        )
    return cases


def _clean_env() -> dict[str, str]:
    # No inherited Leapwork settings, PYTEST_ADDOPTS or xdist worker variables: the user
    # session starts from a clean slate. It loads the plugins it uses by their entry points'
    # names (``-p leapwork``, which checks the packaging as autoloading does): autoloading
    # every plugin installed for the other tests would cost each process 0.6 s of CPU.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAPWORK_", "PYTEST_"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_user_session(
    python: str,
    tmp_path: Path,
    controller: ControllerDouble | None,
    files: dict[str, str],
    *args: str,
    n: int = 0,
    family: str = "xunit1",
    flags: bool = True,
    key: str = ACCESS_KEY,
    env: dict[str, str] | None = None,
) -> Session:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    # Own ini: pins the rootdir to tmp_path so no project configuration leaks in.
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    xml = tmp_path / "junit.xml"
    cmd = [
        python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "leapwork",
        "-p",
        "xdist",
        f"--junitxml={xml}",
        "-o",
        f"junit_family={family}",
        "--leapwork-poll-interval=0.2",
        "--leapwork-timeout=30",
        "-n",
        str(n),
        *args,
    ]
    if flags:
        assert controller is not None
        cmd += [f"--leapwork-controller={controller.url}", f"--leapwork-key={key}"]
    full_env = _clean_env()
    full_env.update(env or {})
    started = time.monotonic()
    proc = subprocess.run(
        cmd,
        check=False,
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=180,
    )
    session = Session(
        proc.returncode, proc.stdout, proc.stderr, "", seconds=time.monotonic() - started
    )
    if xml.exists():
        session.xml_text = xml.read_text(encoding="utf-8")
        session.cases = _parse_junit(session.xml_text)
    results = tmp_path / "results"
    if results.is_dir():
        for path in results.glob("*.json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            session.dumps[path.stem] = data
    return session


def dump_for(session: Session, test_name: str) -> dict[str, Any]:
    """The dumped LeapworkRun of one test (file stems are sanitized node ids)."""
    wanted = re.sub(r"[^A-Za-z0-9_.-]", "_", test_name)
    for stem, data in session.dumps.items():
        if stem.endswith(wanted):
            return data
    raise AssertionError(f"no dump for {test_name}; have {sorted(session.dumps)}")


def assert_hygiene(session: Session) -> None:
    """No PytestWarning (record_property or other) and never the access key, anywhere."""
    text = session.output
    assert not re.search(r"Pytest\w*Warning", text), session.describe()
    assert "record_property" not in text, session.describe()
    assert "INTERNALERROR" not in text, session.describe()
    for secret in (ACCESS_KEY, WRONG_KEY):
        assert secret not in text, f"access key leaked to output\n{session.describe()}"
        assert secret not in session.xml_text, "access key leaked to the JUnit XML"


def assert_run_property(session: Session, controller: ControllerDouble, name: str) -> str:
    case = session.cases[name]
    assert len(case.run_ids) == 1, (
        f"{name}: expected exactly one <property name={PROPERTY!r}>, got {case.run_ids}\n"
        + ET.tostring(case.elem, encoding="unicode")[:2000]
    )
    run_id = case.run_ids[0]
    assert run_id in controller.runs, f"{name}: RunId {run_id!r} was not created by the controller"
    return run_id


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "family"),
    [(0, "xunit1"), (0, "xunit2"), (2, "xunit1"), (2, "xunit2")],
    ids=["n0-xunit1", "n0-xunit2", "n2-xunit1", "n2-xunit2"],
)
def test_user_suite(
    user_python: str, tmp_path: Path, controller: ControllerDouble, n: int, family: str
) -> None:
    s = run_user_session(user_python, tmp_path, controller, MAIN_FILES, n=n, family=family)
    assert s.cases, f"no JUnit XML written\n{s.describe()}"
    assert_hygiene(s)

    # -- outcomes (the design's "Outcomes") ------------------------------------------------------
    outcomes = {name: c.outcome for name, c in s.cases.items()}
    assert outcomes.get("test_login[broken]") != "passed", (
        f"false pass: flow {FAILING_FLOW!r} ended Failed but is listed in RunItemIds only 0.5 s "
        "after the run reported Finished, and the run was concluded without it\n" + s.describe()
    )
    assert outcomes == {name: exp[0] for name, exp in EXPECTED.items()}, s.describe()
    assert s.returncode == 1, s.describe()

    # -- RunId property and what the controller received per run ------------------------------
    seen_runs: dict[str, str] = {}
    for name, (_outcome, schedule_id, variables) in EXPECTED.items():
        case = s.cases[name]
        if schedule_id is None:
            assert case.run_ids == [], f"{name} ran nothing but carries {PROPERTY} {case.run_ids}"
            continue
        run_id = assert_run_property(s, controller, name)
        assert run_id not in seen_runs, f"{name} and {seen_runs.get(run_id)} share RunId {run_id}"
        seen_runs[run_id] = name
        run = controller.runs[run_id]
        assert run.schedule.id == schedule_id, (
            f"{name} ran {run.schedule.title!r} [{run.schedule.id}]"
        )
        assert run.variables == variables, f"{name}: controller received {run.raw_query!r}"
    # Exactly one run per test that should run; never the temporary twin, the lower-case
    # title, the disabled, the ambiguous or any extra run.
    assert set(controller.runs) == set(seen_runs), (
        "runs the controller created that no test reported: "
        + str({r: controller.runs[r].schedule.title for r in set(controller.runs) - set(seen_runs)})
    )
    never = {SMOKE_TEMP_ID, SMOKE_LOWER_TITLE_ID, DISABLED_ID, DUP_A_ID, DUP_B_ID}
    assert not [c for c in controller.run_now_calls if c["schedule"].lower() in never]

    # -- the passing run as the user sees it ---------------------------------------------------
    smoke = dump_for(s, "test_smoke_by_title")
    assert smoke["is_run"] and smoke["passed"] and smoke["failed_flows"] == []
    assert smoke["run_id"] == s.cases["test_smoke_by_title"].run_ids[0]
    assert smoke["schedule_id"].lower() == SMOKE_ID and smoke["schedule_title"] == SMOKE_TITLE
    assert sorted(f["title"] for f in smoke["flows"]) == ["Check Title", "Open Application"], (
        "both flows, including the one whose id appears only after 'Finished'"
    )
    for flow in smoke["flows"]:
        assert flow["is_flow"] and flow["passed"] and flow["status"] == "Passed"
        assert flow["agent"] == AGENT_TITLE
        expected_elapsed = {"Open Application": 0.4, "Check Title": 0.5}[flow["title"]]
        assert flow["elapsed"] == pytest.approx(expected_elapsed, abs=0.05), "elapsed in seconds"
        assert all(k["is_keyframe"] for k in flow["keyframes"])
    assert 0 < smoke["elapsed"] < 30

    # -- the failing run: flow, status, keyframes ----------------------------------------------
    broken = dump_for(s, "test_login[broken]")
    assert broken["passed"] is False and broken["failed_flows"] == [FAILING_FLOW]
    assert broken["variables"] == {**SENT_MARKER, "URL": BROKEN_URL}
    assert sorted(f["title"] for f in broken["flows"]) == [FAILING_FLOW, "Open Login Page"]
    failing = next(f for f in broken["flows"] if f["title"] == FAILING_FLOW)
    assert failing["status"] == "Failed" and failing["passed"] is False
    err = [k for k in failing["keyframes"] if k["message"] == ERROR_MESSAGE]
    assert len(err) == 1 and err[0]["level"] == "Error" and err[0]["block_title"] == ERROR_BLOCK
    assert "2024-03-05" in err[0]["timestamp"]
    no_block = [k for k in failing["keyframes"] if k["message"] == NO_BLOCK_MESSAGE]
    assert len(no_block) == 1 and not no_block[0]["block_title"]

    good = dump_for(s, "test_login[good]")
    assert good["variables"] == {**SENT_MARKER, "URL": TRICKY_URL}

    msg = s.cases["test_login[broken]"].message
    assert FAILING_FLOW in msg and "Failed" in msg, msg
    assert re.search(
        r"2024-03-05[T ]10:15:30\.8[^\n]* - " + re.escape(f"{ERROR_BLOCK} - {ERROR_MESSAGE}"), msg
    ), f"keyframe line 'timestamp - block - message' missing:\n{msg}"
    assert NO_BLOCK_MESSAGE in msg, f"non-Trace keyframe without BlockTitle missing:\n{msg}"
    for hidden in (TRACE_MESSAGE, EMPTY_LEVEL_MESSAGE):
        assert hidden not in msg, f"Trace/empty-level keyframe in the failure message:\n{msg}"
        assert hidden not in s.output, "Trace/empty-level keyframe in the terminal output"

    # -- errors name the schedule and the cause ------------------------------------------------
    disabled = s.cases["test_disabled_schedule"].message
    assert DISABLED_TITLE in disabled and "disabled" in disabled.lower(), disabled
    unknown = s.cases["test_unknown_schedule"].message
    assert UNKNOWN_TITLE in unknown, unknown
    assert re.search(
        r"not found|unknown|no such|does not exist|no schedule", unknown, re.IGNORECASE
    ), unknown
    ambiguous = s.cases["test_ambiguous_title"].message
    assert DUP_TITLE in ambiguous, ambiguous
    assert re.search(r"\bids?\b|guid", ambiguous, re.IGNORECASE), ambiguous

    # -- timeout -------------------------------------------------------------------------------
    endless = s.cases["test_endless_schedule_times_out"]
    assert re.search(r"time(d)? ?out", endless.message, re.IGNORECASE), endless.message
    assert endless.time < 15, f"marker timeout=2 not honoured (test took {endless.time}s)"
    endless_run = endless.run_ids[0]
    assert endless_run in controller.stops, (
        f"run {endless_run} timed out but the controller got no stop (stops: {controller.stops})"
    )


EMPTY_MODULE = _render(
    """
import pytest

from pytest_leapwork import LeapworkRun


@pytest.fixture
def check(leapwork_schedule):
    yield
    assert isinstance(leapwork_schedule, LeapworkRun)
    assert leapwork_schedule.flows == [] and leapwork_schedule.passed is False, "reported in teardown"


@pytest.mark.leapwork_schedule(@@EMPTY_TITLE@@)
def test_empty_schedule(leapwork_schedule, check):
    pass
""",
    EMPTY_TITLE=EMPTY_TITLE,
)

LATE_MODULE = _render(
    """
import pytest


@pytest.mark.leapwork_schedule(@@LATE_TITLE@@)
def test_flow_listed_late():
    pass
""",
    LATE_TITLE=LATE_TITLE,
)


def test_schedule_without_flows_fails(
    user_python: str, tmp_path: Path, controller: ControllerDouble
) -> None:
    """A run that finishes with no flow at all is a failure (not a pass, not an endless poll)."""
    s = run_user_session(user_python, tmp_path, controller, {"test_empty.py": EMPTY_MODULE})
    assert_hygiene(s)
    assert {name: c.outcome for name, c in s.cases.items()} == {"test_empty_schedule": "failed"}, (
        s.describe()
    )
    case = s.cases["test_empty_schedule"]
    assert "flow" in case.message.lower(), case.message
    run_id = assert_run_property(s, controller, "test_empty_schedule")
    assert controller.runs[run_id].schedule.id == EMPTY_ID
    assert len(controller.runs) == 1


def test_flow_listed_after_finished_still_counts(
    user_python: str, tmp_path: Path, controller: ControllerDouble
) -> None:
    """The controller may report Finished before the last run item id is listed (here 1.0 s
    later, while GET /run/{id} already says Total=2). A failing flow listed late must still fail
    the test (the design's "Outcomes": any flow ended Failed), never be dropped for a false pass."""
    s = run_user_session(user_python, tmp_path, controller, {"test_late.py": LATE_MODULE})
    assert_hygiene(s)
    run_id = assert_run_property(s, controller, "test_flow_listed_late")
    assert controller.runs[run_id].schedule.id == LATE_ID
    case = s.cases["test_flow_listed_late"]
    assert case.outcome == "failed", (
        f"false pass: flow {LATE_FLOW!r} ended Failed but is listed 1.0 s after 'Finished'\n"
        + s.describe()
    )
    assert LATE_FLOW in case.message and "Failed" in case.message, case.message


@pytest.mark.parametrize("n", [0, 2], ids=["n0", "n2"])
def test_environment_variables_instead_of_flags(
    user_python: str, tmp_path: Path, controller: ControllerDouble, n: int
) -> None:
    files = {"test_env.py": MODULE_MARKER_MODULE}
    s = run_user_session(
        user_python,
        tmp_path,
        controller,
        files,
        n=n,
        flags=False,
        env={"LEAPWORK_CONTROLLER": controller.url, "LEAPWORK_KEY": ACCESS_KEY},
    )
    assert_hygiene(s)
    assert s.returncode == 0, s.describe()
    assert {name: c.outcome for name, c in s.cases.items()} == {"test_module_marked": "passed"}
    run_id = assert_run_property(s, controller, "test_module_marked")
    assert controller.runs[run_id].schedule.id == SMOKE_ID


@pytest.mark.parametrize("n", [0, 2], ids=["n0", "n2"])
def test_collect_only_triggers_no_run(
    user_python: str, tmp_path: Path, controller: ControllerDouble, n: int
) -> None:
    s = run_user_session(user_python, tmp_path, controller, MAIN_FILES, "--collect-only", "-q", n=n)
    assert s.returncode == 0, s.describe()
    assert "test_login[broken]" in s.stdout, s.describe()
    assert_hygiene(s)
    assert controller.run_now_calls == [], (
        f"--collect-only triggered runs: {controller.run_now_calls}"
    )
    assert controller.runs == {}


def test_session_without_marked_tests_makes_no_request(
    user_python: str, tmp_path: Path, controller: ControllerDouble
) -> None:
    files = {"test_plain.py": "def test_plain():\n    assert True\n"}
    s = run_user_session(user_python, tmp_path, controller, files)
    assert s.returncode == 0, s.describe()
    assert_hygiene(s)
    assert controller.requests == [], f"requests without any marked test: {controller.requests}"


def test_bad_key_is_a_setup_error_without_the_key(
    user_python: str, tmp_path: Path, controller: ControllerDouble
) -> None:
    """The command line wins over the environment (a correct key in LEAPWORK_KEY is ignored);
    the controller answers 401, the test errors in setup naming the schedule and the cause, and
    neither key is printed."""
    files = {"test_badkey.py": MODULE_MARKER_MODULE}
    s = run_user_session(
        user_python, tmp_path, controller, files, key=WRONG_KEY, env={"LEAPWORK_KEY": ACCESS_KEY}
    )
    assert_hygiene(s)
    assert s.returncode == 1, s.describe()
    case = s.cases["test_module_marked"]
    assert case.outcome == "error", s.describe()
    assert SMOKE_TITLE in case.message, case.message
    assert re.search(r"401|access ?key|unauthori[sz]ed|incorrect", case.message, re.IGNORECASE), (
        case.message
    )
    assert case.run_ids == []
    assert controller.runs == {}


ABORT_MODULE = _render(
    """
import pytest


@pytest.mark.leapwork_schedule("Login Flow", variables={"URL": @@BROKEN_URL@@})
def test_1_fails_first():
    pass


@pytest.mark.leapwork_schedule("Endless Soak", timeout=60)
def test_2_never_runs_because_of_x():
    pass


@pytest.mark.leapwork_schedule(@@DUP_A_ID@@)
def test_3_deselected():
    pass
""",
    BROKEN_URL=BROKEN_URL,
    DUP_A_ID=DUP_A_ID,
)


def test_runs_of_tests_that_never_ran_are_stopped(
    user_python: str, tmp_path: Path, controller: ControllerDouble
) -> None:
    """``-x`` ends the session after the first failure: a run triggered ahead for a test that
    never ran is stopped before the session ends; a test deselected with ``-k`` triggers
    nothing (the design's "Concurrency rule")."""
    s = run_user_session(
        user_python,
        tmp_path,
        controller,
        {"test_abort.py": ABORT_MODULE},
        "-x",
        "-k",
        "not deselected",
    )
    assert_hygiene(s)
    assert s.returncode == 1, s.describe()
    assert s.cases["test_1_fails_first"].outcome == "failed", s.describe()
    assert "test_2_never_runs_because_of_x" not in s.cases or (
        s.cases["test_2_never_runs_because_of_x"].outcome == "skipped"
    )
    assert controller.runs_of(DUP_A_ID) == [], "a deselected test triggered its schedule"
    endless = controller.runs_of(ENDLESS_ID)
    assert len(endless) <= 1
    for run in endless:  # triggered ahead of its turn: must not be left running
        assert run.id in controller.stops, (
            f"run {run.id} of a test that never ran was left running (stops: {controller.stops})"
        )
    assert s.seconds < 25, f"the session waited for a run nobody needed ({s.seconds:.1f}s)"


def test_unreachable_controller_is_a_setup_error(user_python: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port on which nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    files = {"test_unreachable.py": MODULE_MARKER_MODULE}
    s = run_user_session(
        user_python,
        tmp_path,
        None,
        files,
        flags=False,
        env={"LEAPWORK_CONTROLLER": f"127.0.0.1:{port}", "LEAPWORK_KEY": ACCESS_KEY},
    )
    assert_hygiene(s)
    case = s.cases["test_module_marked"]
    assert case.outcome == "error", s.describe()
    assert SMOKE_TITLE in case.message, case.message
    assert s.seconds < 40, f"unreachable controller took {s.seconds:.1f}s to report"
