"""Saving a flow's video: streamed to a temporary file, under a size cap, through the gate's
deadline like any answer. No pytest import here."""

from __future__ import annotations

import os

from .errors import ArtifactTooLarge
from .models import VIDEO_EXTENSIONS
from .transport import Answer

#: What the video request accepts.
VIDEO_ACCEPT = "video/*, application/octet-stream"


def save_video(stem: str, max_bytes: int, answer: Answer) -> str:
    """Save the answer's video as ``stem`` plus the extension its type gives; the path.

    A download cut short, over ``max_bytes`` (``ArtifactTooLarge``) or out of time leaves
    nothing behind.
    """
    endpoint = answer.endpoint
    if answer.status >= 400:
        raise answer.error()
    headers = answer.response.headers
    declared = headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ArtifactTooLarge(
            f"{endpoint}: the video is {int(declared)} bytes, over the cap of {max_bytes} bytes"
        )
    target = stem + video_extension(headers.get("Content-Type", ""))
    partial_file = target + ".part"
    written = 0
    try:
        with open(partial_file, "wb") as file:
            for chunk in answer.chunks():
                written += len(chunk)
                if written > max_bytes:
                    raise ArtifactTooLarge(
                        f"{endpoint}: the video is over the cap of {max_bytes} bytes"
                    )
                file.write(chunk)
        os.replace(partial_file, target)
    finally:
        if os.path.exists(partial_file):
            os.unlink(partial_file)
    return target


def video_extension(content_type: str) -> str:
    """The file extension for a video's Content-Type; Leapwork records MP4 by default."""
    return VIDEO_EXTENSIONS.get(content_type.split(";")[0].strip().lower(), ".mp4")
