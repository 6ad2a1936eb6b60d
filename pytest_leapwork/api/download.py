"""Saving a flow's video: streamed to a temporary file of its own, under a size cap, through
the gate's deadline like any answer, then renamed into place. No pytest import here."""

from __future__ import annotations

import os
import tempfile

from .errors import ArtifactTooLarge, NotAVideo
from .limits import MAX_SNIPPET_CHARS
from .models import VIDEO_EXTENSIONS
from .transport import Answer

#: What the video request accepts.
VIDEO_ACCEPT = "video/*, application/octet-stream"


def save_video(stem: str, max_bytes: int, answer: Answer) -> str:
    """Save the answer's video as ``stem`` plus the extension its type gives; the path.

    Only an answer of a video type (or ``application/octet-stream``) is saved: a proxy's
    sign-in page is ``NotAVideo``. A download cut short, over ``max_bytes``
    (``ArtifactTooLarge``) or out of time leaves nothing behind. The body goes to a
    temporary file no other download shares, renamed over ``stem`` only once complete, so
    two processes saving one video never write the same file.
    """
    endpoint = answer.endpoint
    if answer.status >= 400:
        raise answer.error()
    headers = answer.response.headers
    content_type = headers.get("Content-Type", "")
    if not is_video_type(content_type):
        raise not_a_video(answer, content_type)
    declared = headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ArtifactTooLarge(
            f"{endpoint}: the video is {int(declared)} bytes, over the cap of {max_bytes} bytes"
        )
    target = stem + video_extension(content_type)
    directory, name = os.path.split(target)
    handle, partial_file = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    written = 0
    try:
        with os.fdopen(handle, "wb") as file:
            for chunk in answer.chunks():
                written += len(chunk)
                if written > max_bytes:
                    raise ArtifactTooLarge(
                        f"{endpoint}: the video is over the cap of {max_bytes} bytes"
                    )
                file.write(chunk)
        os.chmod(partial_file, 0o644)  # mkstemp makes it 0600; a video is as readable as any
        os.replace(partial_file, target)
    finally:
        if os.path.exists(partial_file):
            os.unlink(partial_file)
    return target


def is_video_type(content_type: str) -> bool:
    """Whether a Content-Type is one the controller sends a video as."""
    media = content_type.split(";")[0].strip().lower()
    return media.startswith("video/") or media == "application/octet-stream"


def not_a_video(answer: Answer, content_type: str) -> NotAVideo:
    """What came instead of a video, in words: its type and the start of its text."""
    media = content_type.split(";")[0].strip() or "no Content-Type"
    first = next(iter(answer.chunks()), b"")[: MAX_SNIPPET_CHARS * 4]
    text = answer.transport.key.scrub(first.decode("utf-8", errors="replace"))
    snippet = " ".join(text.split())[:MAX_SNIPPET_CHARS]
    return NotAVideo(
        f"{answer.endpoint} answered HTTP {answer.status} with {media}, not a video "
        f"(a proxy's page?); nothing was saved: {snippet!r}"
    )


def video_extension(content_type: str) -> str:
    """The file extension for a video's Content-Type; Leapwork records MP4 by default."""
    return VIDEO_EXTENSIONS.get(content_type.split(";")[0].strip().lower(), ".mp4")
