"""The test ids of selected schedules, as the command line, ``--lf`` and ``--deselect`` give them.

A selected schedule's test is ``leapwork::<title>``: no file holds it, and a title may hold
anything a title can, ``[chrome]`` included. Two things make such an id round-trip:

- pytest reads ``leapwork::Smoke Login`` on its command line as a file path that does not
  exist; ``take_named`` takes these arguments out of pytest's paths before collection;
- pytest 9.2 and later compare ids as parsed structures (path, names, ``[params]``), and
  ``--lf`` parses the ids it stored: ``leapwork::Login [chrome]`` comes back as a test
  ``Login `` with parameters ``chrome``. ``round_trip_id`` gives the test the id that
  parsing its own id gives, so that the stored id finds it again.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def take_named(config: pytest.Config, node_name: str) -> tuple[str, ...]:
    """The ``<node_name>::...`` arguments of the command line, removed from pytest's paths.

    Left alone where a file or directory of that name exists: then they are pytest's.
    """
    prefix = f"{node_name}::"
    if (Path(config.invocation_params.dir) / node_name).exists():
        return ()
    named = tuple(arg for arg in config.args if arg.startswith(prefix))
    if named:
        # Only these tests were asked for: no other argument means no file is collected.
        config.args[:] = [arg for arg in config.args if not arg.startswith(prefix)]
    return named


def round_trip_id(item: pytest.Item) -> None:
    """Give ``item`` the id that parsing its id string gives (pytest 9.2+; a no-op before)."""
    structured = getattr(item, "_id", None)  # pytest's own attribute; no public setter
    parse = getattr(type(structured), "parse", None)
    if structured is None or parse is None:
        return  # ids are plain strings, compared as such
    parsed = parse(str(structured))
    if parsed != structured:
        setattr(item, "_id", parsed)  # noqa: B010 - a private attribute of pytest's nodes
