"""Settings resolved once per session: command line > environment > ini > default.

Every bad value becomes a ``SettingsError`` naming the option and where the value came from
(``LEAPWORK_CONTROLLER environment variable: ...``); the plugin turns it into a usage error.
No pytest import here.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from .api.secret import Secret

DEFAULT_PORT = 9001
PORT_HINT = "a port is a number from 1 to 65535 (the controller listens on 9001, or 9002 for https)"
DEFAULT_TIMEOUT = 3600.0
DEFAULT_POLL_INTERVAL = 10.0
#: The shortest poll interval accepted: 20 status requests a second per run at most.
MIN_POLL_INTERVAL = 0.05
DEFAULT_MAX_IN_FLIGHT = 16


class SettingsError(ValueError):
    """A setting has a value the plugin cannot use."""


@dataclass(frozen=True)
class Source:
    """Where a setting's value came from, for error messages."""

    description: str
    #: Not in the repr: the access key is read through a Source too.
    value: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    controller: str | None
    key: Secret | None
    timeout: float
    poll_interval: float
    done_counts_as_passed: bool
    max_in_flight: int
    #: Scenario of the built-in emulator (``"demo"`` or a file), or ``None`` for a real controller.
    emulator: str | None = None
    #: requests' ``verify``: True, a CA bundle path, or False (``--leapwork-insecure``).
    verify: bool | str = True
    #: Why the key given cannot be used (empty), reported once a run needs it.
    key_problem: str | None = None
    #: Path of the per-flow JUnit report, if asked for.
    junitxml: str | None = None
    #: Fetch keyframes of passed flows too, for that report.
    passed_keyframes: bool = False
    #: Reruns of each failing flow alone on its agent (``--leapwork-rerun-flows``); 0 = none.
    rerun_flows: int = 0

    def describe(self) -> str:
        """One line for the pytest header; the key masked."""
        if self.emulator is not None:
            target = f"built-in emulator (scenario {self.emulator})"
        else:
            target = str(self.controller)
        key = self.key.masked if self.key else "not set"
        if self.emulator is not None and not self.key:
            key = "the emulator's"
        return (
            f"leapwork: controller {target}, key {key}, timeout {self.timeout:g}s, "
            f"poll {self.poll_interval:g}s, in flight {self.max_in_flight}"
        )


# Resolution: each lookup returns the first of (command line, environment, ini) that is set.
Lookup = Callable[[], "Source | None"]


def first_of(*lookups: Lookup) -> Source | None:
    for lookup in lookups:
        source = lookup()
        if source is not None:
            return source
    return None


def from_option(name: str, value: object) -> Lookup:
    return lambda: None if value is None else Source(f"{name} option", str(value))


def from_env(name: str, environ: Mapping[str, str]) -> Lookup:
    return lambda: (
        Source(f"{name} environment variable", environ[name]) if name in environ else None
    )


def from_ini(name: str, value: object) -> Lookup:
    text = str(value or "").strip()
    return lambda: Source(f"{name} ini setting", text) if text else None


def parse_controller_url(source: Source) -> str:
    """``http://host:9001``, ``https://host:9002``, ``host``, ``host:port`` or a proxied prefix.

    A bare host or host:port means http on port 9001; an explicit scheme without a port keeps
    that scheme's usual port (a controller behind a proxy). A pasted ``/api`` or ``/api/v4``
    suffix is dropped, since the API path is appended here.
    """
    text = source.value.strip()
    if not text:
        raise SettingsError(
            f"{source.description}: the controller URL is empty; give it as http://host:9001, "
            "https://host:9002, host or host:port"
        )
    if "@" in text.partition("://")[2 if "://" in text else 0].partition("/")[0]:
        raise SettingsError(
            f"{source.description}: {_without_credentials(text)!r} carries a user name or "
            "password; remove it from the URL: the controller takes only the access key "
            "(--leapwork-key or LEAPWORK_KEY)"
        )
    if any(c.isspace() or not c.isprintable() for c in text):
        raise SettingsError(
            f"{source.description}: {text!r} contains a space or a control character; give "
            "the controller as http://host:9001"
        )
    explicit_scheme = "://" in text
    if not explicit_scheme and text.count(":") > 1 and "[" not in text:
        raise SettingsError(
            f"{source.description}: {text!r} looks like an IPv6 address; put it in brackets: "
            f"http://[{text}]:9001"
        )
    scheme = _scheme_without_slashes(text) if not explicit_scheme else None
    if scheme is not None:
        raise SettingsError(
            f"{source.description}: {text!r} has scheme {scheme!r}; use http:// or https://"
        )
    try:
        parts = urlsplit(text if explicit_scheme else f"http://{text}")
        hostname = parts.hostname
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for http://[::1
        raise SettingsError(
            f"{source.description}: {text!r} is not a valid URL ({exc}); write it as "
            "http://host:9001 (an IPv6 address in brackets: http://[::1]:9001)"
        ) from None
    if parts.scheme not in ("http", "https"):
        raise SettingsError(
            f"{source.description}: {text!r} has scheme {parts.scheme!r}; use http:// or https://"
        )
    if not hostname:
        raise SettingsError(
            f"{source.description}: {text!r} has no host name; write it as http://host:9001"
        )
    if not _valid_host(hostname):
        raise SettingsError(
            f"{source.description}: {text!r} has an invalid host name {hostname!r}; write it "
            "as http://host:9001"
        )
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(
            f"{source.description}: {text!r} has an invalid port; {PORT_HINT}"
        ) from None
    if parts.netloc.endswith(":"):
        # urllib reads an empty port as none: the URL would silently go to port 80.
        raise SettingsError(f"{source.description}: {text!r} has no port after ':'; {PORT_HINT}")
    if parts.query or parts.fragment:
        raise SettingsError(f"{source.description}: {text!r} must not contain '?' or '#'")
    if port == 0:
        raise SettingsError(f"{source.description}: {text!r} has port 0; {PORT_HINT}")
    if port is None and not explicit_scheme:
        port = DEFAULT_PORT
    host = hostname if ":" not in hostname else f"[{hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    for suffix in ("/api/v4", "/api/v3", "/api"):
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, netloc, path, "", ""))


_SCHEME_ONLY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", re.DOTALL)
_HOST_LABEL = re.compile(r"^[\w-]+$")


def _scheme_without_slashes(text: str) -> str | None:
    """The scheme of ``javascript:alert(1)`` or ``mailto:x@y``; None for ``host:port``.

    A bare host:port has digits after the colon (or letters, a bad port); anything else
    after a word and a colon is a URL of another kind.
    """
    match = _SCHEME_ONLY.match(text)
    if match is None:
        return None
    rest = match.group(2)
    if re.fullmatch(r"\d*(/.*)?|\w+", rest):
        return None
    return match.group(1).lower()


def _valid_host(hostname: str) -> bool:
    """A DNS name (letters of any script, digits, ``-``, ``_``), an IPv4 or an IPv6 address."""
    if ":" in hostname:
        try:
            ipaddress.IPv6Address(hostname.split("%")[0])
        except ValueError:
            return False
        return True
    return all(_HOST_LABEL.match(label) for label in hostname.rstrip(".").split("."))


def _without_credentials(text: str) -> str:
    """``text`` with the user name and password before ``@`` replaced, never shown."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    return f"{scheme}{sep}***@{host}{slash}{path}"


def parse_seconds(source: Source, what: str, minimum: float = 0.0) -> float:
    try:
        value = float(source.value)
    except ValueError:
        raise SettingsError(
            f"{source.description}: {what} must be a number of seconds, got {source.value!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(
            f"{source.description}: {what} must be more than 0 seconds, got {source.value!r}"
        )
    if value < minimum:
        raise SettingsError(
            f"{source.description}: {what} must be at least {minimum:g} seconds, got "
            f"{source.value!r}; shorter would ask the controller about each run more than "
            f"{1 / minimum:g} times a second"
        )
    return value


def parse_report_path(source: Source) -> str:
    """A report file the session will be able to write, checked before any run starts."""
    path = source.value
    if not path.strip():
        raise SettingsError(f"{source.description}: the report path is empty")
    if os.path.isdir(path):
        raise SettingsError(
            f"{source.description}: {path!r} is a directory; give the report's file name, "
            "e.g. reports/leapwork.xml"
        )
    # The first ancestor that exists must be a directory the report can be written into
    # (missing directories below it are made when the report is written).
    existing = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise SettingsError(
            f"{source.description}: cannot write {path!r}: {existing!r} is a file, not a directory"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SettingsError(
            f"{source.description}: cannot write {path!r}: the directory {existing!r} is not "
            "writable"
        )
    return path


def parse_positive_int(source: Source, what: str) -> int:
    value = _whole_number(source, what)
    if value < 1:
        raise SettingsError(f"{source.description}: {what} must be at least 1, got {value}")
    return value


def parse_count(source: Source, what: str) -> int:
    """A whole number, 0 or more."""
    value = _whole_number(source, what)
    if value < 0:
        raise SettingsError(f"{source.description}: {what} must be 0 or more, got {value}")
    return value


def _whole_number(source: Source, what: str) -> int:
    try:
        return int(source.value)
    except ValueError:
        raise SettingsError(
            f"{source.description}: {what} must be a whole number, got {source.value!r}"
        ) from None


def parse_done_status(source: Source) -> bool:
    value = source.value.strip().lower()
    if value not in ("passed", "failed"):
        raise SettingsError(
            f"{source.description}: must be 'passed' or 'failed', got {source.value!r}"
        )
    return value == "passed"


def parse_key(source: Source) -> Secret:
    if not source.value.strip():
        raise SettingsError(
            f"{source.description}: the access key is empty; set LEAPWORK_KEY from a CI "
            "secret (a job that cannot see the secret, such as a pull request from a fork, "
            "gets an empty value)"
        )
    return Secret(source.value.strip())


def check_scenario_argument(value: str) -> None:
    """``--leapwork-emulator`` takes ``demo`` or a scenario file, never a test path.

    The option's value is optional, so ``pytest --leapwork-emulator tests/`` would swallow
    the test path; say so instead of failing later with a puzzling error.
    """
    source = f"--leapwork-emulator option: {value!r}"
    if value == "demo":
        return
    if not value.lower().endswith((".toml", ".json")):
        raise SettingsError(
            f"{source} is not a scenario: give 'demo' or a .toml/.json scenario file, and put "
            "test paths before the option (pytest tests/ --leapwork-emulator) or write "
            "--leapwork-emulator=demo"
        )
    if not os.path.isfile(value):
        raise SettingsError(f"{source}: no such scenario file")
    from .emulator import ScenarioError, load_scenario  # only for sessions that use it

    try:
        load_scenario(value)
    except ScenarioError as exc:
        raise SettingsError(f"--leapwork-emulator option: {exc}") from None


def parse_verify(ca_bundle: Source | None, insecure: bool) -> bool | str:
    if insecure:
        return False
    if ca_bundle is None:
        return True
    if not os.path.isfile(ca_bundle.value):
        raise SettingsError(f"{ca_bundle.description}: no such CA bundle file {ca_bundle.value!r}")
    return ca_bundle.value
