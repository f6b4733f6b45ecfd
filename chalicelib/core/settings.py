"""Typed settings, parsed once from the environment.

Chalice copies a stage's ``environment_variables`` into the Lambda environment (and into ``os.environ`` under
``chalice local``), so every setting is an environment variable. A missing or malformed setting raises
:class:`ConfigError` naming it at first use, not at import: a plain ``import app`` (tests, tools) runs without
any stage's environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.core.stage import ConfigError, parse_auth_mode, parse_flag, parse_open_routes, route_is_open

DEFAULT_LINK_EXPIRY_SECONDS = 900
MAX_LINK_EXPIRY_SECONDS = 7 * 24 * 3600  # SigV4 pre-signed URLs are valid for at most 7 days


@dataclass(frozen=True)
class DbSettings:
    """How to reach one MySQL database: direct ``DB_*`` values, or an SSM prefix holding them; the user and
    password may come from a Secrets Manager secret instead (``DB_SECRET_ARN``, read at run time, so rotation
    needs no deploy); ``DB_SSL_CA`` makes the connection verify the server's certificate against that bundle."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = field(default="", repr=False)
    name: str = "platform"
    parameter_prefix: str | None = None
    secret_arn: str | None = None
    ssl_ca: str | None = None


@dataclass(frozen=True)
class AuthSettings:
    """Who may call the API (docs/auth.md). ``mode``: ``jwt`` (the default: closed), ``iam`` (API Gateway checks
    SigV4 and the caller's IAM policy) or ``none`` (the local stage: no credentials). ``open_routes`` are
    ``"METHOD /path"`` keys the stage leaves open on purpose."""

    mode: str = "jwt"
    open_routes: frozenset[str] = frozenset()
    jwt_issuer: str = ""
    jwt_audiences: tuple[str, ...] = ()
    jwt_jwks_url: str = ""

    def is_open(self, method: str, path: str) -> bool:
        return route_is_open(self.mode, self.open_routes, method, path)


@dataclass(frozen=True)
class Timeouts:
    """How long one function waits for MySQL and Redis before it gives up (per function: a stage sets them in
    ``lambda_functions.<function>.environment_variables``; the defaults are the API's, whose clients wait at most
    29 s at API Gateway). Every wait is bounded by one of these; docs/settings.md lists them per function."""

    db_connect_seconds: int = 2  # DB_CONNECT_TIMEOUT_SECONDS: TCP connect, handshake and login
    db_query_seconds: int = 5  # DB_QUERY_TIMEOUT_SECONDS: each read or write of a statement's result
    redis_ms: int = 500  # REDIS_TIMEOUT_MS: connect and each command


@dataclass(frozen=True)
class Settings:
    db: DbSettings
    redis_url: str
    cache_ttl_seconds: int
    data_bucket: str
    archive_bucket: str
    report_topic_arn: str
    events_topic_arn: str
    report_timezone: str
    analysis_sources: Mapping[str, DbSettings]
    insights_model_id: str | None
    ses_sender: str | None
    ses_recipients: tuple[str, ...]
    link_expiry_seconds: int  # how long a pre-signed download or upload link answered by the API stays valid
    # name of an SSM SecureString holding the Redis AUTH token (ElastiCache with in-transit encryption);
    # the token stays out of REDIS_URL and so out of the stage's configuration
    redis_auth_parameter: str | None = None
    # REDIS_CLUSTER: REDIS_URL names one node of a Redis Cluster (ElastiCache cluster mode: its configuration
    # endpoint); the client discovers the others and routes each key to the node owning its hash slot
    redis_cluster: bool = False
    timeouts: Timeouts = Timeouts()
    # DB_USERS (the migrate function's): per source, the secret ARNs of its master user and of the app's users
    # by role (migrations, readwrite, readonly), which migrate creates (chalicelib/core/db_users.py)
    db_users: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    auth: AuthSettings = AuthSettings()

    def require(self, name: str) -> str:
        """Return a string setting by its environment name, failing loudly when it is empty."""
        value = getattr(self, name.lower())
        if not value:
            raise ConfigError(f"setting {name} is required for this operation but is not set")
        return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int = 2**31) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"setting {name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"setting {name} must be between {minimum} and {maximum}, got {value}")
    return value


def _redis_cluster(env: Mapping[str, str], url: str) -> bool:
    """``REDIS_CLUSTER``; a cluster has only db 0, so a URL naming another index is refused here rather than by
    the client at first use."""
    cluster = parse_flag("REDIS_CLUSTER", env.get("REDIS_CLUSTER") or "false")
    if cluster and urlsplit(url).path.strip("/") not in ("", "0"):
        raise ConfigError(f"setting REDIS_URL must use db 0 (or none) when REDIS_CLUSTER is true, got {url!r}")
    return cluster


def _db_settings(env: Mapping[str, str], base: DbSettings | None = None) -> DbSettings:
    base = base or DbSettings()
    return DbSettings(
        host=env.get("DB_HOST") or base.host,
        port=_int(env, "DB_PORT", base.port, 1, 65535),
        user=env.get("DB_USER") or base.user,
        password=env.get("DB_PASSWORD", base.password),
        name=env.get("DB_NAME") or base.name,
        parameter_prefix=env.get("DB_PARAMETER_PREFIX") or base.parameter_prefix,
        secret_arn=env.get("DB_SECRET_ARN") or base.secret_arn,
        ssl_ca=env.get("DB_SSL_CA") or base.ssl_ca,
    )


SOURCE_KEYS = frozenset(
    {"DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME", "DB_PARAMETER_PREFIX", "DB_SECRET_ARN", "DB_SSL_CA"}
)


def _analysis_sources(raw: str, default: DbSettings) -> dict[str, DbSettings]:
    """Parse ``ANALYSIS_SOURCES``: a JSON object naming each source and the ``DB_*`` keys that differ
    from the default connection, e.g. ``{"public": {}, "private": {"DB_NAME": "platform_private"}}`` or
    ``{"private": {"DB_PARAMETER_PREFIX": "/platform/prod/private/"}}``."""
    if not raw.strip():
        return {"default": default}
    try:
        declared = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"setting ANALYSIS_SOURCES is not valid JSON: {exc}") from None
    if not isinstance(declared, dict) or not declared:
        raise ConfigError("setting ANALYSIS_SOURCES must be a non-empty JSON object of source name -> settings")
    sources = {}
    for name, overrides in declared.items():
        if not isinstance(overrides, dict) or not all(isinstance(v, str) for v in overrides.values()):
            raise ConfigError(f"setting ANALYSIS_SOURCES[{name!r}] must be an object of string DB_* settings")
        unknown = set(overrides) - SOURCE_KEYS
        if unknown:
            raise ConfigError(f"setting ANALYSIS_SOURCES[{name!r}] has unknown keys: {sorted(unknown)}")
        sources[name] = _db_settings(overrides, default)
    return sources


def _timeouts(env: Mapping[str, str]) -> Timeouts:
    default = Timeouts()
    return Timeouts(
        db_connect_seconds=_int(env, "DB_CONNECT_TIMEOUT_SECONDS", default.db_connect_seconds, 1, 60),
        db_query_seconds=_int(env, "DB_QUERY_TIMEOUT_SECONDS", default.db_query_seconds, 1, 900),
        redis_ms=_int(env, "REDIS_TIMEOUT_MS", default.redis_ms, 10, 60_000),
    )


DB_USER_ROLES = frozenset({"master", "migrations", "readwrite", "readonly"})


def _db_users(raw: str, sources: Mapping[str, DbSettings]) -> dict[str, dict[str, str]]:
    """Parse ``DB_USERS``: ``{"default": {"master": arn, "migrations": arn, "readwrite": arn, ...}, ...}``."""
    if not raw.strip():
        return {}
    try:
        declared = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"setting DB_USERS is not valid JSON: {exc}") from None
    if not isinstance(declared, dict):
        raise ConfigError("setting DB_USERS must be a JSON object of source name -> role -> secret ARN")
    users = {}
    for source, roles in declared.items():
        if source != "default" and source not in sources:
            raise ConfigError(f"setting DB_USERS names {source!r}, which is neither default nor in ANALYSIS_SOURCES")
        if not isinstance(roles, dict) or "master" not in roles or not set(roles) <= DB_USER_ROLES:
            raise ConfigError(f"setting DB_USERS[{source!r}] must map master and roles {sorted(DB_USER_ROLES)} to ARNs")
        if not all(isinstance(arn, str) and arn for arn in roles.values()):
            raise ConfigError(f"setting DB_USERS[{source!r}] must map each role to a secret ARN")
        users[source] = dict(roles)
    return users


def _timezone(env: Mapping[str, str]) -> str:
    zone = env.get("REPORT_TIMEZONE") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"setting REPORT_TIMEZONE is not an IANA time zone: {zone!r}") from None
    return zone


def parse_auth_settings(env: Mapping[str, str]) -> AuthSettings:
    mode = parse_auth_mode(env.get("AUTH_MODE"))
    issuer = (env.get("JWT_ISSUER") or "").strip().rstrip("/")
    return AuthSettings(
        mode=mode,
        open_routes=parse_open_routes(env.get("OPEN_ROUTES", "")),
        jwt_issuer=issuer,
        jwt_audiences=tuple(a.strip() for a in env.get("JWT_AUDIENCE", "").split(",") if a.strip()),
        # Cognito (and most OIDC issuers) publish their keys here; JWT_JWKS_URL names another place
        jwt_jwks_url=(env.get("JWT_JWKS_URL") or "").strip() or (f"{issuer}/.well-known/jwks.json" if issuer else ""),
    )


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Build :class:`Settings` from a mapping of environment variables."""
    db = _db_settings(env)
    analysis_sources = _analysis_sources(env.get("ANALYSIS_SOURCES", ""), db)
    redis_url = env.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return Settings(
        db=db,
        redis_url=redis_url,
        cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", 300, 1, 7 * 24 * 3600),
        data_bucket=env.get("DATA_BUCKET", ""),
        archive_bucket=env.get("ARCHIVE_BUCKET", ""),
        report_topic_arn=env.get("REPORT_TOPIC_ARN", ""),
        events_topic_arn=env.get("EVENTS_TOPIC_ARN", ""),
        report_timezone=_timezone(env),
        analysis_sources=analysis_sources,
        insights_model_id=env.get("INSIGHTS_MODEL_ID") or None,
        ses_sender=env.get("SES_SENDER") or None,
        ses_recipients=tuple(r.strip() for r in env.get("SES_RECIPIENTS", "").split(",") if r.strip()),
        redis_auth_parameter=env.get("REDIS_AUTH_PARAMETER") or None,
        redis_cluster=_redis_cluster(env, redis_url),
        timeouts=_timeouts(env),
        db_users=_db_users(env.get("DB_USERS", ""), analysis_sources),
        link_expiry_seconds=_int(env, "LINK_EXPIRY_SECONDS", DEFAULT_LINK_EXPIRY_SECONDS, 1, MAX_LINK_EXPIRY_SECONDS),
        auth=parse_auth_settings(env),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, parsed on first use. Tests call ``get_settings.cache_clear()``."""
    return parse_settings(os.environ)
