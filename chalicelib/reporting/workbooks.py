"""Excel workbooks streamed from MySQL to S3 with flat memory.

A query's rows come from a server-side (streamed) cursor and go straight into openpyxl's write-only mode,
which writes each row to a temporary file as it is appended; the finished ``.xlsx`` is uploaded from ``/tmp``
with boto3's managed (multipart, chunked) transfer. No step holds all rows, so memory does not grow with the
number of rows. openpyxl is imported inside the functions: handlers that never export never load it.

Text from data that starts with ``=``, ``+``, ``-`` or ``@`` is stored as a string cell with Excel's quote
prefix, so it can never become a formula (spreadsheet formula injection).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.core import aws
from chalicelib.core.mysql import get_database
from chalicelib.core.settings import get_settings

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@")
NUMBER_FORMATS = {"decimal": "#,##0.00", "datetime": "yyyy-mm-dd hh:mm:ss"}
UPLOAD_PART_BYTES = 8 * 1024 * 1024
HEADER_FILL = "1F4E78"
HEADER_FONT_COLOR = "FFFFFF"


@dataclass(frozen=True)
class Column:
    """One column: its header, how its values are written, its width in characters, and whether the
    totals row sums it."""

    header: str
    kind: Literal["text", "integer", "decimal", "datetime"] = "text"
    width: float = 12
    total: bool = False


@dataclass(frozen=True)
class BarChart:
    """A bar chart of one column's values, labelled by another column (indexes into the sheet's columns)."""

    title: str
    category: int
    value: int


@dataclass(frozen=True)
class Sheet:
    """The declaration of an exported sheet; the rows are tuples in the columns' order."""

    title: str
    columns: tuple[Column, ...]
    chart: BarChart | None = None

    @property
    def has_totals(self) -> bool:
        return any(column.total for column in self.columns)


class _CellMaker:
    """Turns a row of query values into write-only cells; plain values stay plain (the fast path)."""

    def __init__(self, worksheet: Any, columns: Sequence[Column]) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self._ws = worksheet
        self._new_cell = WriteOnlyCell
        self._illegal = ILLEGAL_CHARACTERS_RE
        self._kinds = [column.kind for column in columns]

    def text(self, value: Any) -> Any:
        text = self._illegal.sub("", value if isinstance(value, str) else str(value))
        if not text.startswith(FORMULA_PREFIXES):
            return text
        cell = self._new_cell(self._ws, text)
        cell.data_type = "s"  # openpyxl would otherwise take "=..." for a formula
        cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
        return cell

    def formatted(self, value: Any, kind: str) -> Any:
        cell = self._new_cell(self._ws, value)
        cell.number_format = NUMBER_FORMATS[kind]
        return cell

    def row(self, values: Sequence[Any]) -> list[Any]:
        cells = []
        for value, kind in zip(values, self._kinds, strict=True):
            if value is None or kind == "integer":
                cells.append(value)
            elif kind == "text":
                cells.append(self.text(value))
            else:
                cells.append(self.formatted(value, kind))
        return cells


def _header(worksheet: Any, columns: Sequence[Column]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    font = Font(bold=True, color=HEADER_FONT_COLOR)
    fill = PatternFill("solid", fgColor=HEADER_FILL)
    border = Border(bottom=Side(style="thin"))
    cells = []
    for column in columns:
        cell = WriteOnlyCell(worksheet, column.header)
        cell.font, cell.fill, cell.border = font, fill, border
        cell.alignment = Alignment(horizontal="left" if column.kind == "text" else "right")
        cells.append(cell)
    return cells


def _totals(worksheet: Any, columns: Sequence[Column], sums: dict[int, Any]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Border, Font, Side

    font, border = Font(bold=True), Border(top=Side(style="thin"))
    cells = []
    for index, column in enumerate(columns):
        value = sums.get(index)
        if index == 0 and value is None:
            value = "Total"
        cell = WriteOnlyCell(worksheet, value)
        if column.kind in NUMBER_FORMATS and value is not None and index in sums:
            cell.number_format = NUMBER_FORMATS[column.kind]
        cell.font, cell.border = font, border
        cells.append(cell)
    return cells


def _add_chart(worksheet: Any, sheet: Sheet, rows: int) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.utils import get_column_letter

    spec = sheet.chart
    assert spec is not None
    chart = BarChart()
    chart.type = "col"
    chart.title = spec.title
    chart.y_axis.title = sheet.columns[spec.value].header
    chart.x_axis.title = sheet.columns[spec.category].header
    chart.legend = None
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 otherwise leaves Excel hiding the axes
    chart.width, chart.height = 24, 12
    values = Reference(worksheet, min_col=spec.value + 1, min_row=1, max_row=rows + 1)
    labels = Reference(worksheet, min_col=spec.category + 1, min_row=2, max_row=rows + 1)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(labels)
    worksheet.add_chart(chart, f"{get_column_letter(len(sheet.columns) + 2)}2")


def write_workbook(rows: Iterable[Sequence[Any]], sheet: Sheet, path: str) -> int:
    """Write ``rows`` under a styled header, then a totals row and the chart, to ``path``; returns the
    number of data rows. ``rows`` is consumed once, row by row (a streamed cursor works)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from chalicelib.reporting.xlsx_rows import RowWriter

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet.title)
    for index, column in enumerate(sheet.columns, 1):
        worksheet.column_dimensions[get_column_letter(index)].width = column.width
    worksheet.freeze_panes = "A2"
    writer = RowWriter(worksheet)  # after the columns and panes: openpyxl writes them before the rows
    writer.append(_header(worksheet, sheet.columns))
    maker = _CellMaker(worksheet, sheet.columns)
    sums: dict[int, Any] = {i: 0 for i, column in enumerate(sheet.columns) if column.total}
    count = 0
    for values in rows:
        writer.append(maker.row(values))
        for index in sums:
            sums[index] += values[index] or 0
        count += 1
    if sheet.has_totals:
        writer.append(_totals(worksheet, sheet.columns, sums))
    if sheet.chart is not None and count:
        _add_chart(worksheet, sheet, count)
    workbook.save(path)
    return count


@contextmanager
def temporary_path(name: str = "export.xlsx") -> Iterator[str]:
    """A path in a fresh temporary directory (``/tmp`` in Lambda), removed afterwards."""
    import tempfile  # ~5 ms at cold start (shutil, random) for a handler that may never export

    with tempfile.TemporaryDirectory(prefix="workbook-") as directory:
        yield os.path.join(directory, name)


def upload_workbook(path: str, key: str) -> dict[str, str]:
    """Upload the file at ``path`` to ``DATA_BUCKET`` under ``key``: multipart above 8 MB, read from disk in
    8 MB parts, at most 4 in flight (so the upload holds ~32 MB whatever the file's size)."""
    from boto3.s3.transfer import TransferConfig

    bucket = get_settings().require("DATA_BUCKET")
    with aws.unavailable_as("s3"):
        aws.client("s3").upload_file(
            path,
            bucket,
            key,
            ExtraArgs={"ContentType": XLSX_CONTENT_TYPE},
            Config=TransferConfig(multipart_chunksize=UPLOAD_PART_BYTES, max_concurrency=4),
        )
    return {"bucket": bucket, "key": key}


def export_query(
    sql: str,
    params: dict[str, Any],
    sheet: Sheet,
    key: str,
    observe: Callable[[Sequence[Any]], None] | None = None,
) -> dict[str, Any]:
    """Stream the rows of ``sql`` into a workbook and upload it to ``DATA_BUCKET`` at ``key``.

    ``observe`` sees each row as it passes (the sales report builds its text from the same rows, so the
    text and the workbook can never disagree). Answers ``{"bucket", "key", "rows"}``.

    Example: ``export_query("SELECT id, name FROM superheroes ORDER BY id", {}, sheet, "exports/x.xlsx")``
    """

    def rows(cursor: Any) -> Iterator[Sequence[Any]]:
        for row in cursor:
            if observe is not None:
                observe(row)
            yield row

    with temporary_path() as path:
        with get_database().cursor(dicts=False, stream=True) as cursor:
            cursor.execute(sql, params)
            count = write_workbook(rows(cursor), sheet, path)
        location = upload_workbook(path, key)
    return {**location, "rows": count}
