"""Values a client sends, checked by one rule each wherever they arrive: path and query values (text) and the
values of a decoded JSON body. Every check raises :class:`~chalicelib.core.errors.InvalidInput` naming the
value and saying what it must be.

The rules:

- an integer is a JSON integer in a body (``5``, never ``5.0`` or ``true``) and plain decimal digits in a path
  or query (``5``, never ``+5``, ``5.0`` or ``0x5``), within the range its field declares. Digits are counted
  before converting, so an integer of thousands of digits is refused as out of range, not a conversion error;
- a text is a string that MySQL's ``utf8mb4`` can store: no lone surrogate such as ``"\\ud800"``;
- a flag is ``true`` or ``false`` (any case); an empty value is refused, not read as the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from chalicelib.core.errors import InvalidInput

Query = Mapping[str, Sequence[str]]  # query parameter -> every value it was given

_DIGITS = re.compile(r"[0-9]+")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def storable(text: str) -> bool:
    """Whether ``text`` is valid Unicode that ``utf8mb4`` can store (a lone surrogate is not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_storable(text: str, what: str) -> str:
    if not storable(text):
        raise InvalidInput(f"{what} contains a lone surrogate ({text!r}); send valid Unicode text")
    return text


def shown(value: Any) -> str:
    """``value`` as a message shows it: a repr cut to 40 characters (a body may hold megabytes)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def integer(raw: str, what: str, minimum: int, maximum: int) -> int:
    """A decimal integer in ``minimum..maximum`` given as text (a path or query value).

    >>> integer("42", "query parameter limit", 1, 1000)
    42
    """
    text = raw.strip()
    if not _DIGITS.fullmatch(text) or len(text.lstrip("0")) > len(str(maximum)) or not minimum <= int(text) <= maximum:
        raise InvalidInput(f"{what} must be an integer from {minimum} to {maximum}, got {shown(raw)}")
    return int(text)


def query_integer(query: Query, name: str, default: int, minimum: int, maximum: int) -> int:
    """Query parameter ``name`` as an integer in ``minimum..maximum``; ``default`` when absent (an empty value
    is refused, not read as the default)."""
    raw = single(query, name)
    return default if raw is None else integer(raw, f"query parameter {name}", minimum, maximum)


def iso_day(raw: str, what: str) -> date:
    """A calendar day written ``YYYY-MM-DD`` (a path or query value).

    >>> iso_day("2025-09-17", "query parameter day")
    datetime.date(2025, 9, 17)
    """
    try:
        if _ISO_DAY.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidInput(f"{what} must be a date YYYY-MM-DD, got {shown(raw)}")


def json_integer(value: Any, what: str, minimum: int, maximum: int) -> int:
    """An integer of a decoded JSON body: a JSON integer (not a float, not a boolean) in ``minimum..maximum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be an integer, got {type(value).__name__} {shown(value)}")
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{what} must be from {minimum} to {maximum}, got {shown(value)}")
    return value


def json_text(value: Any, what: str, max_length: int, *, blank: bool = True) -> str:
    """A string of a decoded JSON body (or a query value), 1..``max_length`` characters; all blank only when
    ``blank``."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__} {shown(value)}")
    if not 1 <= len(value) <= max_length or not (blank or value.strip()):
        rule = "" if blank else " and not blank"
        raise InvalidInput(f"{what} must be 1 to {max_length} characters{rule}, got {len(value)}: {shown(value)}")
    return check_storable(value, what)


def flag(raw: str, what: str) -> bool:
    """``true`` or ``false``, in any case.

    >>> flag("False", "query parameter cache")
    False
    """
    value = raw.strip().lower()
    if value not in {"true", "false"}:
        raise InvalidInput(f"{what} must be true or false, got {raw[:40]!r}")
    return value == "true"


def single(query: Query, name: str) -> str | None:
    """The one value of query parameter ``name`` (``None`` when absent); given twice is an error."""
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInput(f"query parameter {name} is given {len(values)} times; give it once")
    return values[0]


def check_parameters(query: Query, allowed: set[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        shown = [name[:40] for name in unknown[:10]]
        raise InvalidInput(f"unknown query parameter(s) {shown}; this request accepts {sorted(allowed)}")
