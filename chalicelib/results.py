"""Analysis results as JSON objects in ``DATA_BUCKET``: one encoder for database and CSV values, one writer."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from chalicelib import aws, storage
from chalicelib.config import get_settings


def json_value(value: Any) -> Any:
    """``json.dumps`` ``default``: MySQL's DECIMAL/aggregates and our Decimal readings become numbers (integral
    ones ints: ``Decimal("72.0")`` -> ``72``), naive datetimes (UTC on our connections) ISO 8601 with ``Z``."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(document: Any) -> str:
    return json.dumps(document, default=json_value, ensure_ascii=False, indent=2)


def put_result(key: str, document: Any) -> str:
    """Write ``document`` as JSON under ``key`` in ``DATA_BUCKET``; returns the key."""
    aws.client("s3").put_object(
        Bucket=get_settings().require("DATA_BUCKET"),
        Key=key,
        Body=dumps(document).encode("utf-8"),
        ContentType="application/json",
    )
    return key


def put_result_with_list(key: str, document: dict[str, Any], name: str, items: Iterable[str]) -> str:
    """Write ``document`` plus a list field ``name`` whose ``items`` (JSON texts) are streamed into the object
    as they come (a multipart upload once it is large), so a result too big for memory is still one object."""
    writer = storage.PartWriter(get_settings().require("DATA_BUCKET"), key, "application/json")
    try:
        writer.write("{\n")
        for field, value in document.items():
            writer.write(textwrap.indent(f"{json.dumps(field)}: {dumps(value)},", "  ") + "\n")
        writer.write(f"  {json.dumps(name)}: [")
        for index, item in enumerate(items):
            writer.write(("," if index else "") + "\n    " + item)
        writer.write("\n  ]\n}\n")
        writer.complete()
    except BaseException:
        writer.abort()
        raise
    return key
