"""What an object created in the data bucket sets off: ingest a CSV under ``raw/``, archive a workbook under
``exports/``, nothing for the platform's own outputs (which would otherwise trigger the handler again)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.core import s3
from chalicelib.core.data_bucket import EXPORTS_PREFIX, EXPORTS_SUFFIX
from chalicelib.core.errors import NotFound
from chalicelib.core.logs import log_event
from chalicelib.core.settings import get_settings
from chalicelib.ingest import pipeline

OWN_OUTPUTS = ("processed/", "rejected/", "manifests/", "analysis/")


def _ignored(bucket: str, key: str, why: str) -> dict[str, Any]:
    log_event("upload ignored", bucket=bucket, key=key, why=why)
    return {"action": "ignored", "key": key, "why": why}


def handle_s3_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """Every object of an S3 notification routed by :func:`handle_object_created`: its result, or ``{"records":
    [one result per record]}`` when the event holds several (S3 sends one per event to Lambda; a replayed or
    hand-made event may hold more, and none may be dropped). A record that names no object is ignored, logged.
    If one fails, the invocation fails and its retry finds the records already loaded: they are duplicates."""
    results = [_route_record(record) for record in event.get("Records") or []]
    return results[0] if len(results) == 1 else {"records": results}


def _route_record(record: Any) -> dict[str, Any]:
    found = _object_of(record)
    if found is None:
        log_event("s3 record ignored", why="names no bucket and object key")
        return {"action": "ignored", "why": "the record names no bucket and object key"}
    return handle_object_created(*found)


def _object_of(record: Any) -> tuple[str, str, str | None] | None:
    """``(bucket, key, version id)`` of an S3 record, the key URL-decoded as S3 sends it encoded; ``None`` when
    the record names no object."""
    try:
        s3_part = record["s3"]
        bucket, key = s3_part["bucket"]["name"], unquote_plus(s3_part["object"]["key"])
        version_id = s3_part["object"].get("versionId")
    except (KeyError, TypeError, AttributeError):
        return None
    return (bucket, key, version_id) if isinstance(bucket, str) and bucket and key else None


def handle_object_created(bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
    """Route one ``ObjectCreated`` of ``bucket``/``key`` (already URL-decoded; ``version_id`` from the event in
    a versioned bucket, so that this version is the one processed) and return what was done.

    Example: ``handle_object_created("platform-local-data", "raw/health/2025/readings.csv")``.
    """
    try:
        return _route(bucket, key, version_id)
    except NotFound as gone:  # deleted before this delivery: a retry would not find it either
        return _ignored(bucket, key, str(gone))


def _route(bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
    if key.startswith(OWN_OUTPUTS):
        return _ignored(bucket, key, "an output of this platform")
    if key.startswith(EXPORTS_PREFIX):
        if not key.endswith(EXPORTS_SUFFIX):
            return _ignored(bucket, key, f"only {EXPORTS_SUFFIX} files under {EXPORTS_PREFIX} are archived")
        result = s3.archive_copy(bucket, key, get_settings().require("ARCHIVE_BUCKET"), version_id)
        log_event("export archived", **result)
        return result
    if pipeline.Upload.parse(bucket, key) is not None:
        return pipeline.ingest_object(bucket, key, version_id)
    return _ignored(bucket, key, "not raw/<dataset>/<path>.csv or exports/<path>.xlsx")
