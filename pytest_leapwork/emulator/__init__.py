"""A Leapwork controller emulator: a real HTTP server speaking the controller REST API.

>>> from pytest_leapwork.emulator import EmulatorServer, load_scenario
>>> with EmulatorServer(load_scenario("demo")) as server:  # doctest: +SKIP
...     print(server.url, server.access_key)

The scenario format is described in `scenario` and in SCENARIO.md next to this file.
"""

from .faults import Fault
from .fields import ScenarioError
from .scenario import (
    AgentSpec,
    ControllerSpec,
    FlowSpec,
    KeyframeSpec,
    Scenario,
    ScheduleSpec,
    WhenRule,
    load_scenario,
)
from .server import DEFAULT_ACCESS_KEY, EmulatorServer, RecordedRequest
from .timeline import EmulatedRun

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "AgentSpec",
    "ControllerSpec",
    "EmulatedRun",
    "EmulatorServer",
    "Fault",
    "FlowSpec",
    "KeyframeSpec",
    "RecordedRequest",
    "Scenario",
    "ScenarioError",
    "ScheduleSpec",
    "WhenRule",
    "load_scenario",
]
