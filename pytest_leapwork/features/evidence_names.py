"""Where a failing flow's files go: names made from titles, within the file system's limits.

File systems limit a name to 255 bytes (ext4, APFS; NTFS to 255 UTF-16 units, which a
UTF-8 byte count never exceeds), not characters: a title of 4-byte characters cut at 60
characters made names of 240 bytes and more, and with the suffixes added the files could
not be created at all (``File name too long``). Names are therefore cut by bytes, at a
character boundary, leaving room for every suffix the files get.
"""

from __future__ import annotations

import os
import re

from ..api.models import FlowResult, LeapworkRun

#: The longest file name most file systems take, in bytes.
NAME_MAX_BYTES = 255
#: Room kept for what follows a title in a name: ``_`` and eight characters of an id, then
#: the longest suffix (``.keyframes.json``, or a video's extension with a temporary-file
#: suffix while it downloads).
SUFFIX_ROOM_BYTES = 64
#: A title's part of a name: readable at a glance, and within the limit with any suffix.
TITLE_MAX_CHARS = 60
TITLE_MAX_BYTES = NAME_MAX_BYTES - SUFFIX_ROOM_BYTES


def cut_to_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def slug(text: str) -> str:
    """A file-name-safe form of a title: letters, digits, ``.``, ``_`` and ``-``.

    Control characters and separators become ``-``; at most ``TITLE_MAX_CHARS`` characters
    and ``TITLE_MAX_BYTES`` bytes.
    """
    safe = re.sub(r"[^\w.-]+", "-", text, flags=re.UNICODE).strip("-.")
    cut = cut_to_bytes(safe[:TITLE_MAX_CHARS], TITLE_MAX_BYTES).rstrip("-.")
    return cut or "untitled"


def flow_stem(directory: str, run: LeapworkRun, flow: FlowResult) -> str:
    """``DIR/<schedule>_<run>/<flow>_<item>``, short ids keeping names unique and readable."""
    folder = f"{slug(run.schedule_title)}_{run.run_id[:8]}"
    name = f"{slug(flow.title)}_{(flow.run_item_id or 'item')[:8]}"
    return os.path.join(directory, folder, name)
