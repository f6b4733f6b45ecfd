"""The local platform's state across restarts of ``make run``, and ``make reset``.

MySQL and Redis keep their data between runs; the AWS emulator (moto) keeps nothing. So ``make run`` saves the
stage buckets' objects to ``LOCAL_STATE_DIR`` (default ``.local/``) when it stops and puts them back when it
starts, before any event delivery is set up (restoring triggers no ingest). Then it reconciles what a crash
(no save) could leave inconsistent: a ledger entry whose upload or outputs are not in the bucket is forgotten,
so uploading that file again ingests it rather than reporting a ``duplicate`` with outputs that do not exist,
and the hero cache is dropped.

``make reset`` wipes all of it on purpose: the local databases, the Redis index and the saved objects.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chalicelib.core import aws
from chalicelib.core.mysql import get_database
from chalicelib.core.settings import DbSettings, Settings
from devtools.stage import PROJECT_DIR

INDEX = "objects.json"  # bucket -> key -> content type, next to the objects' bytes


def local_databases(settings: Settings) -> list[DbSettings]:
    """The default database and every ``ANALYSIS_SOURCES`` one, each once."""
    return list({db.name: db for db in (settings.db, *settings.analysis_sources.values())}.values())


def state_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("LOCAL_STATE_DIR") or PROJECT_DIR / ".local")


def _objects(bucket: str) -> Iterable[str]:
    for page in aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            yield obj["Key"]


def save_buckets(buckets: Iterable[str], directory: Path) -> int:
    """Copy every object of ``buckets`` into ``directory/s3`` (replacing what was saved before); the count."""
    target = directory / "s3.saving"
    shutil.rmtree(target, ignore_errors=True)
    index: dict[str, dict[str, str]] = {}
    s3 = aws.client("s3")
    for bucket in buckets:
        index[bucket] = {}
        for key in _objects(bucket):
            obj = s3.get_object(Bucket=bucket, Key=key)
            path = target / bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            with obj["Body"] as body, path.open("wb") as out:
                shutil.copyfileobj(body, out)
            index[bucket][key] = obj.get("ContentType", "binary/octet-stream")
    target.mkdir(parents=True, exist_ok=True)
    (target / INDEX).write_text(json.dumps(index))
    shutil.rmtree(directory / "s3", ignore_errors=True)
    target.rename(directory / "s3")  # a save interrupted half way leaves the previous one in place
    return sum(len(keys) for keys in index.values())


def restore_buckets(directory: Path) -> int:
    """Put the objects saved in ``directory/s3`` back into their (existing) buckets; the count."""
    saved = directory / "s3"
    if not (saved / INDEX).exists():
        return 0
    index: dict[str, dict[str, str]] = json.loads((saved / INDEX).read_text())
    s3 = aws.client("s3")
    for bucket, keys in index.items():
        for key, content_type in keys.items():
            with (saved / bucket / key).open("rb") as body:
                s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    return sum(len(keys) for keys in index.values())


def _ledger_keys(manifest: dict[str, Any], object_key: str) -> list[str]:
    outputs = manifest.get("outputs") or {}
    return [object_key, *(key for key in outputs.values() if key)]


def forget_missing_ingests(bucket: str) -> int:
    """Delete the ledger entries of ``bucket`` whose upload or outputs are not in it; the count."""
    present = set(_objects(bucket))
    database = get_database()
    with database.cursor() as cur:
        cur.execute("SELECT id, object_key, manifest FROM ingest_ledger WHERE bucket = %s", (bucket,))
        rows = cur.fetchall()
    gone = [
        row["id"]
        for row in rows
        if not present.issuperset(_ledger_keys(json.loads(row["manifest"]), row["object_key"]))
    ]
    with database.transaction() as cur:
        cur.executemany("DELETE FROM ingest_ledger WHERE id = %s", [(ingest_id,) for ingest_id in gone])
    return len(gone)


def restore_and_reconcile(settings: Settings, directory: Path) -> None:
    """What ``make run`` does once the emulator's buckets exist and the schema is migrated."""
    from chalicelib.heroes import invalidate_all_heroes

    restored = restore_buckets(directory)
    forgotten = forget_missing_ingests(settings.data_bucket)
    invalidate_all_heroes()
    print(f"[state] restored {restored} objects from {directory}; forgot {forgotten} ingests whose files were gone")


def save(settings: Settings, directory: Path) -> None:
    """What ``make run`` does when it stops, before the emulator does."""
    saved = save_buckets([b for b in (settings.data_bucket, settings.archive_bucket) if b], directory)
    print(f"[state] saved {saved} objects to {directory}")


def reset(settings: Settings, env: Mapping[str, str]) -> None:
    """``make reset``: drop the local databases, empty the Redis index, delete the saved objects."""
    import redis

    from devtools.localdb import drop_database

    for source in local_databases(settings):
        drop_database(source)
        print(f"[reset] dropped database {source.name}")
    redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3).flushdb()
    print(f"[reset] emptied Redis {settings.redis_url}")
    from devtools.events import FAILED_EVENTS_DIR

    for directory in (state_dir(env), FAILED_EVENTS_DIR):  # the second is inside the first by default
        if directory.exists():
            shutil.rmtree(directory)
            print(f"[reset] deleted {directory}")
    print("[reset] make run starts from the sample data again")


def main() -> int:
    from chalicelib.core.settings import parse_settings
    from devtools.run import local_environment, port_in_use

    env = local_environment()
    if port_in_use(int(env["API_PORT"])):
        raise SystemExit(f"make run is serving on port {env['API_PORT']}: stop it (Ctrl-C) first, then make reset")
    reset(parse_settings(env), env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
