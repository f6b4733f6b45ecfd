"""The ingest ledger (table ``ingest_ledger``): which source files were ingested, with their manifests.

A file's ledger row is inserted in the transaction that loads its rows, so the rows and the row commit
together. Its unique ``source_hash`` (bucket, key and content SHA-256) makes a concurrent or later delivery of
the same bytes under the same key fail to insert it: that delivery rolls back and reports a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.core.mysql import get_database


class AlreadyIngested(Exception):
    """The ledger already holds these bytes under this key."""


@dataclass(frozen=True)
class Entry:
    manifest: dict[str, Any]
    completed: bool


def _hash(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def find_by_etag(bucket: str, key: str, etag: str) -> Entry | None:
    """The entry of the object ``bucket``/``key`` with this ETag, found before the object is read again."""
    with get_database().cursor() as cur:
        cur.execute(
            "SELECT manifest, completed_at FROM ingest_ledger WHERE key_hash = %s AND etag = %s ORDER BY id LIMIT 1",
            (_hash(bucket, key), etag),
        )
        row = cur.fetchone()
    return Entry(json.loads(row["manifest"]), row["completed_at"] is not None) if row else None


def find_by_content(bucket: str, key: str, sha256: str) -> Entry | None:
    with get_database().cursor() as cur:
        cur.execute(
            "SELECT manifest, completed_at FROM ingest_ledger WHERE source_hash = %s", (_hash(bucket, key, sha256),)
        )
        row = cur.fetchone()
    return Entry(json.loads(row["manifest"]), row["completed_at"] is not None) if row else None


def record(cursor: Any, manifest: dict[str, Any]) -> None:
    """Insert the ledger row of ``manifest``'s source in the caller's transaction; raises
    :class:`AlreadyIngested` when these bytes under this key are already there (after waiting for a
    concurrent delivery's transaction to finish)."""
    import pymysql

    source = manifest["source"]
    try:
        cursor.execute(
            "INSERT INTO ingest_ledger (source_hash, key_hash, bucket, object_key, etag, version_id,"
            " content_sha256, dataset, status, manifest) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                _hash(source["bucket"], source["key"], manifest["sha256"]),
                _hash(source["bucket"], source["key"]),
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
        if exc.args and exc.args[0] == 1062:  # ER_DUP_ENTRY
            raise AlreadyIngested(source["key"]) from exc
        raise


def mark_completed(manifest: dict[str, Any]) -> None:
    """The manifest (now with ``finished_at``) is written and the completion event published: a redelivery
    is now a duplicate, reported with this manifest."""
    source = manifest["source"]
    with get_database().cursor() as cur:
        cur.execute(
            "UPDATE ingest_ledger SET completed_at = CURRENT_TIMESTAMP(3), manifest = %s WHERE source_hash = %s",
            (json.dumps(manifest, default=str), _hash(source["bucket"], source["key"], manifest["sha256"])),
        )
