"""Analysis results as JSON objects in ``DATA_BUCKET``, small or streamed."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from typing import Any

from chalicelib.core import s3
from chalicelib.core.s3 import dumps
from chalicelib.core.settings import get_settings


def put_result(key: str, document: Any) -> str:
    """Write ``document`` as JSON under ``key`` in ``DATA_BUCKET``; returns the key."""
    s3.put_json(get_settings().require("DATA_BUCKET"), key, document)
    return key


def put_result_with_list(key: str, document: dict[str, Any], name: str, items: Iterable[str]) -> str:
    """Write ``document`` plus a list field ``name`` whose ``items`` (JSON texts) are streamed into the object
    as they come (a multipart upload once it is large), so a result too big for memory is still one object."""
    writer = s3.PartWriter(get_settings().require("DATA_BUCKET"), key, "application/json")
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
