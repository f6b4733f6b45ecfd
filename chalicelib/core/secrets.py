"""Secrets Manager secrets read at run time: a warm container keeps a secret for at most
:data:`MAX_AGE_SECONDS`, so a rotated password reaches the functions without a deploy. The databases' secrets
rotate with two alternating users (infra/platform.yaml), so the previous password keeps working for a whole
rotation period: a cached value is never more than one rotation behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from chalicelib.core import aws
from chalicelib.core.settings import ConfigError

MAX_AGE_SECONDS = 300

_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def secret_json(arn: str, now: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """The JSON object stored in secret ``arn``, read again once the cached copy is older than the maximum age."""
    cached = _cache.get(arn)
    if cached is None or now() - cached[0] >= MAX_AGE_SECONDS:
        with aws.unavailable_as("secretsmanager"):
            raw = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ConfigError(f"secret {arn} does not hold a JSON object")
        cached = (now(), value)
        _cache[arn] = cached
    return cached[1]


def forget(arn: str | None = None) -> None:
    """Read ``arn`` (every secret without one) again on next use: after a failed login, the password may have
    just been rotated."""
    if arn is None:
        _cache.clear()
    else:
        _cache.pop(arn, None)
