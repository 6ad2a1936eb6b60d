"""``--leapwork-var`` / ``leapwork_vars`` lines: which selected schedule gets which variable.

The controller's schedule list does not say which variables a schedule declares, so a line
says which schedules it is for:

- ``NAME=VALUE``: every selected schedule;
- ``PATTERN:NAME=VALUE``: the selected schedules whose title or folder path
  (``Folder/Sub/Title``) the fnmatch ``PATTERN`` matches, as ``--leapwork-select`` matches.

A line splits at its first ``=`` (the value may hold ``=`` and ``:``); where the part before
it holds a ``:``, the text after the last ``:`` is the name and the text before it the
pattern. For one schedule, the ini file's lines come first and the command line's over them;
within each, scoped lines override unscoped ones, and a later line overrides an earlier one
that gives the same name (names compared without regard to case, as the controller does).
No pytest import here.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..api.models import PlacedSchedule
from ..config import SettingsError
from ..marker import MarkerError, check_variable_name

#: Where the lines come from, as messages name them.
COMMAND_LINE = "--leapwork-var option"
INI = "leapwork_vars ini setting"


def matches(placed: PlacedSchedule, pattern: str) -> bool:
    """The one matcher of ``--leapwork-select`` and scoped variables: title or folder path."""
    return fnmatch.fnmatchcase(placed.schedule.title, pattern) or fnmatch.fnmatchcase(
        placed.path, pattern
    )


@dataclass(frozen=True)
class VariableLine:
    """One ``NAME=VALUE`` or ``PATTERN:NAME=VALUE`` line."""

    name: str
    value: str
    #: None: the variable of every selected schedule.
    pattern: str | None
    #: ``--leapwork-var option`` or ``leapwork_vars ini setting``.
    source: str
    #: The line as given, for messages.
    text: str

    @property
    def shown(self) -> str:
        """``--leapwork-var option 'Smoke*:URL=x'``: the line and where it was given."""
        return f"{self.source} {self.text!r}"


def parse_lines(lines: Iterable[str], source: str) -> list[VariableLine]:
    """The lines of one source, in their order; a bad line is a ``SettingsError`` naming it."""
    parsed = []
    for line in lines:
        left, equals, value = line.partition("=")
        if not equals:
            raise SettingsError(f"{source}: {line!r} is not NAME=VALUE (or PATTERN:NAME=VALUE)")
        pattern: str | None = None
        name = left.strip()
        where = source
        if ":" in left:
            pattern, _, name = (part.strip() for part in left.rpartition(":"))
            where = f"{source} {line!r}"
            if not pattern:
                raise SettingsError(
                    f"{where}: the pattern before ':' is empty; write PATTERN:NAME=VALUE for "
                    "the schedules PATTERN matches, or NAME=VALUE for every selected schedule"
                )
        try:
            check_variable_name(name, where)
        except MarkerError as exc:
            raise SettingsError(str(exc)) from None
        parsed.append(VariableLine(name, value, pattern, source, line))
    return parsed


def variables_for(placed: PlacedSchedule, lines: Sequence[VariableLine]) -> dict[str, str]:
    """The variables of one selected schedule: the lines that reach it, in precedence order."""
    return {line.name: line.value for line in winning_lines(placed, lines)}


def winning_lines(placed: PlacedSchedule, lines: Sequence[VariableLine]) -> list[VariableLine]:
    """The line each of the schedule's variables comes from, one per name."""
    ordered = sorted(lines, key=lambda v: (v.source == COMMAND_LINE, v.pattern is not None))
    chosen: dict[str, VariableLine] = {}  # by lower-case name
    for line in ordered:  # sorted() is stable: the later of two equal lines wins
        if line.pattern is None or matches(placed, line.pattern):
            chosen[line.name.lower()] = line
    return list(chosen.values())


def scope_matching_nothing(
    lines: Sequence[VariableLine], placed: Sequence[PlacedSchedule]
) -> VariableLine | None:
    """The first scoped line whose pattern matches no schedule on the controller (a typo).

    Any non-temporary schedule counts, selected or not: an ini file may scope variables for
    schedules the command line's ``--leapwork-select`` leaves out.
    """
    candidates = [p for p in placed if not p.schedule.is_temporary]
    for line in lines:
        if line.pattern is not None and not any(matches(p, line.pattern) for p in candidates):
            return line
    return None


def unscoped_names(
    placed: PlacedSchedule, lines: Sequence[VariableLine], sent: Iterable[str]
) -> list[str]:
    """Of the variables sent to a selected schedule, those it got from an unscoped line (a
    line that reaches every selected schedule, whether it declares the variable or not)."""
    unscoped = {line.name.lower() for line in winning_lines(placed, lines) if line.pattern is None}
    return [name for name in sent if name.lower() in unscoped]
