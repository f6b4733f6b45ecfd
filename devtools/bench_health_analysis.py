"""Measure the analysis of one ingested health file: rows/s and the process's peak RSS.

    .venv/bin/python -m devtools.bench_health_analysis --rows 1000000

Starts its own AWS emulator, uses the local MySQL database ``bench_platform`` (created and migrated), writes a
generated processed CSV (valid rows, about two thirds anomalous: the worst case for the anomaly list) and runs
:func:`chalicelib.health_analysis.analyse_file` on it, notification included.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import socket
import tempfile
import time

from chalicelib.config import parse_settings
from devtools.local_aws import create_stage_resources, emulator_environment, start_emulator
from devtools.localdb import prepare_database
from devtools.stage import stage_environment

HEADER = ["event_time", "user_id", "heart_rate", "spo2", "steps", "temp_c", "systolic_bp", "diastolic_bp"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_rows(handle, rows: int, users: int = 1000, seed: int = 1) -> None:
    rng = random.Random(seed)
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(HEADER)
    for i in range(rows):
        systolic = rng.randint(100, 150)
        writer.writerow(
            [
                f"2025-09-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                f"user_{i % users}",
                rng.randint(50, 180),
                rng.randint(90, 100),
                rng.randint(0, 5000),
                round(rng.uniform(35, 40), 1),
                systolic,
                rng.randint(60, min(systolic, 100)),
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    port = _free_port()
    emulator = start_emulator(port)
    try:
        env = {**stage_environment("local"), **emulator_environment(port), "DB_NAME": "bench_platform"}
        os.environ.update(env)
        create_stage_resources(env)
        prepare_database(parse_settings(env).db)
        from chalicelib import aws, health_analysis

        bucket, key = env["DATA_BUCKET"], f"processed/health/bench/{args.rows}-{int(time.time())}.csv"
        with tempfile.TemporaryFile("w+b") as handle:
            with open(handle.fileno(), "w", encoding="utf-8", closefd=False) as text:
                write_rows(text, args.rows)
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(0)
            aws.client("s3").upload_fileobj(handle, bucket, key)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        result = health_analysis.analyse_file(bucket, key)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{args.rows} rows ({size / 1e6:.1f} MB), {result['anomalies']} anomalies: {elapsed:.1f} s, "
            f"{args.rows / elapsed:,.0f} rows/s; peak RSS {peak:.0f} MB (before the analysis {rss_before:.0f} MB)"
        )
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
