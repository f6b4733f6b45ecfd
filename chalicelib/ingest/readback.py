"""What happened to an upload, read back over HTTP: the ingest ledger's entries (``GET /ingests``), one
entry's manifest with download links to its objects (``GET /ingests/{id}``) and its rejected rows, each with
its line in the uploaded file and its reason (``GET /ingests/{id}/rejected``).

The ledger (MySQL) says which files were ingested and holds each one's manifest; the rows themselves are read
from the ``rejected/`` object in S3, as a stream, so a page costs memory of one page whatever the file's size.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from typing import Any

from chalicelib.core import s3
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.params import Query, check_parameters, integer, iso_day, query_integer, single
from chalicelib.ingest import ledger
from chalicelib.ingest.pipeline import REJECTED_COLUMNS, Upload

STATUSES = ("loaded", "rejected", "duplicate")  # a ledger entry's status
DEFAULT_LIMIT, MAX_LIMIT = 50, 500
DEFAULT_ROWS, MAX_ROWS = 100, 1000
MAX_ID = 2**64 - 1  # BIGINT UNSIGNED
MAX_LINE = 2**63 - 1
_DATASET = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_OBJECTS = ("processed", "rejected")


def _dataset_filter(raw: str | None) -> str | None:
    if raw is not None and not _DATASET.fullmatch(raw):
        raise InvalidInput(f"query parameter dataset must be 1-64 letters, digits, '_', '.' or '-', got {raw!r}")
    return raw


def _status_filter(raw: str | None) -> str | None:
    if raw is not None and raw not in STATUSES:
        raise InvalidInput(f"query parameter status must be one of {list(STATUSES)}, got {raw!r}")
    return raw


def list_ingests(query: Query) -> dict[str, Any]:
    """``GET /ingests``: newest first, filtered by ``dataset``, ``status`` and ``day`` (UTC day received);
    ``next`` is the ``after`` of the next page (null on the last)."""
    check_parameters(query, {"dataset", "status", "day", "limit", "after"})
    limit = query_integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = single(query, "after")
    day = single(query, "day")
    rows = ledger.page(
        dataset=_dataset_filter(single(query, "dataset")),
        status=_status_filter(single(query, "status")),
        day=iso_day(day, "query parameter day") if day is not None else None,
        before=integer(after, "query parameter after", 1, MAX_ID) if after is not None else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    return {"items": [_summary(row) for row in rows[:limit]], "next": rows[limit - 1]["id"] if more else None}


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    manifest = row["manifest"]
    return {
        "id": row["id"],
        "dataset": row["dataset"],
        "key": row["object_key"],
        "status": row["status"],
        "counts": manifest.get("counts"),
        "received_at": _time(row["created_at"]),
        "completed_at": _time(row["completed_at"]),
    }


def _time(value: datetime | None) -> str | None:
    """A ledger time (UTC) as ISO 8601 text ending in ``Z``."""
    return s3.json_value(value) if value is not None else None


def find_ingest(raw_id: str) -> dict[str, Any]:
    """The ledger entry of ingest ``raw_id`` (a path value): :class:`NotFound` when there is none."""
    ingest_id = integer(raw_id, "ingest id", 1, MAX_ID)
    row = ledger.by_id(ingest_id)
    if row is None:
        raise NotFound(f"no ingest with id {ingest_id}")
    return row


def get_ingest(raw_id: str) -> dict[str, Any]:
    """``GET /ingests/{id}``: the manifest (counts, reasons, status, timings, output keys) with the ledger's
    id and times, and a time-limited download link for the upload and each output."""
    row = find_ingest(raw_id)
    manifest = row["manifest"]
    bucket = row["bucket"]
    keys = {"source": row["object_key"], **{kind: (manifest.get("outputs") or {}).get(kind) for kind in _OBJECTS}}
    upload = Upload.parse(bucket, row["object_key"])
    if row["completed_at"] is not None and upload is not None:
        keys["manifest"] = upload.manifest_key
    return {
        "id": row["id"],
        **manifest,
        "received_at": _time(row["created_at"]),
        "completed_at": _time(row["completed_at"]),
        "downloads": {name: s3.download_link(bucket, key) for name, key in keys.items() if key},
    }


def rejected_rows(raw_id: str, query: Query) -> dict[str, Any]:
    """``GET /ingests/{id}/rejected``: the rejected rows in file order, each with its ``line`` in the uploaded
    file, its ``reason`` and its ``values`` as uploaded (named by ``columns``, the upload's header); rows after
    line ``after``, ``limit`` of them, ``next`` the ``after`` of the next page."""
    row = find_ingest(raw_id)
    check_parameters(query, {"limit", "after"})
    limit = query_integer(query, "limit", DEFAULT_ROWS, 1, MAX_ROWS)
    after = query_integer(query, "after", 0, 0, MAX_LINE)
    key = (row["manifest"].get("outputs") or {}).get("rejected")
    if not key:
        return {"id": row["id"], "columns": [], "items": [], "next": None}
    columns, found = _read_rejected(row["bucket"], key, after, limit + 1)
    following = found[limit - 1][0] if len(found) > limit else None
    return {"id": row["id"], "columns": columns, "items": [item for _, item in found[:limit]], "next": following}


def _rejected_row(fields: list[str], numbered: bool, ordinal: int) -> tuple[int, dict[str, Any]]:
    """``(position, item)`` of a row of a ``rejected/`` file: its position is its line in the upload, or for a
    file written before lines were recorded (``numbered`` false: no ``line`` column) its ordinal, ``line`` null."""
    if numbered:
        line = int(fields[1])
        return line, {"line": line, "reason": fields[0], "values": fields[len(REJECTED_COLUMNS) :]}
    return ordinal, {"line": None, "reason": fields[0], "values": fields[1:]}


def _read_rejected(bucket: str, key: str, after: int, count: int) -> tuple[list[str], list[tuple[int, dict]]]:
    """The upload's header from ``rejected/`` object ``key`` and up to ``count`` rows past position ``after``."""
    reader = s3.open_reader(bucket, key, what=f"the rejected rows ({key})")
    try:
        records = csv.reader(reader.lines())
        header = next(records, [])
        numbered = tuple(header[: len(REJECTED_COLUMNS)]) == REJECTED_COLUMNS
        found: list[tuple[int, dict]] = []
        for ordinal, fields in enumerate(records, start=1):
            position, item = _rejected_row(fields, numbered, ordinal)
            if position > after:
                found.append((position, item))
                if len(found) == count:
                    break
        return header[len(REJECTED_COLUMNS) if numbered else 1 :], found
    finally:
        reader.close()
