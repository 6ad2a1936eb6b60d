"""Marked tests run last, so waiting for a run never holds up the plain tests behind it.

Their runs still start first (trigger ahead happens before the first test), so by the time
the marked tests come up their runs have been executing all along, often finished: a mixed
suite takes about as long as the longer of its plain tests and its slowest schedule, not
their sum. ``--leapwork-keep-order`` (ini ``leapwork_keep_order``) keeps the collection order.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

HELP_KEEP_ORDER = (
    "run Leapwork-marked tests in collection order; by default they run after the other "
    "tests, while their runs execute (ini leapwork_keep_order)"
)


def add_order_option(parser: pytest.Parser) -> None:
    group = parser.getgroup("leapwork")
    group.addoption(
        "--leapwork-keep-order", action="store_true", default=None, help=HELP_KEEP_ORDER
    )
    parser.addini("leapwork_keep_order", HELP_KEEP_ORDER, type="bool", default=False)


def keep_order(config: pytest.Config) -> bool:
    return bool(config.getoption("leapwork_keep_order") or config.getini("leapwork_keep_order"))


class MarkedLast:
    """Moves marked tests after the others, each group in its own order (a stable sort)."""

    def __init__(self, is_marked: Callable[[pytest.Item], bool]) -> None:
        self._is_marked = is_marked

    @pytest.hookimpl(trylast=True)  # after reordering plugins (pytest-randomly and the like)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        marked = [item for item in items if self._is_marked(item)]
        if marked and len(marked) < len(items):
            plain = [item for item in items if not self._is_marked(item)]
            items[:] = plain + marked
