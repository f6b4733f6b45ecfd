"""An upload's text as the ingest reads it: plain blocks of lines as raw text, everything else as CSV rows.

The object arrives in blocks of whole lines (ending in ``\\n``, ``\\r\\n`` or a bare ``\\r``), about 1 MiB each
(:meth:`chalicelib.core.s3.ObjectReader.blocks`: some 26,000 superhero rows). A block without a quote,
backslash, CR, tab, NUL or blank line, whose every line has exactly the file's number of fields, needs no CSV
parser: its fields are its lines split at the commas, as :mod:`csv` would read them. Such a block is handed over
as a :class:`RawChunk`, its text kept: when the validation finds every value already written as ``processed/``
would write it, that text is the processed rows and the ``LOAD DATA`` input as it stands. Any other block (and
a block a quoted field runs on into) is read by one strict :func:`csv.reader` over the whole stream, in batches
of rows.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from chalicelib.core.s3 import has_bare_cr, split_lines

_NOT_PLAIN = ('"', "\\", "\r", "\t", "\0")


@dataclass(frozen=True)
class RawChunk:
    """Whole lines of plain fields: ``text`` (each line ends in ``\\n``), its fields column by column in the
    file's order, and the line of the file its first line is (from 1)."""

    text: str
    columns: list[list[str]]
    first_line: int = 1

    @property
    def rows(self) -> list[tuple[int, list[str]]]:
        """The fields row by row, as :func:`csv.reader` reads them, each with its line."""
        return [(line, list(row)) for line, row in enumerate(zip(*self.columns, strict=True), self.first_line)]


class Chunks:
    """The lines of an object's blocks, for one strict :func:`csv.reader` (:attr:`parser`), and the blocks
    that need no parser as :class:`RawChunk` (:meth:`after_header`)."""

    def __init__(self, blocks: Iterator[str]) -> None:
        self._blocks = blocks
        self._block = ""
        self._lines: list[str] = []
        self._ends_line = True  # the block's last line ends in \n (lines are kept without it)
        self._keeps_ends = False  # lines are kept with their ends (a block with a bare \r)
        self._next = 0
        self._raw_lines = 0
        self.parser = csv.reader(self, strict=True)
        self._rows = self._numbered()

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> str:
        """The next line with its line end (what :func:`csv.reader` reads)."""
        while self._next == len(self._lines):
            self._load(next(self._blocks))
        line = self._lines[self._next]
        self._next += 1
        if self._keeps_ends or (not self._ends_line and self._next == len(self._lines)):
            return line
        return line + "\n"

    def _load(self, block: str) -> None:
        self._block = block
        self._next = 0
        if has_bare_cr(block):  # rare: split at every line end, keeping it
            self._lines = split_lines(block)
            self._keeps_ends = True
            return
        self._lines = block.split("\n")
        self._keeps_ends = False
        self._ends_line = block.endswith("\n")
        if self._ends_line:
            self._lines.pop()

    @property
    def line_num(self) -> int:
        """Lines read so far (by the parser or as raw chunks): where a CSV error is."""
        return self.parser.line_num + self._raw_lines

    def _numbered(self) -> Iterator[tuple[int, list[str]]]:
        """Each record but blank lines, with the line of the file it starts on (from 1)."""
        while True:
            start = self.line_num + 1  # lines read so far: by the parser, and as raw chunks between records
            fields = next(self.parser, None)
            if fields is None:
                return
            if fields:
                yield start, fields

    def header(self) -> list[str] | None:
        _, header = next(self._rows, (0, None))
        return header

    def after_header(self, width: int | None, batch_rows: int) -> Iterator[RawChunk | list[tuple[int, list[str]]]]:
        """The rest of the file: a :class:`RawChunk` for each plain block (when ``width``, the number of fields
        a row must have, is given), else lists of at most ``batch_rows`` parsed rows, each with its line."""
        while True:
            if self._next == len(self._lines):  # between blocks, and between CSV records
                block = next(self._blocks, None)
                if block is None:
                    return
                self._load(block)
            raw = self._raw(width) if width else None
            if raw is not None:
                yield raw
            else:
                yield from self._parsed(batch_rows)

    def _raw(self, width: int) -> RawChunk | None:
        """The rest of the current block as a :class:`RawChunk`, if it is plain."""
        lines = self._lines[self._next :] if self._next else self._lines
        text = self._block if not self._next and self._ends_line else "\n".join(lines) + "\n"
        if any(map(text.__contains__, _NOT_PLAIN)) or "" in lines:
            return None
        if set(map(str.count, lines, itertools.repeat(","))) != {width - 1}:
            return None
        fields = ",".join(lines).split(",")
        first_line = self.line_num + 1
        self._next = len(self._lines)
        self._raw_lines += len(lines)
        return RawChunk(text, [fields[i::width] for i in range(width)], first_line)

    def _parsed(self, batch_rows: int) -> Iterator[list[tuple[int, list[str]]]]:
        """The current block's rows (and those of any block a quoted field runs on into) in batches."""
        while self._next < len(self._lines):
            batch = list(itertools.islice(self._block_rows(), batch_rows))
            if batch:
                yield batch

    def _block_rows(self) -> Iterator[tuple[int, list[str]]]:
        while self._next < len(self._lines):
            row = next(self._rows, None)
            if row is None:
                return
            yield row
