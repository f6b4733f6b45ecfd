"""One day's sales report over a year of café orders (``bench.data.cafe_orders``), in a fresh process.

- ``ours``: what the report computes from the database: :data:`chalicelib.reporting.sales.SALES_SQL` for the day's UTC
  range on the app's connection, the :class:`~chalicelib.reporting.sales.SalesReport` and its text;
- ``ours_end_to_end``: :func:`chalicelib.reporting.sales.run_sales_report` (the same, plus the workbook, its upload to
  S3 and the SNS publish; the emulator serves S3 and SNS);
- ``limit``: the aggregate query alone, on an open connection, rows fetched;
- ``peer``: the original extractor's unfiltered query (:mod:`bench.peers.cafe_extractor`).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from bench.common import emit, interleaved

ROUNDS = 5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--day", default="2025-06-20")
    args = parser.parse_args()
    sys.stdout = open(os.devnull, "w")  # the app's JSON log lines  # noqa: SIM115

    from bench.peers import cafe_extractor
    from chalicelib.core.mysql import get_database
    from chalicelib.reporting import sales

    day = date.fromisoformat(args.day)
    params = sales.utc_range(day, day, "UTC")
    database = get_database()

    def limit() -> list:
        with database.cursor(dicts=False) as cur:
            cur.execute(sales.SALES_SQL, params)
            return cur.fetchall()

    def ours() -> str:
        report = sales.SalesReport(day, "UTC")
        with database.cursor(dicts=False, stream=True) as cur:
            cur.execute(sales.SALES_SQL, params)
            for row in cur:
                report.add(row)
        return sales.format_report(report)

    figures = interleaved(
        {
            "ours": ours,
            "ours_end_to_end": lambda: sales.run_sales_report(day),
            "limit": limit,
            "peer": lambda: cafe_extractor.lambda_handler({}, None),
        },
        ROUNDS,
    )
    items = sum(row[4] for row in limit())
    with database.cursor(dicts=False) as cur:
        cur.execute("SELECT COUNT(*) FROM order_item")
        all_items = cur.fetchone()[0]
        cur.execute("EXPLAIN " + sales.SALES_SQL, params)
        plan = [list(row) for row in cur.fetchall()]
    emit({"day": args.day, "quantity_that_day": int(items), "order_items_total": int(all_items),
          "explain": plan, **figures})  # fmt: skip


if __name__ == "__main__":
    main()
