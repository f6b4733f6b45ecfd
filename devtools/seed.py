"""Sample data that ``make run`` loads: everything comes from files in this repo or is generated."""

from __future__ import annotations

import csv
import os
import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from chalicelib.core.mysql import Database, get_database
from chalicelib.core.settings import Settings
from chalicelib.heroes import cache as hero_cache

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
# the café tables in foreign-key order, with the columns of their CSV files (copied from the lab's dump)
CAFE_TABLES = {
    "product_group": ("product_group_number", "product_group_name"),
    "product": ("id", "product_name", "description", "price", "product_group", "image_url"),
    "order": ("order_number", "order_date_time", "amount"),
    "order_item": ("order_number", "order_item_number", "product_id", "quantity", "amount"),
}


def seed_all(settings: Settings) -> None:
    """Load every sample data set into the local databases (idempotent)."""
    get_database()  # seeders for each capability are added below
    seed_cafe(get_database())
    seed_heroes(get_database(), hero_sample_rows())
    if "private" in settings.analysis_sources:  # the private source holds other data than the public one
        seed_health_readings(get_database("private"))


def seed_cafe(database: Database) -> dict[str, int]:
    """Load ``data/cafe/*.csv`` (the café lab's 2 groups, 9 products, 24 orders, 51 items; order times are UTC)
    when all four café tables are empty; answers the rows loaded per table."""
    with database.cursor(dicts=False) as cur:
        for table in CAFE_TABLES:
            cur.execute(f"SELECT 1 FROM `{table}` LIMIT 1")  # noqa: S608 - table names from CAFE_TABLES
            if cur.fetchone():
                return {}
    loaded = {}
    with database.transaction(dicts=False) as cur:
        for table, columns in CAFE_TABLES.items():
            with (DATA_DIR / "cafe" / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                if tuple(next(reader)) != columns:
                    raise SystemExit(f"data/cafe/{table}.csv: the header must be {','.join(columns)}")
                rows = [tuple(row) for row in reader]
            names, marks = ", ".join(columns), ", ".join(["%s"] * len(columns))
            cur.executemany(f"INSERT INTO `{table}` ({names}) VALUES ({marks})", rows)  # noqa: S608 - whitelisted names
            loaded[table] = len(rows)
    print(f"[seed] café sample: {loaded}")
    return loaded


def seed_heroes(database: Database, rows: int) -> int:
    """Load ``rows`` generated superheroes (``devtools.gen_superheroes``, default seed) with LOAD DATA when the
    table is empty; answers the rows loaded. ``HERO_SAMPLE_ROWS`` sets ``rows`` for ``make run``."""
    from devtools.gen_superheroes import write_csv

    with database.cursor(dicts=False) as cur:
        cur.execute("SELECT 1 FROM superheroes LIMIT 1")
        if cur.fetchone():
            return 0
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8") as csv_file:
        write_csv(csv_file, rows)
        csv_file.flush()
        with database.cursor(dicts=False) as cur:
            cur.execute(
                "LOAD DATA LOCAL INFILE %s INTO TABLE superheroes FIELDS TERMINATED BY ','"
                " LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, name, hero, power, xp, color)",
                (csv_file.name,),
            )
            loaded = cur.rowcount
    hero_cache.invalidate_all_heroes()  # a cache left from an earlier table must not answer for these
    print(f"[seed] superheroes sample: {loaded} generated rows")
    return loaded


def hero_sample_rows() -> int:
    raw = os.environ.get("HERO_SAMPLE_ROWS", "10000")
    if not raw.isdigit():
        raise SystemExit(f"HERO_SAMPLE_ROWS must be a non-negative integer, got {raw!r}")
    return int(raw)


_ANOMALOUS_RANGES = (
    ("heart_rate", 161, 178),
    ("heart_rate", 50, 58),
    ("spo2", 90, 91),
    ("systolic_bp", 141, 170),
    ("diastolic_bp", 91, 100),
    ("temp_c", 38.1, 39.5),
)


def _generated_reading(rng: random.Random) -> dict[str, float | int]:
    """One reading inside the health dataset's valid ranges (docs/ingest.md); about one in ten breaks an
    anomaly threshold."""
    reading: dict[str, float | int] = {
        "heart_rate": rng.randint(62, 110),
        "spo2": rng.randint(94, 100),
        "steps": rng.randint(0, 400),
        "temp_c": round(rng.uniform(36.1, 37.4), 1),
        "systolic_bp": rng.randint(105, 135),
        "diastolic_bp": rng.randint(65, 85),
    }
    if rng.random() < 0.1:
        field, low, high = rng.choice(_ANOMALOUS_RANGES)
        reading[field] = round(rng.uniform(low, high), 1) if field == "temp_c" else rng.randint(int(low), int(high))
    return reading


def seed_health_readings(database: Database, users: int = 8, per_user: int = 288, seed: int = 7) -> int:
    """Generated health readings (``patient_01``.., one every 5 minutes of 2025-09-01, reproducible from
    ``seed``) when ``health_metrics`` is empty; answers the rows loaded."""
    with database.cursor(dicts=False) as cur:
        cur.execute("SELECT 1 FROM health_metrics LIMIT 1")
        if cur.fetchone():
            return 0
    rng = random.Random(seed)
    start = datetime(2025, 9, 1)
    rows = []
    for user in range(1, users + 1):
        for index in range(per_user):
            reading = _generated_reading(rng)
            rows.append((start + timedelta(minutes=5 * index), f"patient_{user:02d}", *reading.values()))
    with database.transaction(dicts=False) as cur:
        cur.executemany(
            "INSERT INTO health_metrics (event_time, user_id, heart_rate, spo2, steps, temp_c, systolic_bp,"
            " diastolic_bp) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    print(f"[seed] {database.name}: {len(rows)} generated health readings")
    return len(rows)
