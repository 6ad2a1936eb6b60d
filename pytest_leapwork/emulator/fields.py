"""Typed reading of scenario tables, with errors that name the file and the dotted field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NoReturn


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and the field."""


def describe(value: object) -> str:
    """Short repr of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Table:
    """One TOML/JSON table being read; remembers where it lives for error messages."""

    def __init__(self, data: object, path: str, source: str) -> None:
        self.path = path
        self.source = source
        if not isinstance(data, Mapping):
            self.fail(None, f"expected a table, got {describe(data)}")
        self._data: Mapping[object, object] = data

    def where(self, key: str | None) -> str:
        if key is None:
            return self.path or "top level"
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str | None, message: str) -> NoReturn:
        raise ScenarioError(f"{self.source}: {self.where(key)}: {message}")

    def only(self, *allowed: str) -> None:
        """Reject keys outside `allowed`: a typo must not be silently ignored."""
        for key in self._data:
            if key not in allowed:
                self.fail(str(key), f"unknown key (expected one of: {', '.join(allowed)})")

    def has(self, key: str) -> bool:
        return key in self._data

    def _get(self, key: str) -> object:
        return self._data.get(key)

    def required_str(self, key: str) -> str:
        if key not in self._data:
            self.fail(key, "missing (a non-empty string is required)")
        return self._str(key)

    def required_text(self, key: str) -> str:
        """A string that may be empty (a variable's value)."""
        if key not in self._data:
            self.fail(key, "missing (a string is required)")
        value = self._get(key)
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {describe(value)}")
        return value

    def optional_str(self, key: str) -> str | None:
        return self._str(key) if key in self._data else None

    def str_or(self, key: str, default: str) -> str:
        return self._str(key) if key in self._data else default

    def _str(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {describe(value)}")
        if not value.strip():
            self.fail(key, "must not be empty")
        return value

    def number_or(self, key: str, default: float) -> float:
        number = self.optional_number(key)
        return default if number is None else number

    def optional_number(self, key: str) -> float | None:
        if key not in self._data:
            return None
        value = self._get(key)
        # bool is an int subclass; `seconds = true` is a mistake, not 1.0.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"expected a number, got {describe(value)}")
        if not math.isfinite(value) or value < 0:
            self.fail(key, f"expected a number >= 0, got {describe(value)}")
        return float(value)

    def int_or(self, key: str, default: int) -> int:
        if key not in self._data:
            return default
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected an integer, got {describe(value)}")
        if value < 0:
            self.fail(key, f"expected an integer >= 0, got {describe(value)}")
        return value

    def bool_or(self, key: str, default: bool) -> bool:
        if key not in self._data:
            return default
        value = self._get(key)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {describe(value)}")
        return value

    def choice_or(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.str_or(key, default)
        if value not in choices:
            self.fail(key, f"expected one of {', '.join(choices)}, got {describe(value)}")
        return value

    def optional_str_list(self, key: str) -> list[str] | None:
        if key not in self._data:
            return None
        value = self._get(key)
        if not isinstance(value, list):
            self.fail(key, f"expected a list of strings, got {describe(value)}")
        for index, element in enumerate(value):
            if not isinstance(element, str) or not element.strip():
                self.fail(
                    f"{key}[{index}]", f"expected a non-empty string, got {describe(element)}"
                )
        return list(value)

    def optional_number_list(self, key: str) -> list[float] | None:
        if key not in self._data:
            return None
        value = self._get(key)
        if not isinstance(value, list):
            self.fail(key, f"expected a list of numbers, got {describe(value)}")
        numbers = []
        for index, element in enumerate(value):
            if isinstance(element, bool) or not isinstance(element, (int, float)):
                self.fail(f"{key}[{index}]", f"expected a number, got {describe(element)}")
            if not math.isfinite(element) or element < 0:
                self.fail(f"{key}[{index}]", f"expected a number >= 0, got {describe(element)}")
            numbers.append(float(element))
        return numbers

    def optional_table(self, key: str) -> Table | None:
        if key not in self._data:
            return None
        return Table(self._get(key), self.where(key), self.source)

    def tables(self, key: str) -> list[Table] | None:
        """An array of tables (`[[key]]` or `key = [{...}]`); None when absent."""
        if key not in self._data:
            return None
        value = self._get(key)
        if not isinstance(value, list):
            self.fail(key, f"expected a list of tables, got {describe(value)}")
        return [Table(item, f"{self.where(key)}[{i}]", self.source) for i, item in enumerate(value)]
