"""Waiting and telling: a MySQL that hangs (a stopped process, a network black hole) costs an API request at
most the API's own bounds (connect + query timeout, far inside API Gateway's 29 s), after which it answers 503
with ``Retry-After`` naming the dependency only; ``GET /health`` too. The driver's text (which names the host)
goes to the log line, never to the client."""

from __future__ import annotations

import time

import pytest

from chalicelib.core.settings import Timeouts, get_settings, parse_settings
from tests.support.environment import reset_clients
from tests.support.heroes import body, create, hero, send

pytestmark = pytest.mark.usefixtures("hero_table")

API_GATEWAY_LIMIT_SECONDS = 29


def api_bound() -> float:
    """The longest an API request may wait for MySQL: connect (with the handshake) plus one statement's read."""
    timeouts = get_settings().timeouts
    return timeouts.db_connect_seconds + timeouts.db_query_seconds


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_names_mysql_only(response) -> None:
    assert response.status_code == 503, response.body
    assert response.headers["Retry-After"] == "5"
    assert body(response) == {"Code": "ServiceUnavailable", "Message": "mysql is unavailable right now; retry later"}


def test_the_api_defaults_bound_every_wait_well_inside_api_gateway():
    defaults = parse_settings({}).timeouts
    assert defaults == Timeouts(db_connect_seconds=2, db_query_seconds=5, redis_ms=500)
    assert defaults.db_connect_seconds + defaults.db_query_seconds + defaults.redis_ms / 1000 < 10


def test_a_patch_on_a_warm_connection_to_a_hung_mysql_answers_503_within_the_bound(client, mysql_proxy, logged):
    created = create(client)  # the connection is open and warm
    mysql_proxy.freeze()
    response, elapsed = timed(lambda: send(client, "PATCH", f"/heroes/{created['id']}", {"xp": 1}))
    assert_names_mysql_only(response)
    assert elapsed < min(api_bound() + 1.5, API_GATEWAY_LIMIT_SECONDS), elapsed
    details = [fields["detail"] for fields in logged.fields("dependency unavailable")]
    assert details and "Lost connection" in details[0]  # the driver's words are in the log line, for operators


def test_a_new_connection_to_a_hung_mysql_answers_503_within_the_connect_bound(client, mysql_proxy):
    mysql_proxy.stop()
    mysql_proxy.blackhole = True  # accepts the TCP connection, never sends the handshake
    mysql_proxy.start()
    response, elapsed = timed(lambda: client.http.get("/heroes?limit=5&cache=false"))
    assert_names_mysql_only(response)
    assert elapsed < get_settings().timeouts.db_connect_seconds + 1.5, elapsed


def test_health_with_a_hung_mysql_answers_503_without_driver_text_or_host(client, mysql_proxy):
    assert client.http.get("/health").status_code == 200
    mysql_proxy.freeze()
    response, elapsed = timed(lambda: client.http.get("/health"))
    assert response.status_code == 503
    assert body(response) == {"status": "degraded", "mysql": "unavailable", "redis": "ok"}
    assert elapsed < api_bound() + 1.5, elapsed


def test_a_503_never_carries_the_drivers_text(client, monkeypatch):
    monkeypatch.setenv("DB_PORT", "1")  # nothing listens: the driver says "Can't connect to MySQL server on ..."
    reset_clients()
    responses = [
        client.http.get("/heroes/1?cache=false"),
        send(client, "POST", "/heroes", hero()),
        client.http.get("/health"),
    ]
    for response in responses:
        text = response.body.decode()
        assert response.status_code == 503
        assert "127.0.0.1" not in text and "Can't connect" not in text and "2003" not in text, text
