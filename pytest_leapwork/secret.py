"""A string that does not show itself: the access key in every repr, log line and traceback."""

from __future__ import annotations


class Secret:
    """Holds the access key. ``str``, ``repr`` and ``--showlocals`` see only ``****abcd``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the ``AccessKey`` header and nothing else."""
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Never pickled into xdist messages or caches by accident.
        raise TypeError("the Leapwork access key is not picklable")


def mask(value: str) -> str:
    """``****`` and the last four characters, or only ``****`` for a short key."""
    if len(value) <= 8:
        return "****"
    return "****" + value[-4:]
