"""Redis loses or rolls back the generation keys (a FLUSH of the control slot's node, a restarted node that
owned ``{hero}`` without persistence, a failover to an asynchronous replica that had not received the last
bumps) while the entries of older generations live on, within their TTL, on the other slots or nodes. No
generation value is ever used twice, so none of those entries is served again."""

from __future__ import annotations

import pytest

from chalicelib.heroes import cache as hero_cache
from tests.support.heroes import body, create, generation

pytestmark = pytest.mark.usefixtures("hero_table", "redis_mode")  # single node and cluster: conftest.py

CONTROL_KEYS = (hero_cache.GENERATION_KEY, hero_cache.LIST_GENERATION_KEY)


def get(client, path: str) -> tuple[object, str]:
    response = client.http.get(path)
    return body(response), response.headers.get("X-Cache")


def cache_every_view(client) -> tuple[dict, list[str]]:
    """A hero cached in every view as ``before``: the hero and its views' paths."""
    created = create(client, name="before", xp=5)
    paths = [f"/heroes/{created['id']}", "/heroes?xp=5", "/heroes?limit=10"]
    for path in paths:
        get(client, path)
        assert get(client, path)[1] == "HIT"
    return created, paths


def bulk_load(client, db, created: dict, paths: list[str]) -> dict:
    """A bulk load renames the hero ``loaded`` and bumps the generation; every view is read again (the new
    generation filled, the old one's entries left within their TTL). Returns the loaded hero."""
    with db.cursor() as cur:
        cur.execute("UPDATE superheroes SET name = 'loaded' WHERE id = %s", (created["id"],))
    hero_cache.invalidate_all_heroes()
    for path in paths:
        get(client, path)
    return {**created, "name": "loaded"}


def assert_every_view_serves(client, paths: list[str], loaded: dict) -> None:
    for _ in range(2):  # the first read may refill; neither may serve the hero from before the bulk load
        assert get(client, paths[0])[0] == loaded
        assert get(client, paths[1])[0] == {"items": [loaded]}
        assert get(client, paths[2])[0] == {"items": [loaded], "next": None}


@pytest.mark.parametrize("reader", ["this process", "a new process"])
def test_lost_generation_keys_are_created_anew_and_no_old_entry_is_served(
    client, db, redis_client, monkeypatch, reader
):
    created, paths = cache_every_view(client)
    loaded = bulk_load(client, db, created, paths)
    newest = int(generation(redis_client))
    redis_client.delete(*CONTROL_KEYS)  # as after a FLUSH or a restart without persistence
    if reader == "a new process":  # a cold start: it has seen no generation yet
        monkeypatch.setattr(hero_cache, "_seen", hero_cache._Generations())

    assert get(client, paths[0]) == (loaded, "MISS")
    assert int(generation(redis_client)) > newest  # never a value it held before
    assert_every_view_serves(client, paths, loaded)


def test_generation_keys_rolled_back_by_a_failover_move_past_what_was_seen(client, db, redis_client):
    created, paths = cache_every_view(client)
    older = {key: redis_client.get(key) for key in CONTROL_KEYS}
    loaded = bulk_load(client, db, created, paths)
    newest = int(generation(redis_client))
    redis_client.mset(older)  # what an asynchronous replica that missed the bumps holds after a failover

    assert get(client, paths[0]) == (loaded, "MISS")  # this process saw the newer generation
    assert int(generation(redis_client)) > newest
    assert_every_view_serves(client, paths, loaded)


def test_scripts_a_restarted_node_forgot_are_loaded_again(client, redis_client):
    created = create(client, name="before")
    path = f"/heroes/{created['id']}"
    redis_client.script_flush()  # what a restarted or newly promoted node knows of the cache's scripts
    patched = client.http.patch(path, headers={"Content-Type": "application/json"}, body='{"name": "after"}')
    assert (patched.status_code, body(patched)) == (200, {**created, "name": "after"})
    assert get(client, path) == ({**created, "name": "after"}, "HIT")
