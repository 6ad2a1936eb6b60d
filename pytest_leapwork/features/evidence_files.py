"""A failing flow's files, saved once for the whole session and each written whole.

Under xdist the worker that followed a run and the one whose test takes it both see it end.
The first to create ``<stem>.claim`` (exclusively) downloads; the others wait for its files
and link them. The keyframes JSON, written last and atomically, says the files are complete.
No pytest import here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable

KEYFRAMES_SUFFIX = ".keyframes.json"
CLAIM_SUFFIX = ".claim"
#: How often a process waiting for another's files looks again.
CLAIM_POLL_SECONDS = 0.05


def saved_once(stem: str, download: Callable[[], list[str]], wait_seconds: float) -> list[str]:
    """The files of the flow at ``stem``: downloaded by ``download`` if this process claims
    them first, else those another process of the session saved (waited for, bounded by
    ``wait_seconds``)."""
    until = time.monotonic() + wait_seconds
    while True:
        done = files_saved(stem)
        if done is not None:
            return done
        if claim(stem):
            try:
                # Finished by another between the look above and the claim.
                return files_saved(stem) or download()
            finally:
                with contextlib.suppress(OSError):
                    os.remove(stem + CLAIM_SUFFIX)
        if time.monotonic() >= until:
            raise TimeoutError(
                f"another process of the session was still saving its files after "
                f"{wait_seconds:g}s ({stem + CLAIM_SUFFIX})"
            )
        time.sleep(CLAIM_POLL_SECONDS)


def claim(stem: str) -> bool:
    """Whether this process is the one to save the flow at ``stem`` (it made the claim)."""
    try:
        os.close(os.open(stem + CLAIM_SUFFIX, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    return True


def files_saved(stem: str) -> list[str] | None:
    """The files already saved for the flow at ``stem`` (its keyframes JSON names its
    video), or None while they are not complete."""
    keyframes_path = stem + KEYFRAMES_SUFFIX
    try:
        with open(keyframes_path, encoding="utf-8") as file:
            video = json.load(file).get("video")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError):
        return [keyframes_path]
    if isinstance(video, str) and video:
        return [os.path.join(os.path.dirname(stem), os.path.basename(video)), keyframes_path]
    return [keyframes_path]


def write_atomically(path: str, text: str) -> None:
    """Write ``path`` whole or not at all: a reader never sees half of it."""
    directory, name = os.path.split(path)
    handle, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
