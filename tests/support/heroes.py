"""Helpers for the superhero tests: JSON requests through ``chalice.test.Client`` and rows read from MySQL."""

from __future__ import annotations

import json
from typing import Any

JSON = {"Content-Type": "application/json"}


def hero(**overrides: Any) -> dict[str, Any]:
    """A valid new hero (no id), with ``overrides``."""
    return {"name": "irondoctor", "hero": "no", "power": "eat", "xp": 1000, "color": "yellow", **overrides}


def send(client: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """A request with ``body`` as JSON (a ``str`` or ``bytes`` body is sent as is)."""
    raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    return client.http.request(method, path, headers={**JSON, **(headers or {})}, body=raw or b"")


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def create(client: Any, **overrides: Any) -> dict[str, Any]:
    response = send(client, "POST", "/heroes", hero(**overrides))
    assert response.status_code == 201, response.body
    return body(response)


def db_row(db: Any, hero_id: int) -> dict[str, Any] | None:
    """The stored hero without its version, or None."""
    with db.cursor() as cur:
        cur.execute("SELECT id, name, hero, power, xp, color FROM superheroes WHERE id = %s", (hero_id,))
        return cur.fetchone()


def db_by_xp(db: Any, xp: int) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        cur.execute("SELECT id, name, hero, power, xp, color FROM superheroes WHERE xp = %s ORDER BY id", (xp,))
        return list(cur.fetchall())


def generation(redis_client: Any) -> str:
    """The hero cache's current generation (what its keys are named with)."""
    from chalicelib.heroes import cache as hero_cache

    return redis_client.get(hero_cache.GENERATION_KEY).decode()
