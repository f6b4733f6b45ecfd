"""Request bodies: the one place a JSON body is decoded and checked, with a precise :class:`InvalidInput` for
every way a body can be wrong (not UTF-8, not JSON, nested too deep, an integer too long to convert, ``NaN``,
a string MySQL cannot store). The values inside are then checked by :mod:`chalicelib.core.params`."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from chalicelib.core.errors import InvalidInput
from chalicelib.core.params import storable

MAX_DEPTH = 32  # far deeper than any body the platform accepts; deeper documents are refused, not recursed into


def _no_constant(name: str) -> Any:
    raise InvalidInput(f"the request body is not valid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    """A JSON number with a fraction or exponent; one too large for a float (``1e999``) is refused, not infinity."""
    value = float(text)
    if math.isinf(value):
        raise InvalidInput(f"the request body has a number too large to be a number the platform accepts: {text[:20]}")
    return value


def _parse(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"the request body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise InvalidInput("the request body has an integer too long to be a number the platform accepts") from None


def _where(path: str, key: object) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))


def _check_values(document: Any) -> None:
    """Refuse documents nested deeper than :data:`MAX_DEPTH` and strings (keys too) MySQL cannot store, naming
    where. Iterative, so that a deep document cannot exhaust the stack here either."""
    pending: list[tuple[Any, str, int]] = [(document, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"the request body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str) and not storable(value):
            raise InvalidInput(f"{path or 'the request body'} contains a lone surrogate; send valid Unicode text")
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            if isinstance(key, str) and not storable(key):
                raise InvalidInput(f"a field name in {path or 'the request body'} contains a lone surrogate")
            pending.append((item, _where(path, key), depth + 1))


def decode_json(raw: bytes | str | None) -> Any:
    """The request body as JSON, or :class:`InvalidInput` naming why it is not.

    Example: ``decode_json(b'{"xp": 1}') == {"xp": 1}``.
    """
    if raw is None or not raw.strip():
        raise InvalidInput("the request body is empty; send a JSON document")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InvalidInput("the request body is not UTF-8 text") from None
    document = _parse(text)
    _check_values(document)
    return document


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
        shown = [name[:40] for name in unknown[:10]]
        raise InvalidInput(f"unknown field(s) {', '.join(shown)}; allowed: {', '.join(allowed)}")
    return body
