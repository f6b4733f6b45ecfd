"""One contender of the 1,000,000-row superheroes ingest, in this (fresh) process: ``python -m
bench.ingest_bench <contender> ...``. It empties ``superheroes`` and the ingest ledger first (untimed), loads,
checks the rows arrived, and prints seconds, rows/s and this process's peak RSS as JSON.

- ``ours``: the app's S3 handler ``on_s3_upload`` called as Lambda calls it, with an ``ObjectCreated`` event for
  ``raw/superheroes/...csv`` in the emulated bucket (stream in, validate, ``processed/`` out, load, manifest);
- ``load_data``: ``LOAD DATA LOCAL INFILE`` of the same bytes from a local file (no S3, no validation: the limit);
- ``pandas``: ``read_csv`` of the object + ``DataFrame.to_sql`` (:mod:`bench.peers.csv_to_mysql`);
- ``row_by_row``: one ``INSERT`` per row, over the first ``--sample`` rows only (rows/s extrapolates).

Two more compare ways of writing rows that are already validated (typed, from the local file), all in one
transaction, batch by batch as the ingest writes them (``make bench --with writers``):

- ``writer_ours``: :func:`chalicelib.ingest.loaders.write_rows`, the ingest's own writer;
- ``writer_staging``: ``LOAD DATA LOCAL INFILE`` of each batch into a temporary staging table, then the same
  upsert (``INSERT ... SELECT ... ON DUPLICATE KEY UPDATE``) from it.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import emit, peak_rss_mib, rate_figure

CONTENDERS = ("ours", "load_data", "pandas", "row_by_row", "writer_ours", "writer_staging")
COLUMNS = "id, name, hero, power, xp, color"


def s3_event(bucket: str, key: str) -> dict:
    from urllib.parse import quote_plus

    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": {"key": quote_plus(key)}},
    }
    return {"Records": [record]}


def empty_tables() -> None:
    from chalicelib.core.mysql import get_database

    with get_database().cursor() as cur:
        cur.execute("TRUNCATE TABLE superheroes")
        cur.execute("DELETE FROM ingest_ledger")


def table_rows() -> int:
    from chalicelib.core.mysql import get_database

    with get_database().cursor(dicts=False) as cur:
        cur.execute("SELECT COUNT(*) FROM superheroes")
        return int(cur.fetchone()[0])


def typed_batches(csv_path: Path) -> Iterator[list[tuple]]:
    """The file's rows as the ingest's validation hands them to the writer, in the ingest's batches."""
    from chalicelib.ingest.pipeline import BATCH_ROWS

    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[tuple] = []
        for row in reader:
            batch.append((int(row[0]), row[1], row[2], row[3], int(row[4]), row[5]))
            if len(batch) == BATCH_ROWS:
                yield batch
                batch = []
        if batch:
            yield batch


def write_validated(contender: str, csv_path: Path) -> None:
    """``writer_ours`` or ``writer_staging``: every batch in one transaction."""
    from chalicelib.core.mysql import get_database
    from chalicelib.ingest import loaders
    from chalicelib.ingest.datasets import DATASETS

    dataset = DATASETS["superheroes"]
    with get_database().transaction(dicts=False) as cur:
        if contender == "writer_staging":
            cur.execute("CREATE TEMPORARY TABLE staging_heroes LIKE superheroes")
        for batch in typed_batches(csv_path):
            if contender == "writer_ours":
                loaders.write_rows(cur, dataset, batch, {})
                continue
            with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", encoding="utf-8") as chunk:
                csv.writer(chunk, lineterminator="\n").writerows(batch)
                chunk.flush()
                cur.execute(
                    "LOAD DATA LOCAL INFILE %s INTO TABLE staging_heroes FIELDS TERMINATED BY ','"
                    f" OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' ({COLUMNS})",  # constant columns
                    (chunk.name,),
                )
            cur.execute(
                f"INSERT INTO superheroes ({COLUMNS}) SELECT {COLUMNS} FROM staging_heroes"  # noqa: S608 - constant columns
                " ON DUPLICATE KEY UPDATE name = VALUES(name), hero = VALUES(hero), power = VALUES(power),"
                " xp = VALUES(xp), color = VALUES(color), version = superheroes.version + 1"
            )
            cur.execute("DELETE FROM staging_heroes")
        cur.execute("DROP TEMPORARY TABLE IF EXISTS staging_heroes")


def run(contender: str, bucket: str, key: str, csv_path: Path, sample: int) -> dict:
    empty_tables()
    # imports first (cold start is measured elsewhere): the RSS growth past this point is what the rows cost
    for module in {"ours": ("app",), "pandas": ("pandas", "sqlalchemy", "boto3"), "row_by_row": ("boto3",)}.get(
        contender, ()
    ):
        __import__(module)
    baseline = peak_rss_mib("VmRSS")
    started = time.perf_counter()
    if contender == "ours":
        from chalice.local import LambdaContext

        from app import on_s3_upload

        result = on_s3_upload(s3_event(bucket, key), LambdaContext("on_s3_upload", 512))
        if result.get("status") != "loaded":
            raise SystemExit(f"ingest did not load: {result}")
    elif contender == "load_data":
        from bench.data import load_data
        from chalicelib.core.mysql import get_database

        load_data(get_database(), csv_path, "superheroes", COLUMNS)
    elif contender == "pandas":
        from bench.peers.csv_to_mysql import pandas_to_sql

        pandas_to_sql(bucket, key)
    elif contender == "row_by_row":
        from bench.peers.csv_to_mysql import row_by_row

        row_by_row(bucket, key, sample)
    else:
        write_validated(contender, csv_path)
    seconds = time.perf_counter() - started
    return rate_figure(contender, seconds, table_rows(), baseline, extrapolated=contender == "row_by_row")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--csv", type=Path, required=True, help="the same file, local (for LOAD DATA)")
    parser.add_argument("--sample", type=int, default=20_000, help="rows the row-by-row loop inserts")
    args = parser.parse_args()
    sys.stdout = open(os.devnull, "w")  # the app's JSON log lines  # noqa: SIM115
    emit(run(args.contender, args.bucket, args.key, args.csv, args.sample))


if __name__ == "__main__":
    main()
