"""Domain exceptions. ``chalicelib`` raises these; the HTTP edge maps them to status codes once."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


class PlatformError(Exception):
    """Base class: ``code`` is the machine-readable name clients see in ``{"Code", "Message"}``.

    ``headers`` go on the error response as they are (e.g. ``X-Cache`` on a hero read that found no hero); an
    instance assigns its own mapping, the class default is empty and read-only. ``retry_after`` (seconds), when
    set, becomes the response's ``Retry-After``.
    """

    status: int = 500
    code: str = "InternalError"
    headers: Mapping[str, str] = MappingProxyType({})
    retry_after: int | None = None


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
    retry_after = 5
    dependency: str  # what the message and the log name: "mysql", "redis", "s3", ...

    def __init__(self, dependency: str, detail: str = "") -> None:
        self.dependency = dependency
        super().__init__(f"{dependency} is unavailable" + (f": {detail}" if detail else ""))
