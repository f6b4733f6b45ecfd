"""Analysis results read back over HTTP: the latest of a source (``GET /analysis/{source}``), the list of past
ones (``GET /analysis/{source}/history``) and the analysis of one ingested health file
(``GET /ingests/{id}/analysis``).

A source is one of ``ANALYSIS_SOURCES`` (results under ``analysis/<source>/``, one per run) or ``health``, the
analyses of ingested health files (``analysis/health/<path>.json``, one per file). Each answer names the result
object with a time-limited download link, and includes the result itself when it is small enough to answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.analysis.sources import RESERVED_SOURCE_NAMES, configured_sources
from chalicelib.core import aws, s3
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.params import Query, check_parameters, query_integer, single
from chalicelib.core.settings import get_settings
from chalicelib.health_readings import analysis_key_for
from chalicelib.ingest import find_ingest

INLINE_RESULT_BYTES = 1024 * 1024  # a larger result is only linked: Lambda answers at most 6 MB
DEFAULT_LIMIT, MAX_LIMIT = 20, 200
HEALTH_DATASET = "health"


def _prefix(source: str) -> str:
    known = [*configured_sources(), *sorted(RESERVED_SOURCE_NAMES)]
    if source not in known:
        raise NotFound(f"no analysis source {source!r}; the sources are {known}")
    return f"analysis/{source}/"


def _results(prefix: str) -> list[dict[str, Any]]:
    """Every result object under ``prefix``, newest first."""
    found: list[dict[str, Any]] = []
    with aws.unavailable_as("s3"):
        pages = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=_bucket(), Prefix=prefix)
        for page in pages:
            found.extend(page.get("Contents", []))
    return sorted(found, key=lambda obj: (obj["LastModified"], obj["Key"]), reverse=True)


def _bucket() -> str:
    return get_settings().require("DATA_BUCKET")


def _entry(key: str, size: int, last_modified: datetime) -> dict[str, Any]:
    return {
        "key": key,
        "size": size,
        "last_modified": s3.json_value(last_modified),
        "download": s3.download_link(_bucket(), key),
    }


def _with_result(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with ``result``: the document, or null when larger than :data:`INLINE_RESULT_BYTES`."""
    small = entry["size"] <= INLINE_RESULT_BYTES
    return {**entry, "result": s3.read_json(_bucket(), entry["key"], f"analysis {entry['key']}") if small else None}


def latest(source: str) -> dict[str, Any]:
    """``GET /analysis/{source}``: the newest result of ``source``."""
    results = _results(_prefix(source))
    if not results:
        raise NotFound(f"no analysis of {source!r} yet (POST /analysis runs one; health files are analysed on upload)")
    newest = results[0]
    return _with_result(_entry(newest["Key"], newest["Size"], newest["LastModified"]))


def history(source: str, query: Query) -> dict[str, Any]:
    """``GET /analysis/{source}/history``: results newest first, ``limit`` a page, after the key ``after``;
    ``next`` is the ``after`` of the next page (null on the last)."""
    prefix = _prefix(source)
    check_parameters(query, {"limit", "after"})
    limit = query_integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = single(query, "after")
    results = _results(prefix)
    start = 0
    if after is not None:
        keys = [obj["Key"] for obj in results]
        if after not in keys:
            raise InvalidInput(f"query parameter after must be the key of one of {source!r}'s results, got {after!r}")
        start = keys.index(after) + 1
    page = results[start : start + limit]
    following = page[-1]["Key"] if start + limit < len(results) else None
    return {"items": [_entry(obj["Key"], obj["Size"], obj["LastModified"]) for obj in page], "next": following}


def ingest_analysis(raw_id: str) -> dict[str, Any]:
    """``GET /ingests/{id}/analysis``: the analysis of an ingested health file."""
    row = find_ingest(raw_id)
    processed = (row["manifest"].get("outputs") or {}).get("processed")
    if row["dataset"] != HEALTH_DATASET or not processed:
        raise NotFound(f"ingest {row['id']} is not a health file that loaded rows; only those are analysed")
    key = analysis_key_for(processed)
    try:
        with aws.unavailable_as("s3"):
            meta = s3.head(_bucket(), key)
    except NotFound:
        raise NotFound(f"ingest {row['id']} has no analysis (yet): it is made after the file is loaded") from None
    return {"id": row["id"], **_with_result(_entry(key, meta["ContentLength"], meta["LastModified"]))}
