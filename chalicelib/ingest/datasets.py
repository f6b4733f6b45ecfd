"""The datasets that ``raw/<dataset>/`` uploads are ingested into, each declared once.

A declaration names the columns (type, required, range), the target table and its key, row rules that span
columns, references to other tables, and how valid rows are written. Validation (:mod:`~chalicelib.ingest.columns`),
loading and reporting in :mod:`chalicelib.ingest.pipeline` are generic over these declarations: adding a dataset
is adding one here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.heroes import EXPLICIT_ID_CEILING, HERO_FIELDS, ID_FIELD, HeroField
from chalicelib.ingest.columns import INT32_MAX, Column, ColumnLimit, Dataset, Reference


def _diastolic_not_above_systolic(row: Mapping[str, Any]) -> str | None:
    return "diastolic_above_systolic" if row["diastolic_bp"] > row["systolic_bp"] else None


def _invalidate_hero_cache() -> None:
    """Cached heroes may be stale once a file changed any of them; the hero cache drops them all."""
    from chalicelib.heroes import invalidate_all_heroes

    invalidate_all_heroes()


def _hero_column(declared: HeroField, required: bool = True) -> Column:
    """The CSV column of a hero field, as :mod:`chalicelib.heroes` declares it."""
    if declared.kind == "int":
        return Column(declared.name, "int", required=required, minimum=declared.minimum, maximum=declared.maximum)
    return Column(declared.name, "text", required=required, max_length=declared.max_length)


# MySQL TIMESTAMP's range (the `order` table's column)
_TIMESTAMP_MIN = datetime(1970, 1, 1, 0, 0, 1)
_TIMESTAMP_MAX = datetime(2038, 1, 19, 3, 14, 7)

DATASETS: dict[str, Dataset] = {
    dataset.name: dataset
    for dataset in (
        Dataset(
            name="superheroes",
            columns=(
                _hero_column(ID_FIELD, required=False),
                *map(_hero_column, HERO_FIELDS),
            ),
            table="superheroes",
            key=("id",),
            writer="upsert",
            on_update=("version = version + 1",),
            # a hero id a file sets must leave room for the ids the table assigns
            row_rules=(ColumnLimit("id", EXPLICIT_ID_CEILING, "id_above_ceiling"),),
            after_load=_invalidate_hero_cache,
        ),
        Dataset(
            name="health",
            columns=(
                Column("event_time", "timestamp", minimum=datetime(1000, 1, 1)),
                Column("user_id", "text", max_length=64),
                Column("heart_rate", "int", minimum=50, maximum=180),
                Column("spo2", "int", minimum=90, maximum=100),
                Column("steps", "int", minimum=0, maximum=50000),
                Column("temp_c", "decimal", minimum=Decimal("35.0"), maximum=Decimal("40.0"), scale=1),
                Column("systolic_bp", "int", minimum=90, maximum=180),
                Column("diastolic_bp", "int", minimum=60, maximum=120),
            ),
            table="health_metrics",
            key=("user_id", "event_time"),  # a reading is stored once; a re-sent one replaces it
            writer="upsert",
            row_rules=(_diastolic_not_above_systolic,),
        ),
        Dataset(
            name="orders",
            columns=(
                Column("order_number", "int", minimum=1, maximum=INT32_MAX),
                Column("order_date_time", "timestamp", minimum=_TIMESTAMP_MIN, maximum=_TIMESTAMP_MAX),
                Column("order_item_number", "int", minimum=1, maximum=INT32_MAX),
                Column("product_id", "int", minimum=1, maximum=INT32_MAX),
                Column("quantity", "int", minimum=1, maximum=1000),
            ),
            table="order_item",
            key=("order_number", "order_item_number"),
            writer="orders",
            references=(Reference("product_id", "product", "id", "price", "unknown_product"),),
        ),
    )
}
