"""URL routing of the controller API: path -> endpoint name, path parameters, allowed methods.

Routes match case-insensitively under `/api/v3` and `/api/v4` (clients mix both, and spell
`runItems` as `runitems`); one trailing slash is tolerated.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

# Endpoint names, as used by faults and `EmulatorServer.count_requests`.
ENDPOINTS = (
    "schedules",
    "schedules_hierarchy",
    "schedule",
    "run_now",
    "run_status",
    "schedule_status",
    "run_item_ids",
    "run_item",
    "keyframes",
    "run",
    "stop_run",
    "stop_schedule",
    "license",
    "video",
    "run_flow",
    "schedules_by_name",
    "schedule_of_run",
    "schedule_run_ids",
    "flow_run_items",
)

# Endpoints whose successful answer is a JSON array (the rest answer an object; `schedule`
# answers an array when it looks a schedule up by name).
ARRAY_ENDPOINTS = frozenset(
    {"schedules", "schedules_hierarchy", "keyframes", "license", "schedules_by_name"}
    | {"schedule_of_run"}
)

_API_VERSIONS = ("v3", "v4")

# (segments, endpoint, methods). "{name}" captures a segment; first match wins, so literal
# segments ("hierarchy") come before the captures they would otherwise collide with.
_PATTERNS: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = (
    (("schedules",), "schedules", ("GET",)),
    (("schedules", "hierarchy"), "schedules_hierarchy", ("GET",)),
    # A schedule id, or else a schedule name (`%` is a wildcard): the documented path clash.
    (("schedules", "{schedule_id}"), "schedule", ("GET",)),
    (("schedules", "{name}", "paginated"), "schedules_by_name", ("GET",)),
    (("schedules", "run", "{run_id}"), "schedule_of_run", ("GET",)),
    (("schedules", "{schedule_id}", "runnow"), "run_now", ("PUT",)),
    # The documented "run status" path takes a run id here; clients send a schedule id.
    (("schedules", "{id}", "status"), "schedule_status", ("GET",)),
    (("schedules", "{id}", "stop"), "stop_schedule", ("PUT",)),
    (("schedules", "{schedule_id}", "runids"), "schedule_run_ids", ("GET",)),
    (("schedules", "{schedule_id}", "runids", "{filter_by}"), "schedule_run_ids", ("GET",)),
    (("flows", "{flow_id}", "runitems", "all"), "flow_run_items", ("GET",)),
    (("flows", "{flow_id}", "agent", "{agent_id}"), "run_flow", ("PUT",)),
    (("flows", "{flow_id}", "environment", "{agent_id}"), "run_flow", ("PUT",)),  # v3 wording
    (("run", "{run_id}"), "run", ("GET",)),
    (("run", "{run_id}", "status"), "run_status", ("GET",)),
    (("run", "{run_id}", "runitemids"), "run_item_ids", ("GET",)),
    # Azure DevOps sends GET to stop a run; the Java plugins send PUT.
    (("run", "{run_id}", "stop"), "stop_run", ("PUT", "GET")),
    (("runitems", "{item_id}"), "run_item", ("GET",)),
    (("runitems", "{item_id}", "keyframes"), "keyframes", ("GET",)),
    (("runitems", "{item_id}", "keyframes", "{offset}"), "keyframes", ("GET",)),
    (("runitems", "{item_id}", "keyframe", "{offset}"), "keyframes", ("GET",)),  # v4 doc URL
    (
        ("runitems", "{item_id}", "keyframes", "{offset}", "{block_title}", "{log_message}"),
        "keyframes",
        ("GET",),
    ),
    (("runitems", "{item_id}", "video"), "video", ("GET",)),
    (("license", "active"), "license", ("GET",)),
)


@dataclass(frozen=True)
class Route:
    endpoint: str
    methods: tuple[str, ...]
    params: dict[str, str]
    version: str = "v4"  # "v3" or "v4": some answers differ (a v3 run item's EnvironmentInfo)


def normalize_base_path(base_path: str) -> str:
    """The base path as `""` or `"/prefix"` (no trailing slash)."""
    stripped = base_path.strip().strip("/")
    return f"/{stripped}" if stripped else ""


def match_route(path: str, base_path: str = "") -> Route | None:
    """The route of a request path (without query), or None when nothing matches."""
    segments = [unquote(segment).lower() for segment in path.split("/")]
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash
    prefix = normalize_base_path(base_path).lower().split("/")
    if segments[: len(prefix)] != prefix:
        return None
    rest = segments[len(prefix) :]
    if len(rest) < 3 or rest[0] != "api" or rest[1] not in _API_VERSIONS:
        return None
    version, rest = rest[1], rest[2:]
    for pattern, endpoint, methods in _PATTERNS:
        params = _match(pattern, rest)
        if params is not None:
            return Route(endpoint, methods, params, version)
    return None


def _match(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(segments):
        return None
    params: dict[str, str] = {}
    for expected, actual in zip(pattern, segments, strict=True):
        if not actual:
            return None
        if expected.startswith("{"):
            params[expected[1:-1]] = actual
        elif expected != actual:
            return None
    offset = params.get("offset")
    if offset is not None and not (offset.isascii() and offset.isdigit()):
        return None  # like an ASP.NET int route constraint: no route, 404
    return params
