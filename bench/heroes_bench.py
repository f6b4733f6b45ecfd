"""Hero reads through the Lambda handler, in-process, next to bare Redis/MySQL and the course template.

Run by :mod:`bench.run` in a fresh process (``python -m bench.heroes_bench``) once ``superheroes`` holds the
generated rows (``xp = rows + 1 - id``). Ours is the raw handler, ``app.app(event, context)`` with an API Gateway
proxy (REST, v1) event: what Lambda calls, without ``chalice.test.Client``'s local-gateway layer. The app's
per-invocation log line goes to ``/dev/null`` (formatted, as in Lambda, but not printed to a terminal).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import emit, interleaved

ROUNDS = 7


def http_event(method: str, resource: str, path: str, path_params: dict | None, query: dict | None) -> dict:
    """An API Gateway REST proxy event, as Lambda receives it."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"accept": "application/json", "host": "bench.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {"accept": ["application/json"]},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            "apiId": "bench",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


class RoundTrips:
    """Counts what redis-py sends (one packed command or pipeline = one round trip) and the connections it
    opens, in this process, while active."""

    def __init__(self) -> None:
        from redis.connection import AbstractConnection, Connection

        self.sent = self.connects = 0
        self._send, self._connect = AbstractConnection.send_packed_command, Connection._connect

    def __enter__(self) -> RoundTrips:
        counter, send, connect = self, self._send, self._connect

        def counted_send(conn: Any, *args: Any, **kwargs: Any) -> Any:
            counter.sent += 1
            return send(conn, *args, **kwargs)

        def counted_connect(conn: Any) -> Any:  # a new TCP connection
            counter.connects += 1
            return connect(conn)

        self._patch(counted_send, counted_connect)
        return self

    def __exit__(self, *exc: object) -> None:
        self._patch(self._send, self._connect)

    @staticmethod
    def _patch(send: Callable, connect: Callable) -> None:
        from redis.connection import AbstractConnection, Connection

        # patching redis-py's methods is how the bench counts its calls: outside what the types describe
        AbstractConnection.send_packed_command, Connection._connect = send, connect  # type: ignore[method-assign]


def count_round_trips(fn: Callable[[], Any]) -> dict[str, int]:
    with RoundTrips() as trips:
        fn()
    return {"redis_round_trips": trips.sent, "redis_connections": trips.connects}


def chalice_floor(client: Any, key: str) -> Any:
    """A Chalice app with one route doing the bare GET + ``json.loads``, no middleware: what the framework costs
    around the limit's work (``app.app`` adds our logging middleware, validation, the cache script)."""
    from chalice import Chalice

    floor = Chalice(app_name="floor")

    @floor.route("/hero")
    def hero() -> dict:
        return json.loads(client.get(key))

    return floor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True, help="rows in superheroes (xp = rows + 1 - id)")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    sys.stdout = open(os.devnull, "w")  # the app's JSON log lines  # noqa: SIM115

    import pymysql
    import redis
    from chalice.local import LambdaContext

    from app import app
    from bench.peers import mp6_template
    from chalicelib.core.redis_client import get_redis

    def xp_of(hero_id: int) -> int:
        return args.rows + 1 - hero_id

    context = LambdaContext("api_handler", 512)
    # Any: redis-py types every reply as bytes | str | None, and the keys read here were just written
    bare: Any = redis.Redis.from_url(os.environ["REDIS_URL"])
    conn = pymysql.connect(
        host="127.0.0.1", user="root", password="", database=os.environ["DB_NAME"], charset="utf8mb4", autocommit=True
    )
    get_redis().flushdb()

    def handler(event: dict) -> dict:
        response = app(event, context)
        if response["statusCode"] != 200:
            raise RuntimeError(f"{event['path']}: {response['statusCode']} {response['body'][:200]}")
        return response

    # ---- 1. cache hit of one hero by id
    hero_id = 42
    get_one = http_event("GET", "/heroes/{hero_id}", f"/heroes/{hero_id}", {"hero_id": str(hero_id)}, None)
    handler(get_one)
    assert handler(get_one)["headers"]["X-Cache"] == "HIT"
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT id, name, hero, power, xp, color FROM superheroes WHERE id = %s", (hero_id,))
        bare.set("bench:hero:42", json.dumps(cur.fetchone()))
    peer_one = {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [xp_of(hero_id)]}
    mp6_template.lambda_handler(peer_one, context)
    assert mp6_template.lambda_handler(peer_one, context)["body"][0]["id"] == hero_id
    floor = chalice_floor(bare, "bench:hero:42")
    floor_event = http_event("GET", "/hero", "/hero", None, None)
    hit = interleaved(
        {
            "ours": lambda: handler(get_one),
            "chalice_floor": lambda: floor(floor_event, context),
            "limit": lambda: json.loads(bare.get("bench:hero:42")),
            "peer": lambda: mp6_template.lambda_handler(peer_one, context),
        },
        ROUNDS,
    )
    hit["ours"].update(count_round_trips(lambda: handler(get_one)))
    hit["limit"].update(count_round_trips(lambda: json.loads(bare.get("bench:hero:42"))))
    hit["peer"].update(count_round_trips(lambda: mp6_template.lambda_handler(peer_one, context)))

    # ---- 2. cache miss: every call reads an id (or xp) nobody has read before
    calls = max(20, args.calls // 4)
    needed = (ROUNDS * calls + 10) * 3
    if needed + 1000 > args.rows:
        raise SystemExit(f"the cache-miss bench needs more than {needed + 1000} rows")
    fresh = {name: itertools.count(1000 + i * (needed // 3)) for i, name in enumerate(("ours", "limit", "peer"))}

    def ours_miss() -> None:
        n = next(fresh["ours"])
        response = handler(http_event("GET", "/heroes/{hero_id}", f"/heroes/{n}", {"hero_id": str(n)}, None))
        assert response["headers"]["X-Cache"] == "MISS"

    def limit_miss() -> None:
        n = next(fresh["limit"])
        with conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SELECT id, name, hero, power, xp, color FROM superheroes WHERE id = %s", (n,))
            bare.set(f"bench:hero:{n}", json.dumps(cur.fetchone()), ex=300)

    def peer_miss() -> None:
        event = {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [xp_of(next(fresh["peer"]))]}
        mp6_template.lambda_handler(event, context)

    miss = interleaved({"ours": ours_miss, "limit": limit_miss, "peer": peer_miss}, ROUNDS, max_calls=calls)
    miss["ours"].update(count_round_trips(ours_miss))
    miss["peer"].update(count_round_trips(peer_miss))

    # ---- 3. 100 xp values, all cached
    ids = range(500, 600)
    xps = [xp_of(i) for i in ids]
    batch = http_event("GET", "/heroes", "/heroes", None, {"xp": [",".join(map(str, xps))]})
    handler(batch)
    assert handler(batch)["headers"]["X-Cache"] == "HIT"
    assert len(json.loads(handler(batch)["body"])["items"]) == 100
    keys = [f"bench:xp:{xp}" for xp in xps]
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT id, name, hero, power, xp, color FROM superheroes WHERE id BETWEEN 500 AND 599 ORDER BY id")
        bare.mset({key: json.dumps([row]) for key, row in zip(keys, cur.fetchall(), strict=True)})
    peer_batch = {"USE_CACHE": "True", "REQUEST": "read", "SQLS": xps}
    mp6_template.lambda_handler(peer_batch, context)
    assert len(mp6_template.lambda_handler(peer_batch, context)["body"]) == 100

    def limit_batch() -> list:
        return [json.loads(value) for value in bare.mget(keys)]

    many = interleaved(
        {
            "ours": lambda: handler(batch),
            "limit": limit_batch,
            "peer": lambda: mp6_template.lambda_handler(peer_batch, context),
        },
        ROUNDS,
    )
    many["ours"].update(count_round_trips(lambda: handler(batch)))
    many["limit"].update(count_round_trips(limit_batch))
    many["peer"].update(count_round_trips(lambda: mp6_template.lambda_handler(peer_batch, context)))
    emit({"hit": hit, "miss": miss, "batch100": many, "harness": "raw handler app.app(event, context)"})


if __name__ == "__main__":
    main()
