"""The exports' fast row writer writes the same sheet XML, byte for byte, as openpyxl's own write-only path, on
rows of every value type the exports produce (raw and after the exports' conversion), and refuses another
openpyxl than the one it reproduces."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from chalicelib.reporting.workbooks import Column, _CellMaker, _header
from chalicelib.reporting.xlsx_rows import OPENPYXL_VERSION, RowWriter

PROJECT_DIR = Path(__file__).resolve().parents[2]
COLUMNS = (
    Column("ID", "integer"),
    Column("Name", "text"),
    Column("Amount", "decimal"),
    Column("When", "datetime"),
    Column("Note", "text"),
)

PLAIN_ROWS: list[tuple[Any, ...]] = [
    (1, "Batman", 2.5, -3, "  spaced  "),
    (0, "héros 🦸 <&>\"'", Decimal("12.50"), Decimal("1E+3"), "tab\there\nnewline"),
    (2**62, "=", 1e-20, 1e300, " "),
    (-(2**70), "a" * 100, -0.0, 0.1 + 0.2, "x "),
    (None, "only text", None, None, None),
    (7,),
]
SPECIAL_ROWS: list[tuple[Any, ...]] = [
    (1, "=1+1", 1, 1, 1),  # a formula to openpyxl
    (1, "#N/A", 1, 1, 1),  # an error code to openpyxl
    (1, "", 1, 1, 1),  # an empty cell element
    (1, True, 1, 1, 1),
    (1, float("nan"), 1, float("inf"), 1),
    (1, Decimal("NaN"), 1, 1, 1),
    (date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5), 1, 1, 1),
    (1, "x" * 40000, 1, 1, 1),  # openpyxl keeps the first 32,767 characters
    (1, "cr\r\nlf\r", 1, 1, 1),  # XML parsers read CR as LF
    (None, None, None, None, None),  # an empty row: <row r="N"></row>
    (),
]
# what the exports write: each row as _CellMaker converts it (formula-like text quoted, control characters
# removed, decimals and datetimes formatted)
EXPORTED_ROWS: list[tuple[Any, ...]] = [
    (1, "Batman", Decimal("1234.50"), datetime(2026, 1, 2, 3, 4, 5), "plain"),
    (2, "=HYPERLINK(1)", Decimal("0.10"), datetime(2026, 12, 31), "+1"),
    (3, "bell\x07 and nul\x00", None, None, "minus-"),
    (4, "@sum", Decimal("-5"), None, "tab\tok"),
    (None, None, None, None, None),
    (5, "Superman", None, None, "x"),
]


def sheet_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def write(path: Path, append: Callable[[Any, Sequence[Any]], Any], rows: Callable[[Any], list[Any]]) -> list[Any]:
    """A write-only workbook as write_workbook sets it up, its rows appended by ``append``."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet("Sheet")
    worksheet.column_dimensions["A"].width = 10
    worksheet.freeze_panes = "A2"
    answers = [append(worksheet, row) for row in rows(worksheet)]
    workbook.save(path)
    return answers


def fast_and_openpyxl(tmp_path: Path, rows: Callable[[Any], list[Any]]) -> tuple[bytes, bytes, list[bool]]:
    writers: dict[int, RowWriter] = {}

    def fast(worksheet: Any, row: Sequence[Any]) -> bool:
        if id(worksheet) not in writers:
            writers[id(worksheet)] = RowWriter(worksheet)
        return writers[id(worksheet)].append(row)

    plain = write(tmp_path / "fast.xlsx", fast, rows)
    write(tmp_path / "openpyxl.xlsx", lambda worksheet, row: worksheet.append(row), rows)
    return sheet_xml(tmp_path / "fast.xlsx"), sheet_xml(tmp_path / "openpyxl.xlsx"), plain


def test_plain_rows_are_written_as_openpyxl_writes_them(tmp_path: Path) -> None:
    fast, reference, plain = fast_and_openpyxl(tmp_path, lambda worksheet: list(PLAIN_ROWS))
    assert fast == reference
    assert plain == [True] * len(PLAIN_ROWS)
    assert b'<c r="A3" t="n"><v>4.611686018427388e+18</v></c>' in fast  # openpyxl's "%.16g", kept
    assert b'<t xml:space="preserve">  spaced  </t>' in fast


def test_rows_with_special_values_take_openpyxls_path_with_the_same_bytes(tmp_path: Path) -> None:
    mixed = [row for pair in zip_longest(PLAIN_ROWS, SPECIAL_ROWS) for row in pair if row is not None]
    fast, reference, plain = fast_and_openpyxl(tmp_path, lambda worksheet: mixed)
    assert fast == reference
    assert plain == [row in PLAIN_ROWS for row in mixed]
    assert plain.count(False) == len(SPECIAL_ROWS)


def test_exported_rows_after_conversion_match_openpyxl(tmp_path: Path) -> None:
    def exported(worksheet: Any) -> list[Any]:
        maker = _CellMaker(worksheet, COLUMNS)
        return [_header(worksheet, COLUMNS)] + [maker.row(row) for row in EXPORTED_ROWS]

    fast, reference, plain = fast_and_openpyxl(tmp_path, exported)
    assert fast == reference
    # header, then: formatted decimal/datetime cells and quoted formula-like text take openpyxl's path
    assert plain == [False, False, False, True, False, False, True]
    assert re.search(rb'<c r="B4" t="inlineStr"><is><t>bell and nul</t></is></c>', fast)


# the abandoned workbooks' XML streams complain when collected, openpyxl's own as ours
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_illegal_characters_are_refused_as_openpyxl_refuses_them(tmp_path: Path) -> None:
    for name, append in (
        ("fast", lambda worksheet, row: RowWriter(worksheet).append(row)),
        ("openpyxl", lambda worksheet, row: worksheet.append(row)),
    ):
        with pytest.raises(IllegalCharacterError):
            write(tmp_path / f"{name}.xlsx", append, lambda worksheet: [(1, "bell\x07")])
    gc.collect()  # here, where their warnings are expected


def test_the_pinned_openpyxl_is_the_one_the_fast_path_reproduces() -> None:
    pins = (PROJECT_DIR / "requirements.txt").read_text()
    assert f"openpyxl=={OPENPYXL_VERSION}\n" in pins
    assert openpyxl.__version__ == OPENPYXL_VERSION


def test_another_openpyxl_version_is_refused_at_import() -> None:
    code = "import openpyxl; openpyxl.__version__ = '3.2.0'; import chalicelib.reporting.xlsx_rows"
    child = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert child.returncode != 0
    assert "ImportError: chalicelib.reporting.xlsx_rows reproduces openpyxl 3.1.5's sheet XML" in child.stderr
    assert "found openpyxl 3.2.0" in child.stderr
