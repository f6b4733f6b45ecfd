"""The same data is never counted twice (issue 12, and issue 11's A/B/A and concurrent-delivery items): the
same bytes as any key's current content are a ``duplicate`` naming that key, bytes superseded under their key
load again (the newest upload wins), readings and order lines are stored once by their natural key, concurrent
deliveries of an id-carrying file lose as duplicates, and the migration removes readings already stored twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.migrations import apply_migrations
from chalicelib.core.mysql import Database
from chalicelib.ingest.pipeline import ingest_object
from tests.support.ingest import (
    HEALTH_HEADER,
    deliver,
    published_events,
    read_manifest,
    table_rows,
    upload,
)

HEALTH_LINE = HEALTH_HEADER + "\n"
SAMPLES = Path(__file__).resolve().parents[3] / "data" / "health"


def readings(*rows: tuple[str, str, int]) -> str:
    """A health file of readings ``(time, user, heart_rate)``."""
    return HEALTH_LINE + "".join(f"2025-09-17T{t}Z,{user},{rate},95,21,37.5,120,80\n" for t, user, rate in rows)


def count(db: Database, table: str) -> int:
    return table_rows(db, f"SELECT COUNT(*) AS n FROM `{table}`")[0]["n"]  # noqa: S608 - the tests' table names


def heroes_file(name: str, rows: int = 3) -> str:
    return "id,name,hero,power,xp,color\n" + "".join(f"{i},{name}{i},yes,fly,{i},red\n" for i in range(1, rows + 1))


def test_the_same_bytes_under_another_key_are_a_duplicate_naming_the_key_that_loaded_them(client, db, ingest_env):
    sample = (SAMPLES / "sample_data.csv").read_bytes()
    upload("raw/health/day1.csv", sample)
    upload("raw/health/synthetic.csv", (SAMPLES / "synthetic_health_data.csv").read_bytes())
    upload("raw/health/resent/day1-copy.csv", sample)

    first = deliver(client, "raw/health/day1.csv")
    deliver(client, "raw/health/synthetic.csv")
    stored = count(db, "health_metrics")
    copy = deliver(client, "raw/health/resent/day1-copy.csv")

    assert first["status"] == "loaded" and copy["status"] == "duplicate"
    assert copy["counts"] == first["counts"]
    assert count(db, "health_metrics") == stored
    distinct = table_rows(db, "SELECT COUNT(DISTINCT user_id, event_time) AS n FROM health_metrics")[0]["n"]
    assert stored == distinct
    manifest = read_manifest("manifests/health/resent/day1-copy.json")
    assert manifest["status"] == "duplicate"
    assert manifest["duplicate_of"] == {"key": "raw/health/day1.csv", "manifest_key": "manifests/health/day1.json"}
    # the completion event points the health analysis at the rows' file, so it finds them analysed already
    [event] = [
        e["message"] for e in published_events(ingest_env["events_queue"]) if e["message"]["status"] == "duplicate"
    ]
    assert (event["source_key"], event["processed_key"]) == (
        "raw/health/resent/day1-copy.csv",
        "processed/health/day1.csv",
    )


def test_upload_a_then_b_then_a_again_keeps_a(client, db, ingest_env):
    """Issue 11: the third upload is not a duplicate (B is the key's current content); only its redelivery is."""
    key = "raw/superheroes/roster.csv"
    for body, expected in [(heroes_file("alpha"), "loaded"), (heroes_file("beta"), "loaded")]:
        upload(key, body)
        assert deliver(client, key)["status"] == expected
    upload(key, heroes_file("alpha"))

    third = deliver(client, key)
    redelivered = deliver(client, key)

    assert (third["status"], redelivered["status"]) == ("loaded", "duplicate")
    assert [row["name"] for row in table_rows(db, "SELECT name FROM superheroes ORDER BY id")] == [
        "alpha1",
        "alpha2",
        "alpha3",
    ]


def test_bytes_superseded_under_their_key_load_again_under_another(client, db, ingest_env):
    upload("raw/health/a.csv", readings(("01:00:00", "u1", 100)))
    deliver(client, "raw/health/a.csv")
    upload("raw/health/a.csv", readings(("02:00:00", "u1", 100)))
    deliver(client, "raw/health/a.csv")
    upload("raw/health/b.csv", readings(("01:00:00", "u1", 100)))

    result = deliver(client, "raw/health/b.csv")

    assert (result["status"], result["already_present"]) == ("loaded", 1)
    assert count(db, "health_metrics") == 2


def test_overlapping_health_files_store_each_reading_once_and_the_newest_values_win(client, db, ingest_env):
    upload("raw/health/monday.csv", readings(("08:00:00", "u1", 100), ("09:00:00", "u1", 101), ("09:00:00", "u2", 90)))
    deliver(client, "raw/health/monday.csv")
    # the device re-sends 09:00 of u1 (its heart rate corrected) and u2 as it was, and adds two new readings
    upload(
        "raw/health/tuesday.csv",
        readings(("09:00:00", "u1", 111), ("09:00:00", "u2", 90), ("10:00:00", "u1", 102), ("10:00:00", "u1", 103)),
    )

    result = deliver(client, "raw/health/tuesday.csv")

    assert result["counts"] == {"input": 4, "loaded": 4, "rejected": 0}
    manifest = read_manifest("manifests/health/tuesday.json")
    # the 10:00 reading repeated inside the file counts as present (its second copy replaces the first)
    assert (manifest["already_present"], manifest["replaced"]) == (3, 2)
    stored = table_rows(db, "SELECT user_id, TIME(event_time) AS t, heart_rate FROM health_metrics ORDER BY 1, 2")
    assert [(r["user_id"], str(r["t"]), r["heart_rate"]) for r in stored] == [
        ("u1", "8:00:00", 100),
        ("u1", "9:00:00", 111),
        ("u1", "10:00:00", 103),
        ("u2", "9:00:00", 90),
    ]


def test_order_lines_sent_again_are_stored_once_and_counted(client, cafe, ingest_env):
    header = "order_number,order_date_time,order_item_number,product_id,quantity\n"
    upload("raw/orders/a.csv", header + "2001,2026-03-02 09:15:00,1,1,4\n2001,2026-03-02 09:15:00,2,2,1\n")
    deliver(client, "raw/orders/a.csv")
    upload("raw/orders/b.csv", header + "2001,2026-03-02 09:15:00,1,1,4\n2001,2026-03-02 09:15:00,2,2,3\n")

    result = deliver(client, "raw/orders/b.csv")

    manifest = read_manifest("manifests/orders/b.json")
    assert (result["counts"]["loaded"], manifest["already_present"], manifest["replaced"]) == (2, 2, 1)
    items = table_rows(cafe, "SELECT quantity FROM order_item WHERE order_number = 2001 ORDER BY order_item_number")
    assert [i["quantity"] for i in items] == [4, 3]


def _in_flight(db: Database) -> list[str]:
    """The statements the deliveries' connections are running now."""
    rows = table_rows(
        db, "SELECT info FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND db = DATABASE()"
    )
    return [row["info"] or "" for row in rows]


def test_concurrent_deliveries_of_an_id_carrying_file_load_it_once_and_the_losers_are_duplicates(db, ingest_env):
    """Issue 11: the losers' LOAD DATA meets the winner's ids; they answer ``duplicate``, they do not raise.
    A lock on the ledger (held by the test) keeps the winner's transaction open until all three are in flight."""
    bucket, key = ingest_env["bucket"], "raw/superheroes/big.csv"
    upload(key, heroes_file("hero", 5000))
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(ingest_object(bucket, key)["status"])
        except Exception as exc:  # reported by the assertion below
            results.append(repr(exc))

    with db.transaction() as cur:  # connections are per thread: the deliveries have their own
        cur.execute("SELECT id FROM ingest_ledger FOR UPDATE")  # no row: a lock on the whole index range
        threads = [threading.Thread(target=run) for _ in range(3)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # one waits for the ledger, the others' LOAD DATA for its rows
            running = _in_flight(db)
            statements = [q.split(" ", 2)[:2] for q in running]
            if statements.count(["INSERT", "INTO"]) == 1 and statements.count(["LOAD", "DATA"]) == 2:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the deliveries never overlapped: {running}")
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == ["duplicate", "duplicate", "loaded"]
    assert count(db, "superheroes") == 5000


def test_the_migration_removes_readings_stored_twice_and_says_how_many(db, logged):
    with db.cursor() as cur:
        cur.execute("DELETE FROM health_metrics")
        cur.execute("ALTER TABLE health_metrics DROP INDEX uq_health_reading")
        cur.execute("ALTER TABLE health_metrics ADD INDEX idx_health_user_time (user_id, event_time)")
        cur.execute("DELETE FROM schema_migrations WHERE version = '0040_ingest_duplicates'")
        cur.executemany(
            "INSERT INTO health_metrics (event_time, user_id, heart_rate, spo2, steps, temp_c, systolic_bp,"
            " diastolic_bp) VALUES ('2025-09-17 08:00:00', 'u1', %s, 95, 21, 37.5, 120, 80)",
            [(100,), (101,), (102,)],
        )
        cur.execute(
            "INSERT INTO health_metrics (event_time, user_id, heart_rate, spo2, steps, temp_c, systolic_bp,"
            " diastolic_bp) VALUES ('2025-09-17 09:00:00', 'u1', 99, 95, 21, 37.5, 120, 80)"
        )

    assert apply_migrations(db) == ["0040_ingest_duplicates"]

    [line] = logged.fields("migration applied")
    assert line == {"version": "0040_ingest_duplicates", "rows_removed": 2}
    rows = table_rows(db, "SELECT heart_rate FROM health_metrics ORDER BY event_time")
    assert [r["heart_rate"] for r in rows] == [100, 99]  # the first of the three kept
    with pytest.raises(Exception, match="Duplicate entry"), db.cursor() as cur:
        cur.execute(
            "INSERT INTO health_metrics (event_time, user_id, heart_rate, spo2, steps, temp_c, systolic_bp,"
            " diastolic_bp) VALUES ('2025-09-17 09:00:00', 'u1', 99, 95, 21, 37.5, 120, 80)"
        )


def test_user_ids_differing_only_in_case_or_accents_are_different_users(client, db, ingest_env):
    users = ("Ana", "ana", "ANA", "josé", "jose")
    upload("raw/health/names.csv", readings(*(("08:00:00", user, 100 + i) for i, user in enumerate(users))))

    result = deliver(client, "raw/health/names.csv")

    assert (result["status"], result["counts"]["loaded"], result["already_present"]) == ("loaded", 5, 0)
    stored = table_rows(db, "SELECT user_id, heart_rate FROM health_metrics ORDER BY heart_rate")
    assert [(row["user_id"], row["heart_rate"]) for row in stored] == [(u, 100 + i) for i, u in enumerate(users)]

    upload("raw/health/names-again.csv", readings(("08:00:00", "ana", 120), ("08:00:00", "Jose", 121)))
    deliver(client, "raw/health/names-again.csv")

    manifest = read_manifest("manifests/health/names-again.json")
    assert (manifest["already_present"], manifest["replaced"], count(db, "health_metrics")) == (1, 1, 6)
