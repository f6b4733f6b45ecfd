"""The Redis client, created on first use and reused across warm invocations.

Timeouts are short: with Redis unreachable a read must fall back to MySQL quickly rather than hang.
redis-py reconnects by itself on the next command after a drop, so the app recovers without a restart.
"""

from __future__ import annotations

from typing import Any

from chalicelib.config import get_settings

SOCKET_TIMEOUT_SECONDS = 0.5

_client: Any = None


def get_redis() -> Any:
    """The shared ``redis.Redis`` client for ``REDIS_URL`` (``rediss://`` for TLS)."""
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(
            get_settings().redis_url,
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
