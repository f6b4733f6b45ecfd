"""What an object created in the data bucket sets off: ingest a CSV under ``raw/``, archive a workbook under
``exports/``, nothing for the platform's own outputs (which would otherwise trigger the handler again)."""

from __future__ import annotations

from typing import Any

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
