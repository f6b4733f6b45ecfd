"""One contender of the analysis of a large processed health file, in this (fresh) process: ``python -m
bench.health_bench <contender> --bucket B --key K``. Prints seconds, rows/s and this process's peak RSS as JSON.

- ``ours``: :func:`chalicelib.health_readings.file_analysis.analyse_file` on
  ``processed/health/...csv`` in the emulated bucket
  (what the ``ingest.completed`` subscriber runs): anomalies spooled and streamed into the stored result, the
  statistics, the insights, the notification;
- ``read_only``: the same object read through ``csv.DictReader`` and discarded (the floor of any analysis).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from bench.common import emit, peak_rss_mib, rate_figure

CONTENDERS = ("ours", "read_only")


def _read_only(bucket: str, key: str) -> int:
    import codecs
    import csv

    from chalicelib.core import aws

    with aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"] as body:
        return sum(1 for _ in csv.DictReader(codecs.getreader("utf-8-sig")(body)))


def run(contender: str, bucket: str, key: str) -> dict[str, Any]:
    from chalicelib.core import aws
    from chalicelib.health_readings import file_analysis

    aws.client("s3")  # clients and imports first: the RSS growth past this point is what the rows cost
    baseline = peak_rss_mib("VmRSS")
    started = time.perf_counter()
    if contender == "ours":
        result = file_analysis.analyse_file(bucket, key)
        rows, extra = result["records_analyzed"], {"anomalies": result["anomalies"]}
    else:
        rows, extra = _read_only(bucket, key), {}
    return rate_figure(contender, time.perf_counter() - started, rows, baseline, **extra)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True, help="a processed/health/ key nobody analysed in this database")
    args = parser.parse_args()
    sys.stdout = open(os.devnull, "w")  # the app's JSON log lines  # noqa: SIM115
    emit(run(args.contender, args.bucket, args.key))


if __name__ == "__main__":
    main()
