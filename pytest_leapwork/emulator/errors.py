"""What the controller answers when it refuses a request: a status and a plain-text message."""

from __future__ import annotations

ASSET_NOT_FOUND = "Asset not found"
INVALID_VARIABLE = "Variable name is invalid or variable with such name is already in request"
# Emulator choices: no source shows what a real controller answers in these two cases.
SCHEDULE_DISABLED = "Schedule is disabled"
SCHEDULE_RUNNING = "Schedule is already running"
# ASP.NET Web API's answer to a parameter it cannot bind (an unknown filter name).
INVALID_REQUEST = "The request is invalid."


class ApiError(Exception):
    """A request the controller refuses: HTTP status and plain-text body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
