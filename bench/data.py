"""The bench's data: the generated 1,000,000-row superheroes CSV, a processed health file and a year of café
orders, made once and reused by later runs (files under ``bench/work/``, tables in the bench database)."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench.common import WORK_DIR
from chalicelib.core.mysql import Database

HEALTH_SEED = 1
HEALTH_USERS = 1000
CAFE_SEED = 2026
CAFE_FIRST_DAY = datetime(2025, 1, 1)
CAFE_DAYS = 365
CAFE_ITEMS = 1_000_000
ITEMS_PER_ORDER = (1, 7)  # uniform: 4 on average


def heroes_csv(rows: int) -> Path:
    """``bench/work/superheroes-<rows>.csv`` from ``devtools.gen_superheroes`` (default seed)."""
    from devtools.gen_superheroes import write_csv

    path = WORK_DIR / f"superheroes-{rows}.csv"
    if not path.exists():
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8", newline="") as out:
            write_csv(out, rows)
        partial.rename(path)
    return path


def health_csv(rows: int) -> Path:
    """``bench/work/health-<rows>.csv``: a processed health file (the ingest's normalised output) of valid rows,
    about three quarters anomalous (the worst case for the analysis' anomaly list)."""
    from chalicelib.ingest.datasets import DATASETS

    path = WORK_DIR / f"health-{rows}.csv"
    if path.exists():
        return path
    rng = random.Random(HEALTH_SEED)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(DATASETS["health"].column_names)
        for i in range(rows):
            systolic = rng.randint(100, 150)
            writer.writerow(
                [
                    f"2025-09-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                    f"user_{i % HEALTH_USERS}",
                    rng.randint(50, 180),
                    rng.randint(90, 100),
                    rng.randint(0, 5000),
                    round(rng.uniform(35, 40), 1),
                    systolic,
                    rng.randint(60, min(systolic, 100)),
                ]
            )
    partial.rename(path)
    return path


def load_data(database: Database, path: Path, table: str, columns: str, ignore_lines: int = 1) -> int:
    """``LOAD DATA LOCAL INFILE`` of a comma-separated file into ``table``; answers the rows loaded."""
    with database.cursor(dicts=False) as cur:
        cur.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` FIELDS TERMINATED BY ','"  # the bench's own names
            f" LINES TERMINATED BY '\\n' IGNORE {int(ignore_lines)} LINES ({columns})",
            (str(path),),
        )
        return cur.rowcount


def count(database: Database, table: str) -> int:
    with database.cursor(dicts=False) as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{table}`")  # noqa: S608 - the bench's own table names
        return int(cur.fetchone()[0])


def cafe_orders(database: Database) -> dict[str, int]:
    """A year of café orders, ``CAFE_ITEMS`` order items over ``CAFE_DAYS`` days (about 2,700 a day), the
    products of ``data/cafe``; made when ``order_item`` does not hold exactly that many rows."""
    from devtools.seed import seed_cafe

    if count(database, "order_item") == CAFE_ITEMS:
        return {"order": count(database, "order"), "order_item": CAFE_ITEMS}
    with database.cursor(dicts=False) as cur:
        cur.execute("SET foreign_key_checks = 0")
        for table in ("order_item", "order", "product", "product_group"):
            cur.execute(f"TRUNCATE TABLE `{table}`")  # fixed names
        cur.execute("SET foreign_key_checks = 1")
    seed_cafe(database)  # the products and groups of data/cafe; its 24 orders make way for the generated ones
    with database.cursor(dicts=False) as cur:
        cur.execute("DELETE FROM order_item")
        cur.execute("DELETE FROM `order`")
        cur.execute("SELECT id, price FROM product ORDER BY id")
        prices = {int(product): Decimal(price) for product, price in cur.fetchall()}
    rng = random.Random(CAFE_SEED)
    products = list(prices)
    orders = CAFE_ITEMS * 2 // sum(ITEMS_PER_ORDER)  # about; items per order are uniform in ITEMS_PER_ORDER
    step = timedelta(days=CAFE_DAYS).total_seconds() / orders
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    orders_path, items_path = WORK_DIR / "cafe-order.csv", WORK_DIR / "cafe-order_item.csv"
    items = order_number = 0
    with orders_path.open("w") as orders_file, items_path.open("w") as items_file:
        while items < CAFE_ITEMS:
            order_number += 1
            when = CAFE_FIRST_DAY + timedelta(seconds=order_number * step)
            total = Decimal("0.00")
            lines = []
            for item in range(1, min(rng.randint(*ITEMS_PER_ORDER), CAFE_ITEMS - items) + 1):
                product, quantity = rng.choice(products), rng.randint(1, 5)
                amount = prices[product] * quantity
                total += amount
                lines.append(f"{order_number},{item},{product},{quantity},{amount}\n")
            items += len(lines)
            orders_file.write(f"{order_number},{when:%Y-%m-%d %H:%M:%S},{total}\n")
            items_file.writelines(lines)
    with database.cursor(dicts=False) as cur:
        cur.execute("SET foreign_key_checks = 0")
    load_data(database, orders_path, "order", "order_number, order_date_time, amount", ignore_lines=0)
    load_data(database, items_path, "order_item", "order_number, order_item_number, product_id, quantity, amount", 0)
    with database.cursor(dicts=False) as cur:
        cur.execute("SET foreign_key_checks = 1")
        # fresh statistics, as a database that has been up for a while has them (the report's query no longer
        # depends on them, see reports.SALES_SQL; the original extractor's plan may)
        cur.execute("ANALYZE TABLE `order`, order_item, product, product_group")
        cur.fetchall()
    return {"order": order_number, "order_item": items}
