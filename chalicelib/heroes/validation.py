"""Validation of everything a hero request carries: path ids, query values and JSON documents. Each check raises
:class:`~chalicelib.core.errors.InvalidInput` with a message that says exactly what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.core.errors import InvalidInput
from chalicelib.core.params import Query, flag, integer, json_integer, json_text, query_integer, shown, single
from chalicelib.heroes.schema import BY_NAME, FIELDS, ID_FIELD, MAX_UINT, Hero

MAX_HEROES_PER_WRITE = 1000
MAX_XP_VALUES = 1000


def parse_id(raw: str) -> int:
    """A hero id from the path: a positive integer of at most 4294967295."""
    return integer(raw, "hero id", ID_FIELD.minimum, ID_FIELD.maximum)


def query_uint(query: Query, name: str, default: int, minimum: int = 0, maximum: int = MAX_UINT) -> int:
    """Query parameter ``name`` as an integer in ``minimum..maximum`` (a hero's INT UNSIGNED range by default);
    ``default`` when absent."""
    return query_integer(query, name, default, minimum, maximum)


def field(where: str, name: str, value: Any) -> Any:
    """``value`` of hero field ``name`` as :mod:`~chalicelib.heroes.schema` declares it; ``where`` prefixes
    the message."""
    declared = BY_NAME[name]
    if declared.kind == "int":
        return json_integer(value, f"{where}{name}", declared.minimum, declared.maximum)
    return json_text(value, f"{where}{name}", declared.max_length, blank=False)


def validate_hero(document: Any, *, partial: bool = False, hero_id: int | None = None, where: str = "") -> Hero:
    """The hero fields of ``document``: all of them (``partial=False``) or at least one (``partial=True``).

    ``id`` is accepted only when it equals ``hero_id`` (the id in the path of a PUT or PATCH).

    >>> validate_hero({"name": "irondoctor", "hero": "no", "power": "eat", "xp": 7, "color": "red"})["xp"]
    7
    """
    if not isinstance(document, dict):
        raise InvalidInput(f"{where}a hero must be a JSON object, got {json_type(document)}")
    fields = dict(document)
    if "id" in fields:
        if hero_id is None:
            raise InvalidInput(f"{where}id is assigned by the server; do not send it (PUT /heroes/{{id}} replaces)")
        sent = fields.pop("id")
        if isinstance(sent, bool) or not isinstance(sent, int) or sent != hero_id:  # 5.0 is not the integer 5
            raise InvalidInput(f"{where}id {shown(sent)} does not match the id {hero_id} in the path")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"{where}unknown field(s) {unknown}; a hero has {list(FIELDS)}")
    missing = [name for name in FIELDS if name not in fields]
    if missing and not partial:
        raise InvalidInput(f"{where}missing field(s) {missing}")
    if partial and not fields:
        raise InvalidInput(f"{where}no field to change; send at least one of {list(FIELDS)}")
    return {name: field(where, name, fields[name]) for name in FIELDS if name in fields}


def json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def new_heroes(documents: Any, what: str) -> list[Hero]:
    """Validate a non-empty list of new heroes; messages name the failing item."""
    if not isinstance(documents, list) or not 1 <= len(documents) <= MAX_HEROES_PER_WRITE:
        size = f" of {len(documents)}" if isinstance(documents, list) else ""
        raise InvalidInput(
            f"{what} must be a list of 1 to {MAX_HEROES_PER_WRITE} heroes, got {json_type(documents)}{size}"
        )
    return [validate_hero(document, where=f"{what}[{i}]: ") for i, document in enumerate(documents)]


def xp_list(values: Sequence[Any], what: str) -> list[int]:
    """Distinct xp values in the order given; at most :data:`MAX_XP_VALUES`."""
    if not values:
        raise InvalidInput(f"{what} must name at least one xp value")
    if len(values) > MAX_XP_VALUES:
        raise InvalidInput(f"{what} names {len(values)} xp values; at most {MAX_XP_VALUES} per request")
    xps = [field(f"{what}[{i}]: ", "xp", value) for i, value in enumerate(values)]
    return list(dict.fromkeys(xps))


def use_cache_for(query: Query, cache_control: str | None) -> bool:
    """False for ``Cache-Control: no-cache`` (or ``no-store``) or ``?cache=false``."""
    directives = {d.strip().lower() for d in (cache_control or "").split(",")}
    raw = single(query, "cache")
    return (raw is None or flag(raw, "query parameter cache")) and not directives & {"no-cache", "no-store"}
