"""Request bodies: JSON decoding with a precise :class:`InvalidInput` for every way a body can be wrong."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.core.errors import InvalidInput


def decode_json(raw: bytes | str | None) -> Any:
    """The request body as JSON, or :class:`InvalidInput` naming why it is not.

    Example: ``decode_json(b'{"xp": 1}') == {"xp": 1}``.
    """
    if raw is None or not raw.strip():
        raise InvalidInput("the request body is empty; send a JSON document")
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError:
        raise InvalidInput("the request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from None


def json_object(raw: bytes | str | None, allowed: Sequence[str], example: str) -> dict[str, Any]:
    """An optional body that must be a JSON object with only the ``allowed`` fields; no body means ``{}``.

    Example: ``json_object(b'{"date": "2020-06-20"}', ["date"], '{"date": "2020-06-20"}')``.
    """
    if raw is None or not raw.strip():
        return {}
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object like {example}, got {type(body).__name__}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return body
