"""Cross-origin access: schedule pickers are web pages that call the controller from elsewhere.

A browser sends a preflight `OPTIONS` (with `Origin` and `Access-Control-Request-Method`, and
never the `AccessKey`) before a request that carries an `AccessKey` header, and reads an answer
only if it carries `Access-Control-Allow-Origin`. The policy answers preflights itself and
gives every answer its CORS headers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

Headers = tuple[tuple[str, str], ...]

ANY = "*"
ALLOWED_METHODS = "GET, PUT, POST, DELETE, OPTIONS"
# Headers a page may read from an answer besides the simple ones.
EXPOSED_HEADERS = "Retry-After, Allow"
PREFLIGHT_MAX_AGE = "600"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class CorsPolicy:
    """Which origins may call; `origins` holds exact origins or `*` (any)."""

    def __init__(self, origins: Sequence[str]) -> None:
        self.any = ANY in origins
        self.origins = frozenset(origin.lower().rstrip("/") for origin in origins if origin != ANY)

    @classmethod
    def for_host(cls, configured: Sequence[str] | None, host: str) -> CorsPolicy:
        """The scenario's origins; by default any origin on loopback, none elsewhere."""
        if configured is not None:
            return cls(configured)
        return cls([ANY] if is_loopback(host) else [])

    @property
    def enabled(self) -> bool:
        return self.any or bool(self.origins)

    def allows(self, origin: str | None) -> bool:
        if origin is None:
            return False
        return self.any or origin.lower().rstrip("/") in self.origins

    @staticmethod
    def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
        return (
            method == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        )

    def answer_headers(self, origin: str | None) -> Headers:
        """The CORS headers of an ordinary answer (none when the origin is not allowed)."""
        if self.any and origin is None:
            return (("Access-Control-Allow-Origin", ANY),)
        if not self.allows(origin):
            return ()
        assert origin is not None
        if self.any:
            allow: Headers = (("Access-Control-Allow-Origin", ANY),)
        else:
            allow = (("Access-Control-Allow-Origin", origin), ("Vary", "Origin"))
        return (*allow, ("Access-Control-Expose-Headers", EXPOSED_HEADERS))

    def preflight_headers(self, headers: Mapping[str, str]) -> Headers | None:
        """The headers of a preflight's answer, or None when its origin is not allowed."""
        origin = headers.get("origin")
        if not self.allows(origin):
            return None
        requested = headers.get("access-control-request-headers", "").strip()
        extra: Headers = (("Access-Control-Allow-Headers", requested),) if requested else ()
        return (
            *self.answer_headers(origin),
            ("Access-Control-Allow-Methods", ALLOWED_METHODS),
            *extra,
            ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
        )
