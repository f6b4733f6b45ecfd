"""Redis or MySQL going away and coming back, with the app kept running: hero reads fall back to MySQL
(``X-Cache: BYPASS``) without Redis, hero routes answer 503 without MySQL, and both recover by themselves."""

from __future__ import annotations

import time

import pytest

from chalicelib.core.settings import get_settings
from chalicelib.heroes import cache as hero_cache
from tests.support.environment import reset_clients
from tests.support.heroes import body, create, db_row, hero, send
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.usefixtures("hero_table")


@pytest.fixture
def redis_proxy(platform, monkeypatch):
    """The app's Redis reached through a proxy the test can cut."""
    db_index = platform["REDIS_URL"].rsplit("/", 1)[1]
    proxy = TcpProxy(("127.0.0.1", 6379)).start()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{proxy.port}/{db_index}")
    reset_clients()
    yield proxy
    proxy.stop()


def read(client, path: str) -> tuple[int, object, str | None]:
    response = client.http.get(path)
    return response.status_code, body(response), response.headers.get("X-Cache")


def test_with_redis_unreachable_reads_come_from_mysql_and_writes_succeed(client, db, monkeypatch):
    created = create(client, xp=5)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    reset_clients()

    assert read(client, f"/heroes/{created['id']}") == (200, created, "BYPASS")
    assert read(client, "/heroes?xp=5") == (200, {"items": [created]}, "BYPASS")
    assert read(client, "/heroes?limit=5") == (200, {"items": [created], "next": None}, "BYPASS")
    assert read(client, "/heroes/999999")[::2] == (404, "BYPASS")

    second = create(client, xp=6)
    assert db_row(db, second["id"]) == second
    assert body(send(client, "PATCH", f"/heroes/{second['id']}", {"xp": 7})) == {**second, "xp": 7}
    assert db_row(db, second["id"])["xp"] == 7
    assert body(send(client, "PUT", f"/heroes/{created['id']}", hero(name="put"))) == {
        **hero(name="put"),
        "id": created["id"],
    }
    assert client.http.delete(f"/heroes/{second['id']}").status_code == 204
    assert db_row(db, second["id"]) is None
    mp6 = send(client, "POST", "/mp6", {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1000]})
    assert (body(mp6), mp6.headers["X-Cache"]) == ({"statusCode": 200, "body": [db_row(db, created["id"])]}, "BYPASS")


def test_redis_outage_and_recovery_without_restart_never_serves_what_changed_meanwhile(client, db, redis_proxy):
    created = create(client, name="before", xp=5)
    path = f"/heroes/{created['id']}"
    assert read(client, path)[2] == "HIT"
    assert read(client, "/heroes?xp=5")[2] in {"MISS", "HIT"}

    redis_proxy.stop()  # the cached entries survive in Redis, as in a network partition
    assert read(client, path) == (200, created, "BYPASS")
    assert body(send(client, "PATCH", path, {"name": "during", "xp": 6})) == {**created, "name": "during", "xp": 6}
    assert read(client, path)[2] == "BYPASS"  # the circuit is open: Redis is not even tried

    redis_proxy.start()
    time.sleep(hero_cache.BREAKER_SECONDS)
    changed = {**created, "name": "during", "xp": 6}
    assert read(client, path) == (200, changed, "MISS")  # the write Redis missed invalidated the old entry
    assert read(client, path) == (200, changed, "HIT")
    assert read(client, "/heroes?xp=5")[1] == {"items": []}


def timed_read(client, path: str) -> tuple[tuple[int, object, str | None], float]:
    started = time.monotonic()
    answer = read(client, path)
    return answer, time.monotonic() - started


def test_a_redis_that_hangs_costs_one_timeout_then_reads_bypass_it(client, redis_proxy):
    created = create(client)
    redis_proxy.stop()
    redis_proxy.blackhole = True  # accepts connections, never answers
    redis_proxy.start()
    timeout = get_settings().timeouts.redis_ms / 1000
    answer, first = timed_read(client, f"/heroes/{created['id']}")
    assert answer == (200, created, "BYPASS")
    assert first < 2 * timeout + 0.5, first  # one timeout, not redis-py's default retries (8-10 s with 500 ms)
    answer, second = timed_read(client, f"/heroes/{created['id']}")
    assert answer == (200, created, "BYPASS")
    assert second < timeout, second  # the breaker is open: Redis is not waited for again


def test_a_dropped_redis_connection_is_replaced_without_a_miss(client, redis_proxy):
    created = create(client)
    path = f"/heroes/{created['id']}"
    assert read(client, path)[2] == "HIT"
    redis_proxy.stop()  # drops the app's open connection
    redis_proxy.start()
    assert read(client, path) == (200, created, "HIT")  # sent again once on a new connection


def test_with_mysql_unreachable_hero_routes_answer_503_and_recover_without_restart(client, mysql_proxy):
    created = create(client)
    path = f"/heroes/{created['id']}"
    mysql_proxy.stop()

    for method, route, payload in [
        ("GET", path + "?cache=false", None),
        ("GET", "/heroes?xp=424242", None),
        ("GET", "/heroes?limit=3", None),
        ("POST", "/heroes", hero()),
        ("PUT", path, hero()),
        ("PATCH", path, {"xp": 1}),
        ("DELETE", path, None),
        ("POST", "/mp6", {"USE_CACHE": "False", "REQUEST": "read", "SQLS": [1]}),
    ]:
        response = send(client, method, route, payload)
        assert response.status_code == 503, (method, route, response.body)
        assert body(response)["Code"] == "ServiceUnavailable"
        assert body(response)["Message"].startswith("mysql is unavailable")
        assert response.headers["Retry-After"] == "5"
    assert read(client, path) == (200, created, "HIT")  # what the cache holds is still served

    mysql_proxy.start()
    assert read(client, path + "?cache=false") == (200, created, "BYPASS")
    assert send(client, "PATCH", path, {"xp": 1}).status_code == 200


def test_with_mysql_on_a_closed_port_hero_routes_answer_503(client, monkeypatch):
    monkeypatch.setenv("DB_PORT", "1")
    reset_clients()
    response = client.http.get("/heroes/1")
    assert response.status_code == 503
    assert body(response)["Code"] == "ServiceUnavailable"
