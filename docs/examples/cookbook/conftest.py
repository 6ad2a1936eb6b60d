"""Cookbook conftest: markers the examples use, and the plugin's hooks at work."""

import os


def pytest_configure(config):
    for line in (
        "staging: runs against the staging environment",
        "prod: runs against production",
        "inconclusive_ok: an Inconclusive flow counts as passed for this test",
    ):
        config.addinivalue_line("markers", line)


def pytest_leapwork_variables(item, schedule, variables):
    """A CI matrix job picks the browser for every "Smoke Login" run that does not set one."""
    browser = os.environ.get("LEAPWORK_BROWSER")
    if browser and schedule == "Smoke Login":
        variables.setdefault("Browser", browser)


def pytest_leapwork_flow_passed(item, flow):
    """Accept an Inconclusive flow, but only in tests marked inconclusive_ok."""
    if flow.status == "Inconclusive" and item.get_closest_marker("inconclusive_ok"):
        return True
    return None  # the built-in rule decides


def pytest_leapwork_run_finished(item, run):
    """Every flow's status as a property of the test in the JUnit XML."""
    for flow in run.flows:
        item.user_properties.append((f"leapwork_flow:{flow.title}", flow.status))
