"""The profiler (issue 12, "any database can be analysed"): ``POST /analysis`` with ``profile`` on a database
nobody declared: several types, NULLs, names that need quoting, an empty table and a table of a million rows."""

from __future__ import annotations

import json
import statistics
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.analysis.profile import EXACT_ROWS, SAMPLE_ROWS, profile_source
from chalicelib.core.mysql import Database
from chalicelib.core.settings import parse_settings
from devtools.localdb import create_database
from tests.support.environment import SUFFIX, reset_clients

OWN_DB = f"test_undeclared{SUFFIX}"
BIG_ROWS = 1_000_000
PEOPLE = [  # name, age, balance, joined, seen_at, status, notes
    ("ann", 31, Decimal("10.50"), date(2024, 1, 5), datetime(2025, 3, 1, 8, 0), "active", "x"),
    ("bob", None, Decimal("-2.25"), date(2023, 6, 1), None, "new", None),
    (None, 45, Decimal("100.00"), None, datetime(2025, 3, 2, 9, 30), "active", "long text"),
    ("dee", 31, Decimal("0.00"), date(2025, 2, 28), datetime(2024, 12, 31, 23, 59), "gone", None),
    ("eve", 27, Decimal("7.75"), date(2024, 1, 5), None, "active", None),
]


def _build(database: Database) -> None:
    """The undeclared tables; the million-row one is kept between runs (building it takes seconds)."""
    with database.cursor() as cur:
        for table in ("people", "empty things", "odd`names"):
            cur.execute(f"DROP TABLE IF EXISTS `{table.replace('`', '``')}`")
        cur.execute(
            "CREATE TABLE people (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(30) NULL,"
            " age TINYINT UNSIGNED NULL, balance DECIMAL(10,2) NOT NULL, joined DATE NULL, seen_at DATETIME NULL,"
            " status ENUM('new','active','gone') NOT NULL, notes TEXT NULL)"
        )
        cur.executemany(
            "INSERT INTO people (name, age, balance, joined, seen_at, status, notes) VALUES (%s,%s,%s,%s,%s,%s,%s)",
            PEOPLE,
        )
        cur.execute("CREATE TABLE `empty things` (code CHAR(3) NOT NULL, at TIMESTAMP NULL, score DOUBLE NULL)")
        cur.execute("CREATE TABLE `odd``names` (`100%` INT NULL, `a``b` VARCHAR(5) NULL)")
        cur.execute("INSERT INTO `odd``names` VALUES (1, 'x'), (NULL, 'x'), (3, NULL)")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS events (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
            " kind VARCHAR(10) NOT NULL, amount DOUBLE NULL, at DATETIME NOT NULL)"
        )
        cur.execute("SELECT COUNT(*) AS n FROM events")
        if cur.fetchone()["n"] != BIG_ROWS:
            cur.execute("TRUNCATE TABLE events")
            cur.execute("CREATE TEMPORARY TABLE digits (d INT NOT NULL)")
            cur.execute("INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)")
            cur.execute(
                "CREATE TEMPORARY TABLE thousand AS SELECT a.d + 10 * b.d + 100 * c.d AS n"
                " FROM digits a, digits b, digits c"
            )
            cur.execute("CREATE TEMPORARY TABLE thousand2 AS SELECT n FROM thousand")
            cur.execute(
                "INSERT INTO events (kind, amount, at) SELECT ELT(1 + (t.n + u.n) % 4, 'click', 'view', 'buy', 'quit'),"
                " IF(t.n % 10 = 0, NULL, t.n * 0.5), '2025-01-01' + INTERVAL (u.n * 1000 + t.n) SECOND"
                " FROM thousand t, thousand2 u"
            )
        cur.execute("ANALYZE TABLE events")


@pytest.fixture
def own_source(platform, monkeypatch) -> Database:
    settings = parse_settings({**platform, "DB_NAME": OWN_DB}).db
    create_database(settings)
    database = Database(settings)
    _build(database)
    monkeypatch.setenv("ANALYSIS_SOURCES", json.dumps({"public": {}, "own": {"DB_NAME": OWN_DB}}))
    reset_clients()
    yield database
    database.close()


def _profile(client, s3, platform, profile: Any) -> dict[str, Any]:
    body = json.dumps({"sources": ["own"], "profile": profile})
    response = client.http.post("/analysis", headers={"Content-Type": "application/json"}, body=body)
    assert response.status_code == 200, response.body
    entry = json.loads(response.body)["results"]["own"]
    assert entry["status"] == "ok", entry
    assert entry["key"].startswith("analysis/own/")
    stored = json.loads(s3.get_object(Bucket=platform["DATA_BUCKET"], Key=entry["key"])["Body"].read())
    assert stored["analyses"] == {}  # nothing declared fits: the profile is what the user gets
    return stored["profile"]


def test_every_table_of_an_undeclared_database_is_profiled(client, s3, platform, own_source):
    profile = _profile(client, s3, platform, True)

    assert sorted(profile["tables"]) == ["empty things", "events", "odd`names", "people"]
    people = profile["tables"]["people"]
    assert (people["row_count"], people["row_count_exact"], people["sampled"]) == (5, True, None)
    columns = people["columns"]
    ages = [p[1] for p in PEOPLE if p[1] is not None]
    assert columns["age"] == {
        "type": "tinyint(3) unsigned",
        "nullable": True,
        "nulls": 1,
        "distinct": 3,
        "min": 27,
        "max": 45,
        "mean": round(statistics.mean(ages), 6),
        "stddev": pytest.approx(statistics.pstdev(ages), abs=1e-4),
        "top_values": [{"value": 31, "count": 2}, {"value": 27, "count": 1}, {"value": 45, "count": 1}],
    }
    balances = [float(p[2]) for p in PEOPLE]
    assert (columns["balance"]["min"], columns["balance"]["max"]) == (-2.25, 100)
    assert columns["balance"]["mean"] == pytest.approx(statistics.mean(balances))
    assert columns["balance"]["stddev"] == pytest.approx(statistics.pstdev(balances))
    assert (columns["joined"]["earliest"], columns["joined"]["latest"], columns["joined"]["nulls"]) == (
        "2023-06-01",
        "2025-02-28",
        1,
    )
    assert columns["seen_at"]["earliest"].startswith("2024-12-31") and columns["seen_at"]["nulls"] == 2
    assert columns["status"]["top_values"][0] == {"value": "active", "count": 3}
    assert columns["name"]["nulls"] == 1 and columns["name"]["distinct"] == 4
    assert columns["notes"] == {"type": "text", "nullable": True, "nulls": 3}  # a long text: nulls only

    empty = profile["tables"]["empty things"]
    assert (empty["row_count"], empty["profiled_rows"]) == (0, 0)
    assert empty["columns"]["score"]["nulls"] is None or empty["columns"]["score"]["nulls"] == 0
    assert empty["columns"]["score"]["distinct"] == 0 and empty["columns"]["score"]["min"] is None

    odd = profile["tables"]["odd`names"]["columns"]
    assert (odd["100%"]["nulls"], odd["100%"]["max"], odd["a`b"]["top_values"]) == (1, 3, [{"value": "x", "count": 2}])


def test_a_million_row_table_is_profiled_from_a_bounded_sample(client, s3, platform, own_source):
    profile = _profile(client, s3, platform, ["events"])

    events = profile["tables"]["events"]
    assert not events["row_count_exact"] and abs(events["row_count"] - BIG_ROWS) < BIG_ROWS * 0.2
    assert events["row_count"] >= EXACT_ROWS
    assert events["profiled_rows"] == SAMPLE_ROWS and "primary key id" in events["sampled"]
    columns = events["columns"]
    assert {v["value"] for v in columns["kind"]["top_values"]} == {"click", "view", "buy", "quit"}
    assert columns["id"]["min"] == 1 and columns["id"]["max"] > BIG_ROWS * 0.9  # the ranges reach the end
    assert 0 < columns["amount"]["nulls"] < SAMPLE_ROWS
    print(f"profile of {BIG_ROWS} rows: {events['duration_ms']} ms")  # the figure docs/analysis.md states


def test_named_tables_only_and_missing_ones_listed(client, s3, platform, own_source):
    profile = _profile(client, s3, platform, ["people", "nope"])
    assert list(profile["tables"]) == ["people"] and profile["missing_tables"] == ["nope"]
    assert profile["not_profiled"] == []


@pytest.mark.parametrize("profile", ["yes", [], [""], ["x" * 65], [1], {"people": True}])
def test_a_bad_profile_is_a_400(client, own_source, profile):
    body = json.dumps({"sources": ["own"], "profile": profile})
    response = client.http.post("/analysis", headers={"Content-Type": "application/json"}, body=body)
    assert response.status_code == 400
    assert "'profile' must be true, false or a non-empty list of table names" in json.loads(response.body)["Message"]


def test_tables_left_when_the_time_budget_is_spent_are_listed_not_profiled(own_source):
    """What bounds an API request's profiling (15 s there): no table is started after the budget."""
    profile = profile_source(own_source, ["people", "events"], budget_seconds=0)
    assert profile == {"tables": {}, "missing_tables": [], "not_profiled": ["people", "events"]}
