"""The Redis client, created on first use and reused across warm invocations.

Timeouts are short (``REDIS_TIMEOUT_MS``, 500 ms unless a function sets it): with Redis unreachable a read
must fall back to MySQL quickly rather than hang.
redis-py reconnects by itself on the next command after a drop, so the app recovers without a restart.

With ``REDIS_CLUSTER=true`` the client is a ``redis.cluster.RedisCluster`` (ElastiCache cluster mode, or any
Redis Cluster): ``REDIS_URL`` names one node (ElastiCache: the configuration endpoint), the client asks it for
the slot map, connects to the node owning each key's hash slot and follows ``MOVED``/``ASK`` after a failover
or resharding. Same timeouts, TLS (``rediss://``) and AUTH token on every node connection. Unlike the
single-node client, it contacts the cluster when it is built (to read the slot map), i.e. on first use.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.core import aws
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.settings import get_settings

# After a failed attempt to build the cluster client (no node answered the slot map), callers are turned away
# for this long instead of each waiting for the connect timeouts again.
BUILD_RETRY_SECONDS = 2.0

# A command that failed on a node (a failover, a node that hangs) is tried again once, after the slot map has been
# read again: enough to reach a promoted replica. With a stopped node and REDIS_TIMEOUT_MS=500 a read then gave up
# after 1.0-1.5 s (6.1-7.6 s with redis-py's default of 3 retries), and the cache's breaker spares the next ones.
CLUSTER_RETRIES = 1

_client: Any = None
_build_failed_at = float("-inf")


def _auth_token(parameter: str | None) -> str | None:
    """The AUTH token from SSM (SecureString, decrypted) when ``REDIS_AUTH_PARAMETER`` names one; read once per
    client, i.e. once per warm container."""
    if not parameter:
        return None
    try:
        return aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    except Exception as exc:  # botocore's errors are not importable without botocore at cold start
        raise DependencyUnavailable("ssm", f"cannot read REDIS_AUTH_PARAMETER {parameter!r}: {exc}") from exc


def _cluster_client(url: str, options: dict[str, Any]) -> Any:
    """A ``RedisCluster`` for ``url``; it reads the slot map now, so an unreachable cluster fails here, as
    :class:`DependencyUnavailable` (and for :data:`BUILD_RETRY_SECONDS` without trying again)."""
    global _build_failed_at
    if time.monotonic() - _build_failed_at < BUILD_RETRY_SECONDS:
        raise DependencyUnavailable("redis", "the cluster's slot map could not be read moments ago")
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.exceptions import RedisClusterException, RedisError
    from redis.retry import Retry

    try:
        return RedisCluster.from_url(url, retry=Retry(NoBackoff(), CLUSTER_RETRIES), **options)
    except (RedisError, RedisClusterException, OSError) as exc:
        _build_failed_at = time.monotonic()
        raise DependencyUnavailable("redis", f"cannot read the cluster's slot map: {exc!r}") from exc


def get_redis() -> Any:
    """The shared client for ``REDIS_URL`` (``rediss://`` for TLS): ``redis.Redis``, or ``RedisCluster`` when
    ``REDIS_CLUSTER`` is true; authenticated with the token of ``REDIS_AUTH_PARAMETER`` when set (a password in
    the URL wins)."""
    global _client
    if _client is None:
        settings = get_settings()
        timeout = settings.timeouts.redis_ms / 1000
        options: dict[str, Any] = {
            "password": _auth_token(settings.redis_auth_parameter),
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "health_check_interval": 30,
        }
        if settings.redis_cluster:
            _client = _cluster_client(settings.redis_url, options)
        else:
            import redis

            _client = redis.Redis.from_url(settings.redis_url, **options)
    return _client


def reset_redis() -> None:
    """Drop the client (tests point the process at another Redis)."""
    global _client, _build_failed_at
    if _client is not None:
        _client.close()
    _client = None
    _build_failed_at = float("-inf")
