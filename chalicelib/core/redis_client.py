"""The Redis client, created on first use and reused across warm invocations.

Timeouts are short (``REDIS_TIMEOUT_MS``, 500 ms unless a function sets it): with Redis unreachable a read
must fall back to MySQL quickly rather than hang.
redis-py reconnects by itself on the next command after a drop, so the app recovers without a restart.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import aws
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.settings import get_settings

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
        timeout = settings.timeouts.redis_ms / 1000
        _client = redis.Redis.from_url(
            settings.redis_url,
            password=_auth_token(settings.redis_auth_parameter),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
    return _client


def reset_redis() -> None:
    """Drop the client (tests point the process at another Redis)."""
    global _client
    if _client is not None:
        _client.close()
    _client = None
