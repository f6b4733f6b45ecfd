"""The ingest tests' own fixture: a clean data bucket, archive bucket and ingest tables for each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.core.mysql import Database
from tests.support.sns_inbox import subscribe_queue, unsubscribe_queue

INGEST_TABLES = ("ingest_ledger", "health_metrics", "superheroes")


def _empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])


@pytest.fixture
def ingest_env(platform: dict, db: Database) -> Iterator[dict]:
    """Empty data and archive buckets and ingest tables, and a queue subscribed to the events topic."""
    s3 = boto3.client("s3")
    for bucket in (platform["DATA_BUCKET"], platform["ARCHIVE_BUCKET"]):
        _empty_bucket(s3, bucket)
    with db.cursor() as cur:
        for table in INGEST_TABLES:
            cur.execute(f"DELETE FROM `{table}`")  # noqa: S608 - fixed table names
    queue_url, subscription = subscribe_queue(platform["EVENTS_TOPIC_ARN"])
    yield {**platform, "bucket": platform["DATA_BUCKET"], "events_queue": queue_url}
    unsubscribe_queue(queue_url, subscription)
