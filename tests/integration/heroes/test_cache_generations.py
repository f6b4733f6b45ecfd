"""A write whose transaction straddles an invalidate-all (the generation bump of a superheroes bulk load):
made deterministic with MySQL's own row lock. A second connection holds the hero's row, so the PATCH has read
the generation and waits inside its transaction; meanwhile the bulk load bumps the generation and readers refill
the new generation from the row as it was; then the lock is released and the PATCH commits. Every view must
then serve the PATCH's row, not the one the readers cached."""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib.core.mysql import Database
from chalicelib.core.settings import get_settings
from chalicelib.heroes import api
from chalicelib.heroes import cache as hero_cache
from tests.support.heroes import body, create

pytestmark = pytest.mark.usefixtures("hero_table", "redis_mode")  # single node and cluster: conftest.py

WAITING_FOR_A_ROW_LOCK = (  # in this test's database: the server is shared with other test runs
    "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id IN"
    " (SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE())"
)


def get(client, path: str) -> tuple[object, str]:
    response = client.http.get(path)
    return body(response), response.headers.get("X-Cache")


def wait_until_a_transaction_waits_for_a_lock(db: Database) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with db.cursor(dicts=False) as cur:
            cur.execute(WAITING_FOR_A_ROW_LOCK)
            if cur.fetchone()[0]:
                return
        time.sleep(0.2)  # InnoDB refreshes INNODB_TRX only after 100 ms without a read of it
    raise AssertionError("the PATCH never reached the row lock")


def test_a_write_that_straddles_an_invalidate_all_leaves_no_view_stale(client, platform):
    created = create(client, name="before", xp=5)
    path = f"/heroes/{created['id']}"
    blocker = Database(get_settings().db)  # a connection of its own
    outcome: dict[str, object] = {}

    with blocker.transaction() as cur:  # holds the hero's row: the PATCH below waits inside its transaction
        cur.execute("SELECT id FROM superheroes WHERE id = %s FOR UPDATE", (created["id"],))
        patch = threading.Thread(
            target=lambda: outcome.update(row=api.update_hero(str(created["id"]), '{"name": "after", "xp": 6}'))
        )
        patch.start()  # reads the generation, then blocks on the row
        wait_until_a_transaction_waits_for_a_lock(blocker)
        hero_cache.invalidate_all_heroes()  # a bulk load committed (nothing of this hero) and bumped
        assert get(client, path) == (created, "MISS")  # readers refill the new generation with the old row
        assert get(client, "/heroes?xp=5") == ({"items": [created]}, "MISS")
        assert get(client, "/heroes?limit=10") == ({"items": [created], "next": None}, "MISS")
    patch.join(10)
    blocker.close()
    after = {**created, "name": "after", "xp": 6}
    assert outcome["row"] == after

    for _ in range(2):  # the first read may refill; neither may serve the row from before the PATCH
        assert get(client, path)[0] == after
        assert get(client, "/heroes?xp=5")[0] == {"items": []}
        assert get(client, "/heroes?xp=6")[0] == {"items": [after]}
        assert get(client, "/heroes?limit=10")[0] == {"items": [after], "next": None}
