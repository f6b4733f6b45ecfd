"""The superhero store: validation of every input, and the reads and writes of ``superheroes`` in MySQL
through :mod:`chalicelib.heroes.cache`.

Every function takes what the HTTP edge received (path values, query values, the raw body) and either returns
``(body, cache status)`` / a body, or raises :class:`~chalicelib.core.errors.InvalidInput` saying exactly what is
wrong, :class:`~chalicelib.core.errors.NotFound`, or ``DependencyUnavailable`` when MySQL is down.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from chalicelib.core.bodies import decode_json
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.mysql import get_database
from chalicelib.heroes import cache as hero_cache

Hero = dict[str, Any]
Query = Mapping[str, Sequence[str]]  # query parameter -> every value it was given

TEXT_FIELDS = ("name", "hero", "power", "color")
FIELDS = ("name", "hero", "power", "xp", "color")
MAX_TEXT_LENGTH = 20
MAX_UINT = 4_294_967_295  # INT UNSIGNED: the range of id and xp
MAX_HEROES_PER_WRITE = 1000
MAX_XP_VALUES = 1000
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_COLUMNS = "id, name, hero, power, xp, color, version"
_DIGITS = re.compile(r"[0-9]+")


# ---------------------------------------------------------------- validation


def _uint(raw: str, what: str, minimum: int = 0, maximum: int = MAX_UINT) -> int:
    """A decimal integer in ``minimum..maximum`` given as text (a path or query value)."""
    text = raw.strip()
    if not _DIGITS.fullmatch(text) or not minimum <= int(text) <= maximum:
        raise InvalidInput(f"{what} must be an integer from {minimum} to {maximum}, got {raw!r}")
    return int(text)


def parse_id(raw: str) -> int:
    """A hero id from the path: a positive integer of at most 4294967295."""
    return _uint(raw, "hero id", 1)


def _field(where: str, name: str, value: Any) -> Any:
    if name == "xp":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{where}xp must be an integer, got {type(value).__name__} {value!r}")
        if not 0 <= value <= MAX_UINT:
            raise InvalidInput(f"{where}xp must be from 0 to {MAX_UINT}, got {value}")
        return value
    if not isinstance(value, str):
        raise InvalidInput(f"{where}{name} must be a string, got {type(value).__name__} {value!r}")
    if not value.strip() or len(value) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            f"{where}{name} must be 1 to {MAX_TEXT_LENGTH} characters and not blank, got {len(value)}: {value!r}"
        )
    return value


def validate_hero(document: Any, *, partial: bool = False, hero_id: int | None = None, where: str = "") -> Hero:
    """The hero fields of ``document``: all of them (``partial=False``) or at least one (``partial=True``).

    ``id`` is accepted only when it equals ``hero_id`` (the id in the path of a PUT or PATCH).

    >>> validate_hero({"name": "irondoctor", "hero": "no", "power": "eat", "xp": 7, "color": "red"})["xp"]
    7
    """
    if not isinstance(document, dict):
        raise InvalidInput(f"{where}a hero must be a JSON object, got {_json_type(document)}")
    fields = dict(document)
    if "id" in fields:
        if hero_id is None:
            raise InvalidInput(f"{where}id is assigned by the server; do not send it (PUT /heroes/{{id}} replaces)")
        if fields.pop("id") != hero_id or isinstance(document["id"], bool):
            raise InvalidInput(f"{where}id {document['id']!r} does not match the id {hero_id} in the path")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"{where}unknown field(s) {unknown}; a hero has {list(FIELDS)}")
    missing = [name for name in FIELDS if name not in fields]
    if missing and not partial:
        raise InvalidInput(f"{where}missing field(s) {missing}")
    if partial and not fields:
        raise InvalidInput(f"{where}no field to change; send at least one of {list(FIELDS)}")
    return {name: _field(where, name, fields[name]) for name in FIELDS if name in fields}


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _new_heroes(documents: Any, what: str) -> list[Hero]:
    """Validate a non-empty list of new heroes; messages name the failing item."""
    if not isinstance(documents, list) or not 1 <= len(documents) <= MAX_HEROES_PER_WRITE:
        size = f" of {len(documents)}" if isinstance(documents, list) else ""
        raise InvalidInput(
            f"{what} must be a list of 1 to {MAX_HEROES_PER_WRITE} heroes, got {_json_type(documents)}{size}"
        )
    return [validate_hero(document, where=f"{what}[{i}]: ") for i, document in enumerate(documents)]


def _xp_list(values: Sequence[Any], what: str) -> list[int]:
    """Distinct xp values in the order given; at most :data:`MAX_XP_VALUES`."""
    if not values:
        raise InvalidInput(f"{what} must name at least one xp value")
    if len(values) > MAX_XP_VALUES:
        raise InvalidInput(f"{what} names {len(values)} xp values; at most {MAX_XP_VALUES} per request")
    xps = [_field(f"{what}[{i}]: ", "xp", value) for i, value in enumerate(values)]
    return list(dict.fromkeys(xps))


def _single(query: Query, name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInput(f"query parameter {name} is given {len(values)} times; give it once")
    return values[0]


def _use_cache(query: Query, cache_control: str | None) -> bool:
    """False for ``Cache-Control: no-cache`` (or ``no-store``) or ``?cache=false``."""
    directives = {d.strip().lower() for d in (cache_control or "").split(",")}
    flag = (_single(query, "cache") or "true").lower()
    if flag not in {"true", "false"}:
        raise InvalidInput(f"query parameter cache must be true or false, got {flag!r}")
    return flag == "true" and not directives & {"no-cache", "no-store"}


def _check_parameters(query: Query, allowed: set[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise InvalidInput(f"unknown query parameter(s) {unknown}; this request accepts {sorted(allowed)}")


# ---------------------------------------------------------------- MySQL


def _row(row: dict[str, Any]) -> Hero:
    return {**row, "id": int(row["id"]), "xp": int(row["xp"]), "version": int(row["version"])}


def _public(row: Hero) -> Hero:
    return {name: row[name] for name in ("id", *FIELDS)}


def _load_one(hero_id: int) -> Hero | None:
    with get_database().cursor() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM superheroes WHERE id = %s", (hero_id,))  # sql-ok: constant columns
        row = cur.fetchone()
    return None if row is None else _row(row)


def _load_by_xp(xps: list[int]) -> list[Hero]:
    marks = ", ".join(["%s"] * len(xps))
    with get_database().cursor() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM superheroes WHERE xp IN ({marks}) ORDER BY id", xps)  # sql-ok
        return [_row(row) for row in cur.fetchall()]


@cache
def _auto_increment_step() -> int:
    """``auto_increment_increment`` (1 unless a multi-primary cluster spreads ids)."""
    with get_database().cursor(dicts=False) as cur:
        cur.execute("SELECT @@auto_increment_increment")
        return int(cur.fetchone()[0])


def _insert(heroes: list[Hero]) -> list[Hero]:
    """Insert ``heroes`` with one multi-row INSERT; answers the stored rows with their ids and versions.

    A multi-row ``INSERT ... VALUES`` is a "simple insert": InnoDB gives its rows consecutive ids (stepping by
    ``auto_increment_increment``) in every ``innodb_autoinc_lock_mode``, starting at ``LAST_INSERT_ID()``.
    :data:`MAX_HEROES_PER_WRITE` rows of at most 20 characters per field stay far below the 1 MB at which
    PyMySQL's ``executemany`` would split the statement.
    """
    step = _auto_increment_step()
    ticket = hero_cache.before_write()
    with get_database().transaction() as cur:
        cur.executemany(
            "INSERT INTO superheroes (name, hero, power, xp, color) VALUES (%s, %s, %s, %s, %s)",
            [tuple(hero[name] for name in FIELDS) for hero in heroes],
        )
        first = cur.lastrowid
    rows = [{"id": first + i * step, **hero, "version": 1} for i, hero in enumerate(heroes)]
    hero_cache.after_write(ticket, stored=rows, xps=[row["xp"] for row in rows])
    return rows


def _change(hero_id: int, changes: Hero) -> Hero:
    """Apply ``changes`` to hero ``hero_id`` under a row lock; answers the stored row."""
    ticket = hero_cache.before_write()
    with get_database().transaction() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM superheroes WHERE id = %s FOR UPDATE", (hero_id,))  # sql-ok
        old = cur.fetchone()
        if old is None:
            raise NotFound(f"no hero with id {hero_id}")
        old = _row(old)
        row = {**old, **changes, "version": old["version"] + 1}
        cur.execute(
            "UPDATE superheroes SET name = %s, hero = %s, power = %s, xp = %s, color = %s, version = %s WHERE id = %s",
            (*(row[name] for name in FIELDS), row["version"], hero_id),
        )
    hero_cache.after_write(ticket, stored=[row], xps=[old["xp"], row["xp"]])
    return row


# ---------------------------------------------------------------- the operations behind the routes


def get_hero(raw_id: str, query: Query, cache_control: str | None) -> tuple[Hero, str]:
    """``GET /heroes/{id}``: ``(hero, X-Cache)``."""
    hero_id = parse_id(raw_id)
    _check_parameters(query, {"cache"})
    hero, status = hero_cache.hero_by_id(hero_id, _load_one, use_cache=_use_cache(query, cache_control))
    if hero is None:
        error = NotFound(f"no hero with id {hero_id}")
        error.headers = {"X-Cache": status}
        raise error
    return hero, status


def list_heroes(query: Query, cache_control: str | None) -> tuple[dict[str, Any], str]:
    """``GET /heroes``: by ``xp`` (comma-separated, repeatable) or a page by ``limit``/``after``/``power``/
    ``color``, ordered by id, whose ``next`` is the ``after`` of the next page (null on the last)."""
    use_cache = _use_cache(query, cache_control)
    if "xp" in query:
        _check_parameters(query, {"xp", "cache"})
        values = [part.strip() for value in query["xp"] for part in value.split(",")]
        xps = _xp_list([_uint(v, "each xp value") for v in values], "query parameter xp")
        items, status = heroes_by_xp(xps, use_cache)
        return {"items": items}, status
    _check_parameters(query, {"limit", "after", "power", "color", "cache"})
    limit = _uint(_single(query, "limit") or str(DEFAULT_LIMIT), "query parameter limit", 1, MAX_LIMIT)
    after = _uint(_single(query, "after") or "0", "query parameter after")
    filters = {name: _single(query, name) for name in ("power", "color")}
    filters = {name: _field("query parameter ", name, v) for name, v in filters.items() if v is not None}
    key = json.dumps([limit, after, filters.get("power"), filters.get("color")])
    return hero_cache.hero_page(key, lambda: _load_page(limit, after, filters), use_cache=use_cache)


def heroes_by_xp(xps: list[int], use_cache: bool) -> tuple[list[Hero], str]:
    """The heroes of ``xps``, by xp in the order given and then by id."""
    by_xp, status = hero_cache.heroes_by_xp(xps, _load_by_xp, use_cache=use_cache)
    return [hero for xp in xps for hero in by_xp[xp]], status


def _load_page(limit: int, after: int, filters: dict[str, str]) -> dict[str, Any]:
    # filter columns come from the fixed names power/color; the values are parameters
    conditions = "".join(f" AND {name} = %s" for name in filters)
    with get_database().cursor() as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM superheroes WHERE id > %s{conditions} ORDER BY id LIMIT %s",  # sql-ok
            (after, *filters.values(), limit + 1),
        )
        rows = [_public(_row(row)) for row in cur.fetchall()]
    more = len(rows) > limit
    return {"items": rows[:limit], "next": rows[limit - 1]["id"] if more else None}


def create_heroes(raw_body: bytes | str | None) -> Hero | list[Hero]:
    """``POST /heroes``: one hero (answers it) or a list of them (answers the list), stored in one INSERT."""
    document = decode_json(raw_body)
    if isinstance(document, list):
        return [_public(row) for row in _insert(_new_heroes(document, "the body"))]
    return _public(_insert([validate_hero(document)])[0])


def replace_hero(raw_id: str, raw_body: bytes | str | None) -> Hero:
    """``PUT /heroes/{id}``: every field replaced."""
    hero_id = parse_id(raw_id)
    return _public(_change(hero_id, validate_hero(decode_json(raw_body), hero_id=hero_id)))


def update_hero(raw_id: str, raw_body: bytes | str | None) -> Hero:
    """``PATCH /heroes/{id}``: the fields sent replaced, the others kept."""
    hero_id = parse_id(raw_id)
    return _public(_change(hero_id, validate_hero(decode_json(raw_body), partial=True, hero_id=hero_id)))


def delete_hero(raw_id: str) -> None:
    """``DELETE /heroes/{id}``; removes the hero from every cached view."""
    hero_id = parse_id(raw_id)
    ticket = hero_cache.before_write()
    with get_database().transaction() as cur:
        cur.execute("SELECT xp, version FROM superheroes WHERE id = %s FOR UPDATE", (hero_id,))
        old = cur.fetchone()
        if old is None:
            raise NotFound(f"no hero with id {hero_id}")
        cur.execute("DELETE FROM superheroes WHERE id = %s", (hero_id,))
    hero_cache.after_write(ticket, deleted=[(hero_id, int(old["version"]) + 1)], xps=[int(old["xp"])])


def mp6(raw_body: bytes | str | None) -> tuple[dict[str, Any], str | None]:
    """``POST /mp6``, the older format: ``{"USE_CACHE": "True"|"False", "REQUEST": "read"|"write", "SQLS": [...]}``.

    ``read`` answers ``{"statusCode": 200, "body": [heroes with the xp values in SQLS]}`` and its X-Cache;
    ``write`` inserts the heroes in SQLS and answers ``{"statusCode": 200, "body": "write success"}``.
    """
    document = decode_json(raw_body)
    if not isinstance(document, dict):
        raise InvalidInput(f"the body must be a JSON object, got {_json_type(document)}")
    expected = {"USE_CACHE", "REQUEST", "SQLS"}
    if set(document) != expected:
        raise InvalidInput(f"the body must have exactly the fields {sorted(expected)}, got {sorted(document)}")
    use_cache = document["USE_CACHE"]
    if use_cache not in ("True", "False", True, False):
        raise InvalidInput(f'USE_CACHE must be "True" or "False", got {use_cache!r}')
    request, sqls = document["REQUEST"], document["SQLS"]
    if request == "read":
        if not isinstance(sqls, list):
            raise InvalidInput(f"SQLS must be a list of xp values for a read, got {_json_type(sqls)}")
        items, status = heroes_by_xp(_xp_list(sqls, "SQLS"), use_cache in ("True", True))
        return {"statusCode": 200, "body": items}, status
    if request == "write":
        _insert(_new_heroes(sqls, "SQLS"))
        return {"statusCode": 200, "body": "write success"}, None
    raise InvalidInput(f'REQUEST must be "read" or "write", got {request!r}')
