"""The superhero, declared once: its fields, their kinds, lengths and ranges (the columns of the course's
original ``createTable.sql``). REST validation, the ``superheroes`` CSV dataset and the ``heroes`` export all
read these; a unit test checks them against ``chalicelib/core/sql/0001_superheroes.sql``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Hero = dict[str, Any]

MAX_UINT = 4_294_967_295  # INT UNSIGNED: the range of id and xp
MAX_TEXT_LENGTH = 20  # VARCHAR(20)
# The highest id a file may give a hero. An explicit id moves AUTO_INCREMENT past it, so ids above it are kept
# for the table to assign (2,147,483,648 of them); a row above it is rejected as ``id_above_ceiling``.
EXPLICIT_ID_CEILING = 2_147_483_647


@dataclass(frozen=True)
class HeroField:
    """One column of ``superheroes``: ``kind`` is ``int`` (``minimum..maximum``) or ``text`` (1..``max_length``
    characters, not blank)."""

    name: str
    kind: str
    minimum: int = 0
    maximum: int = MAX_UINT
    max_length: int = MAX_TEXT_LENGTH


ID_FIELD = HeroField("id", "int", minimum=1)
HERO_FIELDS = (
    HeroField("name", "text"),
    HeroField("hero", "text"),
    HeroField("power", "text"),
    HeroField("xp", "int"),
    HeroField("color", "text"),
)
FIELDS = tuple(f.name for f in HERO_FIELDS)  # what a client sends: every field but the id
TEXT_FIELDS = tuple(f.name for f in HERO_FIELDS if f.kind == "text")
BY_NAME = {f.name: f for f in (ID_FIELD, *HERO_FIELDS)}


def field_json_schema(declared: HeroField) -> dict[str, Any]:
    """The JSON Schema of one field's value, as validation checks it."""
    if declared.kind == "int":
        return {"type": "integer", "minimum": declared.minimum, "maximum": declared.maximum}
    return {"type": "string", "minLength": 1, "maxLength": declared.max_length, "pattern": r"\S"}  # not blank


def hero_json_schema(*, with_id: bool = False, partial: bool = False) -> dict[str, Any]:
    """The JSON Schema of a hero: as stored (``with_id``), as sent to create or replace, or a partial update."""
    fields = (ID_FIELD, *HERO_FIELDS) if with_id else HERO_FIELDS
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: field_json_schema(f) for f in fields},
        "additionalProperties": False,
    }
    if partial:
        schema["minProperties"] = 1
    else:
        schema["required"] = [f.name for f in fields]
    return schema
