"""Data access for ingest: write a batch of validated rows of a dataset, read what references need.

Rows are written with ``executemany`` of one ``INSERT ... VALUES``, which PyMySQL sends as multi-row
statements. Measured against ``LOAD DATA LOCAL INFILE`` of the same validated rows (README, "S3 ingest and
copy"): loading into a staging table and upserting from it was about half as fast, and ``LOAD DATA ... REPLACE``
straight into the table deletes and re-inserts a replaced hero (its ``version`` would go back to 1).

Table and column names come from the declarations in :mod:`chalicelib.datasets` (a fixed whitelist), never
from the input, so the lines that interpolate them are marked ``# sql-ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from chalicelib.datasets import Dataset


def _columns_sql(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _insert(cursor: Any, table: str, names: Sequence[str], rows: Sequence[Sequence[Any]], update: str = "") -> None:
    """One ``executemany`` (multi-row statements); ``update`` is an ``ON DUPLICATE KEY UPDATE`` clause body."""
    if not rows:
        return
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO `{table}` ({_columns_sql(names)}) VALUES ({placeholders})"  # sql-ok
    if update:
        sql += f" ON DUPLICATE KEY UPDATE {update}"  # sql-ok
    cursor.executemany(sql, rows)


def _update_clause(names: Sequence[str], extra: Sequence[str] = ()) -> str:
    return ", ".join([f"`{name}` = VALUES(`{name}`)" for name in names] + list(extra))


def write_append(cursor: Any, dataset: Dataset, rows: Sequence[Mapping[str, Any]], refs: Mapping) -> None:
    """Append every row (the table assigns its own id)."""
    names = dataset.column_names
    _insert(cursor, dataset.table, names, [tuple(row[n] for n in names) for row in rows])


def write_upsert(cursor: Any, dataset: Dataset, rows: Sequence[Mapping[str, Any]], refs: Mapping) -> None:
    """Rows with the key replace the row with that key (or create it); rows without are appended."""
    names = dataset.column_names
    values = [n for n in names if n not in dataset.key]
    keyed = [tuple(row[n] for n in names) for row in rows if all(row[k] is not None for k in dataset.key)]
    unkeyed = [tuple(row[n] for n in values) for row in rows if any(row[k] is None for k in dataset.key)]
    _insert(cursor, dataset.table, names, keyed, _update_clause(values, dataset.on_update))
    _insert(cursor, dataset.table, values, unkeyed)


def write_orders(cursor: Any, dataset: Dataset, rows: Sequence[Mapping[str, Any]], refs: Mapping) -> None:
    """Order lines into ``order`` and ``order_item``: an item's amount is its product's price times the
    quantity, an order's amount the sum of its items (recomputed for every order the batch touched, so an
    order spread over several batches or files adds up). A line with an existing (order, item) number
    replaces that item."""
    prices: Mapping[int, Decimal] = refs["product_id"]
    orders = {row["order_number"]: row["order_date_time"] for row in rows}
    _insert(
        cursor,
        "order",
        ("order_number", "order_date_time", "amount"),
        [(number, when, Decimal("0.00")) for number, when in orders.items()],
        "`order_date_time` = VALUES(`order_date_time`)",
    )
    items = ("order_number", "order_item_number", "product_id", "quantity", "amount")
    _insert(
        cursor,
        "order_item",
        items,
        [(*(row[n] for n in items[:-1]), prices[row["product_id"]] * row["quantity"]) for row in rows],
        _update_clause(items[2:]),
    )
    placeholders = ", ".join(["%s"] * len(orders))
    cursor.execute(
        "UPDATE `order` o SET o.amount = (SELECT COALESCE(SUM(i.amount), 0) FROM order_item i"
        f" WHERE i.order_number = o.order_number) WHERE o.order_number IN ({placeholders})",  # sql-ok
        tuple(orders),
    )


WRITERS: dict[str, Callable[[Any, Dataset, Sequence[Mapping[str, Any]], Mapping], None]] = {
    "append": write_append,
    "upsert": write_upsert,
    "orders": write_orders,
}


def write_rows(cursor: Any, dataset: Dataset, rows: Sequence[Mapping[str, Any]], refs: Mapping) -> None:
    """Write a batch of validated ``rows`` with the dataset's writer, inside the caller's transaction."""
    WRITERS[dataset.writer](cursor, dataset, rows, refs)


def load_references(cursor: Any, dataset: Dataset) -> dict[str, dict[Any, Any]]:
    """For each reference of ``dataset``: the referenced keys and the value its writer needs
    (e.g. ``{"product_id": {1: Decimal("1.50"), ...}}``). Referenced tables are small lookup tables."""
    found: dict[str, dict[Any, Any]] = {}
    for ref in dataset.references:
        cursor.execute(f"SELECT `{ref.key}`, `{ref.value}` FROM `{ref.table}`")  # sql-ok
        found[ref.column] = dict(cursor.fetchall())
    return found
