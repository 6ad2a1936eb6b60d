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

    def header_value(self) -> str:
        """The key for the ``AccessKey`` header, as a string whose repr is masked.

        requests and http.client send it as the string it is; a traceback, ``--showlocals``
        or a debugger that shows the headers dict on its way sees ``'****abcd'``.
        """
        return _MaskedStr(self._value)

    def scrub(self, text: str) -> str:
        """``text`` with every copy of the key masked (a controller or proxy may echo it)."""
        return text.replace(self._value, self.masked) if self._value else text

    def header_safe(self) -> bool:
        """Whether the key can be sent in an HTTP header: no line break, control character
        or character outside Latin-1, no space around it."""
        return self._value == self._value.strip() and all(
            0x20 <= ord(c) <= 0xFF and ord(c) != 0x7F for c in self._value
        )

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


class _MaskedStr(str):
    """A str that sends as itself and shows as ``'****abcd'``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask(self))


def mask(value: str) -> str:
    """``****`` and the last four characters, or only ``****`` for a short key."""
    if len(value) <= 8:
        return "****"
    return "****" + value[-4:]
