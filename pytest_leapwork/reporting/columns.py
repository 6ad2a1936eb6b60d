"""Text in terminal columns: how wide a string shows, and cutting or wrapping it to fit.

Wide characters (East Asian wide and fullwidth) take two columns, combining marks none.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def display_width(text: str) -> int:
    """The columns a terminal gives ``text``: two for an East Asian wide or fullwidth
    character, none for a combining mark or a format character (a zero-width joiner)."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def cut_to_width(text: str, width: int) -> str:
    """``text`` within ``width`` columns: cut, with ``…`` at the cut, when it is wider."""
    if display_width(text) <= width:
        return text
    if width <= 0:
        return ""
    kept: list[str] = []
    used = display_width(ELLIPSIS)
    for char in text:
        used += display_width(char)
        if used > width:
            break
        kept.append(char)
    return "".join(kept) + ELLIPSIS


def wrap_to_width(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """``text`` as lines within ``width`` columns, broken between words; a word wider than a
    line is broken where the line ends, so nothing is lost and no line is wider. ``first``
    and ``rest`` indent the first line and the lines after it."""
    if display_width(first + text) <= width:
        return [first + text]
    rest = first if rest is None else rest
    lines: list[str] = []
    indent, line = first, ""
    for word in text.split():
        joined = f"{line} {word}" if line else word
        if display_width(indent + joined) <= width:
            line = joined
            continue
        if line:
            lines.append(indent + line)
            indent = rest
        while display_width(indent + word) > width:
            head = _longest_fitting(word, width - display_width(indent))
            lines.append(indent + head)
            indent, word = rest, word[len(head) :]
        line = word
    if line:
        lines.append(indent + line)
    return lines


def _longest_fitting(text: str, width: int) -> str:
    """The longest start of ``text`` within ``width`` columns (one character at least)."""
    used = 0
    for index, char in enumerate(text):
        used += display_width(char)
        if used > width:
            return text[: max(index, 1)]
    return text


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` columns."""
    return text + " " * (width - display_width(text))
