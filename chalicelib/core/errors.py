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

    @property
    def public_message(self) -> str:
        """What a client is told (the ``Message`` of an HTTP answer); ``str(error)`` may say more, for logs."""
        return str(self)


class InvalidInput(PlatformError):
    """The client sent something we cannot accept; the message says what."""

    status = 400
    code = "BadRequestError"


class Unauthenticated(PlatformError):
    """No credential, or one that does not prove who the caller is (bad signature, expired, not for us)."""

    status = 401
    code = "UnauthorizedError"
    headers: Mapping[str, str] = MappingProxyType({"WWW-Authenticate": "Bearer"})


class Forbidden(PlatformError):
    """The caller is known but lacks the scope the route needs."""

    status = 403
    code = "ForbiddenError"


class NotFound(PlatformError):
    status = 404
    code = "NotFoundError"


class Conflict(PlatformError):
    status = 409
    code = "ConflictError"


class IdsExhausted(PlatformError):
    """A table's ``AUTO_INCREMENT`` has passed its id column's range: no row can be added without an id until
    an operator frees ids (docs/heroes-api.md, "Ids"). Retrying does not help, hence a 4xx."""

    status = 409
    code = "IdsExhausted"

    def __init__(self, table: str) -> None:
        self.table = table
        super().__init__(f"no {table} id is left to assign: the table's ids have reached their column's maximum")


class DependencyUnavailable(PlatformError):
    """MySQL, Redis or an AWS service cannot be reached right now; retrying later may succeed.

    Clients are told the dependency's name only (:attr:`public_message`): ``detail``, the driver's error that
    may name a host, is for the log line and the exception an event function raises."""

    status = 503
    code = "ServiceUnavailable"
    retry_after = 5  # a MySQL failover or a Redis restart is over in seconds
    dependency: str  # what the message and the log name: "mysql", "redis", "s3", ...

    def __init__(self, dependency: str, detail: str = "") -> None:
        self.dependency = dependency
        self.detail = detail
        super().__init__(f"{dependency} is unavailable" + (f": {detail}" if detail else ""))

    @property
    def public_message(self) -> str:
        return f"{self.dependency} is unavailable right now; retry later"
