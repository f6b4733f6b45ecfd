"""Helpers of the ingest tests: a clean slate for each test (the ``ingest_env`` fixture), uploads, deliveries,
and what the ingest wrote to S3, SNS and MySQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest

from chalicelib.core.mysql import Database
from devtools.stage import PROJECT_DIR
from tests.support.sns_inbox import subscribe_queue, unsubscribe_queue

DATA_DIR = PROJECT_DIR / "data"
INGEST_TABLES = ("ingest_ledger", "health_metrics", "superheroes")
HEALTH_HEADER = "event_time,user_id,heart_rate,spo2,steps,temp_c,systolic_bp,diastolic_bp"  # a health file's header


def _empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])


@pytest.fixture
def ingest_env(platform: dict, db: Database) -> Iterator[dict]:
    """Empty data and archive buckets and ingest tables, and a queue subscribed to the events topic. The heroes'
    ids are assigned from 1 again: emptying a table keeps its AUTO_INCREMENT, and a file that loaded the highest
    id a file may set (test_hero_ids) left it above that ceiling for every later test and run."""
    s3 = boto3.client("s3")
    for bucket in (platform["DATA_BUCKET"], platform["ARCHIVE_BUCKET"]):
        _empty_bucket(s3, bucket)
    with db.cursor() as cur:
        for table in INGEST_TABLES:
            cur.execute(f"DELETE FROM `{table}`")  # noqa: S608 - fixed table names
        cur.execute("ALTER TABLE superheroes AUTO_INCREMENT = 1")  # empty: the next id is 1
    queue_url, subscription = subscribe_queue(platform["EVENTS_TOPIC_ARN"])
    yield {**platform, "bucket": platform["DATA_BUCKET"], "events_queue": queue_url}
    unsubscribe_queue(queue_url, subscription)


def upload(key: str, body: bytes | str, bucket: str = "platform-local-data", **extra: Any) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data, **extra)


def deliver(client: Any, key: str, bucket: str = "platform-local-data") -> Any:
    """Invoke ``on_s3_upload`` with the event S3 sends for ``key`` (URL-encoded as S3 does)."""
    event = client.events.generate_s3_event(bucket=bucket, key=quote_plus(key))
    return client.lambda_.invoke("on_s3_upload", event).payload


def read_text(key: str, bucket: str = "platform-local-data") -> str:
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")


def read_csv(key: str, bucket: str = "platform-local-data") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(read_text(key, bucket))))


def read_manifest(key: str, bucket: str = "platform-local-data") -> dict[str, Any]:
    return json.loads(read_text(key, bucket))


def exists(key: str, bucket: str = "platform-local-data") -> bool:
    answer = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=key)
    return any(obj["Key"] == key for obj in answer.get("Contents", []))


def published_events(queue_url: str) -> list[dict[str, Any]]:
    """The ``ingest.completed`` messages published so far: ``{"message": ..., "attributes": ...}``."""
    sqs = boto3.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            envelope = json.loads(message["Body"])
            attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            found.append({"message": json.loads(envelope["Message"]), "attributes": attributes})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def table_rows(db: Database, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())
