"""The OpenAPI 3 description of the app's routes, served at ``GET /openapi.json``.

Each view declares its operation next to its registration with :func:`describe` (summary, query parameters,
body, answer); :func:`document` walks ``app.routes`` and assembles them, so a route cannot exist without a
description (a test checks every route has one). Path parameters come from the route's path. Every error answer
is the platform's ``{"Code", "Message"}``; a 503 also carries ``Retry-After``.

Schemas may be given as callables, resolved when the document is first built: a schema derived from a feature
package's declarations (the hero fields) is then not imported when ``app.py`` is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from chalice import Chalice

from chalicelib.core.http import route_scopes
from chalicelib.core.lazy import LazyModule

if TYPE_CHECKING:
    from chalicelib.core import settings
    from chalicelib.core.settings import AuthSettings
else:  # the declarations below are made when ``app.py`` is imported; the settings are read with the document
    settings = LazyModule("chalicelib.core.settings")

Schema = dict[str, Any]
SchemaSource = Schema | Callable[[], Schema]

OPENAPI_VERSION = "3.0.3"
ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["Code", "Message"],
    "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}},
}
ERROR_STATUSES = {
    400: "the request is not valid: the message says what is wrong",
    404: "no such resource",
    503: "a dependency (named in the message) is unavailable or the service misconfigured; retry after Retry-After s",
}
OBJECT: Schema = {"type": "object"}
_PATH_PARAMETER = re.compile(r"{([^}]+)}")


STRING: Schema = {"type": "string"}


# Named tuples rather than dataclasses: ``app.py`` declares them on import, on every function's cold start
class QueryParam(NamedTuple):
    name: str
    description: str
    schema: SchemaSource = STRING


class Operation(NamedTuple):
    """What one view does: its answer's ``statuses`` and schema (``None``: no body), its query parameters, its
    JSON request body (``required`` or optional) and the error statuses it answers besides 503."""

    summary: str
    answer: SchemaSource | None = None
    statuses: tuple[int, ...] = (200,)
    query: tuple[QueryParam, ...] = ()
    body: SchemaSource | None = None
    body_required: bool = False
    errors: tuple[int, ...] = (400,)
    headers: Mapping[str, str] = MappingProxyType({})  # answer headers: name -> description


def describe(summary: str, **details: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach an :class:`Operation` to a view; put it under the route's decorator, whose wrapper keeps it."""

    def attach(view: Callable[..., Any]) -> Callable[..., Any]:
        view.openapi = Operation(summary, **details)  # type: ignore[attr-defined]
        return view

    return attach


def operation_of(view: Callable[..., Any]) -> Operation | None:
    return getattr(view, "openapi", None)


def _resolved(schema: SchemaSource) -> Schema:
    return schema() if callable(schema) else schema


def _error_answer(description: str, status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 503:
        answer["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
    return answer


def _answers(op: Operation) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": op.summary}
    if op.answer is not None:
        ok["content"] = {"application/json": {"schema": _resolved(op.answer)}}
    if op.headers:
        ok["headers"] = {name: {"description": text, "schema": {"type": "string"}} for name, text in op.headers.items()}
    answers = dict.fromkeys(map(str, op.statuses), ok)
    for status in sorted({*op.errors, 503} - set(op.statuses)):
        answers[str(status)] = _error_answer(ERROR_STATUSES[status], status)
    answers["default"] = _error_answer("any other error, in the same shape", 0)
    return answers


def _operation(path: str, method: str, op: Operation) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(path)
    ]
    parameters += [
        {"name": p.name, "in": "query", "required": False, "description": p.description, "schema": _resolved(p.schema)}
        for p in op.query
    ]
    described: dict[str, Any] = {
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path).rstrip('_')}",
        "summary": op.summary,
        "parameters": parameters,
        "responses": _answers(op),
    }
    if op.body is not None:
        described["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": _resolved(op.body)}},
        }
    return described


def undescribed_routes(app: Chalice) -> list[str]:
    """``METHOD path`` of every route without an :class:`Operation`."""
    return [
        f"{method} {path}"
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if operation_of(entry.view_function) is None
    ]


# how a caller proves who they are, per AUTH_MODE (docs/auth.md); the scope a route needs is its ``x-scope``
SECURITY_SCHEMES: dict[str, tuple[str, dict[str, str]]] = {
    "jwt": ("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
    "iam": (
        "sigv4",
        {"type": "apiKey", "in": "header", "name": "Authorization", "description": "AWS SigV4 for execute-api"},
    ),
}


def _paths(app: Chalice, auth: AuthSettings) -> dict[str, dict[str, Any]]:
    scopes = route_scopes(app)
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            op = operation_of(entry.view_function)
            if op is None:
                continue
            described = {**_operation(path, method, op), "x-scope": scopes.get((method, path))}
            if auth.mode in SECURITY_SCHEMES and not auth.is_open(method, path):
                described["security"] = [{SECURITY_SCHEMES[auth.mode][0]: []}]
            paths.setdefault(path, {})[method.lower()] = described
    return paths


def document(app: Chalice, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI document of every described route of ``app``, with the credential the stage asks for."""
    auth = settings.get_settings().auth
    components: dict[str, Any] = {"schemas": {"Error": ERROR_SCHEMA}}
    if auth.mode in SECURITY_SCHEMES:
        name, scheme = SECURITY_SCHEMES[auth.mode]
        components["securitySchemes"] = {name: scheme}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "paths": _paths(app, auth),
        "components": components,
    }
