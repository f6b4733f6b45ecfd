"""The ``superheroes`` table: reads and writes in MySQL, each write bracketed by the cache's write ticket so
that every cached view stays consistent (:mod:`chalicelib.heroes.cache`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.core.errors import NotFound
from chalicelib.core.mysql import assigning_ids, get_database
from chalicelib.heroes import cache as hero_cache
from chalicelib.heroes.schema import FIELDS, Hero

# every statement is a constant: the columns are fixed, values are always parameters
_SELECT = "SELECT id, name, hero, power, xp, color, version FROM superheroes"
_BY_ID = _SELECT + " WHERE id = %s"
_BY_XP = _SELECT + " WHERE xp IN %s ORDER BY id"  # PyMySQL escapes a list parameter as (v1, v2, ...)


def row_to_hero(row: dict[str, Any]) -> Hero:
    return {**row, "id": int(row["id"]), "xp": int(row["xp"]), "version": int(row["version"])}


def public(row: Hero) -> Hero:
    return {name: row[name] for name in ("id", *FIELDS)}


def load_one(hero_id: int) -> Hero | None:
    with get_database().cursor() as cur:
        cur.execute(_BY_ID, (hero_id,))
        row = cur.fetchone()
    return None if row is None else row_to_hero(row)


def load_by_xp(xps: list[int]) -> list[Hero]:
    with get_database().cursor() as cur:
        cur.execute(_BY_XP, (xps,))
        return [row_to_hero(row) for row in cur.fetchall()]


@cache
def _auto_increment_step() -> int:
    """``auto_increment_increment`` (1 unless a multi-primary cluster spreads ids)."""
    with get_database().cursor(dicts=False) as cur:
        cur.execute("SELECT @@auto_increment_increment")
        return int(cur.fetchone()[0])


def insert(heroes: list[Hero]) -> list[Hero]:
    """Insert ``heroes`` with one multi-row INSERT; answers the stored rows with their ids and versions.

    A multi-row ``INSERT ... VALUES`` is a "simple insert": InnoDB gives its rows consecutive ids (stepping by
    ``auto_increment_increment``) in every ``innodb_autoinc_lock_mode``, starting at ``LAST_INSERT_ID()``.
    :data:`MAX_HEROES_PER_WRITE` rows of at most 20 characters per field stay far below the 1 MB at which
    PyMySQL's ``executemany`` would split the statement.
    """
    step = _auto_increment_step()
    ticket = hero_cache.before_write()
    with get_database().transaction() as cur, assigning_ids("superheroes"):
        cur.executemany(
            "INSERT INTO superheroes (name, hero, power, xp, color) VALUES (%s, %s, %s, %s, %s)",
            [tuple(hero[name] for name in FIELDS) for hero in heroes],
        )
        first = cur.lastrowid
    rows = [{"id": first + i * step, **hero, "version": 1} for i, hero in enumerate(heroes)]
    hero_cache.after_write(ticket, stored=rows, xps=[row["xp"] for row in rows])
    return rows


def change(hero_id: int, changes: Hero) -> Hero:
    """Apply ``changes`` to hero ``hero_id`` under a row lock; answers the stored row."""
    ticket = hero_cache.before_write()
    with get_database().transaction() as cur:
        cur.execute(_BY_ID + " FOR UPDATE", (hero_id,))
        old = cur.fetchone()
        if old is None:
            raise NotFound(f"no hero with id {hero_id}")
        old = row_to_hero(old)
        row = {**old, **changes, "version": old["version"] + 1}
        cur.execute(
            "UPDATE superheroes SET name = %s, hero = %s, power = %s, xp = %s, color = %s, version = %s WHERE id = %s",
            (*(row[name] for name in FIELDS), row["version"], hero_id),
        )
    hero_cache.after_write(ticket, stored=[row], xps=[old["xp"], row["xp"]])
    return row


def load_page(limit: int, after: int, filters: dict[str, str]) -> dict[str, Any]:
    # filter columns come from the fixed names power/color; the values are parameters
    conditions = "".join(f" AND {name} = %s" for name in filters)
    with get_database().cursor() as cur:
        cur.execute(
            _SELECT + f" WHERE id > %s{conditions} ORDER BY id LIMIT %s",
            (after, *filters.values(), limit + 1),
        )
        rows = [public(row_to_hero(row)) for row in cur.fetchall()]
    more = len(rows) > limit
    return {"items": rows[:limit], "next": rows[limit - 1]["id"] if more else None}


def delete(hero_id: int) -> None:
    """Delete hero ``hero_id`` (:class:`NotFound` when there is none) and drop it from every cached view."""
    ticket = hero_cache.before_write()
    with get_database().transaction() as cur:
        cur.execute("SELECT xp, version FROM superheroes WHERE id = %s FOR UPDATE", (hero_id,))
        old = cur.fetchone()
        if old is None:
            raise NotFound(f"no hero with id {hero_id}")
        cur.execute("DELETE FROM superheroes WHERE id = %s", (hero_id,))
    hero_cache.after_write(ticket, deleted=[(hero_id, int(old["version"]) + 1)], xps=[int(old["xp"])])
