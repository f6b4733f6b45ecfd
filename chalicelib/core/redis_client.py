"""The Redis client, created on first use and reused across warm invocations.

Waits are short (``REDIS_TIMEOUT_MS``, 500 ms unless a function sets it): with Redis unreachable a read must
fall back to MySQL quickly rather than hang. A command that fails on a dropped connection (Redis restarted, an
idle connection closed) is sent once more on a new one; a timeout is not repeated (:func:`_retry`). So the app
recovers by itself from a drop, and a Redis that hangs costs one timeout: redis-py's default retries made that
8-10 s per request with a 500 ms timeout.

The single-node client sends its commands over one connection (``single_connection_client``): a Lambda container
serves one request at a time, and redis-py's pool otherwise takes and returns a connection around every command
(a lock, a ``poll`` for unread data, bookkeeping), about a fifth of a cached read on loopback
(docs/benchmarks.md). Pipelines still take connections of the pool; threads (``chalice local``) share the one
connection under redis-py's lock.

With ``REDIS_CLUSTER=true`` the client is a ``redis.cluster.RedisCluster`` (ElastiCache cluster mode, or any
Redis Cluster): ``REDIS_URL`` names one node (ElastiCache: the configuration endpoint), the client asks it for
the slot map, connects to the node owning each key's hash slot and follows ``MOVED``/``ASK`` after a failover
or resharding. Same timeouts, TLS (``rediss://``) and AUTH token on every node connection.

Either client contacts Redis when it is built (the single-node one opens its connection, the cluster one reads
the slot map), i.e. on first use, never at import. A build that fails is :class:`DependencyUnavailable`.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.core import aws
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.settings import get_settings

# After a failed attempt to build the client (Redis or every cluster node unreachable), callers are turned away
# for this long instead of each waiting for the connect timeouts again.
BUILD_RETRY_SECONDS = 2.0

# A command that failed on a cluster node (a failover, a node that hangs) is tried again once, after the slot map
# has been read again: enough to reach a promoted replica. With a stopped node and REDIS_TIMEOUT_MS=500 a read then
# gave up after 1.0-1.5 s (6.1-7.6 s with redis-py's default of 3 retries), and the cache's breaker spares the next.
CLUSTER_RETRIES = 1

_client: Any = None
_build_failed_at = float("-inf")


def _retry(cluster: bool) -> Any:
    """redis-py's retry policy for the client: no backoff; on a cluster :data:`CLUSTER_RETRIES` for any failure
    (the client reads the slot map again in between); on one node one more attempt after a dropped connection
    only, since a second timeout would double the wait for a Redis that hangs."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if cluster:
        return Retry(NoBackoff(), CLUSTER_RETRIES)
    return Retry(NoBackoff(), 1, supported_errors=(_dropped_connection(),))


def _auth_token(parameter: str | None) -> str | None:
    """The AUTH token from SSM (SecureString, decrypted) when ``REDIS_AUTH_PARAMETER`` names one; read once per
    client, i.e. once per warm container."""
    if not parameter:
        return None
    try:
        return aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    except Exception as exc:  # botocore's errors are not importable without botocore at cold start
        raise DependencyUnavailable("ssm", f"cannot read REDIS_AUTH_PARAMETER {parameter!r}: {exc}") from exc


def _build(url: str, cluster: bool, options: dict[str, Any]) -> Any:
    """The client for ``url``; it contacts Redis now, so an unreachable Redis fails here, as
    :class:`DependencyUnavailable` (and for :data:`BUILD_RETRY_SECONDS` without trying again)."""
    global _build_failed_at
    if time.monotonic() - _build_failed_at < BUILD_RETRY_SECONDS:
        raise DependencyUnavailable("redis", "Redis could not be reached moments ago")
    from redis import Redis
    from redis.exceptions import RedisClusterException, RedisError

    try:
        if cluster:
            from redis.cluster import RedisCluster

            return RedisCluster.from_url(url, retry=_retry(True), **options)
        return Redis.from_url(url, single_connection_client=True, retry=_retry(False), **options)
    except (RedisError, RedisClusterException, OSError) as exc:
        _build_failed_at = time.monotonic()
        what = "read the cluster's slot map" if cluster else "connect"
        raise DependencyUnavailable("redis", f"cannot {what}: {exc!r}") from exc


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
        _client = _build(settings.redis_url, settings.redis_cluster, options)
    return _client


def reset_redis() -> None:
    """Drop the client (tests point the process at another Redis)."""
    global _client, _build_failed_at
    if _client is not None:
        _client.close()
    _client = None
    _build_failed_at = float("-inf")


def command(client: Any, *args: Any) -> Any:
    """``client.execute_command(*args)`` for the hot paths, on the single-node client's one connection without
    redis-py's per-command wrapper (a retry closure, observability hooks, reply callbacks: about a tenth of a cached
    read on loopback, docs/benchmarks.md). The same connection, lock, timeouts and :func:`_retry` policy: a dropped
    connection (closed by redis-py when the error is raised) is replaced once, a timeout is raised. Replies are
    redis-py's raw ones (no command here has a callback). A cluster client runs the command as usual."""
    connection = getattr(client, "connection", None)
    if connection is None:
        return client.execute_command(*args)
    with client.single_connection_lock:
        try:
            connection.send_command(*args)
            return connection.read_response()
        except _dropped_connection():  # evaluated only when something was raised
            connection.send_command(*args)  # connects again
            return connection.read_response()


def _dropped_connection() -> type[Exception]:
    from redis.exceptions import ConnectionError as RedisConnectionError

    return RedisConnectionError
