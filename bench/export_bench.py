"""One contender of the ``.xlsx`` export of the ``superheroes`` rows, in this (fresh) process, so that its peak RSS
is its own: ``python -m bench.export_bench <contender> [--limit N]``. Each reads the ``heroes`` export's query
(``SELECT id, name, hero, power, xp, color FROM superheroes ... ORDER BY id``) and writes a local file:

- ``stream_only``: reads the rows through a streamed cursor and discards them (the floor of every contender);
- ``ours``: :func:`chalicelib.reporting.workbooks.write_workbook` with the
  ``heroes`` export's sheet from the streamed cursor
  (what ``POST /exports`` runs before its upload);
- ``xlsxwriter``: ``constant_memory`` mode, the same header, widths, frozen row and rows (the limit);
- ``pandas``: ``pandas.read_sql`` + ``DataFrame.to_excel`` (pandas' default xlsx engine).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from bench.common import emit, peak_rss_mib, rate_figure

CONTENDERS = ("stream_only", "ours", "xlsxwriter", "pandas")
SQL = "SELECT id, name, hero, power, xp, color FROM superheroes ORDER BY id"


def _rows(limit: int | None) -> Iterator[tuple]:
    from chalicelib.core.mysql import get_database

    with get_database().cursor(dicts=False, stream=True) as cursor:
        cursor.execute(SQL + (" LIMIT %s" if limit else ""), (limit,) if limit else None)
        yield from cursor


def _xlsxwriter(path: str, limit: int | None) -> int:
    import xlsxwriter

    from chalicelib.reporting.exports import EXPORTS

    sheet = EXPORTS["heroes"].sheet
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(path, options)
    worksheet = workbook.add_worksheet(sheet.title)
    header = workbook.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "bottom": 1})
    for index, column in enumerate(sheet.columns):
        worksheet.set_column(index, index, column.width)
    worksheet.freeze_panes(1, 0)
    worksheet.write_row(0, 0, [column.header for column in sheet.columns], header)
    count = 0
    for count, row in enumerate(_rows(limit), 1):
        worksheet.write_row(count, 0, row)
    workbook.close()
    return count


def _pandas(path: str, limit: int | None) -> tuple[int, str]:
    import pandas as pd
    from sqlalchemy import create_engine, text

    from bench.peers.csv_to_mysql import sqlalchemy_url

    engine = create_engine(sqlalchemy_url())
    try:
        frame = pd.read_sql(text(SQL + (f" LIMIT {int(limit)}" if limit else "")), engine)
    finally:
        engine.dispose()
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="Heroes", index=False)
        engine_name = writer.engine
    return len(frame), engine_name


def run(contender: str, limit: int | None) -> dict[str, Any]:
    from chalicelib.core.mysql import get_database
    from chalicelib.reporting import workbooks
    from chalicelib.reporting.exports import EXPORTS

    extra: dict[str, Any] = {}
    # imports and the connection first: the RSS growth past this point is what the rows cost
    for module in {"ours": ("openpyxl",), "xlsxwriter": ("xlsxwriter",), "pandas": ("pandas", "sqlalchemy")}.get(
        contender, ()
    ):
        __import__(module)
    get_database().connection()
    baseline = peak_rss_mib("VmRSS")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as directory:
        path = os.path.join(directory, "export.xlsx")
        started = time.perf_counter()
        if contender == "stream_only":
            rows = sum(1 for _ in _rows(limit))
        elif contender == "ours":
            rows = workbooks.write_workbook(_rows(limit), EXPORTS["heroes"].sheet, path)
        elif contender == "xlsxwriter":
            rows = _xlsxwriter(path, limit)
        else:
            rows, extra["excel_engine"] = _pandas(path, limit)
        seconds = time.perf_counter() - started
        size = os.path.getsize(path) if os.path.exists(path) else 0
    return rate_figure(contender, seconds, rows, baseline, file_bytes=size, extrapolated=limit is not None, **extra)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--limit", type=int, help="export only the first N rows (a sample; rows/s extrapolates)")
    args = parser.parse_args()
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    emit(run(args.contender, args.limit))


if __name__ == "__main__":
    main()
