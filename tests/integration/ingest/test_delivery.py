"""Delivery semantics of the S3 handler: duplicates, a crash and its redelivery, its own outputs, URL-encoded
keys, the archive copy, and the local delivery loop of ``make run``."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import quote_plus

import boto3
import pytest
from chalice import Chalice

from chalicelib.core import s3
from devtools import events
from tests.support.ingest import (
    HEALTH_HEADER,
    deliver,
    exists,
    published_events,
    read_csv,
    read_manifest,
    read_text,
    table_rows,
    upload,
)


def health_file(rows: int, odd_user_at: int | None = None, odd_user: str = "") -> str:
    lines = [HEALTH_HEADER]
    for i in range(rows):
        user = odd_user if i == odd_user_at else f"user_{i % 10}"
        lines.append(f"2025-09-17T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z,{user},100,95,21,37.5,120,80")
    return "\n".join(lines) + "\n"


def health_count(db) -> int:
    return table_rows(db, "SELECT COUNT(*) AS n FROM health_metrics")[0]["n"]


def test_the_same_file_delivered_again_is_a_duplicate_with_the_original_counts(client, db, ingest_env):
    body = health_file(3) + "2025-09-17T11:59:16Z,user_1,300,95,21,37.5,120,80\n"
    upload("raw/health/dup.csv", body)
    first = deliver(client, "raw/health/dup.csv")

    second = deliver(client, "raw/health/dup.csv")
    upload("raw/health/dup.csv", body)  # the same bytes uploaded again
    third = deliver(client, "raw/health/dup.csv")

    assert first["status"] == "loaded"
    assert second["status"] == third["status"] == "duplicate"
    assert second["counts"] == third["counts"] == first["counts"] == {"input": 4, "loaded": 3, "rejected": 1}
    assert health_count(db) == 3
    manifest = read_manifest("manifests/health/dup.json")
    assert manifest["status"] == "duplicate"
    assert manifest["counts"] == first["counts"]
    assert manifest["original"]["status"] == "loaded"
    assert manifest["original"]["finished_at"] >= manifest["original"]["started_at"]
    assert manifest["outputs"]["rejected"] == "rejected/health/dup.csv"
    assert [e["message"]["status"] for e in published_events(ingest_env["events_queue"])] == [
        "loaded",
        "duplicate",
        "duplicate",
    ]


def test_new_bytes_under_the_same_key_are_ingested_again(client, db, ingest_env):
    upload("raw/health/day.csv", health_file(2))
    deliver(client, "raw/health/day.csv")
    upload("raw/health/day.csv", health_file(5))

    result = deliver(client, "raw/health/day.csv")

    assert result["status"] == "loaded"
    assert health_count(db) == 5  # the two readings sent again are stored once (issue 12)
    assert (result["counts"], result["already_present"]) == ({"input": 5, "loaded": 5, "rejected": 0}, 2)
    assert len(read_csv("processed/health/day.csv")) == 5
    assert not exists("rejected/health/day.csv")


@pytest.fixture
def failing_row_trigger(db):
    """A real fault at the database: inserting a reading of user ``crash_here`` fails (as a constraint, a
    full disk or a killed connection would), half way through a file."""
    with db.cursor() as cur:
        cur.execute("DROP TRIGGER IF EXISTS health_metrics_fault")
        cur.execute(
            "CREATE TRIGGER health_metrics_fault BEFORE INSERT ON health_metrics FOR EACH ROW"
            " BEGIN IF NEW.user_id = 'crash_here' THEN"
            " SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'; END IF; END"
        )
    yield lambda: _drop_trigger(db)
    _drop_trigger(db)


def _drop_trigger(db) -> None:
    with db.cursor() as cur:
        cur.execute("DROP TRIGGER IF EXISTS health_metrics_fault")


def test_a_crash_half_way_loads_nothing_and_the_redelivery_loads_the_file_once(
    client, db, s3, ingest_env, failing_row_trigger
):
    upload("raw/health/crash.csv", health_file(12000, odd_user_at=11000, odd_user="crash_here"))

    with pytest.raises(Exception, match="injected fault"):
        deliver(client, "raw/health/crash.csv")

    assert health_count(db) == 0  # two batches of 5000 had been inserted before the fault
    assert table_rows(db, "SELECT COUNT(*) AS n FROM ingest_ledger")[0]["n"] == 0
    assert not exists("manifests/health/crash.json")
    assert not exists("processed/health/crash.csv")
    assert s3.list_multipart_uploads(Bucket=ingest_env["bucket"]).get("Uploads", []) == []
    assert published_events(ingest_env["events_queue"]) == []

    failing_row_trigger()  # the fault is gone; S3 (or Lambda's retry) delivers the event again
    result = deliver(client, "raw/health/crash.csv")

    assert result["status"] == "loaded"
    assert result["counts"] == {"input": 12000, "loaded": 12000, "rejected": 0}
    assert health_count(db) == 12000
    assert table_rows(db, "SELECT COUNT(*) AS n FROM health_metrics WHERE user_id = 'crash_here'")[0]["n"] == 1
    assert read_manifest("manifests/health/crash.json")["status"] == "loaded"


def test_a_crash_after_the_commit_is_completed_by_the_redelivery_without_loading_again(
    client, db, ingest_env, monkeypatch
):
    upload("raw/health/late-crash.csv", health_file(4))
    # the event topic is missing: publishing fails after the rows and the ledger row committed
    monkeypatch.setenv("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:no-such-topic")
    from tests.support.environment import reset_clients

    reset_clients()
    with pytest.raises(Exception, match=r"NotFound|does not exist"):
        deliver(client, "raw/health/late-crash.csv")
    assert health_count(db) == 4

    monkeypatch.setenv("EVENTS_TOPIC_ARN", ingest_env["EVENTS_TOPIC_ARN"])
    reset_clients()
    result = deliver(client, "raw/health/late-crash.csv")

    assert result["status"] == "loaded"
    assert health_count(db) == 4
    manifest = read_manifest("manifests/health/late-crash.json")
    assert manifest["status"] == "loaded"
    assert manifest["outputs"] == {"processed": "processed/health/late-crash.csv", "rejected": None}
    assert len(read_csv("processed/health/late-crash.csv")) == 4
    [event] = published_events(ingest_env["events_queue"])
    assert (event["message"]["status"], event["message"]["counts"]["loaded"]) == ("loaded", 4)
    assert deliver(client, "raw/health/late-crash.csv")["status"] == "duplicate"


@pytest.mark.parametrize(
    "key",
    [
        "processed/health/day.csv",
        "rejected/health/day.csv",
        "manifests/health/day.json",
        "analysis/health/day.json",
        "exports/notes.txt",
        "raw/health/readme.txt",
        "raw/day.csv",
        "raw/health/",
    ],
)
def test_outputs_and_other_keys_are_ignored(client, db, ingest_env, key):
    upload(key, health_file(2))
    before = sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=ingest_env["bucket"])["Contents"])

    result = deliver(client, key)

    assert result["action"] == "ignored"
    after = sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=ingest_env["bucket"])["Contents"])
    assert after == before
    assert health_count(db) == 0
    assert published_events(ingest_env["events_queue"]) == []


def test_url_encoded_keys_with_spaces_plus_unicode_and_deep_folders(client, db, ingest_env):
    key = "raw/health/clinic Zürich/2025/09 + 10/day 1 (ü+ß).csv"
    upload(key, health_file(2))

    result = deliver(client, key)

    assert result["status"] == "loaded"
    stem = "health/clinic Zürich/2025/09 + 10/day 1 (ü+ß)"
    assert read_manifest(f"manifests/{stem}.json")["source"]["key"] == key
    assert len(read_csv(f"processed/{stem}.csv")) == 2


def test_an_export_workbook_is_copied_to_the_archive_with_its_type_and_metadata(client, ingest_env):
    key = "exports/sales/2026 03/day+1 ü.xlsx"
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    upload(key, b"PK\x03\x04 workbook bytes", ContentType=xlsx, Metadata={"report-date": "2026-03-02"})

    result = deliver(client, key)

    assert result["action"] == "archived"
    copy = boto3.client("s3").get_object(Bucket=ingest_env["ARCHIVE_BUCKET"], Key=key)
    assert copy["Body"].read() == b"PK\x03\x04 workbook bytes"
    assert copy["ContentType"] == xlsx
    assert copy["Metadata"] == {"report-date": "2026-03-02"}


def test_a_workbook_over_the_copy_object_limit_takes_the_managed_copy_and_keeps_type_and_metadata(ingest_env):
    key = "exports/big.xlsx"
    body = b"x" * (6 * 1024 * 1024)
    upload(key, body, ContentType="application/x-test", Metadata={"k": "v"})

    result = s3.archive_copy(ingest_env["bucket"], key, ingest_env["ARCHIVE_BUCKET"], multipart_threshold=5 << 20)

    assert result["method"] == "managed_copy"
    copy = boto3.client("s3").get_object(Bucket=ingest_env["ARCHIVE_BUCKET"], Key=key)
    assert (copy["ContentLength"], copy["ContentType"], copy["Metadata"]) == (
        len(body),
        "application/x-test",
        {"k": "v"},
    )


def test_outputs_are_streamed_in_parts(client, db, ingest_env):
    """Outputs larger than a part are multipart uploads: the file is never held whole in memory."""
    from chalicelib.ingest import pipeline

    upload("raw/health/parts.csv", health_file(1000))
    writer = s3.PartWriter(ingest_env["bucket"], "processed/parts-test.csv", "text/csv", part_bytes=5 << 20)
    for _ in range(6 * 1024):
        writer.write("x" * 1023 + "\n")
    writer.complete()

    result = pipeline.ingest_object(ingest_env["bucket"], "raw/health/parts.csv", batch_rows=7)

    head = boto3.client("s3").head_object(Bucket=ingest_env["bucket"], Key="processed/parts-test.csv")
    assert head["ETag"].strip('"').endswith("-2") and head["ContentLength"] == 6 * 1024 * 1024
    assert result["counts"]["loaded"] == health_count(db) == 1000


def test_an_ended_output_has_its_last_part_uploaded_and_stays_invisible_until_completed(ingest_env):
    """The ingest ends ``processed/`` while the last batch is still being written: the last part is uploaded then,
    the object appears only at :meth:`complete`, and nothing may be written after the end."""
    bucket = ingest_env["bucket"]
    writer = s3.PartWriter(bucket, "processed/ended-test.csv", "text/csv", part_bytes=5 << 20)
    for _ in range(6 * 1024):
        writer.write("x" * 1023 + "\n")

    writer.end()

    [pending] = boto3.client("s3").list_multipart_uploads(Bucket=bucket)["Uploads"]
    parts = boto3.client("s3").list_parts(Bucket=bucket, Key=pending["Key"], UploadId=pending["UploadId"])["Parts"]
    assert [part["Size"] for part in parts] == [5 << 20, 1 << 20]
    assert not exists("processed/ended-test.csv", bucket)
    with pytest.raises(ValueError, match="after end"):
        writer.write("late\n")

    writer.complete()

    head = boto3.client("s3").head_object(Bucket=bucket, Key="processed/ended-test.csv")
    assert head["ETag"].strip('"').endswith("-2") and head["ContentLength"] == 6 * 1024 * 1024


def test_the_local_delivery_loop_invokes_the_s3_and_sns_handlers_with_aws_event_shapes(ingest_env, db):
    from app import app

    received = []
    recorder = Chalice(app_name="recorder")

    @recorder.on_sns_message(topic=ingest_env["EVENTS_TOPIC_ARN"])
    def on_ingested(event):
        received.append(event)

    sns_routes = events.setup_delivery(recorder)
    stop = threading.Event()
    loop = threading.Thread(target=events.serve, args=(app, stop), daemon=True)
    loop.start()
    try:
        time.sleep(1.0)  # the loop has set up its queues and bucket notification
        started = time.monotonic()
        upload("raw/health/loop/day.csv", health_file(3))
        while not exists("manifests/health/loop/day.json") and time.monotonic() - started < 10:
            time.sleep(0.05)
        delivered_after = time.monotonic() - started
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            events.deliver_pending(recorder, sns_routes)
    finally:
        stop.set()
        loop.join(timeout=10)
        # the loop keeps the app's queues and subscriptions (make run sets them up once, across restarts), which
        # setup_delivery answers again: undone with the recorder's, or they would collect the later tests' events
        events.teardown_delivery([*sns_routes, *events.setup_delivery(app)], [ingest_env["bucket"]])

    assert delivered_after < 2.0
    assert read_manifest("manifests/health/loop/day.json")["counts"]["loaded"] == 3
    assert health_count(db) == 3
    [event] = received
    assert json.loads(event.message)["source_key"] == "raw/health/loop/day.csv"
    assert event.message_attributes["event_type"] == {"Type": "String", "Value": "ingest.completed"}
    assert event.to_dict()["Records"][0]["EventSource"] == "aws:sns"
    assert read_text("processed/health/loop/day.csv").startswith(HEALTH_HEADER)


def test_in_a_versioned_bucket_the_version_named_by_the_event_is_ingested(client, db, ingest_env):
    s3 = boto3.client("s3")
    bucket = "test-versioned-data"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="raw/health/v.csv", Body=health_file(2).encode())["VersionId"]
    s3.put_object(Bucket=bucket, Key="raw/health/v.csv", Body=health_file(5).encode())
    event = client.events.generate_s3_event(bucket=bucket, key="raw/health/v.csv")
    event["Records"][0]["s3"]["object"]["versionId"] = first

    result = client.lambda_.invoke("on_s3_upload", event).payload

    assert result["counts"]["loaded"] == health_count(db) == 2
    assert read_manifest("manifests/health/v.json", bucket)["source"]["version_id"] == first


def test_an_object_deleted_before_its_event_arrives_is_ignored(client, db, ingest_env):
    result = deliver(client, "raw/health/gone.csv")

    assert result["action"] == "ignored"
    assert "does not exist" in result["why"]
    assert published_events(ingest_env["events_queue"]) == []


def test_the_same_bytes_with_another_etag_are_found_a_duplicate_by_their_content(client, db, s3, ingest_env):
    body = health_file(3).encode()
    upload("raw/health/etag.csv", body)
    assert deliver(client, "raw/health/etag.csv")["status"] == "loaded"
    # a multipart upload of the same bytes has another ETag: only the content's SHA-256 says it is the same
    bucket = ingest_env["bucket"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="raw/health/etag.csv")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="raw/health/etag.csv", UploadId=upload_id, PartNumber=1, Body=body)
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="raw/health/etag.csv",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )

    result = deliver(client, "raw/health/etag.csv")

    assert result["status"] == "duplicate"
    assert result["counts"]["loaded"] == health_count(db) == 3
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_an_event_holding_several_records_loads_every_object_and_ignores_a_record_without_one(client, db, ingest_env):
    keys = ["raw/health/batch/one.csv", "raw/health/batch/two words.csv"]
    upload(keys[0], health_file(3))
    upload(keys[1], health_file(6).replace("Z,user_", "Z,other_"))  # other readings: 6 rows
    records = [
        client.events.generate_s3_event(bucket=ingest_env["bucket"], key=quote_plus(k))["Records"][0] for k in keys
    ]

    result = client.lambda_.invoke("on_s3_upload", {"Records": [*records, {"s3": {}}]}).payload

    assert [r.get("status") for r in result["records"]] == ["loaded", "loaded", None]
    assert result["records"][2] == {"action": "ignored", "why": "the record names no bucket and object key"}
    assert health_count(db) == 9
    again = client.lambda_.invoke("on_s3_upload", {"Records": records}).payload  # S3's retry of the whole event
    assert [r["status"] for r in again["records"]] == ["duplicate", "duplicate"]
    assert health_count(db) == 9
