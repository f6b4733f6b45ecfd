"""Rows of plain values written to an openpyxl write-only worksheet as one lxml ``<row>`` element each.

openpyxl's write-only worksheet makes a cell object per value and serialises it with ``lxml_write_cell``, a few
``xmlfile`` calls per cell: most of an export's time. A row whose values are all plain (``int``, ``float``,
``Decimal``, ``str`` with nothing openpyxl treats specially, or ``None``) is built here as one ``<row>`` element,
exactly as openpyxl would write it, and written through the worksheet's own ``xmlfile`` writer; any other row
(a styled cell, a date, formula-like or error-code text, illegal control characters, ``bool``, NaN, ...) goes
through openpyxl's own per-cell path, row by row, in the same stream. The element copies openpyxl's private
serialisation (``openpyxl/cell/_writer.py``, ``worksheet/_write_only.py``, ``worksheet/_writer.py``), so the
module refuses to load with any other openpyxl than the one it was checked against (a test compares the bytes).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from decimal import Decimal
from typing import Any

import openpyxl
from lxml.etree import XMLSyntaxError, fromstring
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

OPENPYXL_VERSION = "3.1.5"  # the version whose XML this module reproduces (requirements.txt pins it)
if openpyxl.__version__ != OPENPYXL_VERSION:
    raise ImportError(
        f"chalicelib.reporting.xlsx_rows reproduces openpyxl {OPENPYXL_VERSION}'s sheet XML, found openpyxl "
        f"{openpyxl.__version__}: check the fast path against the new version (tests/unit/"
        "test_xlsx_rows.py) before changing OPENPYXL_VERSION"
    )

MAX_TEXT = 32767  # openpyxl cuts longer text: its own path does that
NUMBERS = (int, float, Decimal)


class Unplain(Exception):
    """A value openpyxl's own path must write (its row falls back)."""


def _number_text(value: int | float | Decimal) -> str:
    """openpyxl's ``safe_string`` of a finite number."""
    if not math.isfinite(value):
        raise Unplain
    return "%.16g" % value  # noqa: UP031 - openpyxl's safe_string: "%" turns a Decimal into a float, format() would not


def _plain_text(value: str) -> str:
    """``value`` escaped for XML text, as lxml escapes it; :class:`Unplain` when openpyxl treats it specially
    or parsing would not give it back (XML parsers turn a CR into a LF)."""
    if not value or len(value) > MAX_TEXT or (len(value) > 1 and value[0] == "=") or value in ERROR_CODES:
        raise Unplain
    if "\r" in value or ILLEGAL_CHARACTERS_RE.search(value):
        raise Unplain
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class RowWriter:
    """Appends rows to a write-only worksheet (which must not have had rows appended yet): plain rows as one
    element, others through openpyxl's own path. ``worksheet.close()`` (``workbook.save``) ends the sheet data
    as openpyxl's own row writer does."""

    def __init__(self, worksheet: Any) -> None:
        worksheet._get_writer()
        self._worksheet = worksheet
        self._writer = worksheet._writer
        self._letters: list[str] = []
        self._row = 0
        sheet_data = self._sheet_data()
        self._xf = next(sheet_data)
        worksheet._rows = sheet_data  # openpyxl's close() closes it, as it closes its own row coroutine

    def _sheet_data(self) -> Generator[Any, None, None]:
        """openpyxl's ``WriteOnlyWorksheet._write_rows`` without the rows: ``<sheetData>`` open until closed."""
        xf = self._writer.xf.send(True)
        with xf.element("sheetData"):
            try:
                while True:
                    yield xf
            except GeneratorExit:
                pass
        self._writer.xf.send(None)

    def append(self, values: Sequence[Any]) -> bool:
        """Write the next row; answers whether it was plain (one element) rather than openpyxl's own path."""
        self._row += 1
        try:
            element = self._element(values)
        except Unplain:
            row = self._worksheet._values_to_row(values, self._row)
            self._writer.write_row(self._xf, row, self._row)
            return False
        self._xf.write(element)
        return True

    def _element(self, values: Sequence[Any]) -> Any:
        """The ``<row>`` openpyxl writes for ``values``; :class:`Unplain` when a value is not plain. The row's
        text is parsed into one element (about twice as fast as building it node by node); lxml serialises the
        parsed element exactly as it serialises openpyxl's nodes."""
        number = str(self._row)
        parts = [f'<row r="{number}">']
        for letter, value in zip(self._column_letters(len(values)), values, strict=False):
            kind = type(value)
            if value is None:
                continue
            if kind is str:
                space = ' xml:space="preserve"' if value != value.strip() else ""
                parts.append(f'<c r="{letter}{number}" t="inlineStr"><is><t{space}>{_plain_text(value)}</t></is></c>')
            elif kind in NUMBERS:
                parts.append(f'<c r="{letter}{number}" t="n"><v>{_number_text(value)}</v></c>')
            else:
                raise Unplain
        if len(parts) == 1:  # openpyxl writes an empty row as <row r="N"></row>, an element as <row r="N"/>
            raise Unplain
        parts.append("</row>")
        try:
            return fromstring("".join(parts))
        except XMLSyntaxError as error:  # text XML cannot hold (U+FFFE, lone surrogates): openpyxl's path raises
            raise Unplain from error

    def _column_letters(self, count: int) -> list[str]:
        while len(self._letters) < count:
            self._letters.append(get_column_letter(len(self._letters) + 1))
        return self._letters
