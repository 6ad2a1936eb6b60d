"""A marked test's flows and RunId in its pytest-html row; nothing without pytest-html."""

from __future__ import annotations

import pytest

from ..api.models import LeapworkRun
from .other_plugins import PYTEST_HTML, is_active
from .text import flows_html


def add_html_extras(config: pytest.Config, report: pytest.TestReport, run: LeapworkRun) -> None:
    """The flows and RunId in pytest-html's row for the test; nothing without pytest-html."""
    if not is_active(config, PYTEST_HTML):
        return
    import pytest_html  # type: ignore[import-untyped,import-not-found,unused-ignore]

    extras = getattr(report, "extras", [])
    extras.append(pytest_html.extras.html(flows_html(run)))
    report.extras = extras  # type: ignore[attr-defined]  # pytest-html reads it
