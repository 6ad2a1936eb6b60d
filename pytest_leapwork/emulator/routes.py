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
)

# Endpoints whose successful answer is a JSON array (the rest answer an object).
ARRAY_ENDPOINTS = frozenset({"schedules", "schedules_hierarchy", "keyframes", "license"})

_API_VERSIONS = ("v3", "v4")

# (segments, endpoint, methods). "{name}" captures a segment; first match wins, so literal
# segments ("hierarchy") come before the captures they would otherwise collide with.
_PATTERNS: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = (
    (("schedules",), "schedules", ("GET",)),
    (("schedules", "hierarchy"), "schedules_hierarchy", ("GET",)),
    (("schedules", "{schedule_id}"), "schedule", ("GET",)),
    (("schedules", "{schedule_id}", "runnow"), "run_now", ("PUT",)),
    (("schedules", "{schedule_id}", "status"), "schedule_status", ("GET",)),
    (("schedules", "{id}", "stop"), "stop_schedule", ("PUT",)),
    (("run", "{run_id}"), "run", ("GET",)),
    (("run", "{run_id}", "status"), "run_status", ("GET",)),
    (("run", "{run_id}", "runitemids"), "run_item_ids", ("GET",)),
    # Azure DevOps sends GET to stop a run; the Java plugins send PUT.
    (("run", "{run_id}", "stop"), "stop_run", ("PUT", "GET")),
    (("runitems", "{item_id}"), "run_item", ("GET",)),
    (("runitems", "{item_id}", "keyframes"), "keyframes", ("GET",)),
    (("runitems", "{item_id}", "keyframes", "{offset}"), "keyframes", ("GET",)),
    (("license", "active"), "license", ("GET",)),
)


@dataclass(frozen=True)
class Route:
    endpoint: str
    methods: tuple[str, ...]
    params: dict[str, str]


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
    rest = rest[2:]
    for pattern, endpoint, methods in _PATTERNS:
        params = _match(pattern, rest)
        if params is not None:
            return Route(endpoint, methods, params)
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
