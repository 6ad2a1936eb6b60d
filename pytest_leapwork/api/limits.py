"""How much of the controller's answers is read, kept and shown.

A controller, a proxy in front of it, or a flow that logs a whole page can answer megabytes.
The plugin reads an answer only up to ``MAX_ANSWER_BYTES`` and keeps each text it shows (a
flow title, a keyframe message, an error body) short, with a note where it was cut, so the
terminal, the reports and memory stay bounded. No pytest import here.
"""

from __future__ import annotations

import re

#: Largest answer read from the controller (streamed); a bigger one is refused, unread.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
#: Of an error answer (HTTP 4xx/5xx), only this much is read: the message shows 300 characters.
MAX_ERROR_BYTES = 64 * 1024
#: Characters kept of a title (schedule, flow, agent, block) or a status.
MAX_TITLE_CHARS = 500
#: Characters kept of one keyframe's message.
MAX_MESSAGE_CHARS = 2000
#: Keyframes kept of one flow: the first and the last ones, a note in between.
MAX_KEYFRAMES = 500
#: Characters of an error answer's body shown in a message.
MAX_BODY_CHARS = 300
#: Characters of a body that is not JSON shown in a message.
MAX_SNIPPET_CHARS = 120

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and a note saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [... cut: {len(text):,} characters in all]"


def is_guid(value: str) -> bool:
    """Whether ``value`` is a GUID as the controller writes ids: 8-4-4-4-12 hex digits."""
    return bool(_GUID.fullmatch(value))
