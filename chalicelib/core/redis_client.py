"""The Redis client, created on first use and reused across warm invocations.

Timeouts are short: with Redis unreachable a read must fall back to MySQL quickly rather than hang.
redis-py reconnects by itself on the next command after a drop, so the app recovers without a restart.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import aws
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.settings import get_settings

SOCKET_TIMEOUT_SECONDS = 0.5

_client: Any = None


def _auth_token(parameter: str | None) -> str | None:
    """The AUTH token from SSM (SecureString, decrypted) when ``REDIS_AUTH_PARAMETER`` names one; read once per
    client, i.e. once per warm container."""
    if not parameter:
        return None
    try:
        return aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    except Exception as exc:  # botocore's errors are not importable without botocore at cold start
        raise DependencyUnavailable("ssm", f"cannot read REDIS_AUTH_PARAMETER {parameter!r}: {exc}") from exc


def get_redis() -> Any:
    """The shared ``redis.Redis`` client for ``REDIS_URL`` (``rediss://`` for TLS), authenticated with the token
    of ``REDIS_AUTH_PARAMETER`` when set (a password in the URL wins)."""
    global _client
    if _client is None:
        import redis

        settings = get_settings()
        _client = redis.Redis.from_url(
            settings.redis_url,
            password=_auth_token(settings.redis_auth_parameter),
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
    return _client


def reset_redis() -> None:
    """Drop the client (tests point the process at another Redis)."""
    global _client
    if _client is not None:
        _client.close()
    _client = None
