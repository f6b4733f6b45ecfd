"""Data access for ingest: write a batch of validated rows of a dataset, read what references need.

Rows are tuples of the dataset's columns, in declaration order. A batch is written as multi-row
``INSERT ... VALUES`` statements whose values are escaped as PyMySQL escapes parameters, a column at a time
(validated values are ints and strings nearly always: ``str`` and ``str.translate`` over the column instead of
PyMySQL's per-value dispatch, which took a quarter of the ingest's time). Rows that only add to a keyed
table are loaded with ``LOAD DATA LOCAL INFILE`` instead (:func:`write_upsert`). Measured (docs/ingest.md, "Exactly
once, streaming"): ``LOAD DATA`` into a staging table followed by the upsert from it was slower than the upsert, and
``LOAD DATA ... REPLACE`` straight into the table deletes and re-inserts a replaced hero (its ``version`` would
go back to 1).

Table and column names come from the declarations in :mod:`chalicelib.ingest.datasets` (a fixed whitelist), never
from the input: the statements that splice them in say so in their ``# noqa: S608``.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, cast

from chalicelib.core.errors import IdsExhausted
from chalicelib.core.mysql import OUT_OF_RANGE, assigning_ids
from chalicelib.ingest.columns import Dataset

MAX_STATEMENT_CHARS = 1_000_000  # at most 4 MB in UTF-8: well inside MySQL's max_allowed_packet (16 MiB and up)
_NO_BACKSLASH_ESCAPES = 512  # SERVER_STATUS_NO_BACKSLASH_ESCAPES: then PyMySQL only doubles quotes


def _columns_sql(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _literals(conn: Any, values: Sequence[Any]) -> Iterable[str]:
    """The SQL literals of one column's values, exactly as PyMySQL's ``conn.escape`` writes them."""
    from pymysql.converters import escape_string

    kinds = set(map(type, values))
    if kinds == {int}:
        return map(str, values)
    if kinds == {str} and not conn.server_status & _NO_BACKSLASH_ESCAPES:
        return map("'{}'".format, map(escape_string, values))
    return map(conn.escape, values)


def _insert(cursor: Any, table: str, names: Sequence[str], rows: Sequence[Sequence[Any]], update: str = "") -> int:
    """Multi-row ``INSERT`` statements of at most :data:`MAX_STATEMENT_CHARS`; ``update`` is an
    ``ON DUPLICATE KEY UPDATE`` clause body. Answers MySQL's affected rows: 1 per row added, 2 per row
    replaced by different values, 0 per row that was already stored as is."""
    if not rows:
        return 0
    columns = [_literals(cursor.connection, values) for values in zip(*rows, strict=True)]
    values = list(map("({})".format, map(",".join, zip(*columns, strict=True))))
    prefix = f"INSERT INTO `{table}` ({_columns_sql(names)}) VALUES "  # noqa: S608 - names from the declaration
    suffix = f" ON DUPLICATE KEY UPDATE {update}" if update else ""  # an _update_clause of declared names
    # as many rows per statement as fit, judged by the longest row
    per_statement = max(1, MAX_STATEMENT_CHARS // (max(map(len, values)) + 1))
    affected = 0
    for start in range(0, len(values), per_statement):
        affected += cursor.execute(prefix + ",".join(values[start : start + per_statement]) + suffix)
    return affected


def _update_clause(names: Sequence[str], extra: Sequence[str] = ()) -> str:
    return ", ".join([f"`{name}` = VALUES(`{name}`)" for name in names] + list(extra))


@dataclass
class Written:
    """What a batch did to rows already stored: ``present`` rows had a key already stored (by an earlier file or
    earlier in this one), ``replaced`` of them had different values, which replaced the stored ones."""

    present: int = 0
    replaced: int = 0

    def add(self, other: Written) -> None:
        self.present += other.present
        self.replaced += other.replaced


class KeysTakenMeanwhile(Exception):
    """Another transaction stored some of the keys ``LOAD DATA`` was adding (a concurrent delivery)."""


def write_append(cursor: Any, dataset: Dataset, rows: Sequence[tuple], refs: Mapping) -> Written:
    """Append every row (the table assigns its own id)."""
    _insert(cursor, dataset.table, dataset.column_names, rows)
    return Written()


def _replaced(affected: int, rows: int, present: int) -> int:
    """Rows replaced by different values, from an upsert's affected rows (1 per added row, 2 per changed one)."""
    return (affected - (rows - present)) // 2


def _load(cursor: Any, table: str, names: Sequence[str], rows: Sequence[Sequence[int | str]]) -> None:
    """``LOAD DATA LOCAL INFILE`` of rows of ints and strings (no NULL) into ``table``, through a temporary
    file in MySQL's own text format (fields escaped with a backslash: the word NULL stays a text). Only for
    rows that cannot meet a duplicate key: ``LOCAL`` turns duplicates and conversion errors into skipped rows
    and warnings, so a row count short of ``rows`` or any warning raises (and the caller's transaction rolls
    back, to be redelivered) rather than lose a row in silence."""
    if not rows:
        return
    columns = [_load_fields(values) for values in zip(*rows, strict=True)]
    _load_text(cursor, table, names, "\n".join(map(",".join, zip(*columns, strict=True))) + "\n", len(rows))


def _load_text(cursor: Any, table: str, names: Sequence[str], text: str, rows: int) -> None:
    """:func:`_load` of ``rows`` rows already in ``LOAD DATA``'s text format."""
    with _load_input(text) as data:
        _load_file(cursor, table, names, data.name, rows)


def _load_input(text: str) -> IO[bytes]:
    """A temporary file holding ``text`` for ``LOAD DATA LOCAL INFILE`` (deleted when closed)."""
    import tempfile

    data = tempfile.NamedTemporaryFile("wb", suffix=".txt")  # noqa: SIM115 - the caller closes it
    data.write(text.encode("utf-8"))
    data.flush()
    return data


def _load_file(cursor: Any, table: str, names: Sequence[str], path: str, rows: int) -> None:
    """``LOAD DATA LOCAL INFILE`` of the ``rows`` rows in the file at ``path``: all of them, or it raises."""
    loaded = cursor.execute(
        # table and column names from the dataset declaration
        f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4"
        " FIELDS TERMINATED BY ',' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'"
        f" ({_columns_sql(names)})",
        (path,),
    )
    if loaded != rows or cursor.warning_count:
        _raise_for_assigned_ids(cursor, table)
        raise KeysTakenMeanwhile(
            f"LOAD DATA into {table}: {loaded} of {rows} rows loaded, {cursor.warning_count} warnings"
        )


def _raise_for_assigned_ids(cursor: Any, table: str) -> None:
    """:class:`IdsExhausted` when ``LOAD DATA``'s warnings say the ids it assigned are out of range."""
    cursor.execute("SHOW WARNINGS")
    if any(warning[1] == OUT_OF_RANGE for warning in cursor.fetchall()):
        raise IdsExhausted(table)


_LOAD_ESCAPES = str.maketrans({"\\": "\\\\", ",": "\\,", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"})


_LOAD_SPECIAL = re.compile(r"[\\,\n\r\t\0]")


def _load_fields(values: Sequence[int | str]) -> Iterable[str]:
    """One column's values as ``LOAD DATA`` reads them back (a column at a time, as :func:`_literals`)."""
    kinds = set(map(type, values))
    if kinds == {int}:
        return map(str, values)
    if kinds == {str}:
        texts = cast("Sequence[str]", values)  # what the kinds check proved, without a pass per value
        if not _LOAD_SPECIAL.search("".join(texts)):  # the usual column: nothing to escape, one pass
            return texts
        return map(str.translate, texts, itertools.repeat(_LOAD_ESCAPES))
    raise TypeError(f"LOAD DATA rows hold only ints and strings, not {kinds}")


def _existing_keys(cursor: Any, table: str, key: str, values: Sequence[int]) -> set[int]:
    """Which of ``values`` are keys of ``table`` (a file's ids are mostly dense: then one range read)."""
    low, high = min(values), max(values)
    if high - low < 4 * len(values):
        between = f"SELECT `{key}` FROM `{table}` WHERE `{key}` BETWEEN %s AND %s"  # noqa: S608 - declared names
        cursor.execute(between, (low, high))
    else:
        listed = f"SELECT `{key}` FROM `{table}` WHERE `{key}` IN %s"  # noqa: S608 - declared names
        cursor.execute(listed, (list(values),))  # PyMySQL escapes a list parameter as (v1, v2, ...)
    return {found for (found,) in cursor.fetchall()}


def write_upsert(cursor: Any, dataset: Dataset, rows: Sequence[tuple], refs: Mapping) -> Written:
    """Rows with the key replace the row with that key (or create it); rows without are appended.

    Rows that only add (a key not in the table, in its first row of the batch; rows without the key) are
    loaded with ``LOAD DATA`` (MySQL takes it faster than a multi-row ``INSERT ... ON DUPLICATE KEY UPDATE``)
    when the dataset allows: one integer key, every other column a required int or text. The rest keep the
    upsert, in file order after them, so a key repeated in a file still bumps ``version``. A key that another
    transaction inserts in between makes :func:`_load` raise :class:`KeysTakenMeanwhile`: the file rolls back
    and its redelivery upserts that row (or, when the other transaction loaded the same bytes, is a
    duplicate)."""
    names = dataset.column_names
    key = [names.index(k) for k in dataset.key]
    value_positions = [i for i, n in enumerate(names) if n not in dataset.key]
    values = [names[i] for i in value_positions]
    if all(None not in map(operator.itemgetter(k), rows) for k in key):  # the usual batch: every row has it
        keyed, unkeyed = rows, []
    else:
        keyed = [row for row in rows if all(row[k] is not None for k in key)]
        unkeyed = [tuple(row[i] for i in value_positions) for row in rows if any(row[k] is None for k in key)]
    update = _update_clause(values, dataset.on_update)
    if not _loadable(dataset):
        present = _present(cursor, dataset.table, dataset.key, [tuple(row[k] for k in key) for row in keyed])
        affected = _insert(cursor, dataset.table, names, keyed, update)
        with assigning_ids(dataset.table):
            _insert(cursor, dataset.table, values, unkeyed)
        return Written(present, _replaced(affected, len(keyed), present))
    (index,) = key
    existing = _existing_keys(cursor, dataset.table, names[index], [row[index] for row in keyed]) if keyed else set()
    new: list[tuple] = []
    updates: list[tuple] = []
    for row in keyed:
        if row[index] in existing:
            updates.append(row)
        else:
            existing.add(row[index])  # a repeat later in the batch updates the row this one adds
            new.append(row)
    _load(cursor, dataset.table, names, new)
    affected = _insert(cursor, dataset.table, names, updates, update)
    _load(cursor, dataset.table, values, unkeyed)
    return Written(len(updates), _replaced(affected, len(updates), len(updates)))


def _present(cursor: Any, table: str, key: Sequence[str], keys: Sequence[tuple]) -> int:
    """How many of ``keys`` (tuples of the ``key`` columns, in file order) are already stored or repeat an
    earlier one. One read per batch: the first key column's values and the others' ranges (an index range)."""
    if not keys:
        return 0
    columns = list(zip(*keys, strict=True))
    first = sorted(set(columns[0]))
    marks = ", ".join(["%s"] * len(first))
    ranges = "".join(f" AND `{name}` BETWEEN %s AND %s" for name in key[1:])
    cursor.execute(
        f"SELECT {_columns_sql(key)} FROM `{table}` WHERE `{key[0]}` IN ({marks}){ranges}",  # noqa: S608 - declared names
        (*first, *(bound for values in columns[1:] for bound in (min(values), max(values)))),
    )
    seen = set(map(tuple, cursor.fetchall()))
    present = 0
    for found in keys:
        present += found in seen
        seen.add(found)
    return present


def _loadable(dataset: Dataset) -> bool:
    """Whether :func:`write_upsert` may load the rows that only add with ``LOAD DATA``."""
    key_columns = [c for c in dataset.columns if c.name in dataset.key]
    others = [c for c in dataset.columns if c.name not in dataset.key]
    return (
        len(key_columns) == 1
        and key_columns[0].kind == "int"
        and all(c.required and c.kind in ("int", "text") for c in others)
    )


def write_orders(cursor: Any, dataset: Dataset, rows: Sequence[tuple], refs: Mapping) -> Written:
    """Order lines into ``order`` and ``order_item``: an item's amount is its product's price times the
    quantity, an order's amount the sum of its items (recomputed for every order the batch touched, so an
    order spread over several batches or files adds up). A line with an existing (order, item) number
    replaces that item."""
    prices: Mapping[int, Decimal] = refs["product_id"]
    lines = [dict(zip(dataset.column_names, row, strict=True)) for row in rows]
    orders = {line["order_number"]: line["order_date_time"] for line in lines}
    _insert(
        cursor,
        "order",
        ("order_number", "order_date_time", "amount"),
        [(number, when, Decimal("0.00")) for number, when in orders.items()],
        "`order_date_time` = VALUES(`order_date_time`)",
    )
    items = ("order_number", "order_item_number", "product_id", "quantity", "amount")
    present = _present(cursor, "order_item", items[:2], [(line[items[0]], line[items[1]]) for line in lines])
    affected = _insert(
        cursor,
        "order_item",
        items,
        [(*(line[n] for n in items[:-1]), prices[line["product_id"]] * line["quantity"]) for line in lines],
        _update_clause(items[2:]),
    )
    placeholders = ", ".join(["%s"] * len(orders))
    cursor.execute(
        "UPDATE `order` o SET o.amount = (SELECT COALESCE(SUM(i.amount), 0) FROM order_item i"  # noqa: S608 - %s only
        f" WHERE i.order_number = o.order_number) WHERE o.order_number IN ({placeholders})",
        tuple(orders),
    )
    return Written(present, _replaced(affected, len(lines), present))


WRITERS: dict[str, Callable[[Any, Dataset, Sequence[tuple], Mapping], Written]] = {
    "append": write_append,
    "upsert": write_upsert,
    "orders": write_orders,
}


def write_rows(cursor: Any, dataset: Dataset, rows: Sequence[tuple], refs: Mapping) -> Written:
    """Write a batch of validated ``rows`` (tuples in the order of ``dataset.columns``) with the dataset's
    writer, inside the caller's transaction."""
    return WRITERS[dataset.writer](cursor, dataset, rows, refs)


class _KeyCeiling:
    """The highest key of an upsert dataset's table as the ingest's transaction sees it, so that a chunk of
    distinct keys all above it is known to add rows only, without a read of its keys (one read of the highest key
    per file instead of one per chunk). Raised by each such chunk loaded; forgotten after any other write (an upsert
    may add keys anywhere, ids the table assigns included), and read again when next needed. A key that another
    transaction stores meanwhile fails the chunk's ``LOAD DATA`` (:class:`KeysTakenMeanwhile`), as with a read."""

    def __init__(self, cursor: Any, dataset: Dataset) -> None:
        (self._key,) = dataset.key
        self._cursor, self._table = cursor, dataset.table
        self._highest: int | None = None
        self._known = False

    def all_new(self, keys: Sequence[int], low: int) -> bool:
        """Whether none of ``keys`` (distinct, the lowest ``low``) is stored."""
        if not self._known:
            self._cursor.execute(f"SELECT MAX(`{self._key}`) FROM `{self._table}`")  # noqa: S608  # sql-ok: declared names
            (self._highest,) = self._cursor.fetchone()
            self._known = True
        if self._highest is not None and low <= self._highest:
            return not _existing_keys(self._cursor, self._table, self._key, keys)
        return True

    def added(self, high: int) -> None:
        if self._known:
            self._highest = high if self._highest is None else max(self._highest, high)

    def forget(self) -> None:
        self._known = False


class _TextChunk:
    """A chunk for :meth:`BatchWriter.write_text`, made ready on the caller's thread: its text already in
    ``LOAD DATA``'s input file and the range of its keys when they are distinct (None: some key repeats)."""

    def __init__(self, text: str, keys: Sequence[int]) -> None:
        self.data = _load_input(text)
        self.keys = keys
        self.rows = len(keys)
        self.bounds = (min(keys), max(keys)) if len(set(keys)) == len(keys) else None


class BatchWriter:
    """Writes each batch on one worker thread, while the caller validates the next: MySQL parses and inserts a
    batch on its own core meanwhile (the ingest waited for it a third of its time).

    Batches of rows go through :func:`write_rows`. A chunk of validated rows given as their text (lines of
    comma-separated fields in the dataset's column order, every value as ``processed/`` writes it and nothing
    ``LOAD DATA`` would read as an escape: a :class:`chalicelib.ingest.chunks.RawChunk`) and as typed columns is
    that text, loaded as it stands in one ``LOAD DATA`` statement, when every row only adds (an upsert dataset
    that :func:`write_upsert` loads, keys distinct and new to the table: :class:`_KeyCeiling`); otherwise its
    rows go through :func:`write_rows`.

    A batch handed over waits behind the one being written, and the caller goes on only when that one is written:
    memory for two batches, and the caller validates while one statement runs (validating further ahead made the
    statements slower: the caller's thread then held the GIL against the worker's more often). The caller's cursor
    is the worker's alone until :meth:`close` (or the end of the ``with`` block) returns; a write's error is raised
    by the next :meth:`write` or by :meth:`close`. Leaving the block on an error waits for the batches handed over,
    so that the caller's rollback never meets a statement half sent.
    """

    def __init__(self, cursor: Any, dataset: Dataset, refs: Mapping) -> None:
        from concurrent.futures import ThreadPoolExecutor  # only the ingest needs it: not at every cold start

        self._cursor, self._dataset, self._refs = cursor, dataset, refs
        loadable = dataset.writer == "upsert" and _loadable(dataset)
        self._ceiling = _KeyCeiling(cursor, dataset) if loadable else None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer")
        self._pending: Future | None = None
        self.written = Written()  # what the batches written so far did to rows already stored

    def write(self, rows: Sequence[tuple]) -> None:
        """Hand over ``rows`` (the caller must not change them afterwards)."""
        if rows:
            self._submit(self._write_rows, rows)

    def write_text(self, text: str, columns: Sequence[Sequence[Any]]) -> None:
        """Hand over a chunk's ``text`` and typed ``columns`` (the caller must not change them afterwards)."""
        if not columns or not columns[0]:
            return
        if self._ceiling is None:
            self._submit(self._write_columns, columns)
        else:
            (key,) = self._dataset.key
            chunk = _TextChunk(text, columns[self._dataset.column_names.index(key)])
            self._submit(self._write_chunk, self._ceiling, chunk, columns)

    def _write_rows(self, rows: Sequence[tuple]) -> Written:
        if self._ceiling is not None:
            self._ceiling.forget()
        return write_rows(self._cursor, self._dataset, rows, self._refs)

    def _write_columns(self, columns: Sequence[Sequence[Any]]) -> Written:
        return self._write_rows(list(zip(*columns, strict=True)))

    def _write_chunk(self, ceiling: _KeyCeiling, chunk: _TextChunk, columns: Sequence[Sequence[Any]]) -> Written:
        with chunk.data:
            if chunk.bounds is not None and ceiling.all_new(chunk.keys, chunk.bounds[0]):
                _load_file(self._cursor, self._dataset.table, self._dataset.column_names, chunk.data.name, chunk.rows)
                ceiling.added(chunk.bounds[1])
                return Written()  # every row new
        return self._write_columns(columns)

    def _submit(self, write: Callable[..., Written], *batch: Any) -> None:
        """Queue ``batch`` behind the batch in flight, then wait for that one: the worker starts the next statement
        the moment one ends, without waiting for this thread (a handoff of some 10 ms on a busy machine)."""
        previous, self._pending = self._pending, self._pool.submit(write, *batch)
        if previous is not None:
            self.written.add(previous.result())

    def close(self) -> None:
        """Wait for the batch in flight; raises its error."""
        try:
            if self._pending is not None:
                self.written.add(self._pending.result())
        finally:
            self._pending = None
            self._pool.shutdown(wait=True)

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        if kind is None:
            self.close()
        else:
            with contextlib.suppress(Exception):  # the error that left the block is the one to report
                self.close()


def load_references(cursor: Any, dataset: Dataset) -> dict[str, dict[Any, Any]]:
    """For each reference of ``dataset``: the referenced keys and the value its writer needs
    (e.g. ``{"product_id": {1: Decimal("1.50"), ...}}``). Referenced tables are small lookup tables."""
    found: dict[str, dict[Any, Any]] = {}
    for ref in dataset.references:
        cursor.execute(f"SELECT `{ref.key}`, `{ref.value}` FROM `{ref.table}`")  # noqa: S608  # sql-ok: declared reference
        found[ref.column] = dict(cursor.fetchall())
    return found
