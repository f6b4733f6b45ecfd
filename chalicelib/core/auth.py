"""Who may call which route (docs/auth.md).

Every route names the scope it needs where it is registered (``json_route(app, "/heroes", scope="read")``); a stage
lists the routes it leaves open on purpose (``OPEN_ROUTES``); every other route is closed. How callers prove who
they are is the stage's ``AUTH_MODE``:

- ``iam``: API Gateway checks the SigV4 signature and the caller's IAM policy (one managed policy per scope in
  ``infra/app-access.yaml``) before the function runs; the function logs the IAM principal.
- ``jwt``: the function verifies the bearer token here (:mod:`chalicelib.core.tokens`) and compares its scopes with
  the route's. Done in the app rather than in a Chalice ``@app.authorizer`` because only the app answers the same
  ``{"Code", "Message"}`` 401/403 under ``chalice.test.Client``, ``chalice local`` and Lambda alike (a local
  authorizer can only deny, as a 403, or crash), and any OIDC issuer works, not only a Cognito user pool.
- ``none``: no credentials (the local stage; ``make run``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import IAMAuthorizer, Request

from chalicelib.core.errors import Forbidden, Unauthenticated
from chalicelib.core.lazy import LazyModule
from chalicelib.core.stage import ConfigError, deploy_setting, parse_auth_mode, parse_open_routes, route_is_open

if TYPE_CHECKING:
    from chalicelib.core import settings, tokens
    from chalicelib.core.settings import AuthSettings
else:  # imported on the first request, off the cold start of ``import app`` (docs/benchmarks.md)
    settings = LazyModule("chalicelib.core.settings")
    tokens = LazyModule("chalicelib.core.tokens")

SCOPES = ("read", "write", "ingest", "operate")


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    return scope


def gateway_authorizer(method: str, path: str) -> IAMAuthorizer | None:
    """SigV4 at API Gateway for a closed route of an ``iam`` stage; nothing otherwise. The stage's mode and open
    routes are read when ``app.py`` is imported (see :func:`chalicelib.core.stage.deploy_setting`)."""
    mode = parse_auth_mode(deploy_setting("AUTH_MODE", "jwt"))
    open_routes = parse_open_routes(deploy_setting("OPEN_ROUTES", ""))
    return IAMAuthorizer() if mode == "iam" and not route_is_open(mode, open_routes, method, path) else None


def route_key(request: Request) -> tuple[str, str]:
    """The request's method and the route it matched (``/heroes/{hero_id}``, not ``/heroes/7``)."""
    return request.method.upper(), request.context.get("resourcePath") or request.path


def authorize(request: Request, scope: str) -> None:
    """Let the request through to a route needing ``scope``, or raise :class:`Unauthenticated` (401) or
    :class:`Forbidden` (403). A verified token's subject and scopes go where API Gateway puts a Lambda
    authorizer's (``requestContext.authorizer``), which is where the invocation's log line reads the caller."""
    auth = settings.get_settings().auth
    if auth.mode != "jwt" or auth.is_open(*route_key(request)):
        return  # none: nothing to check; iam: API Gateway checked the signature and the IAM policy already
    identity = _verifier(auth).verify(bearer_token(request))
    request.context["authorizer"] = {"principalId": identity.subject, "scopes": " ".join(sorted(identity.scopes))}
    if scope not in identity.scopes:
        raise Forbidden(f"this route needs the {scope!r} scope, which the token does not grant")


def bearer_token(request: Request) -> str:
    header = (request.headers.get("authorization") or "").strip()
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else header
    if not token:
        raise Unauthenticated("this route needs a token: Authorization: Bearer <JWT>")
    return token


def _verifier(auth: AuthSettings) -> tokens.TokenVerifier:
    if not auth.jwt_issuer or not auth.jwt_audiences:
        raise ConfigError("AUTH_MODE jwt needs the settings JWT_ISSUER and JWT_AUDIENCE")
    return tokens.verifier_for(auth.jwt_issuer, auth.jwt_audiences, auth.jwt_jwks_url)


def caller(request: Request) -> str | None:
    """Who made the request, for the log: the token's subject or the IAM principal, never the credential."""
    context = request.context or {}
    authorizer = context.get("authorizer") or {}
    identity = context.get("identity") or {}
    return authorizer.get("principalId") or identity.get("userArn") or None
