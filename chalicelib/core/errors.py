"""Domain exceptions. ``chalicelib`` raises these; the HTTP edge maps them to status codes once."""

from __future__ import annotations


class PlatformError(Exception):
    """Base class: ``code`` is the machine-readable name clients see in ``{"Code", "Message"}``."""

    status = 500
    code = "InternalError"


class InvalidInput(PlatformError):
    """The client sent something we cannot accept; the message says what."""

    status = 400
    code = "BadRequestError"


class NotFound(PlatformError):
    status = 404
    code = "NotFoundError"


class Conflict(PlatformError):
    status = 409
    code = "ConflictError"


class DependencyUnavailable(PlatformError):
    """MySQL, Redis or an AWS service cannot be reached right now; retrying later may succeed."""

    status = 503
    code = "ServiceUnavailable"

    def __init__(self, dependency: str, detail: str = "") -> None:
        self.dependency = dependency
        super().__init__(f"{dependency} is unavailable" + (f": {detail}" if detail else ""))
