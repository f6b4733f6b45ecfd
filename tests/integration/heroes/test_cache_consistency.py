"""The hero cache against the real Redis and MySQL: HIT/MISS/BYPASS, write-through, every view kept consistent
after writes, deletes and bulk loads, the classic reader/writer race, and the cost of a batch read."""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from chalicelib.core.mysql import get_database
from chalicelib.heroes import api
from chalicelib.heroes import cache as hero_cache
from tests.support.heroes import body, create, db_by_xp, db_row, generation, hero, send

pytestmark = pytest.mark.usefixtures("hero_table", "redis_mode")  # single node and cluster: conftest.py

ROW_SQL = "SELECT id, name, hero, power, xp, color, version FROM superheroes"


def get(client, path: str, headers: dict | None = None) -> tuple[object, str]:
    response = client.http.get(path, headers=headers or {})
    return body(response), response.headers.get("X-Cache")


def load_rows(where: str, params: tuple) -> list[dict]:
    with get_database().cursor() as cur:
        cur.execute(f"{ROW_SQL} WHERE {where} ORDER BY id", params)  # conditions written in these tests
        return list(cur.fetchall())


def load_by_xp(xps: list[int]) -> list[dict]:
    return load_rows(f"xp IN ({', '.join(['%s'] * len(xps))})", tuple(xps))


# ---------------------------------------------------------------- HIT, MISS, BYPASS


def test_a_read_misses_then_hits_and_a_create_writes_through(client, redis_client):
    created = create(client, xp=5)
    assert get(client, f"/heroes/{created['id']}") == (created, "HIT")  # the create stored it
    redis_client.flushdb()
    assert get(client, f"/heroes/{created['id']}") == (created, "MISS")
    assert get(client, f"/heroes/{created['id']}") == (created, "HIT")


def test_a_hit_serves_the_bytes_a_miss_and_a_bypass_serve(client, redis_client):
    created = create(client, name="bytes", xp=5)
    path = f"/heroes/{created['id']}"
    redis_client.flushdb()
    answers = [client.http.get(path), client.http.get(path), client.http.get(path + "?cache=false")]
    assert [a.headers["X-Cache"] for a in answers] == ["MISS", "HIT", "BYPASS"]
    assert {a.body for a in answers} == {json.dumps(created, separators=(",", ":")).encode()}
    assert len({tuple(sorted((k, v) for k, v in a.headers.items() if k != "X-Cache")) for a in answers}) == 1


def test_entries_live_the_configured_ttl_plus_jitter(client, redis_client, platform):
    created = create(client)
    ttl = int(platform["CACHE_TTL_SECONDS"])
    key = hero_cache.id_key(generation(redis_client), created["id"])
    assert ttl - 2 <= redis_client.ttl(key) <= ttl * (1 + hero_cache.TTL_JITTER)
    assert redis_client.get(key).startswith(b"1|")  # version 1


def test_no_cache_and_cache_false_read_mysql_but_writes_still_go_through(client, db):
    created = create(client, name="before")
    path = f"/heroes/{created['id']}"
    with db.cursor() as cur:  # a change the cache cannot know about
        cur.execute("UPDATE superheroes SET name = 'outside' WHERE id = %s", (created["id"],))
    assert get(client, path) == (created, "HIT")
    assert get(client, path, {"Cache-Control": "no-cache"}) == ({**created, "name": "outside"}, "BYPASS")
    assert get(client, path + "?cache=false") == ({**created, "name": "outside"}, "BYPASS")
    assert get(client, f"/heroes?xp={created['xp']}&cache=false")[1] == "BYPASS"
    assert get(client, "/heroes?limit=5", {"Cache-Control": "max-age=0, no-cache"})[1] == "BYPASS"

    send(client, "PATCH", path, {"name": "patched"}, headers={"Cache-Control": "no-cache"})
    assert get(client, path) == ({**created, "name": "patched"}, "HIT")


def test_an_unknown_id_is_cached_until_a_hero_gets_it(client):
    assert get(client, "/heroes/77")[1] == "MISS"
    assert get(client, "/heroes/77") == ({"Code": "NotFoundError", "Message": "no hero with id 77"}, "HIT")
    with get_database().cursor() as cur:
        cur.execute("ALTER TABLE superheroes AUTO_INCREMENT = 77")
    created = create(client)
    assert created["id"] == 77
    assert get(client, "/heroes/77") == (created, "HIT")


# ---------------------------------------------------------------- views stay consistent


def test_a_write_that_changes_xp_leaves_no_trace_in_the_old_xp(client, db):
    moved, stays = create(client, xp=5), create(client, xp=5)
    assert get(client, "/heroes?xp=5,6") == ({"items": [moved, stays]}, "MISS")
    assert get(client, "/heroes?xp=5,6")[1] == "HIT"

    send(client, "PATCH", f"/heroes/{moved['id']}", {"xp": 6})
    assert get(client, "/heroes?xp=5")[0] == {"items": db_by_xp(db, 5)} == {"items": [stays]}
    assert get(client, "/heroes?xp=6")[0] == {"items": db_by_xp(db, 6)} == {"items": [{**moved, "xp": 6}]}
    assert get(client, f"/heroes/{moved['id']}") == ({**moved, "xp": 6}, "HIT")

    send(client, "PUT", f"/heroes/{stays['id']}", hero(name="renamed", xp=5))
    assert get(client, "/heroes?xp=5")[0] == {"items": [{**stays, "name": "renamed"}]}


def test_a_delete_removes_the_hero_from_every_view(client):
    doomed, other = create(client, xp=9), create(client, xp=9)
    for path in (f"/heroes/{doomed['id']}", "/heroes?xp=9", "/heroes?limit=10"):
        get(client, path)
        assert get(client, path)[1] == "HIT"
    assert client.http.delete(f"/heroes/{doomed['id']}").status_code == 204
    assert client.http.get(f"/heroes/{doomed['id']}").status_code == 404
    assert get(client, "/heroes?xp=9")[0] == {"items": [other]}
    assert get(client, "/heroes?limit=10")[0] == {"items": [other], "next": None}


def test_pages_are_cached_until_any_write(client):
    first = create(client)
    assert get(client, "/heroes?limit=10") == ({"items": [first], "next": None}, "MISS")
    assert get(client, "/heroes?limit=10")[1] == "HIT"
    second = create(client)
    assert get(client, "/heroes?limit=10") == ({"items": [first, second], "next": None}, "MISS")


def test_invalidate_all_heroes_drops_every_view_at_once(client, db, redis_client):
    created = create(client, xp=3)
    get(client, "/heroes?xp=3")
    with db.cursor() as cur:  # what a bulk load does: change rows behind the cache's back
        cur.execute("UPDATE superheroes SET name = 'loaded', xp = 4 WHERE id = %s", (created["id"],))
    before = int(generation(redis_client))
    hero_cache.invalidate_all_heroes()
    assert int(generation(redis_client)) == before + 1
    assert get(client, f"/heroes/{created['id']}") == ({**created, "name": "loaded", "xp": 4}, "MISS")
    assert get(client, "/heroes?xp=3") == ({"items": []}, "MISS")


# ---------------------------------------------------------------- the classic race, made deterministic
# The loader passed to the cache reads MySQL and then lets a writer commit before the reader fills the cache:
# exactly the interleaving in which a naive cache-aside keeps the old row forever.


def test_a_reader_that_read_before_an_update_cannot_overwrite_it(client, redis_client):
    created = create(client, name="old")
    redis_client.flushdb()

    def read_then_let_a_writer_commit(hero_id: int) -> dict:
        (row,) = load_rows("id = %s", (hero_id,))
        send(client, "PATCH", f"/heroes/{hero_id}", {"name": "new"})
        return row

    stale, status = hero_cache.hero_by_id(created["id"], read_then_let_a_writer_commit, use_cache=True)
    assert (json.loads(stale)["name"], status) == ("old", "MISS")  # the hero's JSON text, as served
    assert get(client, f"/heroes/{created['id']}") == ({**created, "name": "new"}, "HIT")


def test_a_reader_that_read_before_a_delete_cannot_bring_the_hero_back(client, redis_client):
    created = create(client)
    redis_client.flushdb()

    def read_then_let_a_delete_commit(hero_id: int) -> dict:
        (row,) = load_rows("id = %s", (hero_id,))
        client.http.delete(f"/heroes/{hero_id}")
        return row

    hero_cache.hero_by_id(created["id"], read_then_let_a_delete_commit, use_cache=True)
    assert get(client, f"/heroes/{created['id']}")[0]["Code"] == "NotFoundError"


@pytest.mark.parametrize(("start_xp", "new_xp"), [(5, 6), (6, 5)], ids=["moved-out", "moved-in"])
def test_an_xp_reader_that_read_before_a_move_cannot_keep_the_old_answer(client, db, start_xp, new_xp):
    created = create(client, xp=start_xp)

    def read_then_let_a_move_commit(xps: list[int]) -> list[dict]:
        rows = load_by_xp(xps)
        send(client, "PATCH", f"/heroes/{created['id']}", {"xp": new_xp})
        return rows

    hero_cache.heroes_by_xp([5], read_then_let_a_move_commit, use_cache=True)
    assert get(client, "/heroes?xp=5")[0] == {"items": db_by_xp(db, 5)}
    assert get(client, "/heroes?xp=5") == ({"items": db_by_xp(db, 5)}, "HIT")


def test_a_reader_that_read_before_a_bulk_load_cannot_fill_the_new_generation(client, db):
    created = create(client, name="old")

    def read_then_let_a_bulk_load_commit(hero_id: int) -> dict:
        (row,) = load_rows("id = %s", (hero_id,))
        with db.cursor() as cur:
            cur.execute("UPDATE superheroes SET name = 'loaded' WHERE id = %s", (hero_id,))
        hero_cache.invalidate_all_heroes()
        return row

    hero_cache.heroes_by_xp([created["xp"]], lambda xps: [read_then_let_a_bulk_load_commit(created["id"])],
                            use_cache=True)  # fmt: skip
    hero_cache.invalidate_all_heroes()
    hero_cache.hero_by_id(created["id"], read_then_let_a_bulk_load_commit, use_cache=True)
    assert get(client, f"/heroes/{created['id']}")[0]["name"] == "loaded"
    assert get(client, f"/heroes?xp={created['xp']}")[0]["items"][0]["name"] == "loaded"


def test_a_write_that_began_before_a_bulk_load_does_not_write_into_the_new_generation(client, db):
    created = create(client, name="api")
    ticket = hero_cache.before_write()
    with db.cursor() as cur:
        cur.execute("UPDATE superheroes SET name = 'loaded' WHERE id = %s", (created["id"],))
    hero_cache.invalidate_all_heroes()
    hero_cache.after_write(ticket, stored=[{**created, "version": 99}], xps=[created["xp"]])
    assert get(client, f"/heroes/{created['id']}") == ({**created, "name": "loaded"}, "MISS")


# ---------------------------------------------------------------- the race, for real


def _guarded(work, failures: list[Exception]) -> threading.Thread:
    """A thread running ``work``; what it raises goes to ``failures`` (a thread cannot fail the test by itself)."""

    def run():
        try:
            work()
        except Exception as exc:  # reported by the test
            failures.append(exc)

    return threading.Thread(target=run)


def _write(hero_id: str, xps: list[int], seed: int) -> None:
    """40 replaces or updates of hero ``hero_id``, as a client would send them."""
    rng = random.Random(seed)
    for i in range(40):
        change = {"xp": rng.choice(xps), "name": f"w{seed}-{i}"}
        if rng.random() < 0.2:
            api.replace_hero(hero_id, json.dumps(hero(**change)))
        else:
            api.update_hero(hero_id, json.dumps(change))


def _slowly(rows):  # a reader paused between its SQL read and its cache fill, as a busy Lambda may be
    time.sleep(random.uniform(0, 0.004))
    return rows


def _read_until(stop: threading.Event, target_id: int, xps: list[int]) -> None:
    """Every read path of hero ``target_id`` and of ``xps``, again and again until ``stop``."""
    hero_id = str(target_id)
    while not stop.is_set():
        api.get_hero(hero_id, {}, None)
        hero_cache.hero_by_id(target_id, lambda i: _slowly(load_rows("id = %s", (i,)))[0], use_cache=True)
        hero_cache.heroes_by_xp(xps, lambda x: _slowly(load_by_xp(x)), use_cache=True)
        api.list_heroes({"xp": [str(random.choice(xps))]}, None)
        api.list_heroes({"limit": ["10"]}, None)


def test_concurrent_writers_and_readers_leave_every_read_path_equal_to_the_database(client, db):
    """Threads call the functions the routes call (``chalice.test.Client`` keeps one current request per app, so
    it cannot be shared between threads), some readers with a pause between their SQL read and their fill to
    widen the race window; each thread has its own MySQL connection."""
    target, neighbour = create(client, xp=1), create(client, xp=2)
    xps = [1, 2, 3]
    hero_id = str(target["id"])
    stop, failures = threading.Event(), []

    writers = [_guarded(lambda s=s: _write(hero_id, xps, s), failures) for s in range(4)]
    readers = [_guarded(lambda: _read_until(stop, target["id"], xps), failures) for _ in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert failures == []

    stored = db_row(db, target["id"])
    assert stored["name"].startswith("w")
    for _ in range(2):  # the first read may refill an expired or never-filled view; both must be right
        assert get(client, f"/heroes/{hero_id}")[0] == stored
        for xp in xps:
            assert get(client, f"/heroes?xp={xp}")[0] == {"items": db_by_xp(db, xp)}
        assert get(client, "/heroes?xp=1,2,3")[0] == {"items": [*db_by_xp(db, 1), *db_by_xp(db, 2), *db_by_xp(db, 3)]}
        assert get(client, "/heroes?limit=10")[0] == {"items": sorted([stored, neighbour], key=lambda h: h["id"]),
                                                      "next": None}  # fmt: skip
    assert get(client, f"/heroes/{hero_id}")[1] == "HIT"
    assert get(client, "/heroes?xp=1,2,3")[1] == "HIT"


# ---------------------------------------------------------------- what a batch read costs


@contextmanager
def redis_commands(redis_client) -> Iterator[list[str]]:
    """The commands clients send to our Redis db index while the block runs, seen through MONITOR (scripts'
    own calls excluded): each one is a round trip."""
    kwargs = redis_client.connection_pool.connection_kwargs
    watcher, signaller = (redis.Redis(host=kwargs["host"], port=kwargs["port"], db=kwargs["db"]) for _ in "ab")
    signaller.ping()  # connected (and its db selected) before counting starts
    marker = f"end-of-count-{secrets.token_hex(4)}"
    commands: list[str] = []
    with watcher.monitor() as monitor:
        yield commands
        signaller.echo(marker)
        for event in monitor.listen():
            if marker in event["command"]:
                break
            if event["db"] == kwargs["db"] and event.get("client_type") != "lua":
                commands.append(event["command"].split()[0].upper())


def news_just_read() -> None:
    """The counts are the requests' own: the cache's check for news of missed writes (one SELECT a second per
    process, docs/heroes-api.md) is not due during the next second."""
    hero_cache._news.read_at = time.monotonic()


def session_selects() -> int:
    with get_database().cursor(dicts=False) as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Com_select'")
        return int(cur.fetchone()[1])


@pytest.mark.redis_modes("single")  # counts commands with MONITOR on the one server's db index
def test_a_batch_xp_read_costs_one_round_trip_when_cached_and_one_query_for_the_misses(client, redis_client):
    created = body(send(client, "POST", "/heroes", [hero(xp=xp) for xp in range(100, 150)]))
    get(client, "/heroes?xp=100")  # connect, so no handshake is counted below
    query = "/heroes?xp=" + ",".join(str(xp) for xp in range(100, 150))

    news_just_read()
    selects = session_selects()
    with redis_commands(redis_client) as commands:
        items, status = get(client, query)
    assert (items, status) == ({"items": created}, "MISS")
    assert session_selects() - selects == 1  # one SELECT for the 49 missing xp values
    assert commands == ["EVALSHA", "EVALSHA"]  # read (with leases), then fill

    news_just_read()
    selects = session_selects()
    with redis_commands(redis_client) as commands:
        assert get(client, query) == ({"items": created}, "HIT")
    assert commands == ["EVALSHA"]
    assert session_selects() - selects == 0
