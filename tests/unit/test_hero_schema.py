"""The superhero is declared once (``chalicelib.heroes.schema``): the declaration agrees with the table the first
migration creates, and the ``superheroes`` CSV dataset and the ``heroes`` export take their columns and limits
from it, so none of them can drift from the table."""

from __future__ import annotations

import re

from chalicelib.core.migrations import SQL_DIR
from chalicelib.heroes.schema import HERO_FIELDS, ID_FIELD, MAX_TEXT_LENGTH, MAX_UINT, HeroField
from chalicelib.ingest.datasets import DATASETS
from chalicelib.reporting.exports import EXPORTS

CACHE_COLUMNS = ("version",)  # the table's own bookkeeping for the cache, not a hero field
_COLUMN = re.compile(r"^\s*(\w+)\s+(INT UNSIGNED|BIGINT UNSIGNED|VARCHAR\((\d+)\))\s+(NOT NULL)?", re.MULTILINE)


def table_columns() -> dict[str, tuple[str, int | None, bool]]:
    """``superheroes``' columns from its CREATE TABLE: name -> (type, VARCHAR length, NOT NULL), in order."""
    sql = (SQL_DIR / "0001_superheroes.sql").read_text()
    create = re.search(r"CREATE TABLE IF NOT EXISTS superheroes \((.*?)\n\)", sql, flags=re.DOTALL)
    assert create, "0001_superheroes.sql creates superheroes"
    return {
        name: (kind.split("(")[0], int(length) if length else None, bool(not_null))
        for name, kind, length, not_null in _COLUMN.findall(create.group(1))
    }


def test_the_declared_fields_are_the_tables_columns_in_order():
    assert list(table_columns()) == [ID_FIELD.name, *(f.name for f in HERO_FIELDS), *CACHE_COLUMNS]


def test_each_declared_limit_is_the_columns_type():
    columns = table_columns()
    assert MAX_UINT == 2**32 - 1  # INT UNSIGNED
    for declared in (ID_FIELD, *HERO_FIELDS):
        kind, length, not_null = columns[declared.name]
        assert not_null, declared.name
        if declared.kind == "int":
            assert kind == "INT UNSIGNED" and declared.maximum == MAX_UINT, declared
            assert declared.minimum >= 0, declared
        else:
            assert declared.kind == "text" and kind == "VARCHAR", declared
            assert declared.max_length == length == MAX_TEXT_LENGTH, declared
    assert ID_FIELD.minimum == 1  # AUTO_INCREMENT starts at 1


def test_the_superheroes_dataset_has_the_schemas_columns_and_limits():
    columns = DATASETS["superheroes"].columns

    assert [c.name for c in columns] == [ID_FIELD.name, *(f.name for f in HERO_FIELDS)]
    for column, declared in zip(columns, (ID_FIELD, *HERO_FIELDS), strict=True):
        assert column.required is (declared is not ID_FIELD)  # a row without an id is a new hero
        if declared.kind == "int":
            assert (column.kind, column.minimum, column.maximum) == ("int", declared.minimum, declared.maximum)
        else:
            assert (column.kind, column.max_length) == ("text", declared.max_length)


def _field(name: str) -> HeroField:
    return next(f for f in HERO_FIELDS if f.name == name)


def test_the_heroes_export_filters_with_the_schemas_limits_and_lists_its_fields():
    export = EXPORTS["heroes"]
    xp = _field("xp")

    for name in ("power", "color"):
        param = export.params[name]
        assert (param.kind, param.max_length, param.default) == ("text", _field(name).max_length, None)
    for name, default in (("min_xp", xp.minimum), ("max_xp", xp.maximum)):
        param = export.params[name]
        assert (param.kind, param.minimum, param.maximum, param.default) == ("integer", xp.minimum, xp.maximum, default)
    selected = re.match(r"SELECT (.*?) FROM superheroes", export.sql)
    assert selected and selected.group(1).split(", ") == [ID_FIELD.name, *(f.name for f in HERO_FIELDS)]
    assert len(export.sheet.columns) == 1 + len(HERO_FIELDS)
