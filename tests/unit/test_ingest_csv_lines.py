"""How the ingest writes its CSV files (``processed/``, ``rejected/``): as ``csv.writer(lineterminator="\\n")``
does, byte for byte, except that a value holding a bare CR is quoted too, so that a reader gets it back whole."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.s3 import split_lines
from chalicelib.ingest.pipeline import csv_lines

# every character that matters to csv, and a few others (no NUL: the ingest reads no file with one)
VALUES = st.text(alphabet=st.sampled_from(list('a ,"\r\n\té')), max_size=8)
ROWS = st.lists(st.lists(VALUES, min_size=1, max_size=4), max_size=5)
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True)


def csv_writer_text(rows: list[list[Any]]) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue()


def read_back(text: str) -> list[list[str]]:
    """As a reader of the file reads it: opened with ``newline=""``, any line end outside quotes ends a line."""
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_value_with_a_bare_cr_is_quoted_and_nothing_else_changes() -> None:
    rows = [["1", "a\rb", None, 5], ["2", "plain", "", Decimal("1.50")], ["3", "x,y", 'say "hi"', "two\nlines"]]

    text = csv_lines(rows)

    assert text == '1,"a\rb",,5\n2,plain,,1.50\n3,"x,y","say ""hi""","two\nlines"\n'
    assert text.split("\n", 1)[1] == csv_writer_text(rows[1:])  # the rows without a CR: the csv writer's bytes
    assert read_back(text) == [
        ["1", "a\rb", "", "5"],
        ["2", "plain", "", "1.50"],
        ["3", "x,y", 'say "hi"', "two\nlines"],
    ]


def test_rows_without_a_cr_are_written_as_the_csv_writer_writes_them() -> None:
    rows = [["id", "name"], [1, None], [""], [2.5, datetime(2025, 9, 17, 11, 59)], ["a\r\nb", "ü"]]

    assert csv_lines(rows[:4]) == csv_writer_text(rows[:4]) == 'id,name\n1,\n""\n2.5,2025-09-17 11:59:00\n'
    assert csv_lines(rows) == csv_writer_text(rows)  # a CR in a value csv quotes for its \n changes nothing


def test_the_rejected_file_header_and_a_row_read_back_through_the_ingests_line_splitter() -> None:
    text = csv_lines([["reject_reason", "line", "id", "name"]]) + csv_lines([["invalid_xp", 4, "3", "cr\rtoo"]])

    # the read-back of rejected/ reads an object's lines as split_lines cuts them: at \n, \r\n and a bare \r
    assert list(csv.reader(split_lines(text))) == [
        ["reject_reason", "line", "id", "name"],
        ["invalid_xp", "4", "3", "cr\rtoo"],
    ]


@PROPERTY
@given(ROWS)
def test_any_rows_read_back_as_written_and_only_values_with_a_bare_cr_are_quoted_anew(rows: list[list[str]]) -> None:
    text = csv_lines(rows)

    assert read_back(text) == rows
    assert list(csv.reader(split_lines(text))) == rows
    assert text == "".join(csv_lines([row]) for row in rows)  # each row as it would be alone in the batch
    for row in rows:
        if all("\n" in value for value in row if "\r" in value):  # no CR, or only in values csv quotes anyway
            assert csv_lines([row]) == csv_writer_text([row])
