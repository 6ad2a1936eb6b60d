"""Everything this package raises, with the meaning the controller's answers carry.

The HTTP status meanings follow the vendor's own clients (400 on runNow: a variable the
schedule does not declare; 410: already running; 446: disk full; 455: database down).
"""

from __future__ import annotations

import json

from .limits import MAX_BODY_CHARS, cut

#: Said of every runNow failure that happened after the request may have left this machine.
NOT_RETRIED = (
    "; runNow is not retried, since the controller may have started the run anyway: look for "
    "the run in Leapwork before running the test again"
)


class LeapworkError(Exception):
    """Base of everything this package raises about the controller."""

    def again(self) -> LeapworkError:
        """A fresh copy, to raise a remembered error once more (with no traceback of its own)."""
        copy = type(self).__new__(type(self))
        copy.args = self.args
        copy.__dict__.update(self.__dict__)
        return copy


class ControllerUnreachable(LeapworkError):
    """No HTTP answer: refused, unresolvable, timed out, or the connection dropped."""

    #: True when the request provably never reached the controller (refused, unresolvable,
    #: no connection in time, an untrusted certificate).
    nothing_sent = False


class AnswerTooSlow(ControllerUnreachable):
    """The request's time was up before its answer was complete (none yet, or one still
    arriving); the request is abandoned."""


class InvalidResponse(LeapworkError):
    """The controller answered, but not with JSON of a shape any controller sends."""


class AnswerTooLarge(InvalidResponse):
    """The answer is larger than the plugin reads (``limits.MAX_ANSWER_BYTES``)."""


class ControllerHTTPError(LeapworkError):
    """The controller answered with an error status."""

    meaning = "the controller answered with an error"
    #: Seconds the controller asked to wait before asking again (its Retry-After), if any.
    retry_after: float | None = None

    def __init__(self, status: int, endpoint: str, body: str) -> None:
        self.status = status
        self.endpoint = endpoint
        # The body arrives with the key already masked: mask first, then cut.
        self.body = cut(body.strip(), MAX_BODY_CHARS)
        detail = f": {self.body}" if self.body else ""
        super().__init__(f"{endpoint} answered HTTP {status} ({self.meaning}){detail}")


class BadRequest(ControllerHTTPError):
    """HTTP 400 to a request that sent no variables: the controller's own words say why."""

    meaning = "the controller refused the request"


class VariableRejected(BadRequest):
    """HTTP 400 to a request that sent variables (runNow, run flow on agent)."""

    meaning = "a variable name is not declared in the schedule, or is given twice"


class AccessKeyRejected(ControllerHTTPError):
    meaning = "the access key is wrong, expired or lacks the scope"


class NotFound(ControllerHTTPError):
    meaning = "not found on the controller"


class MethodNotAllowed(ControllerHTTPError):
    meaning = "this controller does not offer the request"


class AlreadyRunning(ControllerHTTPError):
    meaning = "the schedule is already running"


class DiskFull(ControllerHTTPError):
    meaning = "the controller has not enough disk space"


class DatabaseUnavailable(ControllerHTTPError):
    meaning = "the controller's database is not responding"


class ControllerServerError(ControllerHTTPError):
    meaning = "internal error on the controller"


_ERROR_CLASSES: dict[int, type[ControllerHTTPError]] = {
    400: VariableRejected,
    401: AccessKeyRejected,
    403: AccessKeyRejected,
    404: NotFound,
    405: MethodNotAllowed,
    410: AlreadyRunning,
    446: DiskFull,
    455: DatabaseUnavailable,
}


def refused_without_variables(error: ControllerHTTPError) -> BadRequest:
    """A 400 to a request that sent no variables: what the controller said, without blaming
    variables (``{"Message": "Agent is not connected"}`` reads ``Agent is not connected``)."""
    refused = BadRequest(error.status, error.endpoint, controller_message(error.body))
    refused.retry_after = error.retry_after
    return refused


def controller_message(body: str) -> str:
    """The text of an ASP.NET error body (``{"Message": ...}``); any other body as it is."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    message = document.get("Message") if isinstance(document, dict) else None
    return message if isinstance(message, str) and message.strip() else body


def error_for_status(status: int, endpoint: str, body: str) -> ControllerHTTPError:
    cls = _ERROR_CLASSES.get(status)
    if cls is None:
        cls = ControllerServerError if status >= 500 else ControllerHTTPError
    return cls(status, endpoint, body)


class ScheduleError(LeapworkError):
    """The marker names a schedule that cannot be run."""


class ScheduleNotFound(ScheduleError):
    pass


class ScheduleDisabled(ScheduleError):
    pass


class ScheduleAmbiguous(ScheduleError):
    pass


class RunLost(LeapworkError):
    """A run the controller accepted cannot be followed any more (it stays unknown)."""


class NotAVideo(LeapworkError):
    """The video request was answered with something else (a proxy's sign-in page)."""


class ArtifactTooLarge(LeapworkError):
    """A file to download is larger than the size cap (``--leapwork-artifacts-max-mb``)."""
