"""How the ingest reads an upload's text: plain blocks as raw chunks (split at commas, their text kept), any
other block through one strict CSV reader, which reads on into the next block when a quoted field spans the
boundary; and when a chunk's values are already canonical (its text can stand for its processed rows)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest

from chalicelib.ingest.chunks import Chunks, RawChunk
from chalicelib.ingest.columns import Column, Validator
from chalicelib.ingest.datasets import DATASETS


def read(blocks: list[str], width: int | None = 2, batch_rows: int = 100) -> tuple[list[str] | None, list]:
    chunks = Chunks(iter(blocks))
    header = chunks.header()
    return header, list(chunks.after_header(width, batch_rows))


def test_plain_blocks_are_raw_chunks_and_others_parsed_rows_across_block_ends() -> None:
    blocks = ["id,a\n1,x\n2,y\n", '3,"q\n', 'r"\n4,z\n', "5,w\n6,v\n", "\n7,u\n", "8,t"]
    header, chunks = read(blocks)
    assert header == ["id", "a"]
    assert chunks == [  # parsed rows and raw chunks with the line of the file each starts on
        RawChunk("1,x\n2,y\n", [["1", "2"], ["x", "y"]], 2),  # the first block after its header
        [(4, ["3", "q\nr"]), (6, ["4", "z"])],  # a quoted field runs on into the next block: both are parsed
        RawChunk("5,w\n6,v\n", [["5", "6"], ["w", "v"]], 7),
        [(10, ["7", "u"])],  # a blank line: parsed (and skipped)
        RawChunk("8,t\n", [["8"], ["t"]], 11),  # the last line without its newline gets one, as csv writes it
    ]


@pytest.mark.parametrize(
    "block",
    ['1,"x"\n', "1,x\r\n", "1,back\\slash\n", "1,tab\there\n", "1,nul\0\n", "1,x\n\n2,y\n", "1,x,extra\n", "1\n"],
)
def test_blocks_with_anything_a_csv_reader_treats_specially_are_parsed(block: str) -> None:
    _, chunks = read(["id,a\n", block])
    assert not any(isinstance(chunk, RawChunk) for chunk in chunks)
    parsed = [row for batch in chunks for row in batch]
    assert [fields for _, fields in parsed] == [row for row in csv.reader(io.StringIO(block)) if row]
    assert parsed[0][0] == 2


def test_lines_ending_in_a_bare_cr_are_lines() -> None:
    header, chunks = read(["id,a\r1,x\r", '2,"y\r\ny"\r\n3,z'])
    assert header == ["id", "a"]
    assert chunks == [[(2, ["1", "x"])], [(3, ["2", "y\r\ny"]), (5, ["3", "z"])]]


def test_without_a_width_every_block_is_parsed_in_batches() -> None:
    _, chunks = read(["id,a\n1,x\n2,y\n3,z\n"], width=None, batch_rows=2)
    assert chunks == [[(2, ["1", "x"]), (3, ["2", "y"])], [(4, ["3", "z"])]]


def test_a_csv_error_reports_its_line_counting_raw_lines() -> None:
    chunks = Chunks(iter(["id,a\n1,x\n2,y\n", '3,"unclosed\n']))
    chunks.header()
    with pytest.raises(csv.Error):
        list(chunks.after_header(2, 100))
    assert chunks.line_num == 4


def test_a_raw_chunk_rows_are_what_csv_reads_with_their_lines() -> None:
    chunk = RawChunk("1,x\n2,y\n", [["1", "2"], ["x", "y"]], 7)
    assert chunk.rows == [(7, ["1", "x"]), (8, ["2", "y"])]


@pytest.mark.parametrize(
    ("column", "raw", "canonical"),
    [
        (Column("n", "int", minimum=1), ["1", "20", "300"], [1, 20, 300]),
        (Column("n", "int", minimum=0), ["0", "10"], [0, 10]),
        (Column("n", "int"), ["1", "007"], None),  # processed/ writes 7
        (Column("n", "int"), ["+7"], None),
        (Column("n", "int"), ["7.0"], None),
        (Column("n", "int", maximum=9), ["10"], None),  # invalid: row by row decides
        (Column("t", "text", max_length=5), ["ab", "a b"], ["ab", "a b"]),
        (Column("t", "text"), [" ab"], None),  # processed/ writes it trimmed
        (Column("t", "text"), ["ab\u00a0"], None),
        (Column("t", "text"), [""], None),
        (Column("d", "decimal", scale=1), ["36.6", "37.0"], [Decimal("36.6"), Decimal("37.0")]),
        (Column("d", "decimal", scale=1), ["36.60"], None),  # processed/ writes 36.6
        (Column("s", "timestamp"), ["2025-09-01T10:00:00Z"], [datetime(2025, 9, 1, 10)]),
        (Column("s", "timestamp"), ["2025-09-01 10:00:00"], None),  # processed/ writes ISO 8601 with Z
    ],
)
def test_canonical_values_are_written_back_as_they_came(column: Column, raw: list[str], canonical: list | None) -> None:
    assert column.canonical_all(raw) == canonical


def test_a_chunk_is_canonical_only_in_the_datasets_column_order() -> None:
    dataset = DATASETS["superheroes"]
    columns = [["1", "2"], ["a", "b"], ["no", "no"], ["eat", "eat"], ["5", "6"], ["red", "red"]]
    in_order = Validator(dataset, [0, 1, 2, 3, 4, 5], 6, {})
    assert in_order.canonical(columns) == [[1, 2], ["a", "b"], ["no", "no"], ["eat", "eat"], [5, 6], ["red", "red"]]
    assert in_order.canonical([["1", "02"], *columns[1:]]) is None
    reordered = Validator(dataset, [1, 0, 2, 3, 4, 5], 6, {})
    assert reordered.canonical([columns[1], columns[0], *columns[2:]]) is None
