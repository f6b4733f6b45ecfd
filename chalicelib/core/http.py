"""The HTTP edge: domain exceptions become ``{"Code", "Message"}`` responses here, once."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import HeadersType

from chalicelib.core.errors import DependencyUnavailable, PlatformError
from chalicelib.core.logs import log_event
from chalicelib.core.settings import deploy_setting, parse_flag

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def error_response(error: PlatformError) -> Response:
    headers: HeadersType = dict(error.headers)
    if isinstance(error, DependencyUnavailable):
        log_event("dependency unavailable", logging.WARNING, dependency=error.dependency, detail=error.detail)
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    body = {"Code": error.code, "Message": error.public_message}
    return Response(body=body, status_code=error.status, headers=headers)


def write_routes_need_api_key() -> bool:
    """``REQUIRE_API_KEY`` (``true`` in the dev/prod stages): API Gateway then answers 403 to a write without a
    valid ``x-api-key``. Read when ``app.py`` is imported, so through :func:`deploy_setting`; ``chalice local``
    and ``chalice.test.Client`` never enforce keys, and the local stage sets it to ``false`` anyway."""
    return parse_flag("REQUIRE_API_KEY", deploy_setting("REQUIRE_API_KEY", "false"))


def json_route(app: Chalice, path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``app.route`` whose view may raise :class:`PlatformError`; it answers that error's status and body.

    Methods other than reads require an API key when :func:`write_routes_need_api_key`; a registration mixing
    reads and writes is split in two so that reads stay open.
    """

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except PlatformError as error:
                return error_response(error)

        methods = [m.upper() for m in options.get("methods", ["GET"])]
        rest = {name: value for name, value in options.items() if name != "methods"}
        writes = [m for m in methods if m not in READ_METHODS]
        if "api_key_required" in rest or not writes or not write_routes_need_api_key():
            return app.route(path, methods=methods, **rest)(guarded)
        reads = [m for m in methods if m in READ_METHODS]
        if reads:
            app.route(path, methods=reads, **rest)(guarded)
        return app.route(path, methods=writes, api_key_required=True, **rest)(guarded)

    return register
