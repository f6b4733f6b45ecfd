"""Each dataset's valid file through the S3 handler: rows in MySQL, processed/manifest outputs, the event."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.support.ingest import (
    DATA_DIR,
    HEALTH_HEADER,
    deliver,
    exists,
    published_events,
    read_csv,
    read_manifest,
    table_rows,
    upload,
)

HEALTH_LINE = HEALTH_HEADER + "\n"


def test_health_file_loads_valid_rows_and_reports_them(client, db, ingest_env):
    body = (
        HEALTH_LINE + "2025-09-17T11:59:16.801681Z,user_1,100,100,21,37.5,110,90\n"
        "2025-09-17 12:00:16,user_2,72.0,95,4321,36.44,136,93\n"
        "2025-09-17T14:00:00+02:00,user_3,300,95,10,36.6,120,80\n"
    )
    upload("raw/health/2025/09/day.csv", body)

    result = deliver(client, "raw/health/2025/09/day.csv")

    assert result["status"] == "loaded"
    assert result["counts"] == {"input": 3, "loaded": 2, "rejected": 1}
    rows = table_rows(db, "SELECT * FROM health_metrics ORDER BY user_id")
    assert [(r["user_id"], r["heart_rate"], r["temp_c"], str(r["event_time"])) for r in rows] == [
        ("user_1", 100, Decimal("37.5"), "2025-09-17 11:59:16.801681"),
        ("user_2", 72, Decimal("36.4"), "2025-09-17 12:00:16"),
    ]
    processed = read_csv("processed/health/2025/09/day.csv")
    assert list(processed[0]) == HEALTH_HEADER.split(",")
    assert processed[1] == {
        "event_time": "2025-09-17T12:00:16Z",
        "user_id": "user_2",
        "heart_rate": "72",
        "spo2": "95",
        "steps": "4321",
        "temp_c": "36.4",
        "systolic_bp": "136",
        "diastolic_bp": "93",
    }
    rejected = read_csv("rejected/health/2025/09/day.csv")
    assert rejected == [
        {
            "event_time": "2025-09-17T14:00:00+02:00",
            "user_id": "user_3",
            "heart_rate": "300",
            "spo2": "95",
            "steps": "10",
            "temp_c": "36.6",
            "systolic_bp": "120",
            "diastolic_bp": "80",
            "reject_reason": "out_of_range_heart_rate",
            "line": "4",
        }
    ]
    manifest = read_manifest("manifests/health/2025/09/day.json")
    assert manifest["status"] == "loaded"
    assert manifest["counts"] == {"input": 3, "loaded": 2, "rejected": 1}
    assert manifest["reasons"] == {"out_of_range_heart_rate": 1}
    assert manifest["source"]["bucket"] == "platform-local-data"
    assert manifest["source"]["key"] == "raw/health/2025/09/day.csv"
    assert manifest["source"]["etag"] and len(manifest["sha256"]) == 64
    assert manifest["outputs"] == {
        "processed": "processed/health/2025/09/day.csv",
        "rejected": "rejected/health/2025/09/day.csv",
    }
    assert manifest["started_at"] <= manifest["finished_at"]
    [event] = published_events(ingest_env["events_queue"])
    assert event["attributes"] == {"event_type": "ingest.completed", "dataset": "health"}
    assert event["message"] == {
        "type": "ingest.completed",
        "dataset": "health",
        "bucket": "platform-local-data",
        "source_key": "raw/health/2025/09/day.csv",
        "manifest_key": "manifests/health/2025/09/day.json",
        "processed_key": "processed/health/2025/09/day.csv",
        "status": "loaded",
        "counts": {"input": 3, "loaded": 2, "rejected": 1},
    }


@pytest.mark.parametrize(
    ("name", "loaded", "rejected", "reasons"),
    [
        ("sample_data.csv", 843, 157, {"out_of_range_heart_rate": 116, "out_of_range_spo2": 41}),
        ("synthetic_health_data.csv", 849, 151, {"out_of_range_heart_rate": 107, "out_of_range_spo2": 44}),
    ],
)
def test_shared_health_files_give_the_counts_of_their_readme(client, db, ingest_env, name, loaded, rejected, reasons):
    upload(f"raw/health/shared/{name}", (DATA_DIR / "health" / name).read_bytes())

    result = deliver(client, f"raw/health/shared/{name}")

    stem = name.removesuffix(".csv")
    assert result["counts"] == {"input": 1000, "loaded": loaded, "rejected": rejected}
    assert read_manifest(f"manifests/health/shared/{stem}.json")["reasons"] == reasons
    assert table_rows(db, "SELECT COUNT(*) AS n FROM health_metrics")[0]["n"] == loaded
    assert len(read_csv(f"processed/health/shared/{stem}.csv")) == loaded
    assert len(read_csv(f"rejected/health/shared/{stem}.csv")) == rejected


def test_superheroes_rows_with_id_replace_and_rows_without_are_appended(client, db, ingest_env):
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO superheroes (id, name, hero, power, xp, color, version) VALUES"
            " (7, 'oldname', 'no', 'eat', 5, 'red', 3)"
        )
    body = "id,name,hero,power,xp,color\n7,irondoctor,yes,fly,1000000,yellow\n,windhero,no,grow,999999,blue\n"
    upload("raw/superheroes/batch.csv", body)

    result = deliver(client, "raw/superheroes/batch.csv")

    assert result["counts"] == {"input": 2, "loaded": 2, "rejected": 0}
    rows = table_rows(db, "SELECT id, name, hero, power, xp, color, version FROM superheroes ORDER BY id")
    assert rows[0] == {
        "id": 7,
        "name": "irondoctor",
        "hero": "yes",
        "power": "fly",
        "xp": 1000000,
        "color": "yellow",
        "version": 4,
    }
    assert [(r["id"] > 7, r["name"], r["version"]) for r in rows[1:]] == [(True, "windhero", 1)]
    assert not exists("rejected/superheroes/batch.csv")
    assert read_csv("processed/superheroes/batch.csv")[1]["id"] == ""


def test_superheroes_file_without_id_column_appends(client, db, ingest_env):
    upload("raw/superheroes/noid.csv", "name,hero,power,xp,color\nstarman,maybe,jump,12,pink\n")

    result = deliver(client, "raw/superheroes/noid.csv")

    assert result["counts"]["loaded"] == 1
    assert table_rows(db, "SELECT name, xp FROM superheroes") == [{"name": "starman", "xp": 12}]


def test_ingest_of_superheroes_leaves_no_stale_hero_in_the_cache(client, db, ingest_env):
    with db.cursor() as cur:
        cur.execute("INSERT INTO superheroes (id, name, hero, power, xp, color) VALUES (42, 'a', 'no', 'eat', 1, 'x')")
    assert json.loads(client.http.get("/heroes/42").body)["name"] == "a"
    assert client.http.get("/heroes/42").headers["X-Cache"] == "HIT"
    assert [h["name"] for h in json.loads(client.http.get("/heroes?xp=1").body)["items"]] == ["a"]
    client.http.get("/heroes?xp=1")

    upload("raw/superheroes/update.csv", "id,name,hero,power,xp,color\n42,renamed,yes,fly,2,blue\n")
    deliver(client, "raw/superheroes/update.csv")

    after = client.http.get("/heroes/42")
    assert json.loads(after.body)["name"] == "renamed"
    assert json.loads(client.http.get("/heroes?xp=1").body)["items"] == []
    assert [h["id"] for h in json.loads(client.http.get("/heroes?xp=2").body)["items"]] == [42]


def test_orders_load_items_and_orders_with_amounts_from_product_prices(client, cafe, ingest_env):
    body = (
        "order_number,order_date_time,order_item_number,product_id,quantity\n"
        "1001,2026-03-02 09:15:00,1,1,4\n"
        "1001,2026-03-02 09:15:00,2,9,2\n"
        "1002,2026-03-02T10:00:00Z,1,7,3\n"
        "1003,2026-03-02T10:05:00Z,1,999,1\n"
    )
    upload("raw/orders/2026-03-02.csv", body)

    result = deliver(client, "raw/orders/2026-03-02.csv")

    assert result["counts"] == {"input": 4, "loaded": 3, "rejected": 1}
    assert result["reasons"] == {"unknown_product": 1}
    prices = {r["id"]: r["price"] for r in table_rows(cafe, "SELECT id, price FROM product")}
    items = table_rows(
        cafe,
        "SELECT order_number, order_item_number, product_id, quantity, amount FROM order_item"
        " WHERE order_number >= 1001 ORDER BY order_number, order_item_number",
    )
    assert [(i["order_number"], i["product_id"], i["amount"]) for i in items] == [
        (1001, 1, prices[1] * 4),
        (1001, 9, prices[9] * 2),
        (1002, 7, prices[7] * 3),
    ]
    orders = table_rows(
        cafe, "SELECT order_number, order_date_time, amount FROM `order` WHERE order_number >= 1001 ORDER BY 1"
    )
    assert [(o["order_number"], str(o["order_date_time"]), o["amount"]) for o in orders] == [
        (1001, "2026-03-02 09:15:00", prices[1] * 4 + prices[9] * 2),
        (1002, "2026-03-02 10:00:00", prices[7] * 3),
    ]
    assert read_csv("rejected/orders/2026-03-02.csv")[0]["reject_reason"] == "unknown_product"
