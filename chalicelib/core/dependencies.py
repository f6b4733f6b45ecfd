"""``GET /health``: is each dependency reachable right now?"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.core.logs import log_event
from chalicelib.core.mysql import get_database
from chalicelib.core.redis_client import get_redis


def _check_mysql() -> str:
    with get_database().cursor(dicts=False) as cur:
        cur.execute("SELECT 1")
    return "ok"


def _check_redis() -> str:
    get_redis().ping()
    return "ok"


def dependency_status() -> tuple[bool, dict[str, Any]]:
    """``(healthy, body)``: the body names each dependency with ``ok`` or ``unavailable``; why
    it is down (the driver's error, which may name a host) goes to the log line only."""
    checks = {"mysql": _check_mysql, "redis": _check_redis}
    body: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            body[name] = check()
        except Exception as exc:  # any failure of a dependency is reported, not raised
            log_event("dependency unavailable", logging.WARNING, dependency=name, detail=repr(exc))
            body[name] = "unavailable"
    healthy = all(value == "ok" for value in body.values())
    return healthy, {"status": "ok" if healthy else "degraded", **body}
