"""POST /analysis and the daily schedule over the public and private test databases (real MariaDB)."""

from __future__ import annotations

import csv
import json
import math
import re
import socket
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.core.mysql import get_database
from chalicelib.core.settings import parse_settings
from devtools.localdb import create_database, drop_database, prepare_database
from devtools.seed import CAFE_TABLES, seed_cafe
from devtools.stage import PROJECT_DIR
from tests.support.environment import TEST_PRIVATE_DB_NAME, reset_clients

CAFE_DIR = PROJECT_DIR / "data" / "cafe"
HEROES = [
    (f"Name {i}", f"Hero {i}", ["flight", "strength", "speed"][i % 3], xp, ["red", "blue"][i % 2])
    for i, xp in enumerate([5, 1, 9, 3, 7, 100, 42, 42, 8, 2, 6, 11, 15, 0, 77, 64, 23, 19, 31, 50])
]
# (user, heart_rate, spo2, temp_c, systolic, diastolic) written for this test; anomaly rules as docs/analysis.md
# states them
PRIVATE_READINGS = [
    ("carol", 72, 98, "36.6", 120, 80),
    ("carol", 165, 98, "36.6", 120, 80),
    ("carol", 70, 91, "38.5", 150, 95),
    ("dave", 80, 97, "37.0", 118, 76),
    ("dave", 59, 99, "36.9", 121, 79),
    ("erin", 90, 96, "36.8", 125, 82),
]


def _is_anomaly(heart_rate: int, spo2: int, temp_c: str, systolic: int, diastolic: int) -> bool:
    return heart_rate < 60 or heart_rate > 160 or spo2 < 92 or Decimal(temp_c) > 38 or systolic > 140 or diastolic > 90


@pytest.fixture
def sources(platform, test_environment):
    """Public: heroes + café, no health readings. Private: health readings only."""
    prepare_database(parse_settings(test_environment).analysis_sources["private"])
    public, private = get_database("public"), get_database("private")
    with public.transaction(dicts=False) as cur:
        cur.execute("DELETE FROM superheroes")
        cur.executemany("INSERT INTO superheroes (name, hero, power, xp, color) VALUES (%s, %s, %s, %s, %s)", HEROES)
        for table in reversed(list(CAFE_TABLES)):
            cur.execute(f"DELETE FROM `{table}`")  # noqa: S608 - table names from CAFE_TABLES
        cur.execute("DELETE FROM health_metrics")
    seed_cafe(public)
    with private.transaction(dicts=False) as cur:
        cur.execute("DELETE FROM health_metrics")
        cur.execute("DELETE FROM superheroes")
        cur.executemany(
            "INSERT INTO health_metrics (event_time, user_id, heart_rate, spo2, steps, temp_c, systolic_bp,"
            " diastolic_bp) VALUES (%s, %s, %s, %s, 100, %s, %s, %s)",
            [(datetime(2025, 9, 1, 8, i), *reading) for i, reading in enumerate(PRIVATE_READINGS)],
        )
    return public, private


def _post(client, body=None, raw: str | None = None):
    payload = raw if raw is not None else ("" if body is None else json.dumps(body))
    response = client.http.post("/analysis", headers={"Content-Type": "application/json"}, body=payload)
    return response.status_code, json.loads(response.body)


def _object(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _nearest_rank(values: list[int], percent: int) -> int:
    ordered = sorted(values)
    return ordered[math.ceil(percent / 100 * len(ordered)) - 1]


def test_both_sources_are_analysed_with_the_analyses_their_tables_fit(client, sources, s3, platform):
    status, body = _post(client)
    assert status == 200
    results = body["results"]
    assert set(results) == {"public", "private"}
    assert results["public"]["status"] == "ok" and results["private"]["status"] == "ok"
    assert results["public"]["key"].startswith("analysis/public/") and results["public"]["key"].endswith(".json")
    assert results["private"]["key"].startswith("analysis/private/")

    public = _object(s3, platform["DATA_BUCKET"], results["public"]["key"])
    assert public["status"] == "ok" and public["database"] == platform["DB_NAME"]
    heroes = public["analyses"]["superheroes"]
    xp_values = [hero[3] for hero in HEROES]
    assert heroes["xp"]["heroes"] == len(HEROES)
    assert heroes["xp"]["min"] == 0 and heroes["xp"]["max"] == 100
    assert heroes["xp"]["mean"] == pytest.approx(sum(xp_values) / len(xp_values))
    assert heroes["xp_percentiles"] == [
        {"percentile": p, "xp": _nearest_rank(xp_values, p)} for p in (25, 50, 75, 90, 99)
    ]
    assert sum(bucket["heroes"] for bucket in heroes["xp_histogram"]) == len(HEROES)
    powers = Counter(hero[2] for hero in HEROES)
    assert {row["value"]: row["heroes"] for row in heroes["top_powers"]} == dict(powers)
    assert heroes["top_colors"][0]["heroes"] == 10

    # sales: the 30 days ending with the last order's day (UTC in the test stage), computed here from the CSVs
    sales = public["analyses"]["sales"]
    with (CAFE_DIR / "order.csv").open() as handle:
        orders = {row["order_number"]: row for row in csv.DictReader(handle)}
    last_day = max(datetime.fromisoformat(o["order_date_time"]) for o in orders.values()).date()
    first_day = last_day - timedelta(days=29)
    in_window = {n: o for n, o in orders.items() if first_day <= datetime.fromisoformat(o["order_date_time"]).date()}
    per_day: dict[date, list] = defaultdict(lambda: [0, Decimal(0)])
    for order in in_window.values():
        day = per_day[datetime.fromisoformat(order["order_date_time"]).date()]
        day[0] += 1
        day[1] += Decimal(order["amount"])
    assert len(sales["per_day"]) == 30
    assert sales["per_day"][0]["day"] == first_day.isoformat() and sales["per_day"][-1]["day"] == last_day.isoformat()
    for row in sales["per_day"]:
        expected = per_day.get(date.fromisoformat(row["day"]), [0, Decimal(0)])
        assert (row["orders"], Decimal(str(row["revenue"]))) == (expected[0], expected[1])
    with (CAFE_DIR / "order_item.csv").open() as handle:
        items = [row for row in csv.DictReader(handle) if row["order_number"] in in_window]
    with (CAFE_DIR / "product.csv").open() as handle:
        group_of = {row["id"]: int(row["product_group"]) for row in csv.DictReader(handle)}
    revenue_by_group: dict[int, Decimal] = defaultdict(Decimal)
    revenue_by_product: dict[int, Decimal] = defaultdict(Decimal)
    for item in items:
        revenue_by_group[group_of[item["product_id"]]] += Decimal(item["amount"])
        revenue_by_product[int(item["product_id"])] += Decimal(item["amount"])
    assert {r["product_group_number"]: Decimal(str(r["revenue"])) for r in sales["revenue_per_group"]} == dict(
        revenue_by_group
    )
    best = max(revenue_by_product.values())
    assert Decimal(str(sales["top_products"][0]["revenue"])) == best
    assert sales["top_products"][0]["product_id"] in {p for p, r in revenue_by_product.items() if r == best}

    # public has health_metrics (empty): zero readings, not an error
    assert public["analyses"]["health"]["overview"]["readings"] == 0

    private = _object(s3, platform["DATA_BUCKET"], results["private"]["key"])
    assert private["database"] == TEST_PRIVATE_DB_NAME
    health = private["analyses"]["health"]
    expected_users: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for user, *reading in PRIVATE_READINGS:
        expected_users[user][0] += 1
        expected_users[user][1] += _is_anomaly(*reading)
    assert health["overview"]["readings"] == len(PRIVATE_READINGS)
    assert health["overview"]["users"] == 3
    assert health["overview"]["anomalies"] == sum(a for _, a in expected_users.values())
    assert {u["user_id"]: [u["readings"], u["anomalies"]] for u in health["per_user"]} == expected_users
    assert health["per_user"][0]["user_id"] == "carol" and health["per_user"][0]["anomaly_rate"] == pytest.approx(
        2 / 3, abs=1e-4
    )
    # the third carol reading breaks four thresholds at once
    assert health["anomalies_by_reason"] == {
        "low_heart_rate": 1,
        "high_heart_rate": 1,
        "low_spo2": 1,
        "high_temperature": 1,
        "high_systolic_bp": 1,
        "high_diastolic_bp": 1,
    }
    assert private["analyses"]["superheroes"]["xp"]["heroes"] == 0
    assert private["analyses"]["superheroes"]["xp_percentiles"] == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_source_that_is_down_gets_its_own_error_while_the_other_completes(client, sources, s3, platform, monkeypatch):
    monkeypatch.setenv(
        "ANALYSIS_SOURCES",
        json.dumps({"public": {}, "private": {"DB_NAME": TEST_PRIVATE_DB_NAME, "DB_PORT": str(_closed_port())}}),
    )
    reset_clients()
    status, body = _post(client, {"sources": ["private", "public"]})
    assert status == 200
    private, public = body["results"]["private"], body["results"]["public"]
    assert public["status"] == "ok" and "superheroes" in public["analyses"]
    assert private["status"] == "error"
    assert "mysql:private is unavailable" in private["error"]
    stored = _object(s3, platform["DATA_BUCKET"], private["key"])
    assert stored["status"] == "error" and "unavailable" in stored["error"]
    assert _object(s3, platform["DATA_BUCKET"], public["key"])["analyses"]["superheroes"]["xp"]["heroes"] == len(HEROES)


def test_a_source_without_analysable_tables_is_an_error_entry(client, sources, platform, monkeypatch):
    empty = parse_settings({**platform, "DB_NAME": "test_platform_empty" + platform["DB_NAME"][len("test_platform") :]})
    drop_database(empty.db)
    create_database(empty.db)
    monkeypatch.setenv("ANALYSIS_SOURCES", json.dumps({"public": {}, "bare": {"DB_NAME": empty.db.name}}))
    reset_clients()
    status, body = _post(client, {"sources": ["bare", "public"]})
    assert status == 200
    assert body["results"]["public"]["status"] == "ok"
    assert body["results"]["bare"]["status"] == "error"
    assert "none of the tables an analysis needs" in body["results"]["bare"]["error"]
    drop_database(empty.db)


def test_only_the_requested_source_is_analysed(client, sources):
    status, body = _post(client, {"sources": ["private"]})
    assert status == 200 and list(body["results"]) == ["private"]
    assert body["results"]["private"]["analyses"] == ["health", "sales", "superheroes"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"sources": ["public", "nope"]}', "unknown source(s) ['nope']"),
        ("{not json", "not valid JSON"),
        ('["public"]', "must be a JSON object"),
        ('{"sources": "public"}', "'sources' must be a non-empty list"),
        ('{"sources": []}', "'sources' must be a non-empty list"),
        ('{"sources": [1]}', "'sources' must be a non-empty list"),
        ('{"source": ["public"]}', "unknown field(s) source; allowed: sources"),
    ],
)
def test_bad_requests_are_400_saying_what_is_wrong(client, platform, raw, message):
    status, body = _post(client, raw=raw)
    assert status == 400
    assert body["Code"] == "BadRequestError"
    assert message in body["Message"]


def test_the_daily_schedule_analyses_every_source(client, sources, s3, platform):
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:rule/daily"]
    )
    result = client.lambda_.invoke("daily_analysis", event).payload
    assert {name: entry["status"] for name, entry in result["results"].items()} == {"public": "ok", "private": "ok"}
    stored = _object(s3, platform["DATA_BUCKET"], result["results"]["private"]["key"])
    assert stored["trigger"] == "schedule"
    assert stored["analyses"]["health"]["overview"]["readings"] == len(PRIVATE_READINGS)


def test_the_readme_curl_examples_answer_results_for_their_sources(client, sources):
    section = (PROJECT_DIR / "docs/analysis.md").read_text()  # the analysis page of the docs
    calls = re.findall(
        r"curl -s -X POST http://127\.0\.0\.1:8000(/analysis)(?: -H '[^']*')?(?: -d '([^']*)')?", section
    )
    assert len(calls) == 4  # every source, one source, and two profiles
    for path, body in calls:
        response = client.http.post(path, headers={"Content-Type": "application/json"}, body=body)
        results = json.loads(response.body)["results"]
        assert response.status_code == 200
        assert set(results) == (set(json.loads(body)["sources"]) if body else {"public", "private"})
        assert all(entry["status"] == "ok" for entry in results.values())


def test_a_source_that_accepts_connections_but_never_answers_fails_fast(client, sources, monkeypatch, logged):
    """A hung server (or a proxy in front of a dead one) must cost the connect timeout (3 s), not the 60 s query
    timeout: the MySQL handshake is bounded too. The bound below only separates those two cases."""
    import threading
    import time

    silent = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    source = {"DB_NAME": TEST_PRIVATE_DB_NAME, "DB_PORT": str(silent.getsockname()[1])}
    monkeypatch.setenv("ANALYSIS_SOURCES", json.dumps({"public": {}, "private": source}))
    reset_clients()
    started = time.monotonic()
    try:
        status, body = _post(client)
    finally:
        for connection in accepted:
            connection.close()
        silent.close()
    assert time.monotonic() - started < 20
    assert status == 200 and body["results"]["public"]["status"] == "ok"
    assert body["results"]["private"]["status"] == "error"
    error = body["results"]["private"]["error"]
    assert error == "DependencyUnavailable: mysql:private is unavailable right now; retry later"
    details = [fields["detail"] for fields in logged.fields("analysis.source failed")]
    assert "timed out" in details[0]  # the driver's words, in the log line


def test_sales_days_are_business_days_of_the_report_timezone(client, sources, s3, platform, monkeypatch):
    public, _ = sources
    with public.cursor() as cur:  # 03:00 UTC on July 11th is still July 10th in New York
        cur.execute(
            "INSERT INTO `order` (order_number, order_date_time, amount) VALUES (900, '2020-07-11 03:00:00', 7.5)"
        )
    monkeypatch.setenv("REPORT_TIMEZONE", "America/New_York")
    reset_clients()
    status, body = _post(client, {"sources": ["public"]})
    assert status == 200
    per_day = {
        row["day"]: row
        for row in _object(s3, platform["DATA_BUCKET"], body["results"]["public"]["key"])["analyses"]["sales"][
            "per_day"
        ]
    }
    assert per_day["2020-07-10"]["orders"] == 1 and per_day["2020-07-10"]["revenue"] == 7.5
    assert per_day["2020-07-11"]["orders"] == 0


def test_sales_day_windows_follow_daylight_saving_changes():
    from zoneinfo import ZoneInfo

    from chalicelib.analysis.sources import sales_days

    windows = sales_days(datetime(2025, 3, 31, 12), ZoneInfo("Europe/Berlin"), days=2)
    assert [(day.isoformat(), (ends - starts).total_seconds() / 3600) for day, starts, ends in windows] == [
        ("2025-03-30", 23.0),  # clocks went forward
        ("2025-03-31", 24.0),
    ]
    assert windows[0][1] == datetime(2025, 3, 29, 23)  # midnight in Berlin, as naive UTC
