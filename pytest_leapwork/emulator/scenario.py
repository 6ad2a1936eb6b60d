"""Scenario files: what the emulated controller holds and how its runs turn out.

A scenario is a TOML or JSON file (same structure in both) or the built-in name ``demo``::

    [controller]                 # optional
    queue_seconds = 0.1          # how long a new run stays Queued (default 0.1)
    agents = 0                   # concurrent executing runs; 0 = unlimited (default)
    access_key = "..."           # the AccessKey to require (default EMULATORKEY00001)
    cors_origins = ["*"]         # origins browsers may call from (default "*" on loopback)

    [[agents]]                   # optional: agents with ids, for PUT flows/{id}/agent/{id}
    title = "Remote Agent"       # required; flows name their agent by title
    id = "7dbf..."               # optional GUID; default derived from the title (stable)

    [[schedules]]
    title = "Smoke Login"        # required
    id = "6f1c..."               # optional GUID; default derived from title + type (stable)
    enabled = true               # default true
    type = "ScheduleInfo"        # or "TemporaryScheduleInfo"
    description = ""             # optional, shown by GET schedules/{id}
    variables = ["URL"]          # optional; when present, runNow accepts only these names
    queue_seconds = 0.2          # optional override of [controller] queue_seconds
    items_lag_seconds = 0.0      # a run item's id shows up this long after its flow started
    reject_when_running = false  # true: a second runNow while one runs answers 410
    folder = "Regression/Smoke"  # its folders in GET schedules/hierarchy (default "Emulator")

      [[schedules.flows]]        # run one after another
      title = "Log In"           # required
      id = "7936..."             # optional GUID; default derived from the title (stable)
      seconds = 1.0              # duration (default 1.0)
      status = "Passed"          # final status; any word is passed through (default Passed)
      agent = "Local Agent"      # default "Local Agent"
      video = true               # GET runItems/{id}/video serves a clip (default true)
      fail_first = 0             # its first N executions fail, whatever else it says
      execution_seconds = []     # the duration of its 1st, 2nd... execution; then `seconds`
      keyframes = [{ level = "Info", block = "Click Login", message = "Clicked" }]

        [[schedules.flows.when]] # first matching rule wins
        variable = "URL"         # compared by name case-insensitively, by value exactly
        equals = "https://broken.example.com"
        status = "Failed"        # each of status, seconds, keyframes is optional and
        keyframes = [{ level = "Error", message = "Element not found" }]  # overrides the flow's

    [[faults]]                   # see faults.py / SCENARIO.md
    endpoint = "run_status"
    action = "status"
    status = 404
    run_age_below = 0.5

Bad input raises `ScenarioError` naming the file and the dotted field, e.g.
``demo.toml: schedules[2].flows[0].seconds: expected a number, got 'x'``.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from .faults import Fault, parse_fault
from .fields import ScenarioError, Table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Fixed so that default schedule and flow ids stay the same from one emulator run to the next.
NAMESPACE = uuid.UUID("5b0e6a52-3c7e-4d1a-9f55-6c6561707772")

SCHEDULE_TYPES = ("ScheduleInfo", "TemporaryScheduleInfo")
BUILTIN_SCENARIOS = {"demo": "demo.toml"}


@dataclass(frozen=True)
class KeyframeSpec:
    level: str
    message: str
    block: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How one flow turns out for one run (after `when` rules)."""

    status: str
    seconds: float
    keyframes: tuple[KeyframeSpec, ...]


@dataclass(frozen=True)
class WhenRule:
    variable: str
    equals: str
    status: str | None = None
    seconds: float | None = None
    keyframes: tuple[KeyframeSpec, ...] | None = None

    def applies(self, variables: Mapping[str, str]) -> bool:
        wanted = self.variable.lower()
        return any(k.lower() == wanted and v == self.equals for k, v in variables.items())


DEFAULT_AGENT = "Local Agent"
#: The status of a ``fail_first`` flow's failing executions.
FLAKY_STATUS = "Failed"


def default_flow_id(title: str) -> str:
    # One id per title, as one flow asset can sit in several schedules.
    return str(uuid.uuid5(NAMESPACE, f"flow:{title}"))


def default_agent_id(title: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"agent:{title}"))


@dataclass(frozen=True)
class FlowSpec:
    title: str
    seconds: float = 1.0
    status: str = "Passed"
    agent: str = DEFAULT_AGENT
    keyframes: tuple[KeyframeSpec, ...] = ()
    when: tuple[WhenRule, ...] = ()
    id: str = ""  # "" = derived from the title
    video: bool = True  # whether GET runItems/{id}/video serves a clip
    #: Its first N executions (counted across schedules and flow runs) fail: a flaky flow.
    fail_first: int = 0
    #: The duration of its first executions, one by one (counted as ``fail_first`` counts);
    #: later ones last ``seconds``: a flow that fails quickly, then hangs on its rerun.
    execution_seconds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        flow_id = str(uuid.UUID(self.id)) if self.id else default_flow_id(self.title)
        object.__setattr__(self, "id", flow_id)

    @property
    def flow_id(self) -> str:
        return self.id

    def outcome(self, variables: Mapping[str, str]) -> Outcome:
        for rule in self.when:
            if rule.applies(variables):
                return Outcome(
                    rule.status if rule.status is not None else self.status,
                    rule.seconds if rule.seconds is not None else self.seconds,
                    rule.keyframes if rule.keyframes is not None else self.keyframes,
                )
        return Outcome(self.status, self.seconds, self.keyframes)

    def flaky_outcome(self, execution: int, variables: Mapping[str, str]) -> Outcome:
        """How its ``execution``-th run (from 1) turns out: failed while ``fail_first`` says,
        as long as ``execution_seconds`` says."""
        outcome = self.outcome(variables)
        if execution <= len(self.execution_seconds):
            outcome = replace(outcome, seconds=self.execution_seconds[execution - 1])
        if execution > self.fail_first:
            return outcome
        message = f"Failed on execution {execution}: this flow fails its first {self.fail_first}"
        return Outcome(FLAKY_STATUS, outcome.seconds, (KeyframeSpec("Error", message),))


def default_schedule_id(title: str, schedule_type: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{schedule_type}:{title}"))


#: The folder of a schedule whose scenario names none (a schedule is always in a folder).
DEFAULT_FOLDER = "Emulator"


@dataclass(frozen=True)
class ScheduleSpec:
    title: str
    id: str = ""  # "" = derived from title and type
    enabled: bool = True
    type: str = "ScheduleInfo"
    description: str = ""
    variables: tuple[str, ...] | None = None  # None = any variable name accepted
    queue_seconds: float | None = None
    items_lag_seconds: float = 0.0
    reject_when_running: bool = False
    flows: tuple[FlowSpec, ...] = ()
    folder: str = DEFAULT_FOLDER  # "A/B": the folders GET schedules/hierarchy puts it in

    def __post_init__(self) -> None:
        # Ids are canonical lower-case GUIDs; clients may send any letter case.
        schedule_id = (
            str(uuid.UUID(self.id)) if self.id else default_schedule_id(self.title, self.type)
        )
        object.__setattr__(self, "id", schedule_id)


@dataclass(frozen=True)
class AgentSpec:
    """An agent flows can run on; `PUT flows/{flowId}/agent/{agentId}` names it by id."""

    title: str
    id: str = ""  # "" = derived from the title

    def __post_init__(self) -> None:
        agent_id = str(uuid.UUID(self.id)) if self.id else default_agent_id(self.title)
        object.__setattr__(self, "id", agent_id)


@dataclass(frozen=True)
class ControllerSpec:
    queue_seconds: float = 0.1
    agents: int = 0
    access_key: str | None = None
    # Origins a browser page may call the emulator from ("*" = any); None = "*" on loopback.
    cors_origins: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Scenario:
    controller: ControllerSpec = field(default_factory=ControllerSpec)
    schedules: tuple[ScheduleSpec, ...] = ()
    faults: tuple[Fault, ...] = ()
    source: str = "<scenario>"
    agents: tuple[AgentSpec, ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, int] = {}
        for index, schedule in enumerate(self.schedules):
            if schedule.id in seen:
                raise ScenarioError(
                    f"{self.source}: schedules[{index}].id: duplicate id {schedule.id}"
                    f" (also schedules[{seen[schedule.id]}]); give one of them an explicit id"
                )
            seen[schedule.id] = index
        flow_titles: dict[str, str] = {}
        for index, schedule in enumerate(self.schedules):
            for position, flow in enumerate(schedule.flows):
                title = flow_titles.setdefault(flow.id, flow.title)
                if title != flow.title:
                    raise ScenarioError(
                        f"{self.source}: schedules[{index}].flows[{position}].id: flow id"
                        f" {flow.id} is also the id of flow {title!r}; one flow id, one title"
                    )
        agent_ids: dict[str, int] = {}
        for index, agent in enumerate(self.agents):
            for key in (agent.id, agent.title):
                if key in agent_ids:
                    raise ScenarioError(
                        f"{self.source}: agents[{index}]: duplicate agent {key!r}"
                        f" (also agents[{agent_ids[key]}])"
                    )
                agent_ids[key] = index

    @classmethod
    def from_dict(cls, data: object, source: str = "<scenario>") -> Scenario:
        """Validate a parsed TOML/JSON document; `ScenarioError` on bad input."""
        return _parse_scenario(Table(data, "", source))


def load_scenario(source: str | os.PathLike[str]) -> Scenario:
    """A built-in scenario by name (``demo``) or a ``.toml`` / ``.json`` file."""
    if isinstance(source, str) and source in BUILTIN_SCENARIOS:
        name = BUILTIN_SCENARIOS[source]
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        return _parse_text(text, name, ".toml")
    name = os.fspath(source)
    suffix = Path(name).suffix.lower()
    if suffix not in (".toml", ".json"):
        builtins = ", ".join(BUILTIN_SCENARIOS)
        raise ScenarioError(
            f"{name}: not a scenario (expected a .toml or .json file, or a built-in: {builtins})"
        )
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{name}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{name}: cannot read: {exc}") from None
    return _parse_text(text, name, suffix)


def _parse_text(text: str, name: str, suffix: str) -> Scenario:
    data: object
    try:
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{name}: invalid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{name}: invalid JSON: {exc}") from None
    return Scenario.from_dict(data, name)


def _parse_scenario(top: Table) -> Scenario:
    top.only("controller", "agents", "schedules", "faults")
    controller = ControllerSpec()
    controller_table = top.optional_table("controller")
    if controller_table is not None:
        controller_table.only("queue_seconds", "agents", "access_key", "cors_origins")
        controller = ControllerSpec(
            queue_seconds=controller_table.number_or("queue_seconds", 0.1),
            agents=controller_table.int_or("agents", 0),
            access_key=controller_table.optional_str("access_key"),
            cors_origins=_parse_origins(controller_table),
        )
    agents = tuple(_parse_agent(t) for t in top.tables("agents") or [])
    schedules = tuple(_parse_schedule(t) for t in top.tables("schedules") or [])
    faults = tuple(parse_fault(t) for t in top.tables("faults") or [])
    return Scenario(controller, schedules, faults, top.source, agents)


def _parse_origins(table: Table) -> tuple[str, ...] | None:
    origins = table.optional_str_list("cors_origins")
    if origins is None:
        return None
    for index, origin in enumerate(origins):
        if origin != "*" and not is_origin(origin):
            table.fail(
                f"cors_origins[{index}]",
                f'expected "*" or an origin like "http://host:8080", got {origin!r}',
            )
    return tuple(origins)


def is_origin(text: str) -> bool:
    """`scheme://host[:port]`, without path, query or trailing slash, as browsers send it."""
    scheme, sep, rest = text.partition("://")
    return (
        bool(sep)
        and scheme.lower() in ("http", "https")
        and bool(rest)
        and not any(char in rest for char in "/?#@ ")
    )


def _guid(table: Table, key: str) -> str:
    value = table.optional_str(key)
    if value is None:
        return ""
    try:
        uuid.UUID(value)
    except ValueError:
        table.fail(key, f"expected a GUID, got {value!r}")
    return value


def _parse_agent(table: Table) -> AgentSpec:
    table.only("title", "id")
    return AgentSpec(title=table.required_str("title"), id=_guid(table, "id"))


def _parse_schedule(table: Table) -> ScheduleSpec:
    table.only(
        "title",
        "id",
        "enabled",
        "type",
        "description",
        "variables",
        "queue_seconds",
        "items_lag_seconds",
        "reject_when_running",
        "flows",
        "folder",
    )
    schedule_id = _guid(table, "id")
    variables = table.optional_str_list("variables")
    if variables is not None:
        lowered = [name.lower() for name in variables]
        for index, name in enumerate(lowered):
            if name in lowered[:index]:
                table.fail(f"variables[{index}]", f"duplicate variable name {variables[index]!r}")
    return ScheduleSpec(
        # A controller can hold an untitled schedule; clients must still run it by its id.
        title=table.required_text("title"),
        id=schedule_id,
        enabled=table.bool_or("enabled", True),
        type=table.choice_or("type", SCHEDULE_TYPES, "ScheduleInfo"),
        description=table.optional_str("description") or "",
        variables=None if variables is None else tuple(variables),
        queue_seconds=table.optional_number("queue_seconds"),
        items_lag_seconds=table.number_or("items_lag_seconds", 0.0),
        reject_when_running=table.bool_or("reject_when_running", False),
        flows=tuple(_parse_flow(t) for t in table.tables("flows") or []),
        folder=_folder(table),
    )


def _folder(table: Table) -> str:
    folder = table.str_or("folder", DEFAULT_FOLDER)
    parts = folder.split("/") if folder else []
    if any(not part.strip() for part in parts):
        table.fail("folder", f"expected folder names separated by '/', got {folder!r}")
    return "/".join(part.strip() for part in parts)


def _parse_flow(table: Table) -> FlowSpec:
    table.only(
        "title",
        "id",
        "seconds",
        "status",
        "agent",
        "video",
        "keyframes",
        "when",
        "fail_first",
        "execution_seconds",
    )
    return FlowSpec(
        title=table.required_str("title"),
        id=_guid(table, "id"),
        seconds=table.number_or("seconds", 1.0),
        status=table.str_or("status", "Passed"),
        agent=table.str_or("agent", DEFAULT_AGENT),
        video=table.bool_or("video", True),
        fail_first=table.int_or("fail_first", 0),
        execution_seconds=tuple(table.optional_number_list("execution_seconds") or ()),
        keyframes=_parse_keyframes(table) or (),
        when=tuple(_parse_when(t) for t in table.tables("when") or []),
    )


def _parse_when(table: Table) -> WhenRule:
    table.only("variable", "equals", "status", "seconds", "keyframes")
    return WhenRule(
        variable=table.required_str("variable"),
        equals=table.required_text("equals"),
        status=table.optional_str("status"),
        seconds=table.optional_number("seconds"),
        keyframes=_parse_keyframes(table),
    )


def _parse_keyframes(table: Table) -> tuple[KeyframeSpec, ...] | None:
    tables = table.tables("keyframes")
    if tables is None:
        return None
    keyframes = []
    for keyframe in tables:
        keyframe.only("level", "message", "block")
        keyframes.append(
            KeyframeSpec(
                level=keyframe.str_or("level", "Info"),
                message=keyframe.required_str("message"),
                block=keyframe.optional_str("block"),
            )
        )
    return tuple(keyframes)
