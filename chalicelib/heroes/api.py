"""The superhero REST operations behind the routes: each takes what the HTTP edge received (path values, query
values, the raw body) and returns ``(body, cache status)`` or a body, or raises
:class:`~chalicelib.core.errors.InvalidInput` saying exactly what is wrong, :class:`~chalicelib.core.errors.NotFound`,
or ``DependencyUnavailable`` when MySQL is down."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.bodies import decode_json
from chalicelib.core.errors import NotFound
from chalicelib.core.logs import metric
from chalicelib.core.params import Query, check_parameters, integer, single
from chalicelib.heroes import cache as hero_cache
from chalicelib.heroes.schema import BY_NAME, Hero
from chalicelib.heroes.store import change, delete, insert, load_by_xp, load_one, load_page, public
from chalicelib.heroes.validation import (
    field,
    new_heroes,
    parse_id,
    query_uint,
    use_cache_for,
    validate_hero,
    xp_list,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


CACHE_METRICS = {hero_cache.HIT: "CacheHits", hero_cache.MISS: "CacheMisses", hero_cache.BYPASS: "CacheBypasses"}


def _counted(status: str) -> str:
    """Count a read's cache outcome (embedded metrics of the invocation's log line) and pass it on."""
    if status in CACHE_METRICS:
        metric(CACHE_METRICS[status], 1)
    return status


def get_hero(raw_id: str, query: Query, cache_control: str | None) -> tuple[str, str]:
    """``GET /heroes/{id}``: ``(the hero's JSON text, X-Cache)``; the text is the response body."""
    hero_id = parse_id(raw_id)
    check_parameters(query, {"cache"})
    hero, status = hero_cache.hero_by_id(hero_id, load_one, use_cache=use_cache_for(query, cache_control))
    status = _counted(status)
    if hero is None:
        error = NotFound(f"no hero with id {hero_id}")
        error.headers = {"X-Cache": status}
        raise error
    return hero, status


def list_heroes(query: Query, cache_control: str | None) -> tuple[dict[str, Any], str]:
    """``GET /heroes``: by ``xp`` (comma-separated, repeatable) or a page by ``limit``/``after``/``power``/
    ``color``, ordered by id, whose ``next`` is the ``after`` of the next page (null on the last)."""
    use_cache = use_cache_for(query, cache_control)
    if "xp" in query:
        check_parameters(query, {"xp", "cache"})
        values = [part.strip() for value in query["xp"] for part in value.split(",")]
        xp = BY_NAME["xp"]
        xps = xp_list([integer(v, "each xp value", xp.minimum, xp.maximum) for v in values], "query parameter xp")
        items, status = heroes_by_xp(xps, use_cache)
        return {"items": items}, status
    check_parameters(query, {"limit", "after", "power", "color", "cache"})
    limit = query_uint(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = query_uint(query, "after", 0)
    given = {name: single(query, name) for name in ("power", "color")}
    filters = {name: field("query parameter ", name, v) for name, v in given.items() if v is not None}
    key = json.dumps([limit, after, filters.get("power"), filters.get("color")])
    page, status = hero_cache.hero_page(key, lambda: load_page(limit, after, filters), use_cache=use_cache)
    return page, _counted(status)


def heroes_by_xp(xps: list[int], use_cache: bool) -> tuple[list[Hero], str]:
    """The heroes of ``xps``, by xp in the order given and then by id."""
    by_xp, status = hero_cache.heroes_by_xp(xps, load_by_xp, use_cache=use_cache)
    return [hero for xp in xps for hero in by_xp[xp]], _counted(status)


def create_heroes(raw_body: bytes | str | None) -> Hero | list[Hero]:
    """``POST /heroes``: one hero (answers it) or a list of them (answers the list), stored in one INSERT."""
    document = decode_json(raw_body)
    if isinstance(document, list):
        return [public(row) for row in insert(new_heroes(document, "the body"))]
    return public(insert([validate_hero(document)])[0])


def replace_hero(raw_id: str, raw_body: bytes | str | None) -> Hero:
    """``PUT /heroes/{id}``: every field replaced."""
    hero_id = parse_id(raw_id)
    return public(change(hero_id, validate_hero(decode_json(raw_body), hero_id=hero_id)))


def update_hero(raw_id: str, raw_body: bytes | str | None) -> Hero:
    """``PATCH /heroes/{id}``: the fields sent replaced, the others kept."""
    hero_id = parse_id(raw_id)
    return public(change(hero_id, validate_hero(decode_json(raw_body), partial=True, hero_id=hero_id)))


def delete_hero(raw_id: str) -> None:
    """``DELETE /heroes/{id}``; removes the hero from every cached view."""
    delete(parse_id(raw_id))
