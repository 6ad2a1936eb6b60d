"""Fixtures of the acceptance suite: an independently written controller double."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .controller_double import ControllerDouble


@pytest.fixture
def controller() -> Iterator[ControllerDouble]:
    """A fresh controller double on 127.0.0.1 with an ephemeral port."""
    double = ControllerDouble().start()
    try:
        yield double
    finally:
        double.stop()
