"""The HTTP edge: domain exceptions become ``{"Code", "Message"}`` responses here, once."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import HeadersType

from chalicelib.core.auth import authorize, check_scope, gateway_authorizer
from chalicelib.core.errors import DependencyUnavailable, PlatformError
from chalicelib.core.logs import log_event
from chalicelib.core.stage import ConfigError, deploy_setting, parse_flag

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def error_response(error: PlatformError) -> Response:
    headers: HeadersType = dict(error.headers)
    if isinstance(error, DependencyUnavailable):
        log_event("dependency unavailable", logging.WARNING, dependency=error.dependency, detail=error.detail)
    elif isinstance(error, ConfigError):
        log_event("misconfigured", logging.ERROR, detail=str(error))
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    body = {"Code": error.code, "Message": error.public_message}
    return Response(body=body, status_code=error.status, headers=headers)


def write_routes_need_api_key() -> bool:
    """``REQUIRE_API_KEY`` (``true`` in the dev/prod stages): API Gateway then answers 403 to a write without a
    valid ``x-api-key``. The key is for the usage plan's throttling, not authorization (:mod:`chalicelib.core.auth`).
    Read when ``app.py`` is imported, so through :func:`deploy_setting`; ``chalice local`` and
    ``chalice.test.Client`` never enforce keys, and the local stage sets it to ``false`` anyway."""
    return parse_flag("REQUIRE_API_KEY", deploy_setting("REQUIRE_API_KEY", "false"))


def json_route(
    app: Chalice, path: str, *, scope: str, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``app.route`` for a view that needs ``scope`` (:data:`chalicelib.core.auth.SCOPES`) and may raise
    :class:`PlatformError`; it answers that error's status and body. This is the route's one declaration of who may
    call it: the credential check (:func:`chalicelib.core.auth.authorize`), API Gateway's SigV4 check on an ``iam``
    stage and the per-scope IAM policies all read it.

    Each method is registered on its own, so that a stage may leave one method of a path open; methods other than
    reads require an API key (usage plan and throttling) when :func:`write_routes_need_api_key`.
    """
    check_scope(scope)

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                request = getattr(app, "current_request", None)  # None: the view called directly, not over HTTP
                if request is not None:
                    authorize(request, scope)
                return view(*args, **kwargs)
            except PlatformError as error:
                return error_response(error)

        _SCOPES[guarded] = scope
        methods = [m.upper() for m in options.get("methods", ["GET"])]
        rest = {name: value for name, value in options.items() if name != "methods"}
        for method in methods:
            keyed = rest
            if "api_key_required" not in rest and method not in READ_METHODS and write_routes_need_api_key():
                keyed = {**rest, "api_key_required": True}
            app.route(path, methods=[method], authorizer=gateway_authorizer(method, path), **keyed)(guarded)
        return guarded

    return register


_SCOPES: dict[Callable[..., Any], str] = {}


def route_scopes(app: Chalice) -> dict[tuple[str, str], str]:
    """Every route of ``app`` registered through :func:`json_route`: ``(method, path)`` -> the scope it needs."""
    return {
        (method, path): _SCOPES[entry.view_function]
        for path, entries in app.routes.items()
        for method, entry in entries.items()
        if entry.view_function in _SCOPES
    }
