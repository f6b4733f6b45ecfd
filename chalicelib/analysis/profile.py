"""A profile of any table of a source, declared or not: its row count and, per column, its type, nulls,
distinct values, min/max, mean and standard deviation of numbers, earliest/latest of dates and the most frequent
values of low-cardinality columns. All computed in SQL.

Bounded cost (docs/analysis.md, "Profiles"):

- the row count is exact (``COUNT(*)``) for tables that information_schema estimates under
  :data:`EXACT_ROWS` rows; above, it is InnoDB's estimate (``row_count_exact: false``);
- the column statistics of a table above :data:`EXACT_ROWS` rows come from a sample of at most
  :data:`SAMPLE_ROWS` rows: :data:`SAMPLE_RANGES` ranges of consecutive rows spread over an integer primary key
  (from ``MIN`` to ``MAX``, read through the key's index), or the first rows when there is no such key;
- at most :data:`MAX_TOP_COLUMNS` columns of at most :data:`LOW_CARDINALITY` distinct values get their top
  :data:`TOP_VALUES` values (one ``GROUP BY`` each, over the same rows).

Table and column names come from information_schema (the request's table names are checked against it) and are
quoted with backticks; the queries carry no value from the request (their numbers are ints computed here).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.core.mysql import Database

EXACT_ROWS = 200_000
SAMPLE_ROWS = 100_000
SAMPLE_RANGES = 10
LOW_CARDINALITY = 20
TOP_VALUES = 5
MAX_TOP_COLUMNS = 20
NUMERIC_TYPES = frozenset(
    {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "float", "double"}
)
DATE_TYPES = frozenset({"date", "datetime", "timestamp", "time", "year"})
TEXT_TYPES = frozenset({"char", "varchar", "enum", "set"})
INTEGER_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "integer", "bigint"})


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    data_type: str
    column_type: str
    nullable: bool

    @property
    def kind(self) -> str:
        """``number``, ``date``, ``text`` or ``other`` (blobs, JSON, long texts: nulls only)."""
        for kind, types in (("number", NUMERIC_TYPES), ("date", DATE_TYPES), ("text", TEXT_TYPES)):
            if self.data_type in types:
                return kind
        return "other"


def quote(name: str) -> str:
    """A MySQL identifier in backticks (a backtick inside doubled)."""
    return "`" + name.replace("`", "``") + "`"


def base_tables(database: Database) -> dict[str, int]:
    """The source's base tables and information_schema's row estimate of each."""
    with database.cursor(dicts=False) as cur:
        cur.execute(
            "SELECT TABLE_NAME, COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"
        )
        return {name: int(rows) for name, rows in cur.fetchall()}


def profile_source(database: Database, tables: Sequence[str] | None, budget_seconds: float) -> dict[str, Any]:
    """``{"tables": {name: profile}, "missing_tables": [...], "not_profiled": [...]}`` for ``tables`` (every
    base table when None). No table is started after ``budget_seconds`` (one table takes about a second at
    most): the rest are listed in ``not_profiled``, to be named in a later request or left to the schedule."""
    deadline = time.monotonic() + budget_seconds
    estimates = base_tables(database)
    wanted = list(estimates) if tables is None else list(dict.fromkeys(tables))
    profiles: dict[str, Any] = {}
    not_profiled = []
    for name in (name for name in wanted if name in estimates):
        if time.monotonic() >= deadline:
            not_profiled.append(name)
        else:
            profiles[name] = profile_table(database, name, estimates[name])
    missing = [name for name in wanted if name not in estimates]
    return {"tables": profiles, "missing_tables": missing, "not_profiled": not_profiled}


def profile_table(database: Database, table: str, estimate: int) -> dict[str, Any]:
    """One table's profile (``table`` is a name information_schema listed)."""
    started = time.perf_counter()
    columns = _columns(database, table)
    with database.cursor() as cur:
        if estimate < EXACT_ROWS:
            cur.execute(f"SELECT COUNT(*) AS n FROM {quote(table)}")  # noqa: S608  # sql-ok: a quoted listed name
            rows, exact = int(cur.fetchone()["n"]), True
        else:
            rows, exact = estimate, False
        source, sampled = _rows_to_profile(cur, table, exact and rows < EXACT_ROWS)
        stats = _column_stats(cur, columns, source)
        for column in _top_candidates(columns, stats):
            stats[column.name]["top_values"] = _top_values(cur, column, source)
    return {
        "row_count": rows,
        "row_count_exact": exact,
        "profiled_rows": stats.pop("", {}).get("rows", 0),
        "sampled": sampled,
        "columns": stats,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _columns(database: Database, table: str) -> list[ColumnInfo]:
    with database.cursor(dicts=False) as cur:
        cur.execute(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (table,),
        )
        return [
            ColumnInfo(name, kind.lower(), full, nullable == "YES") for name, kind, full, nullable in cur.fetchall()
        ]


def _integer_key(cur: Any, table: str) -> str | None:
    """The table's primary key column when it is a single integer column."""
    cur.execute(
        "SELECT k.COLUMN_NAME AS name, c.DATA_TYPE AS type FROM information_schema.KEY_COLUMN_USAGE k"
        " JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME"
        " AND c.COLUMN_NAME = k.COLUMN_NAME WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = %s"
        " AND k.CONSTRAINT_NAME = 'PRIMARY'",
        (table,),
    )
    keys = cur.fetchall()
    return keys[0]["name"] if len(keys) == 1 and keys[0]["type"].lower() in INTEGER_TYPES else None


def _rows_to_profile(cur: Any, table: str, whole: bool) -> tuple[str, str | None]:
    """``(FROM clause, how it was sampled or None)``: the whole table, or a bounded sample. The clause holds
    no parameter markers (its numbers are ints computed here), so that a ``%`` in a name needs no escaping."""
    if whole:
        return quote(table), None
    per_range = SAMPLE_ROWS // SAMPLE_RANGES
    key = _integer_key(cur, table)
    if key is None:
        sql = f"(SELECT * FROM {quote(table)} LIMIT {SAMPLE_ROWS}) AS sampled"  # noqa: S608 - a quoted listed name
        return sql, f"the first {SAMPLE_ROWS} rows (no integer primary key)"
    cur.execute(f"SELECT MIN({quote(key)}) AS low, MAX({quote(key)}) AS high FROM {quote(table)}")  # noqa: S608  # sql-ok: quoted names
    bounds = cur.fetchone()
    low, high = int(bounds["low"] or 0), int(bounds["high"] or 0)
    starts = [low + (high - low) * i // SAMPLE_RANGES for i in range(SAMPLE_RANGES)]
    parts = [
        f"(SELECT * FROM {quote(table)} WHERE {quote(key)} >= {start} ORDER BY {quote(key)} LIMIT {per_range})"  # noqa: S608 - quoted names, ints
        for start in starts
    ]
    # UNION, not UNION ALL: ranges that overlap (a sparse key) count their rows once
    sql = "(" + " UNION ".join(parts) + ") AS sampled"
    return sql, f"{SAMPLE_RANGES} ranges of {per_range} rows spread over the primary key {key}"


def _aggregates(column: ColumnInfo) -> list[tuple[str, str]]:
    """``(statistic, SQL expression)`` of one column."""
    name = quote(column.name)
    found = [("nulls", f"SUM({name} IS NULL)")]
    if column.kind == "other":
        return found
    found += [("distinct", f"COUNT(DISTINCT {name})"), ("min", f"MIN({name})"), ("max", f"MAX({name})")]
    if column.kind == "number":
        found += [("mean", f"AVG({name})"), ("stddev", f"STDDEV_POP({name})")]
    return found


def _column_stats(cur: Any, columns: list[ColumnInfo], source: str) -> dict[str, Any]:
    """Every column's statistics in one query over ``source``; ``""`` holds the number of rows read."""
    expressions = ["COUNT(*)"]
    labels: list[tuple[str, str]] = []
    for column in columns:
        for statistic, expression in _aggregates(column):
            expressions.append(expression)
            labels.append((column.name, statistic))
    cur.execute(f"SELECT {', '.join(expressions)} FROM {source}")  # noqa: S608  # sql-ok: quoted names, computed ints
    values = list(cur.fetchone().values())
    stats: dict[str, Any] = {"": {"rows": int(values[0])}}
    for column in columns:
        stats[column.name] = {"type": column.column_type, "nullable": column.nullable}
    for (name, statistic), value in zip(labels, values[1:], strict=True):
        stats[name][statistic] = _plain(statistic, value)
    for column in columns:
        if column.kind == "date":
            entry = stats[column.name]
            entry["earliest"], entry["latest"] = entry.pop("min"), entry.pop("max")
    return stats


def _plain(statistic: str, value: Any) -> Any:
    if value is None:
        return None
    if statistic in ("nulls", "distinct"):
        return int(value)
    if statistic in ("mean", "stddev"):
        return round(float(value), 6)
    return value


def _top_candidates(columns: list[ColumnInfo], stats: dict[str, Any]) -> list[ColumnInfo]:
    low = [c for c in columns if c.kind != "other" and 0 < stats[c.name].get("distinct", 0) <= LOW_CARDINALITY]
    return low[:MAX_TOP_COLUMNS]


def _top_values(cur: Any, column: ColumnInfo, source: str) -> list[dict[str, Any]]:
    """The most frequent values (NULLs are counted apart, in ``nulls``)."""
    name = quote(column.name)
    cur.execute(
        f"SELECT {name} AS value, COUNT(*) AS n FROM {source} WHERE {name} IS NOT NULL"  # noqa: S608 - quoted listed names
        f" GROUP BY {name}"
        f" ORDER BY n DESC, {name} LIMIT {TOP_VALUES}"
    )
    return [{"value": row["value"], "count": int(row["n"])} for row in cur.fetchall()]
