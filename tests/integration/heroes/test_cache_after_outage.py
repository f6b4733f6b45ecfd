"""After a Redis outage, no process serves a hero older than MySQL's for longer than the stated bound
(``NEWS_CHECK_SECONDS``, docs/heroes-api.md), even when the process that missed Redis died and the other one
never saw the outage: the news is in MySQL (``cache_invalidations``), not in the writer's memory.

Two processes, each with its own clients: a writer (a subprocess) reaches Redis through a proxy that is down,
commits its change, records the news and is killed; this test's process, whose Redis never went away and still
holds the old entries, keeps reading until it serves the change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from chalicelib.heroes import cache as hero_cache
from devtools.stage import PROJECT_DIR
from tests.support.environment import reset_clients
from tests.support.heroes import body, create, send
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.usefixtures("hero_table", "redis_mode")  # single node and cluster: conftest.py

WRITERS = {
    # a PATCH through the API's own function
    "write": 'from chalicelib.heroes import api; api.update_hero(str(HERO_ID), \'{"name": "fresh"}\')',
    # a bulk load: rows changed in MySQL, then the invalidate-all the superheroes dataset does
    "bulk load": (
        "from chalicelib.core.mysql import get_database; from chalicelib.heroes import invalidate_all_heroes\n"
        "with get_database().cursor() as cur:\n"
        "    cur.execute(\"UPDATE superheroes SET name = 'fresh', version = version + 1 WHERE id = %s\", (HERO_ID,))\n"
        "invalidate_all_heroes()"
    ),
}
KILLED_AFTER_COMMIT = "\nprint('committed', flush=True)\nimport os, signal; os.kill(os.getpid(), signal.SIGKILL)\n"


def run_writer_and_kill_it(code: str, hero_id: int, redis_url: str) -> float:
    """Run ``code`` in a new process that reaches Redis at ``redis_url``; answers when it said it committed."""
    env = {**os.environ, "REDIS_URL": redis_url}
    program = f"HERO_ID = {hero_id!r}\n{code}{KILLED_AFTER_COMMIT}"
    writer = subprocess.Popen(
        [sys.executable, "-c", program], cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    lines = []  # its log lines, then what it says once committed
    while (line := writer.stdout.readline().decode()) and line.strip() != "committed":
        lines.append(line)
    committed_at = time.monotonic()
    assert writer.wait(timeout=30) == -signal.SIGKILL, (lines, writer.stderr.read().decode())
    assert any('"hero cache missed a change"' in line for line in lines), lines
    return committed_at


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_change_redis_missed_reaches_every_process_within_the_bound(client, platform, writer):
    created = create(client, name="stale")
    path = f"/heroes/{created['id']}?cache=true"
    assert (body(client.http.get(path))["name"], client.http.get(path).headers["X-Cache"]) == ("stale", "HIT")

    db_index = os.environ["REDIS_URL"].rsplit("/", 1)[1]  # this mode's (redis_mode): 0 on the cluster
    down = TcpProxy(("127.0.0.1", 6379))  # never started: the writer's Redis is unreachable
    committed_at = run_writer_and_kill_it(WRITERS[writer], created["id"], f"redis://127.0.0.1:{down.port}/{db_index}")

    served = []
    while time.monotonic() - committed_at < hero_cache.NEWS_CHECK_SECONDS + 3:
        response = client.http.get(path)
        served.append((time.monotonic() - committed_at, body(response)["name"], response.headers["X-Cache"]))
        if served[-1][1] == "fresh":
            break
        time.sleep(0.02)
    stale_for = served[-1][0]
    assert served[-1][1] == "fresh", served[-3:]
    assert stale_for <= hero_cache.NEWS_CHECK_SECONDS + 0.3, served[-3:]
    assert body(client.http.get(path))["name"] == "fresh"  # and stays so
    print(f"{writer}: stale for {stale_for:.3f}s after the writer's commit ({len(served)} reads)")


def test_news_of_missed_writes_keeps_the_newest_only(client, db, monkeypatch):
    created = create(client)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1: every write misses Redis
    reset_clients()
    for xp in range(hero_cache.NEWS_KEPT + 20):
        assert send(client, "PATCH", f"/heroes/{created['id']}", {"xp": xp}).status_code == 200
    with db.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS kept, MAX(id) AS newest FROM cache_invalidations")
        kept = cur.fetchone()
    assert kept["kept"] == hero_cache.NEWS_KEPT
    assert kept["newest"] == hero_cache._news.latest  # the news every process compares with Redis is kept
