"""Benchmark the S3 ingest of a large superheroes CSV against a bare ``LOAD DATA LOCAL INFILE`` of the file.

    python -m devtools.bench_ingest --rows 1000000

Starts its own AWS emulator, uses its own database (``bench_ingest``) and Redis index (14), so it can run
next to ``make run``. The file (``devtools.gen_superheroes``) is uploaded to the emulator's data bucket and
ingested by the app's ``on_s3_upload`` handler, in a child process, so that the peak RSS reported is the
handler's alone. Then the same file is loaded into an empty table by ``LOAD DATA LOCAL INFILE`` (what the
older system did, without validation, outputs, upserts or exactly-once). Both runs start from an empty
``superheroes`` table.

``--writers`` also compares the two ways of writing validated rows inside the transaction: ``executemany``
of a multi-row ``INSERT ... ON DUPLICATE KEY UPDATE`` (what ``chalicelib.loaders`` uses) and
``LOAD DATA LOCAL INFILE`` of each batch into a temporary staging table followed by the same upsert from it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

from chalicelib.config import DbSettings, parse_settings
from devtools.local_aws import create_stage_resources, emulator_environment, start_emulator
from devtools.localdb import prepare_database
from devtools.stage import PROJECT_DIR, stage_environment

DB_NAME = "bench_ingest"
REDIS_URL = "redis://127.0.0.1:6379/14"
KEY = "raw/superheroes/bench/heroes.csv"
COLUMNS = "id, name, hero, power, xp, color"
UPSERT = (
    "name = VALUES(name), hero = VALUES(hero), power = VALUES(power), xp = VALUES(xp), color = VALUES(color),"
    " version = superheroes.version + 1"
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect(settings: DbSettings):
    import pymysql

    return pymysql.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        database=settings.name,
        local_infile=True,
        autocommit=True,
    )


def _empty_tables(settings: DbSettings) -> None:
    conn = _connect(settings)
    with conn.cursor() as cur:
        cur.execute("TRUNCATE TABLE superheroes")
        cur.execute("TRUNCATE TABLE ingest_ledger")
    conn.close()


def invoke_handler(bucket: str, key: str) -> None:
    """(child process) Run the app's S3 handler on ``key`` with the event S3 sends; print timing and RSS."""
    from chalice.local import LambdaContext

    from app import app

    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key)}},
            }
        ]
    }
    started = time.perf_counter()
    result = app.handler_map["on_s3_upload"](event, LambdaContext("on_s3_upload", memory_size=512))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "result": result}, default=str))


def load_data(settings: DbSettings, path: str) -> None:
    """(child process) ``LOAD DATA LOCAL INFILE`` of the whole file into ``superheroes``; print timing and RSS."""
    conn = _connect(settings)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(
            "LOAD DATA LOCAL INFILE %s INTO TABLE superheroes FIELDS TERMINATED BY ','"
            f" LINES TERMINATED BY '\\n' IGNORE 1 LINES ({COLUMNS})",  # sql-ok: constant column list
            (path,),
        )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak}))


def _batches(path: str, size: int = 5000) -> Iterator[list[tuple]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[tuple] = []
        for row in reader:
            batch.append((int(row[0]), row[1], row[2], row[3], int(row[4]), row[5]))
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


def compare_writers(settings: DbSettings, path: str) -> dict[str, float]:
    """Seconds to write the file's (already typed) rows in one transaction, per writing strategy."""
    timings = {}
    for strategy in ("executemany", "load_data_staging"):
        _empty_tables(settings)
        conn = _connect(settings)
        started = time.perf_counter()
        with conn.cursor() as cur:
            conn.begin()
            if strategy == "load_data_staging":
                cur.execute("CREATE TEMPORARY TABLE staging_heroes LIKE superheroes")
            for batch in _batches(path):
                if strategy == "executemany":
                    cur.executemany(
                        f"INSERT INTO superheroes ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"  # sql-ok: constant
                        f" ON DUPLICATE KEY UPDATE {UPSERT}",
                        batch,
                    )
                    continue
                with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", encoding="utf-8") as chunk:
                    csv.writer(chunk, lineterminator="\n").writerows(batch)
                    chunk.flush()
                    cur.execute(
                        "LOAD DATA LOCAL INFILE %s INTO TABLE staging_heroes FIELDS TERMINATED BY ','"
                        f" OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' ({COLUMNS})",  # sql-ok: constant
                        (chunk.name,),
                    )
                cur.execute(
                    f"INSERT INTO superheroes ({COLUMNS}) SELECT {COLUMNS} FROM staging_heroes"  # sql-ok: constant
                    f" ON DUPLICATE KEY UPDATE {UPSERT}"
                )
                cur.execute("DELETE FROM staging_heroes")
            conn.commit()
        timings[strategy] = time.perf_counter() - started
        conn.close()
    return timings


def _child(env: dict[str, str], *args: str) -> dict:
    answer = subprocess.run(
        [sys.executable, "-m", "devtools.bench_ingest", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--writers", action="store_true", help="also compare executemany with LOAD DATA batches")
    parser.add_argument("--invoke", nargs=2, metavar=("BUCKET", "KEY"), help=argparse.SUPPRESS)
    parser.add_argument("--load-data", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.invoke:
        invoke_handler(*args.invoke)
        return 0
    if args.load_data:
        load_data(parse_settings(os.environ).db, args.load_data)
        return 0

    from devtools.gen_superheroes import write_csv

    port = _free_port()
    emulator = start_emulator(port)
    try:
        env = {
            **os.environ,
            **stage_environment("local"),
            **emulator_environment(port),
            "DB_NAME": DB_NAME,
            "REDIS_URL": REDIS_URL,
            "ANALYSIS_SOURCES": "",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update(env)
        create_stage_resources(env)
        settings = parse_settings(env).db
        prepare_database(settings)
        _empty_tables(settings)
        with tempfile.TemporaryDirectory() as scratch:
            path = str(Path(scratch) / "heroes.csv")
            with open(path, "w", encoding="utf-8", newline="") as out:
                write_csv(out, args.rows)
            size_mb = os.path.getsize(path) / 1e6
            import boto3

            boto3.client("s3").upload_file(path, env["DATA_BUCKET"], KEY)
            handler = _child(env, "--invoke", env["DATA_BUCKET"], KEY)
            _empty_tables(settings)
            baseline = _child(env, "--load-data", path)
            writers = compare_writers(settings, path) if args.writers else {}
        print(f"file: {args.rows} rows, {size_mb:.1f} MB")
        print(f"counts: {handler['result']['counts']}")
        for name, run in (
            ("on_s3_upload (S3 -> validate -> MySQL + outputs)", handler),
            ("LOAD DATA LOCAL INFILE", baseline),
        ):
            rate = args.rows / run["seconds"]
            print(f"{name}: {run['seconds']:.1f} s, {rate:,.0f} rows/s, peak RSS {run['peak_rss_mb']:.0f} MB")
        for name, seconds in writers.items():
            print(f"writer {name}: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s")
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
