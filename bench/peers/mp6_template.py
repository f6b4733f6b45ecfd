"""The course template's Lambda handler (the "MP6" superhero store), the system our hero store replaces.

Its code path, per invocation: a NEW PyMySQL connection (``DictCursor``, ``utf8mb4``) and a NEW
``redis.Redis.from_url`` client (so a new TCP connection on its first command); then, for ``read``, one
``GET str(xp)`` per xp value, ``json.loads`` on a hit, and on a miss ``SELECT * FROM superheroes WHERE xp = ...``
plus ``SET str(xp) json.dumps(row) ex=60``; for ``write``, per row ``SELECT MAX(id)``, an ``INSERT`` with that id
plus one, a commit, the row read back by xp and cached. The original formats values into its SQL; here they are
parameters, with the same statements and round trips. Neither connection is closed by the handler (the
original leaves that to the garbage collector too). The one deviation in the peer's favour: no TLS attempt
(see :func:`_connect`).

The event is the Lambda invoke payload ``{"USE_CACHE": "True", "REQUEST": "read", "SQLS": [xp, ...]}``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pymysql
import redis

from bench.peers import connect

TABLE = "superheroes"
TTL = 60


def _connect() -> pymysql.connections.Connection:
    return connect(cursorclass=pymysql.cursors.DictCursor)


def _query(conn: Any, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
    with conn.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def _rows_by_xp(conn: Any, xp: Any) -> list[dict[str, Any]]:
    return _query(conn, f"SELECT * FROM {TABLE} WHERE xp = %s", (xp,))  # noqa: S608 - constant table name


def read(use_cache: bool, xps: list[Any], conn: Any, cache: Any) -> list[dict[str, Any]]:
    """Lazy loading, one xp at a time: the first row of each xp found."""
    result = []
    for xp in xps:
        key = str(xp)
        cached = cache.get(key) if use_cache else None
        if cached:
            result.append(json.loads(cached))
            continue
        rows = _rows_by_xp(conn, xp)
        if rows:
            result.append(rows[0])
            if use_cache:
                cache.set(key, json.dumps(rows[0]), ex=TTL)
    return result


def write(use_cache: bool, heroes: list[dict[str, Any]], conn: Any, cache: Any) -> None:
    """Write-through, one hero at a time: next id from MAX(id), INSERT, commit, read back, cache. (On an empty
    table the original fails, MAX(id) being NULL; here the first id is 1.)"""
    for hero in heroes:
        next_id = (_query(conn, f"SELECT MAX(id) AS id FROM {TABLE}")[0]["id"] or 0) + 1  # noqa: S608 - constant
        with conn.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (`id`, `hero`, `power`, `name`, `xp`, `color`)"  # noqa: S608 - constant table name
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (next_id, hero["hero"], hero["power"], hero["name"], hero["xp"], hero["color"]),
            )
        conn.commit()
        if use_cache:
            rows = _rows_by_xp(conn, hero["xp"])
            if rows:
                cache.set(str(hero["xp"]), json.dumps(rows[0]), ex=TTL)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    use_cache = event["USE_CACHE"] == "True"
    conn = _connect()
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    result: Any = []
    if event["REQUEST"] == "read":
        result = read(use_cache, event["SQLS"], conn, cache)
    elif event["REQUEST"] == "write":
        write(use_cache, event["SQLS"], conn, cache)
        result = "write success"
    return {"statusCode": 200, "body": result}
