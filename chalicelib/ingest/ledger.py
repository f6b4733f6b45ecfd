"""The ingest ledger (table ``ingest_ledger``): which source files were ingested, with their manifests.

A file's ledger row is inserted in the transaction that loads its rows, so the rows and the row commit
together. The duplicate rule (docs/ingest.md, "Duplicates"):

- each key has one current entry (``current_key``): the content its latest ingested upload had;
- a content is current under one key at most per dataset (``current_content``);
- a delivery is a duplicate when it is a redelivery of an ingested object version (the same version id, or
  without versioning the same ETag as the key's current entry), or when its bytes are the current content of
  any key: its row then fails to insert (after waiting for a concurrent delivery's transaction), the delivery
  rolls back and reports the entry that holds those bytes. Bytes superseded under their key (A, then B, then
  A again) load again, so the newest upload of a key wins.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from chalicelib.core.mysql import get_database

_ENTRY = "SELECT object_key, manifest, completed_at FROM ingest_ledger"
ER_DUP_ENTRY = 1062


class AlreadyIngested(Exception):
    """The ledger already holds these bytes as the current content of a key."""


@dataclass(frozen=True)
class Entry:
    key: str
    manifest: dict[str, Any]
    completed: bool


def _hash(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _entry(sql: str, args: tuple[Any, ...]) -> Entry | None:
    with get_database().cursor() as cur:
        cur.execute(_ENTRY + sql, args)
        row = cur.fetchone()
    if row is None:
        return None
    return Entry(row["object_key"], json.loads(row["manifest"]), row["completed_at"] is not None)


def find_delivered(bucket: str, key: str, etag: str, version_id: str | None) -> Entry | None:
    """The entry of this very object version, found before the object is read: by its version id when the
    bucket is versioned, else the key's current entry when it has the same ETag."""
    if version_id:
        return _entry(" WHERE key_hash = %s AND version_id = %s ORDER BY id LIMIT 1", (_hash(bucket, key), version_id))
    return _entry(" WHERE current_key = %s AND etag = %s", (_hash(bucket, key), etag))


def find_current_content(dataset: str, sha256: str) -> Entry | None:
    """The entry whose bytes ``sha256`` are a key's current content in ``dataset``."""
    return _entry(" WHERE current_content = %s AND dataset = %s", (sha256, dataset[:64]))


def record(cursor: Any, manifest: dict[str, Any]) -> None:
    """Insert the ledger row of ``manifest``'s source in the caller's transaction, as its key's current
    content; raises :class:`AlreadyIngested` when these bytes are already a key's current content (after
    waiting for a concurrent delivery's transaction to finish)."""
    import pymysql

    source = manifest["source"]
    key_hash = _hash(source["bucket"], source["key"])
    # the key's earlier content is superseded, unless it is these bytes (then the insert below fails)
    cursor.execute(
        "UPDATE ingest_ledger SET current_key = NULL, current_content = NULL"
        " WHERE current_key = %s AND content_sha256 <> %s",
        (key_hash, manifest["sha256"]),
    )
    try:
        cursor.execute(
            "INSERT INTO ingest_ledger (source_hash, key_hash, current_key, current_content, bucket, object_key,"
            " etag, version_id, content_sha256, dataset, status, manifest)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                _hash(source["bucket"], source["key"], manifest["sha256"]),
                key_hash,
                key_hash,
                manifest["sha256"],
                source["bucket"],
                source["key"],
                source["etag"],
                source.get("version_id"),
                manifest["sha256"],
                manifest["dataset"][:64],  # an unknown dataset's folder name may be longer
                manifest["status"],
                json.dumps(manifest, default=str),
            ),
        )
    except pymysql.err.IntegrityError as exc:
        if exc.args and exc.args[0] == ER_DUP_ENTRY:
            raise AlreadyIngested(source["key"]) from exc
        raise


def record_duplicate(bucket: str, key: str, original: dict[str, Any]) -> None:
    """Note a delivery of ``key`` reported as a duplicate of ``original`` (the manifest of the ingest that
    loaded the bytes), for the daily digest. The row is never a key's current content."""
    with get_database().cursor() as cur:
        cur.execute(
            "INSERT INTO ingest_ledger (source_hash, key_hash, bucket, object_key, etag, content_sha256, dataset,"
            " status, manifest, completed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 'duplicate', %s,"
            " CURRENT_TIMESTAMP(3))",
            (
                _hash(bucket, key, original["sha256"]),
                _hash(bucket, key),
                bucket,
                key,
                original["source"]["etag"],
                original["sha256"],
                original["dataset"][:64],
                json.dumps({"duplicate_of": original["source"]["key"]}),
            ),
        )


def entries_between(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The ledger rows created in ``[start, end)`` (UTC): ``object_key``, ``dataset``, ``status``, ``manifest``."""
    with get_database().cursor() as cur:
        cur.execute(
            "SELECT object_key, dataset, status, manifest FROM ingest_ledger"
            " WHERE created_at >= %s AND created_at < %s ORDER BY id",
            (start.replace(tzinfo=None), end.replace(tzinfo=None)),
        )
        return [{**row, "manifest": json.loads(row["manifest"])} for row in cur.fetchall()]


def mark_completed(manifest: dict[str, Any]) -> None:
    """The manifest (now with ``finished_at``) is written and the completion event published: a redelivery
    is now a duplicate, reported with this manifest."""
    source = manifest["source"]
    with get_database().cursor() as cur:
        cur.execute(
            "UPDATE ingest_ledger SET completed_at = CURRENT_TIMESTAMP(3), manifest = %s"
            " WHERE source_hash = %s AND completed_at IS NULL",
            (json.dumps(manifest, default=str), _hash(source["bucket"], source["key"], manifest["sha256"])),
        )


def page(dataset: str | None, status: str | None, day: date | None, before: int | None, limit: int) -> list[dict]:
    """Up to ``limit`` entries, newest first, with an id below ``before`` and the given dataset, status and
    UTC day of receipt (each filter only when given)."""
    since = datetime.combine(day, time.min) if day else None
    until = since + timedelta(days=1) if since else None
    with get_database().cursor() as cur:
        cur.execute(
            "SELECT id, dataset, status, bucket, object_key, manifest, created_at, completed_at FROM ingest_ledger"
            " WHERE (%s IS NULL OR dataset = %s) AND (%s IS NULL OR status = %s)"
            " AND (%s IS NULL OR (created_at >= %s AND created_at < %s)) AND (%s IS NULL OR id < %s)"
            " ORDER BY id DESC LIMIT %s",
            (dataset, dataset, status, status, since, since, until, before, before, limit),
        )
        return [_decoded(row) for row in cur.fetchall()]


def by_id(ingest_id: int) -> dict | None:
    with get_database().cursor() as cur:
        cur.execute(
            "SELECT id, dataset, status, bucket, object_key, manifest, created_at, completed_at FROM ingest_ledger"
            " WHERE id = %s",
            (ingest_id,),
        )
        row = cur.fetchone()
    return _decoded(row) if row else None


def _decoded(row: dict) -> dict:
    return {**row, "manifest": json.loads(row["manifest"])}
