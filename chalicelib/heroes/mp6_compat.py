"""``POST /mp6``: the course's original Lambda request format, answered as that Lambda answered."""

from __future__ import annotations

from typing import Any

from chalicelib.core.bodies import decode_json
from chalicelib.core.errors import InvalidInput
from chalicelib.heroes.api import heroes_by_xp
from chalicelib.heroes.store import insert
from chalicelib.heroes.validation import json_type, new_heroes, xp_list


def mp6(raw_body: bytes | str | None) -> tuple[dict[str, Any], str | None]:
    """``POST /mp6``, the older format: ``{"USE_CACHE": "True"|"False", "REQUEST": "read"|"write", "SQLS": [...]}``.

    ``read`` answers ``{"statusCode": 200, "body": [heroes with the xp values in SQLS]}`` and its X-Cache;
    ``write`` inserts the heroes in SQLS and answers ``{"statusCode": 200, "body": "write success"}``.
    """
    document = decode_json(raw_body)
    if not isinstance(document, dict):
        raise InvalidInput(f"the body must be a JSON object, got {json_type(document)}")
    expected = {"USE_CACHE", "REQUEST", "SQLS"}
    if set(document) != expected:
        raise InvalidInput(f"the body must have exactly the fields {sorted(expected)}, got {sorted(document)}")
    use_cache = document["USE_CACHE"]
    if use_cache not in ("True", "False", True, False):
        raise InvalidInput(f'USE_CACHE must be "True" or "False", got {use_cache!r}')
    request, sqls = document["REQUEST"], document["SQLS"]
    if request == "read":
        if not isinstance(sqls, list):
            raise InvalidInput(f"SQLS must be a list of xp values for a read, got {json_type(sqls)}")
        items, status = heroes_by_xp(xp_list(sqls, "SQLS"), use_cache in ("True", True))
        return {"statusCode": 200, "body": items}, status
    if request == "write":
        insert(new_heroes(sqls, "SQLS"))
        return {"statusCode": 200, "body": "write success"}, None
    raise InvalidInput(f'REQUEST must be "read" or "write", got {request!r}')
