"""What unauthenticated reads can make Redis hold: pages of ``GET /heroes`` are cached up to
``MAX_CACHED_PAGES`` per list generation, however many distinct ``?after`` values a client walks through; the
pages past it are still answered, from MySQL."""

from __future__ import annotations

import pytest

from chalicelib.heroes import cache as hero_cache
from tests.support.heroes import body

pytestmark = pytest.mark.usefixtures("hero_table", "redis_mode")  # single node and cluster: conftest.py

DISTINCT_PAGES = hero_cache.MAX_CACHED_PAGES + 50


def cached_pages(redis_client) -> list[bytes]:
    keys = redis_client.scan_iter(match=hero_cache.PREFIX + "*:list:*", count=1000)
    return [key for key in keys if not key.endswith(b":#")]


def test_a_flood_of_distinct_pages_caches_at_most_the_bound(client, db, redis_client):
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO superheroes (name, hero, power, xp, color) VALUES (%s, 'no', 'eat', 1, 'red')",
            [(f"hero{i}",) for i in range(DISTINCT_PAGES + 1)],
        )
        cur.execute("SELECT MIN(id) AS first FROM superheroes")
        first = cur.fetchone()["first"]
    for after in range(first - 1, first - 1 + DISTINCT_PAGES):
        response = client.http.get(f"/heroes?limit=1&after={after}")
        assert body(response)["items"][0]["id"] == after + 1

    pages = cached_pages(redis_client)
    assert len(pages) == hero_cache.MAX_CACHED_PAGES
    assert client.http.get(f"/heroes?limit=1&after={first - 1}").headers["X-Cache"] == "HIT"  # cached ones serve
    past_the_bound = client.http.get(f"/heroes?limit=1&after={first + DISTINCT_PAGES - 2}")
    assert past_the_bound.headers["X-Cache"] == "MISS"
    assert body(past_the_bound)["items"][0]["id"] == first + DISTINCT_PAGES - 1
