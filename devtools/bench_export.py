"""Benchmark: export N superheroes rows from MySQL to ``.xlsx``, our exporter next to xlsxwriter.

    .venv/bin/pip install -r requirements-bench.txt     # xlsxwriter, for the comparison only
    .venv/bin/python -m devtools.bench_export --rows 1000000

The rows live in a scratch database (``--database``, default ``bench_export``) on the local MySQL, generated
by ``devtools.gen_superheroes`` once and reused. Each writer runs in its own process, reading the same
``SELECT ... ORDER BY id`` through a streamed cursor, so each peak RSS is that writer's alone:

- ``stream-only``: reads the rows and discards them (the floor: Python, PyMySQL, the streamed cursor);
- ``openpyxl``: ``chalicelib.workbooks.write_workbook`` with the ``heroes`` export's sheet (what
  ``POST /exports`` runs before its upload);
- ``xlsxwriter``: ``constant_memory`` mode, the same header, widths and rows.

Prints one JSON line per writer (seconds, peak RSS, its growth over the RSS once the writer is imported and
the connection open, file size) and a table. Only the growth depends on the rows; the imports alone differ by
tens of MiB (openpyxl imports numpy when it is installed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

from chalicelib.config import parse_settings
from chalicelib.db import get_database
from chalicelib.exports import EXPORTS
from devtools.localdb import prepare_database
from devtools.seed import seed_heroes

WRITERS = ("stream-only", "openpyxl", "xlsxwriter")
SQL = "SELECT id, name, hero, power, xp, color FROM superheroes ORDER BY id"
SHEET = EXPORTS["heroes"].sheet


def _rows() -> Any:
    """Yield the rows of :data:`SQL` from a streamed (server-side) cursor."""
    with get_database().cursor(dicts=False, stream=True) as cursor:
        cursor.execute(SQL)
        yield from cursor


def _write_xlsxwriter(path: str) -> int:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet(SHEET.title)
    header = workbook.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "bottom": 1})
    for index, column in enumerate(SHEET.columns):
        sheet.set_column(index, index, column.width)
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, [column.header for column in SHEET.columns], header)
    count = 0
    for count, row in enumerate(_rows(), 1):
        sheet.write_row(count, 0, row)
    workbook.close()
    return count


def _memory_kib(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process. Linux's ``VmHWM`` is per address space, so it starts
    afresh at ``exec``; ``ru_maxrss`` does not (a child would report its parent's peak if that were higher)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


def run_writer(writer: str) -> dict[str, Any]:
    """Run one writer in this process; answers its figures."""
    from chalicelib import workbooks

    if writer != "stream-only":  # import the writer and open the connection before the baseline
        __import__("openpyxl" if writer == "openpyxl" else "xlsxwriter")
    get_database().connection()
    baseline_kib = _memory_kib("VmRSS")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as directory:
        path = os.path.join(directory, "export.xlsx")
        started = time.perf_counter()
        if writer == "stream-only":
            rows = sum(1 for _ in _rows())
        elif writer == "openpyxl":
            rows = workbooks.write_workbook(_rows(), SHEET, path)
        else:
            rows = _write_xlsxwriter(path)
        seconds = time.perf_counter() - started
        size = os.path.getsize(path) if os.path.exists(path) else 0
    peak_kib = _memory_kib("VmHWM")
    return {
        "writer": writer,
        "rows": rows,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "growth_mib": round((peak_kib - baseline_kib) / 1024, 1),  # above the RSS once imported and connected
        "bytes": size,
    }


def prepare(rows: int, database: str) -> None:
    """Create the scratch database and fill ``superheroes`` with exactly ``rows`` generated rows."""
    os.environ["DB_NAME"] = database
    db = prepare_database(parse_settings(os.environ).db)
    with db.cursor(dicts=False) as cur:
        cur.execute("SELECT COUNT(*) FROM superheroes")
        have = cur.fetchone()[0]
        if have != rows:
            cur.execute("TRUNCATE TABLE superheroes")
    db.close()
    if have != rows:
        started = time.perf_counter()
        seed_heroes(get_database(), rows)
        print(f"[bench] generated {rows} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_export", help="scratch database (default bench_export)")
    parser.add_argument("--writer", choices=WRITERS, help=argparse.SUPPRESS)  # one measurement, in a child
    args = parser.parse_args(argv)
    os.environ["DB_NAME"] = args.database
    if args.writer:
        print(json.dumps(run_writer(args.writer)))
        return 0
    prepare(args.rows, args.database)
    results = []
    for writer in WRITERS:
        child = subprocess.run(
            [sys.executable, "-m", "devtools.bench_export", "--database", args.database, "--writer", writer],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]))
    print(f"\n{'writer':<12} {'rows':>9} {'seconds':>8} {'peak RSS MiB':>13} {'growth MiB':>11} {'file MiB':>9}")
    for r in results:
        print(
            f"{r['writer']:<12} {r['rows']:>9} {r['seconds']:>8} {r['peak_rss_mib']:>13} {r['growth_mib']:>11}"
            f" {r['bytes'] / 2**20:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
