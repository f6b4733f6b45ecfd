"""Cluster mode (``REDIS_CLUSTER=true``) against a real 3-node Redis Cluster: the hero cache spreads over every
node (a hash tag per hero and per xp value) while the other cache modules show its guarantees there; ``GET
/health`` checks every node; a cluster that cannot be reached costs reads their cache, never a request."""

from __future__ import annotations

import json
import time

import pytest
from redis.crc import key_slot

from chalicelib.heroes import cache as hero_cache
from tests.support.environment import reset_clients
from tests.support.heroes import body, generation, hero, send

HEROES = 60


def node_keys(redis_cluster) -> dict[int, list[bytes]]:
    """Each node's keys, read from the node itself (no routing): where the cache really lives."""
    keys = {}
    for port in redis_cluster.ports:
        with redis_cluster.node(port) as node:
            keys[port] = list(node.scan_iter(count=1000))
    return keys


@pytest.mark.redis_modes("cluster")
@pytest.mark.usefixtures("hero_table", "redis_mode")
def test_hero_entries_spread_over_every_node_and_are_served_from_there(client, redis_cluster):
    created = body(send(client, "POST", "/heroes", [hero(name=f"h{i}", xp=i) for i in range(HEROES)]))
    for item in created:
        assert client.http.get(f"/heroes/{item['id']}").headers["X-Cache"] == "HIT"  # the create stored it
    xps = ",".join(str(i) for i in range(HEROES))
    assert client.http.get(f"/heroes?xp={xps}").headers["X-Cache"] == "MISS"
    batch = client.http.get(f"/heroes?xp={xps}")
    assert (body(batch), batch.headers["X-Cache"]) == ({"items": created}, "HIT")
    client.http.get("/heroes?limit=10")
    assert client.http.get("/heroes?limit=10").headers["X-Cache"] == "HIT"

    keys = node_keys(redis_cluster)
    ids = {port: [k for k in found if k.endswith(b":id")] for port, found in keys.items()}
    lists = {port: [k for k in found if k.endswith(b":xp")] for port, found in keys.items()}
    assert sum(map(len, ids.values())) == HEROES and sum(map(len, lists.values())) == HEROES
    assert all(ids.values()) and all(lists.values()), {p: (len(ids[p]), len(lists[p])) for p in keys}
    control = [port for port, found in keys.items() if hero_cache.LIST_GENERATION_KEY.encode() in found]
    assert len(control) == 1 and any(b":list:" in k for k in keys[control[0]])  # pages beside the generations
    slots = {key_slot(k) for found in keys.values() for k in found}
    print(f"{len(slots)} slots; keys per node: { {port: len(found) for port, found in keys.items()} }")


@pytest.mark.usefixtures("redis_mode")
def test_health_checks_the_cache_in_each_mode(client):
    response = client.http.get("/health")
    assert (response.status_code, json.loads(response.body)) == (200, {"status": "ok", "mysql": "ok", "redis": "ok"})


@pytest.mark.usefixtures("hero_table")
def test_with_no_cluster_node_answering_reads_bypass_writes_succeed_and_health_names_redis(client, monkeypatch):
    monkeypatch.setenv("REDIS_CLUSTER", "true")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    reset_clients()
    created = body(send(client, "POST", "/heroes", hero(name="written")))
    read = client.http.get(f"/heroes/{created['id']}")
    assert (read.status_code, body(read), read.headers["X-Cache"]) == (200, created, "BYPASS")
    health = client.http.get("/health")
    assert (health.status_code, json.loads(health.body)) == (
        503, {"status": "degraded", "mysql": "ok", "redis": "unavailable"}
    )  # fmt: skip


@pytest.mark.redis_modes("cluster")
@pytest.mark.usefixtures("hero_table", "redis_mode")
def test_a_node_that_hangs_costs_reads_the_cache_and_nothing_it_missed_is_served_after(
    client, redis_client, redis_cluster
):
    created = body(send(client, "POST", "/heroes", hero(name="before", xp=5)))
    path = f"/heroes/{created['id']}"
    assert client.http.get(path).headers["X-Cache"] == "HIT"
    owner = redis_client.get_node_from_key(hero_cache.id_key(generation(redis_client), created["id"])).port

    with redis_cluster.frozen(owner):  # its entries survive, as in a partition
        read = client.http.get(path)
        assert (read.status_code, body(read), read.headers["X-Cache"]) == (200, created, "BYPASS")
        patched = send(client, "PATCH", path, {"name": "during", "xp": 6})
        assert (patched.status_code, body(patched)) == (200, {**created, "name": "during", "xp": 6})
    time.sleep(hero_cache.BREAKER_SECONDS)

    changed = {**created, "name": "during", "xp": 6}
    read = client.http.get(path)
    assert (body(read), read.headers["X-Cache"]) == (changed, "MISS")  # the write the cache missed dropped it all
    assert (body(client.http.get(path)), client.http.get(path).headers["X-Cache"]) == (changed, "HIT")
    assert body(client.http.get("/heroes?xp=5")) == {"items": []}


@pytest.mark.redis_modes("cluster")
@pytest.mark.usefixtures("hero_table", "redis_mode")
def test_a_hero_whose_slot_moves_to_another_node_is_still_served_from_the_cache(client, redis_cluster, redis_client):
    created = body(send(client, "POST", "/heroes", hero(name="moving", xp=7)))
    path = f"/heroes/{created['id']}"
    assert client.http.get(path).headers["X-Cache"] == "HIT"
    slot = key_slot(hero_cache.id_key(generation(redis_client), created["id"]).encode())
    before = redis_cluster.owner(slot)

    redis_cluster.move_slot(slot, next(port for port in redis_cluster.ports if port != before))
    read = client.http.get(path)  # the app's slot map still names the old node: MOVED, then the new one
    assert (body(read), read.headers["X-Cache"]) == (created, "HIT")
    patched = send(client, "PATCH", path, {"name": "moved"})
    assert body(patched) == {**created, "name": "moved"}
    read = client.http.get(path)
    assert (body(read), read.headers["X-Cache"]) == ({**created, "name": "moved"}, "HIT")
    assert redis_cluster.owner(slot) != before
