"""The service fixtures: the real local MariaDB and Redis, and moto's server as the AWS endpoint; a plugin the
integration and deploy tiers' ``conftest.py`` register (the unit tier never loads it).

Tests use their own database and Redis db index (:mod:`tests.support.environment`), so they never touch what
``make run`` serves and can run while it is up.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import boto3
import pytest
from chalice.test import Client
from moto.server import ThreadedMotoServer

from chalicelib.core.mysql import Database, get_database
from chalicelib.core.redis_client import get_redis
from chalicelib.core.settings import parse_settings
from chalicelib.heroes import cache as hero_cache
from devtools.local_aws import EMULATOR_CREDENTIALS, create_stage_resources
from devtools.localdb import prepare_database
from devtools.seed import CAFE_TABLES, seed_cafe
from devtools.stage import stage_environment
from tests.support.environment import TEST_DB_NAME, TEST_PRIVATE_DB_NAME, TEST_REDIS_DB, reset_clients
from tests.support.sns_inbox import subscribe_queue, unsubscribe_queue
from tests.support.tcp_proxy import TcpProxy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def test_environment(aws_endpoint: str) -> dict[str, str]:
    """The local stage's settings, pointed at the test database, Redis index and emulator."""
    env = stage_environment("local")
    env.update(
        DB_NAME=TEST_DB_NAME,
        REDIS_URL=f"redis://127.0.0.1:6379/{TEST_REDIS_DB}",
        ANALYSIS_SOURCES=f'{{"public": {{}}, "private": {{"DB_NAME": "{TEST_PRIVATE_DB_NAME}"}}}}',
        AWS_ENDPOINT_URL=aws_endpoint,
        **EMULATOR_CREDENTIALS,
    )
    os.environ.update(env)
    reset_clients()
    create_stage_resources(env)
    return env


@pytest.fixture(scope="session")
def migrated(test_environment: dict[str, str]) -> Database:
    """The test database with every migration applied."""
    settings = parse_settings(test_environment)
    prepare_database(settings.db)
    return get_database()


@pytest.fixture
def platform(migrated: Database, test_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A clean slate for one test: the session's environment restored, empty Redis index, fresh clients, and the
    hero cache as a new process finds it with no news of missed writes. Its news (``cache_invalidations``, which
    writes that missed Redis leave) outlives a test, and so does what this process read of it, so without that
    a later test's cache was invalidated by an earlier test's news at whichever request came a second after the
    last check: between a write and its write-through once (a MISS where a HIT was due)."""
    for name, value in test_environment.items():
        monkeypatch.setenv(name, value)
    reset_clients()
    get_redis().flushdb()
    with get_database().cursor() as cur:
        cur.execute("DELETE FROM cache_invalidations")
    hero_cache.reset_process_state()
    yield test_environment
    reset_clients()


@pytest.fixture
def db(platform: dict) -> Database:
    return get_database()


@pytest.fixture
def redis_client(platform: dict):
    return get_redis()


@pytest.fixture
def client(platform: dict) -> Iterator[Client]:
    """``chalice.test.Client`` on the app. Stage ``test`` is not declared in config.json, so the Client adds no
    stage variables over the test environment."""
    from app import app

    with Client(app, stage_name="test") as test_client:
        yield test_client


@pytest.fixture
def mysql_proxy(platform: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[TcpProxy]:
    """The app's MySQL reached through a proxy the test can cut (``stop``) or make hang (``freeze``)."""
    proxy = TcpProxy(("127.0.0.1", int(platform["DB_PORT"]))).start()
    monkeypatch.setenv("DB_PORT", str(proxy.port))
    reset_clients()
    yield proxy
    proxy.thaw()
    proxy.stop()


@pytest.fixture
def s3(platform: dict):
    return boto3.client("s3")


@pytest.fixture
def cafe(db: Database) -> Database:
    """The café tables holding exactly the sample data of ``data/cafe`` (what ``make run`` seeds)."""
    with db.cursor() as cur:
        for table in reversed(CAFE_TABLES):
            cur.execute(f"DELETE FROM `{table}`")  # noqa: S608 - table names from CAFE_TABLES
    seed_cafe(db)
    return db


@pytest.fixture
def hero_table(db: Database) -> Database:
    """An empty ``superheroes`` table (and, through ``platform``, an empty cache)."""
    with db.cursor() as cur:
        cur.execute("DELETE FROM superheroes")
    return db


@pytest.fixture
def report_queue(platform: dict) -> Iterator[str]:
    """An SQS queue subscribed to REPORT_TOPIC_ARN: what an email subscriber would receive during the test."""
    url, subscription = subscribe_queue(platform["REPORT_TOPIC_ARN"])
    yield url
    unsubscribe_queue(url, subscription)
