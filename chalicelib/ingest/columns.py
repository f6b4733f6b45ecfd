"""Columns, datasets and row validation: the generic machinery behind the declarations of
:mod:`chalicelib.ingest.datasets`.

Validation decisions:

- values are trimmed; an empty required value is ``missing_<field>``, an empty optional one is NULL;
- integers accept an integral decimal (``72.0`` -> 72), anything else that is not an integer is
  ``invalid_<field>``; decimals are rounded half-up to the column's scale after the range check;
- timestamps are ISO 8601 (``2025-09-17T11:59:16.801681Z``, with an offset, or ``2020-06-20 13:09:07``); a
  timestamp without an offset is UTC; all are stored and written out in UTC;
- a row gets one reason: the first failed check, in column order, then references, then the row rules.

A batch is validated a column at a time (:meth:`Validator.batch`) when every value is plainly valid, and row by
row (:meth:`Validator.row`) otherwise; both answer the same rows (a property test checks it).
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

_INTEGER = re.compile(r"[+-]?\d+(?:\.0*)?")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")
_LEADING_ZERO = re.compile(r",0\d")  # in digit strings joined after a comma each
INT32_MAX = 2147483647
_MAX_INT_DIGITS = 20  # more digits than any int column's range (BIGINT UNSIGNED has 20)


class RowRejected(Exception):
    """A row fails validation; ``reason`` is what the rejected CSV and the manifest report."""

    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Column:
    """One CSV column and the table column of the same name.

    ``kind`` is ``int``, ``decimal`` (with ``scale`` places), ``text`` (``max_length`` characters) or
    ``timestamp``. ``minimum``/``maximum`` are inclusive and of the kind's Python type.
    """

    name: str
    kind: str
    required: bool = True
    minimum: Any = None
    maximum: Any = None
    max_length: int | None = None
    scale: int = 0

    def parse(self, raw: str) -> Any:
        """The typed value of ``raw`` (None when empty and optional); raises :class:`RowRejected`."""
        text = raw.strip()
        if not text:
            if self.required:
                raise RowRejected(f"missing_{self.name}")
            return None
        value = _PARSERS[self.kind](self, text)
        if value is None:
            raise RowRejected(f"invalid_{self.name}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise RowRejected(f"out_of_range_{self.name}")
        if self.kind == "decimal":
            value = value.quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)
        return value

    def fast_parser(self) -> Callable[[str], Any]:
        """:meth:`parse` with a shortcut for the common case (a plain in-range integer, a text already trimmed
        and short enough) that skips the general checks; anything else takes :meth:`parse`."""
        general = self.parse
        if self.kind == "int":
            low = -math.inf if self.minimum is None else self.minimum
            high = math.inf if self.maximum is None else self.maximum

            def parse_int(raw: str) -> Any:
                # isdecimal: the digits re's \d matches; 18 digits at most stay far from int()'s digit limit
                if raw.isdecimal() and len(raw) <= 18 and low <= (value := int(raw)) <= high:
                    return value
                return general(raw)

            return parse_int
        if self.kind == "text":
            longest = self.max_length or math.inf

            def parse_text(raw: str) -> Any:
                return raw if 0 < len(raw) <= longest and raw.strip() is raw else general(raw)

            return parse_text
        return general

    def parse_all(self, raw: Sequence[str]) -> list[Any] | None:
        """The typed values of a whole column at once (one C-level pass per check) when every value is valid
        and plainly so, as :meth:`parse` would answer them; None when any needs :meth:`parse`'s own checks."""
        if self.kind == "int":
            # every value digits only: the joined text is, and no value is empty (one C pass each)
            if not "".join(raw).isdecimal() or min(map(len, raw)) == 0 or max(map(len, raw)) > 18:
                return None
            values: list[Any] = list(map(int, raw))
        elif self.kind == "text":
            values = list(map(str.strip, raw))
            lengths = set(map(len, values))
            if 0 in lengths or (self.max_length is not None and max(lengths) > self.max_length):
                return None
            return values
        else:
            try:
                return list(map(self.parse, raw))
            except RowRejected:
                return None
        if (self.minimum is not None and min(values) < self.minimum) or (
            self.maximum is not None and max(values) > self.maximum
        ):
            return None
        return values

    def canonical_all(self, raw: Sequence[str]) -> list[Any] | None:
        """:meth:`parse_all`, when every value is also already written as ``processed/`` writes it (its
        :meth:`format` is ``raw``: no sign, leading zero or space to drop); None otherwise."""
        values = self.parse_all(raw)
        if values is None:
            return None
        if self.kind == "int":  # digits only (parse_all checked): canonical unless a leading zero
            joined = "," + ",".join(raw)
            return None if ",0" in joined and _LEADING_ZERO.search(joined) else values
        # list equality in C; text that parse_all kept (strip() gives back the same string) compares by identity
        written = values if self.kind == "text" else list(map(self.format, values))
        return values if written == list(raw) else None

    def format(self, value: Any) -> str:
        """``value`` as written to ``processed/``: timestamps ISO 8601 UTC with ``Z``, NULL as empty."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.isoformat() + "Z"
        return str(value)


def _parse_int(column: Column, text: str) -> int | None:
    if not _INTEGER.fullmatch(text):
        return None
    whole = text.split(".", 1)[0]
    if len(whole.lstrip("+-").lstrip("0")) > _MAX_INT_DIGITS:  # never converted: int() refuses 4,300 digits
        raise RowRejected(f"out_of_range_{column.name}")
    return int(whole)


def _parse_decimal(column: Column, text: str) -> Decimal | None:
    if not _DECIMAL.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _parse_text(column: Column, text: str) -> str | None:
    if column.max_length is not None and len(text) > column.max_length:
        raise RowRejected(f"too_long_{column.name}")
    return text


def _parse_timestamp(column: Column, text: str) -> datetime | None:
    """ISO 8601 or ``YYYY-MM-DD HH:MM:SS[.ffffff]``; a date without a time is not a timestamp."""
    if _DATE_ONLY.fullmatch(text):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise RowRejected(f"out_of_range_{column.name}") from None
    return value


_PARSERS: dict[str, Callable[[Column, str], Any]] = {
    "int": _parse_int,
    "decimal": _parse_decimal,
    "text": _parse_text,
    "timestamp": _parse_timestamp,
}


_PRESENT = functools.partial(operator.is_not, None)  # filter(_PRESENT, values): the values that are not None


@dataclass(frozen=True)
class ColumnLimit:
    """A row rule on one column's value (which the column's own range does not cover, e.g. for its reason):
    a value above ``maximum`` rejects the row with ``reason``. Where rows are validated together it is checked
    a column at a time."""

    column: str
    maximum: Any
    reason: str

    def __call__(self, row: Mapping[str, Any]) -> str | None:
        value = row[self.column]
        return self.reason if value is not None and value > self.maximum else None

    def passes(self, values: Sequence[Any]) -> bool:
        """Whether no value of the column breaks the rule."""
        highest = max(filter(_PRESENT, values), default=None)
        return highest is None or highest <= self.maximum


@dataclass(frozen=True)
class Reference:
    """``column`` must name an existing row of ``table`` (by ``key``), else the row is ``reason``.

    ``value`` is the referenced column the writer needs (e.g. a product's price)."""

    column: str
    table: str
    key: str
    value: str
    reason: str


@dataclass(frozen=True)
class Dataset:
    """A declared dataset: ``columns`` in their canonical order, the ``table`` it loads into, its ``key``.

    ``writer`` names how rows are written (:mod:`chalicelib.ingest.loaders`): ``append``, ``upsert`` (rows with
    the key replace that row, rows without it are appended; ``on_update`` are extra assignments then), or
    a dataset's own writer such as ``orders`` for a file that spans several tables.
    """

    name: str
    columns: tuple[Column, ...]
    table: str
    key: tuple[str, ...] = ()
    writer: str = "append"
    on_update: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    row_rules: tuple[Callable[[Mapping[str, Any]], str | None], ...] = ()
    after_load: Callable[[], None] | None = None
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    @property
    def required_columns(self) -> set[str]:
        return {c.name for c in self.columns if c.required}


class Validator:
    """Typed rows, tuples in the order of ``dataset.columns``, from the CSV fields of one file's rows.

    ``positions[i]`` is where the dataset's i-th column sits in the file's ``width`` fields (None: the file
    lacks that optional column, whose values are then NULL). ``references`` maps a reference's column to the
    referenced keys.
    """

    def __init__(
        self,
        dataset: Dataset,
        positions: Sequence[int | None],
        width: int,
        references: Mapping[str, Mapping[Any, Any]],
    ) -> None:
        self.dataset, self.positions, self.width = dataset, positions, width
        self._pad = None in positions  # then a row gets a last field "", the value of the columns it lacks
        self._steps = [
            (c.fast_parser(), -1 if p is None else p) for c, p in zip(dataset.columns, positions, strict=True)
        ]
        names = dataset.column_names
        self._references = [(names.index(r.column), references[r.column], r.reason) for r in dataset.references]

    def row(self, fields: Sequence[str]) -> tuple:
        """The typed row of ``fields``, or :class:`RowRejected` with the first failed check's reason."""
        if len(fields) != self.width:
            raise RowRejected("wrong_column_count")
        if self._pad:
            fields = [*fields, ""]
        row = tuple([parse(fields[position]) for parse, position in self._steps])
        self._check(row)
        return row

    def _check(self, row: tuple) -> None:
        for index, known, reason in self._references:
            if row[index] is not None and row[index] not in known:
                raise RowRejected(reason)
        if self.dataset.row_rules:
            named = dict(zip(self.dataset.column_names, row, strict=True))
            for rule in self.dataset.row_rules:
                if failed := rule(named):
                    raise RowRejected(failed)

    def canonical(self, columns: Sequence[Sequence[str]]) -> list[list[Any]] | None:
        """The typed columns of a chunk given column by column, when the file has the dataset's columns in
        their order and every value is valid and already written as ``processed/`` writes it (then the
        chunk's text is its processed rows); None otherwise."""
        if list(self.positions) != list(range(len(self.dataset.columns))) or len(columns) != self.width:
            return None
        typed = []
        for column, raw in zip(self.dataset.columns, columns, strict=True):
            values = column.canonical_all(raw)
            if values is None:
                return None
            typed.append(values)
        return typed if self._all_pass(typed) else None

    def _all_pass(self, columns: Sequence[Sequence[Any]]) -> bool:
        """Whether every row of typed ``columns`` passes the references and the row rules: a column at a time
        (a :class:`ColumnLimit` too), row by row for the other rules."""
        for index, known, _ in self._references:
            if not known.keys() >= set(filter(_PRESENT, columns[index])):
                return False
        names = self.dataset.column_names
        per_row = []
        for rule in self.dataset.row_rules:
            if not isinstance(rule, ColumnLimit):
                per_row.append(rule)
            elif not rule.passes(columns[names.index(rule.column)]):
                return False
        return not per_row or not any(
            rule(dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True) for rule in per_row
        )

    def batch(self, rows: Sequence[Sequence[str]]) -> list[tuple] | None:
        """The typed rows of a batch when all of them are valid, a column at a time (what :meth:`row` would
        answer for each, many times faster); None when any row needs :meth:`row` (a row to reject, or a value
        that is not plainly valid)."""
        if not rows or set(map(len, rows)) != {self.width}:
            return None
        fields = list(zip(*rows, strict=True))
        columns: list[Sequence[Any]] = []
        for column, position in zip(self.dataset.columns, self.positions, strict=True):
            values = [None] * len(rows) if position is None else column.parse_all(fields[position])
            if values is None:
                return None
            columns.append(values)
        return list(zip(*columns, strict=True)) if self._all_pass(columns) else None
