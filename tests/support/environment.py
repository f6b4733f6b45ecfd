"""Where the tests' state lives, apart from what ``make run`` serves: their own database names (``test_platform``
plus ``TEST_ISOLATION``) and Redis db index (``TEST_REDIS_DB``, default 15); and how a test makes the app read a
changed environment again."""

from __future__ import annotations

import os

from chalicelib.core import aws
from chalicelib.core.mysql import reset_databases
from chalicelib.core.redis_client import reset_redis
from chalicelib.core.settings import get_settings
from chalicelib.core.tokens import verifier_for

SUFFIX = os.environ.get("TEST_ISOLATION", "")
TEST_DB_NAME = f"test_platform{SUFFIX}"
TEST_PRIVATE_DB_NAME = f"test_platform_private{SUFFIX}"
TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))


def reset_clients() -> None:
    """Forget every cached client and the parsed settings, so the next use reads the environment again. The token
    verifiers too: each is kept per JWKS URL with the key set it fetched, and a test's issuer (new keys) may be
    served on the port an earlier test's issuer had, so a kept one would refuse the new keys' tokens."""
    get_settings.cache_clear()
    reset_databases()
    reset_redis()
    aws.reset_clients()
    verifier_for.cache_clear()
