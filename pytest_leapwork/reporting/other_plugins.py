"""Whether a reporting plugin this one writes into (pytest-html, allure-pytest) is active."""

from __future__ import annotations

import pytest

#: The names each is registered under: its entry point's, or its module's when it is loaded
#: with ``-p`` (the way to load it where ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` is set).
PYTEST_HTML = ("html", "pytest_html.plugin")
ALLURE_PYTEST = ("allure_pytest", "allure_pytest.plugin")


def is_active(config: pytest.Config, names: tuple[str, ...]) -> bool:
    return any(config.pluginmanager.has_plugin(name) for name in names)
