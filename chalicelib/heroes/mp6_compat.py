"""``POST /mp6``: the course's original Lambda request format, answered as that Lambda answered.

The original formatted each value into ``SELECT * FROM superheroes WHERE xp = <value>`` and answered ``rows[0]``
for each ``SQLS`` entry in order; a write inserted each hero of ``SQLS``. The rule here: whatever the original
answered with 200 is answered the same way (numeric strings, repeated values, any ``USE_CACHE`` value, an unknown
``REQUEST``, an empty ``SQLS``, extra keys); whatever crashed it (a missing key, ``SQLS`` not a list, a value
that is not a number, a hero that breaks the column limits) is a 400 that says why. The REST routes stay strict.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from chalicelib.core.bodies import decode_json
from chalicelib.core.errors import InvalidInput
from chalicelib.core.params import shown
from chalicelib.heroes import cache as hero_cache
from chalicelib.heroes.schema import BY_NAME, FIELDS, Hero
from chalicelib.heroes.store import insert, load_by_xp
from chalicelib.heroes.validation import MAX_HEROES_PER_WRITE, MAX_XP_VALUES, field, json_type

# what the original's formatted SQL compared as a number: an optional sign, digits, an optional fraction
_NUMBER_TEXT = re.compile(r"\s*[+-]?[0-9]{1,40}(\.[0-9]{0,40})?\s*")
_XP = BY_NAME["xp"]


def mp6(raw_body: bytes | str | None) -> tuple[dict[str, Any], str | None]:
    """``POST /mp6``: ``{"USE_CACHE": "True", "REQUEST": "read"|"write", "SQLS": [...]}``.

    ``read`` answers ``{"statusCode": 200, "body": [one hero per SQLS entry that has one]}`` and its X-Cache;
    ``write`` inserts the heroes in SQLS and answers ``{"statusCode": 200, "body": "write success"}``; any other
    ``REQUEST`` answers ``{"statusCode": 200, "body": []}``.
    """
    document = decode_json(raw_body)
    if not isinstance(document, dict):
        raise InvalidInput(
            f"the body must be a JSON object with USE_CACHE, REQUEST and SQLS, got {json_type(document)}"
        )
    use_cache = _required(document, "USE_CACHE") == "True"
    request = _required(document, "REQUEST")
    if request == "read":
        items, status = read(_sqls(document), use_cache)
        return {"statusCode": 200, "body": items}, status
    if request == "write":
        write(_sqls(document))
        return {"statusCode": 200, "body": "write success"}, None
    return {"statusCode": 200, "body": []}, None


def read(values: list[Any], use_cache: bool) -> tuple[list[Hero], str | None]:
    """The hero with the lowest id of each value's xp, in ``values`` order, a value without a hero skipped and a
    repeated value answered each time (as the original's ``rows[0]`` per entry)."""
    xps = [xp_of(value, f"SQLS[{i}]") for i, value in enumerate(values)]
    wanted = list(dict.fromkeys(xp for xp in xps if xp is not None))
    first: dict[int, Hero] = {}
    status = None
    for start in range(0, len(wanted), MAX_XP_VALUES):
        by_xp, status = hero_cache.heroes_by_xp(wanted[start : start + MAX_XP_VALUES], load_by_xp, use_cache=use_cache)
        first.update({xp: heroes[0] for xp, heroes in by_xp.items() if heroes})
    return [first[xp] for xp in xps if xp in first], status


def write(documents: list[Any]) -> None:
    """Insert every hero of ``documents`` (in statements of :data:`MAX_HEROES_PER_WRITE`; the original committed
    each hero on its own). Keys other than the five fields are ignored, as the original ignored them."""
    heroes = [_hero(document, f"SQLS[{i}]: ") for i, document in enumerate(documents)]
    for start in range(0, len(heroes), MAX_HEROES_PER_WRITE):
        insert(heroes[start : start + MAX_HEROES_PER_WRITE])


def xp_of(value: Any, where: str) -> int | None:
    """The xp an SQLS entry names, or None when no hero can have it. Every value is compared as a number, as the
    original's formatted SQL compared it: a JSON number or a numeric string (a fraction or a value outside the
    column's range finds no row), ``true``/``false`` as MySQL's 1/0. Anything else crashed the original."""
    number = _as_number(value)
    if number is None:
        raise InvalidInput(f"{where}: xp must be a number or a string of a number, got {shown(value)}")
    in_range = number == number.to_integral_value() and _XP.minimum <= number <= _XP.maximum
    return int(number) if in_range else None


def _as_number(value: Any) -> Decimal | None:
    """``value`` as the number MySQL compared when the original formatted it into its SQL; None if it was not one."""
    if isinstance(value, bool | int):
        return Decimal(int(value))
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        return Decimal(value.strip())
    return None


def _hero(document: Any, where: str) -> Hero:
    """The five hero fields of ``document`` within the column limits; ``xp`` may also be a string of an
    integer (the original formatted it into its SQL)."""
    if not isinstance(document, dict):
        raise InvalidInput(f"{where}a hero must be a JSON object, got {json_type(document)}")
    missing = [name for name in FIELDS if name not in document]
    if missing:
        raise InvalidInput(f"{where}missing field(s) {missing}")
    return {name: field(where, name, _xp_text(document[name]) if name == "xp" else document[name]) for name in FIELDS}


def _xp_text(value: Any) -> Any:
    """An xp as the original's INSERT stored it: ``"20003"`` and ``20003.0`` as ``20003``, ``true`` as ``1``;
    anything else as sent (the column checks then say why it does not fit)."""
    number = _as_number(value)
    return int(number) if number is not None and number == number.to_integral_value() else value


def _required(document: dict[str, Any], key: str) -> Any:
    if key not in document:
        raise InvalidInput(f"the body has no {key}; send USE_CACHE, REQUEST and SQLS")
    return document[key]


def _sqls(document: dict[str, Any]) -> list[Any]:
    sqls = _required(document, "SQLS")
    if not isinstance(sqls, list):
        raise InvalidInput(f"SQLS must be a list, got {json_type(sqls)}")
    return sqls
