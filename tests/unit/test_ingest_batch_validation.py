"""The column-at-a-time validation (``Validator.batch``) answers exactly the rows the row-by-row one
(``Validator.row``) answers, for every declared dataset, on random batches of valid, invalid and edge values.

The ingest validates a batch with ``batch`` and falls back to ``row`` for each row when ``batch`` answers None,
so what it loads is right only if ``batch`` never answers rows that ``row`` would reject or type differently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib.ingest.columns import Column, Dataset, RowRejected, Validator
from chalicelib.ingest.datasets import DATASETS

# what loaders.load_references reads for a reference: referenced key -> the value the writer needs (a price)
PRODUCTS = {1: Decimal("2.50"), 2: Decimal("1.25"), 7: Decimal("3.00")}
EARLIEST, LATEST = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)
# the mixed batches need more examples to meet a lone odd cell (seen by hand: a broken batch() is found in about
# three of four runs at 200; the exhaustive edge test below finds it in every run)
MIXED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PLAIN = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DATASET_NAMES = sorted(DATASETS)
# what the datasets' row rules answer
ROW_RULE_REASONS = {"health": ("diastolic_above_systolic",), "superheroes": ("id_above_ceiling",)}


def references_for(dataset: Dataset) -> dict[str, Mapping[Any, Any]]:
    return {reference.column: PRODUCTS for reference in dataset.references}


def row_by_row(validator: Validator, rows: Sequence[Sequence[str]]) -> tuple[list[tuple], list[str]]:
    """The valid rows and the rejected rows' reasons, one row at a time (the ingest's fallback path)."""
    valid, reasons = [], []
    for fields in rows:
        try:
            valid.append(validator.row(fields))
        except RowRejected as rejected:
            reasons.append(rejected.reason)
    return valid, reasons


def typed(rows: Sequence[tuple]) -> list[tuple[str, ...]]:
    """Rows compared by value and type: 72 and Decimal(72), or two scales of a Decimal, differ."""
    return [tuple(map(repr, row)) for row in rows]


def reason_pattern(dataset: Dataset) -> re.Pattern[str]:
    """Every reason a row of ``dataset`` may be rejected with: a column's check (columns.py's module docstring),
    the field count, a reference, a row rule."""
    columns = "|".join(dataset.column_names)
    references = [reference.reason for reference in dataset.references]
    checks = rf"(missing|invalid|out_of_range|too_long)_({columns})"
    return re.compile("|".join([checks, "wrong_column_count", *references, *ROW_RULE_REASONS.get(dataset.name, ())]))


def _timestamp_text(value: datetime, style: int) -> str:
    return (value.isoformat(), value.isoformat(sep=" "), value.isoformat() + "Z")[style]


def plain_values(column: Column, dataset: Dataset) -> st.SearchStrategy[str]:
    """Values valid as they are: what a well-formed file holds and the column-at-a-time path takes whole."""
    if column.name in {reference.column for reference in dataset.references}:
        return st.sampled_from(sorted(PRODUCTS)).map(str)
    if column.kind == "int":
        return st.integers(max(column.minimum or 0, 0), column.maximum or 10**12).map(str)
    if column.kind == "text":
        return st.text(min_size=1, max_size=column.max_length or 50).map(str.strip).filter(bool)
    if column.kind == "decimal":
        decimals = st.decimals(column.minimum, column.maximum, places=column.scale + 1)
        return decimals.map(lambda value: format(value, "f"))
    moments = st.datetimes(column.minimum or EARLIEST, column.maximum or LATEST)
    return st.builds(_timestamp_text, moments, st.integers(0, 2))


def _int_edges(low: int, high: int) -> list[str]:
    return [str(low), str(high), str(low - 1), str(high + 1), f"+{low}", f"-{high}", f"{high}.0", f"{low}.5"]


def _text_edges(longest: int) -> list[str]:
    return ["a" * longest, "b" * (longest + 1), " padded ", "\u00a0nbsp", "é" * longest, 'say "hi", ok', "\t"]


def _decimal_edges(low: Decimal, high: Decimal) -> list[str]:
    near = [low - Decimal("0.01"), low - Decimal("0.05"), high - Decimal("0.05"), high + Decimal("0.04")]
    return [str(low), str(high), *map(str, near), ".5", "5.", f"+{low}", "NaN", "Infinity", "1e1", "36,5"]


def _timestamp_edges(low: datetime | None, high: datetime | None) -> list[str]:
    bounds = [moment for moment in (low, high) if moment is not None]
    around = [(moment + timedelta(seconds=step)).isoformat() for moment in bounds for step in (-1, 0, 1)]
    return [
        *around,
        "2025-09-17",
        "2025-09-17T11:59:16.801681Z",
        "2025-09-17 12:00:16",
        "2025-09-17T14:00:00+02:00",
        "2025-13-01T00:00:00",
        "2038-01-19T05:14:07+02:00",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "20250917T120000",
    ]


def edge_values(column: Column) -> list[str]:
    """Boundaries, one past them, and what the general checks exist for: signs, padding, other digits."""
    common = ["", " ", "x", "NULL", "٣", "²", "1" * 19, " 7 ", "07"]
    if column.kind == "int":
        return _int_edges(column.minimum or 0, column.maximum or 10**12) + common
    if column.kind == "text":
        return _text_edges(column.max_length or 50) + common
    if column.kind == "decimal":
        return _decimal_edges(column.minimum, column.maximum) + common
    return _timestamp_edges(column.minimum, column.maximum) + common


def odd_values(column: Column, dataset: Dataset) -> list[str]:
    """Edge values and, for a reference, keys that may or may not be known."""
    if column.name in {reference.column for reference in dataset.references}:
        return [*edge_values(column), *map(str, range(max(PRODUCTS) + 2))]
    return edge_values(column)


@st.composite
def layouts(draw: st.DrawFn, dataset: Dataset) -> tuple[list[Column], list[int | None]]:
    """A file's columns in file order (any order; optional ones may be absent) and the validator's positions."""
    present = [column for column in dataset.columns if column.required or draw(st.booleans())]
    in_file = draw(st.permutations(present))
    positions = [in_file.index(column) if column in in_file else None for column in dataset.columns]
    return in_file, positions


@st.composite
def batches(draw: st.DrawFn, dataset: Dataset, in_file: list[Column], plain: bool) -> list[list[str]]:
    """Rows of plain values; unless ``plain``, with a few cells replaced by an edge value or any text and now and
    then a row with a field too many or too few: one odd cell among valid rows is what the fast path must see.
    (Which cells and values: a seeded ``Random``, so that every edge value is as likely as any other.)"""
    row = st.tuples(*(plain_values(column, dataset) for column in in_file)).map(list)
    rows = draw(st.lists(row, min_size=1, max_size=8))
    if plain:
        return rows
    chance = draw(st.randoms(use_true_random=True))
    for _ in range(chance.choice([0, 1, 1, 1, 2])):
        fields, cell = chance.choice(rows), chance.randrange(len(in_file))
        odd = odd_values(in_file[cell], dataset)
        fields[cell] = chance.choice(odd) if chance.random() < 0.8 else draw(st.text(max_size=6))
    if chance.random() < 0.1:
        fields = chance.choice(rows)
        fields[:] = [*fields, "extra"] if chance.random() < 0.5 else fields[:-1]
    return rows


@st.composite
def uploads(draw: st.DrawFn, dataset: Dataset, plain: bool) -> tuple[Validator, list[list[str]]]:
    """A file of ``dataset`` as the ingest meets it: the validator of its layout and a batch of its rows."""
    in_file, positions = draw(layouts(dataset))
    validator = Validator(dataset, positions, len(in_file), references_for(dataset))
    return validator, draw(batches(dataset, in_file, plain))


@pytest.mark.parametrize("name", DATASET_NAMES)
@MIXED
@given(data=st.data())
def test_a_batch_validated_a_column_at_a_time_equals_the_rows_validated_one_by_one(name: str, data: Any) -> None:
    dataset = DATASETS[name]
    validator, rows = data.draw(uploads(dataset, plain=False))

    valid, reasons = row_by_row(validator, rows)  # never an exception other than RowRejected
    fast = validator.batch(rows)

    pattern = reason_pattern(dataset)
    assert all(pattern.fullmatch(reason) for reason in reasons), reasons
    if fast is not None:  # the ingest loads these rows without the row path: they must be the row path's rows
        assert reasons == []
        assert typed(fast) == typed(valid)


@pytest.mark.parametrize("name", DATASET_NAMES)
@PLAIN
@given(data=st.data())
def test_a_batch_of_plainly_valid_rows_takes_the_column_at_a_time_path(name: str, data: Any) -> None:
    """Without this, a ``batch`` that always answered None would pass the equality above."""
    validator, rows = data.draw(uploads(DATASETS[name], plain=True))
    accepted = [fields for fields in rows if not row_by_row(validator, [fields])[1]]  # row rules may still fail
    assume(accepted)

    fast = validator.batch(accepted)

    assert fast is not None
    assert typed(fast) == typed(row_by_row(validator, accepted)[0])


# one valid row per dataset, in its columns' order (a new dataset adds its own)
VALID_ROWS = {
    "superheroes": ["7", "irondoctor", "no", "eat", "1000", "yellow"],
    "health": ["2025-09-17T11:59:16Z", "user_1", "100", "95", "21", "37.5", "120", "80"],
    "orders": ["1", "2020-06-20 13:09:07", "1", "2", "3"],
}


def single_odd_cells(name: str) -> list[tuple[int, str]]:
    dataset = DATASETS[name]
    return [(index, value) for index, column in enumerate(dataset.columns) for value in edge_values(column)]


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_every_edge_value_among_valid_rows_gets_what_the_row_path_gives_it(name: str) -> None:
    """Each edge value of each column, alone in a batch of valid rows: the column-at-a-time path must notice
    whatever the row path would reject or type differently (exhaustive where the property samples)."""
    dataset = DATASETS[name]
    width = len(dataset.columns)
    validator = Validator(dataset, list(range(width)), width, references_for(dataset))
    valid = VALID_ROWS[name]
    assert validator.batch([valid]) is not None

    for index, value in single_odd_cells(name):
        odd = [*valid[:index], value, *valid[index + 1 :]]
        rows = [valid, odd, valid]
        expected, reasons = row_by_row(validator, rows)
        fast = validator.batch(rows)
        where = (dataset.columns[index].name, value, reasons)
        if reasons:
            assert fast is None, where
        elif fast is not None:  # a valid value that is not plainly valid may take the row path, nothing else
            assert typed(fast) == typed(expected), where


def test_a_batch_with_one_row_to_reject_takes_the_row_path() -> None:
    dataset = DATASETS["health"]
    validator = Validator(dataset, list(range(len(dataset.columns))), len(dataset.columns), {})
    good = ["2025-09-17T11:59:16Z", "user_1", "100", "95", "21", "37.5", "120", "80"]
    low_spo2 = [*good[:3], "89", *good[4:]]
    diastolic_above = [*good[:6], "100", "110"]

    assert validator.batch([good, good]) is not None
    assert validator.batch([good, low_spo2]) is None
    assert validator.batch([good, diastolic_above]) is None
    assert row_by_row(validator, [good, low_spo2, diastolic_above])[1] == [
        "out_of_range_spo2",
        "diastolic_above_systolic",
    ]
