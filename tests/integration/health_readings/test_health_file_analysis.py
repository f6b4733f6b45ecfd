"""The analysis of ingested health files: triggered by ``ingest.completed`` on the events topic, result in S3,
report on SNS (read back through a subscribed SQS queue) and SES (read back from the emulator), sent once."""

from __future__ import annotations

import copy
import csv
import email
import io
import json
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.core import aws
from chalicelib.core.mysql import get_database
from chalicelib.health_readings.notifications import NotificationFailed
from devtools.stage import PROJECT_DIR
from tests.support.environment import reset_clients
from tests.support.ingest import HEALTH_HEADER
from tests.support.ses_outbox import sent_emails
from tests.support.sns_inbox import received

DATA_DIR = PROJECT_DIR / "data" / "health"
HEADER = HEALTH_HEADER.split(",")
# the valid ranges docs/ingest.md states, written out here independently of the application's declarations
VALID_RANGES = {
    "heart_rate": (50, 180),
    "spo2": (90, 100),
    "steps": (0, 50000),
    "temp_c": (Decimal("35.0"), Decimal("40.0")),
    "systolic_bp": (90, 180),
    "diastolic_bp": (60, 120),
}


def is_valid(row: dict) -> bool:
    try:
        values = {name: Decimal(row[name]) for name in VALID_RANGES}
    except (InvalidOperation, KeyError):
        return False
    in_range = all(low <= values[name] <= high for name, (low, high) in VALID_RANGES.items())
    return in_range and values["diastolic_bp"] <= values["systolic_bp"]


def expected_reasons(row: dict) -> set[str]:
    hr, spo2, temp = Decimal(row["heart_rate"]), Decimal(row["spo2"]), Decimal(row["temp_c"])
    checks = {
        "low_heart_rate": hr < 60,
        "high_heart_rate": hr > 160,
        "low_spo2": spo2 < 92,
        "high_temperature": temp > Decimal("38.0"),
        "high_systolic_bp": Decimal(row["systolic_bp"]) > 140,
        "high_diastolic_bp": Decimal(row["diastolic_bp"]) > 90,
    }
    return {reason for reason, broken in checks.items() if broken}


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def processed_rows(name: str) -> list[dict]:
    with (DATA_DIR / name).open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if is_valid(row)]


def upload_processed(s3, bucket: str, rows_or_text: list[dict] | str, name: str | None = None) -> str:
    """A processed health CSV as the ingest writes it; answers its ``<path>`` (unique per test)."""
    path = f"tests/{uuid.uuid4().hex[:8]}/{name or 'readings'}"
    body = rows_or_text if isinstance(rows_or_text, str) else csv_text(rows_or_text)
    s3.put_object(Bucket=bucket, Key=f"processed/health/{path}.csv", Body=body.encode())
    return path


def completion(bucket: str, path: str, loaded: int, **overrides) -> dict:
    return {
        "type": "ingest.completed",
        "dataset": "health",
        "bucket": bucket,
        "source_key": f"raw/health/{path}.csv",
        "manifest_key": f"manifests/health/{path}.json",
        "processed_key": f"processed/health/{path}.csv",
        "status": "loaded",
        "counts": {"input": loaded, "loaded": loaded, "rejected": 0},
        **overrides,
    }


def deliver(client, message: dict | str) -> dict:
    body = message if isinstance(message, str) else json.dumps(message)
    attributes = {"event_type": {"Type": "String", "Value": "ingest.completed"}}
    event = client.events.generate_sns_event(message=body, message_attributes=attributes)
    return client.lambda_.invoke("on_pipeline_event", event).payload


def stored_analysis(s3, bucket: str, path: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=f"analysis/health/{path}.json")["Body"].read())


@pytest.mark.parametrize(("name", "valid_rows"), [("sample_data.csv", 843), ("synthetic_health_data.csv", 849)])
def test_the_shared_health_files_are_analysed_and_reported(client, s3, platform, report_queue, name, valid_rows):
    rows = processed_rows(name)
    assert len(rows) == valid_rows  # the counts docs/ingest.md states for the valid rows
    bucket = platform["DATA_BUCKET"]
    path = upload_processed(s3, bucket, rows, name.removesuffix(".csv"))

    result = deliver(client, completion(bucket, path, len(rows)))

    expected = {line: expected_reasons(row) for line, row in enumerate(rows, start=2) if expected_reasons(row)}
    assert result["status"] == "analysed"
    assert result["anomalies"] == len(expected)
    analysis = stored_analysis(s3, bucket, path)
    assert analysis["records_analyzed"] == valid_rows
    assert len(analysis["anomalies"]) == len(expected)
    assert {a["line"]: set(a["reasons"]) for a in analysis["anomalies"]} == expected
    first = analysis["anomalies"][0]
    source_row = rows[first["line"] - 2]
    assert (first["event_time"], first["user_id"]) == (source_row["event_time"], source_row["user_id"])
    for reason in ("high_heart_rate", "low_spo2", "high_diastolic_bp"):
        assert analysis["statistics"]["anomalies_by_reason"][reason] == sum(reason in r for r in expected.values())
    assert analysis["statistics"]["users"] == 10
    assert analysis["summary"].startswith(f"Analysed {valid_rows} valid readings from 10 users")
    assert analysis["insights"] and analysis["recommendations"]
    assert analysis["insights_source"] == "rules"

    [notification] = received(report_queue)
    analysed_on = datetime.fromisoformat(analysis["analysed_at"]).strftime("%B %d, %Y")
    assert notification["Subject"] == f"Health Data Analysis Report - {analysed_on}"
    assert notification["MessageAttributes"]["report_type"]["Value"] == "health_analysis"
    text = notification["Message"]
    assert text.startswith("Health Data Analysis Report\n")
    assert f"File: raw/health/{path}.csv" in text
    assert f"Records analysed: {valid_rows} (from 10 users)" in text
    percent = f"{100 * len(expected) / valid_rows:.1f}%"
    assert f"Anomalous records: {len(expected)} ({percent})" in text and f"({percent})" in analysis["summary"]
    assert f"Anomalies (first 20 of {len(expected)})" in text
    assert f"s3://{bucket}/analysis/health/{path}.json" in text


def test_decimal_readings_never_crash_and_break_thresholds_exactly(client, s3, platform, report_queue):
    rows = [
        {**dict.fromkeys(HEADER, ""), "event_time": "2025-09-17T11:00:00Z", "user_id": "u1", "heart_rate": "72.0",
         "spo2": "97.0", "steps": "120.0", "temp_c": "36.55", "systolic_bp": "120.0", "diastolic_bp": "80.0"},
        {"event_time": "2025-09-17T11:01:00Z", "user_id": "u1", "heart_rate": "160.5", "spo2": "91.9",
         "steps": "10", "temp_c": "38.05", "systolic_bp": "140.0", "diastolic_bp": "90.0"},
        {"event_time": "2025-09-17T11:02:00Z", "user_id": "u2", "heart_rate": "159.9", "spo2": "92",
         "steps": "0", "temp_c": "38.0", "systolic_bp": "140.4", "diastolic_bp": "90.01"},
        {"event_time": "2025-09-17T11:03:00Z", "user_id": "u2", "heart_rate": "59.99", "spo2": "95",
         "steps": "5", "temp_c": "37", "systolic_bp": "130", "diastolic_bp": "85"},
    ]  # fmt: skip
    text = (
        csv_text(rows) + "2025-09-17T11:04:00Z,u3,abc,95,1,36.6,120,80\n2025-09-17T11:05:00Z,u3,NaN,95,1,36.6,120,80\n"
    )
    bucket = platform["DATA_BUCKET"]
    path = upload_processed(s3, bucket, text)

    result = deliver(client, completion(bucket, path, 6))

    assert result["status"] == "analysed"
    analysis = stored_analysis(s3, bucket, path)
    assert analysis["records_analyzed"] == 4
    assert analysis["statistics"]["rows_skipped"] == 2
    assert [e["line"] for e in analysis["rows_skipped_examples"]] == [6, 7]
    assert {a["line"]: a["reasons"] for a in analysis["anomalies"]} == {
        3: ["high_heart_rate", "low_spo2", "high_temperature"],
        4: ["high_systolic_bp", "high_diastolic_bp"],
        5: ["low_heart_rate"],
    }
    assert analysis["anomalies"][0]["heart_rate"] == 160.5 and analysis["anomalies"][0]["systolic_bp"] == 140
    assert analysis["statistics"]["metrics"]["temp_c"] == {"min": 36.55, "mean": 37.4, "max": 38.05}
    assert len(received(report_queue)) == 1


def test_a_file_without_anomalies_is_reported_as_such(client, s3, platform, report_queue):
    rows = [row for row in processed_rows("synthetic_health_data.csv") if not expected_reasons(row)][:25]
    bucket = platform["DATA_BUCKET"]
    path = upload_processed(s3, bucket, rows)

    assert deliver(client, completion(bucket, path, len(rows)))["anomalies"] == 0

    analysis = stored_analysis(s3, bucket, path)
    assert analysis["records_analyzed"] == 25 and analysis["anomalies"] == [] and analysis["anomaly_count"] == 0
    assert analysis["recommendations"] == ["No readings broke a threshold; keep the regular monitoring schedule."]
    [notification] = received(report_queue)
    assert "Anomalous records: 0 (0.0%)" in notification["Message"] and "Anomalies (" not in notification["Message"]


def _ledger(analysis_key: str) -> list[dict]:
    with get_database().cursor() as cur:
        cur.execute(
            "SELECT channel, analysis_key, sent_at, message_id, attempts FROM analysis_notifications"
            " WHERE analysis_key = %s ORDER BY channel, sent_at",
            (analysis_key,),
        )
        return cur.fetchall()


def test_a_redelivered_trigger_sends_no_second_notification(client, s3, platform, report_queue):
    bucket = platform["DATA_BUCKET"]
    rows = processed_rows("sample_data.csv")[:50]
    path = upload_processed(s3, bucket, rows)
    event = completion(bucket, path, len(rows))

    assert deliver(client, event)["notifications"] == {"sns": "sent"}
    assert deliver(client, event)["status"] == "already_notified"
    assert deliver(client, {**event, "status": "duplicate"})["status"] == "already_notified"

    assert len(received(report_queue)) == 1
    [row] = _ledger(f"analysis/health/{path}.json")
    assert row["channel"] == "sns" and row["sent_at"] is not None and row["message_id"] and row["attempts"] == 1

    # new content under the same key (a corrected re-upload) is a new analysed file: reported again
    path_rows = processed_rows("sample_data.csv")[50:80]
    s3.put_object(Bucket=bucket, Key=f"processed/health/{path}.csv", Body=csv_text(path_rows).encode())
    assert deliver(client, event)["notifications"] == {"sns": "sent"}
    assert stored_analysis(s3, bucket, path)["records_analyzed"] == 30
    assert len(received(report_queue)) == 1
    assert len(_ledger(f"analysis/health/{path}.json")) == 2


def _claim_row(path: str, s3, bucket: str, age_seconds: int) -> None:
    """A claim left by a sender that died before marking the notification sent, ``age_seconds`` ago."""
    import hashlib

    key = f"analysis/health/{path}.json"
    etag = s3.head_object(Bucket=bucket, Key=f"processed/health/{path}.csv")["ETag"].strip('"')
    with get_database().cursor() as cur:
        cur.execute(
            "INSERT INTO analysis_notifications (analysis_key_sha256, content_etag, channel, analysis_key,"
            " claim_token, claimed_at, attempts)"
            " VALUES (%s, %s, 'sns', %s, %s, UTC_TIMESTAMP(6) - INTERVAL %s SECOND, 1)",
            (hashlib.sha256(key.encode()).hexdigest(), etag, key, uuid.uuid4().hex, age_seconds),
        )


def test_a_claim_in_progress_is_retried_and_a_stale_one_taken_over(client, s3, platform, report_queue):
    bucket = platform["DATA_BUCKET"]
    rows = processed_rows("synthetic_health_data.csv")[:20]
    fresh, stale = upload_processed(s3, bucket, rows), upload_processed(s3, bucket, rows)
    _claim_row(fresh, s3, bucket, age_seconds=5)
    _claim_row(stale, s3, bucket, age_seconds=600)

    with pytest.raises(
        NotificationFailed, match=r"NotificationInProgress: sns notification .* is being sent by another"
    ):
        deliver(client, completion(bucket, fresh, len(rows)))
    assert received(report_queue) == []

    assert deliver(client, completion(bucket, stale, len(rows)))["notifications"] == {"sns": "sent"}
    [row] = _ledger(f"analysis/health/{stale}.json")
    assert row["sent_at"] is not None and row["attempts"] == 2
    assert len(received(report_queue)) == 1


def _parts(message: email.message.Message) -> dict[str, str]:
    return {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
            if not part.is_multipart()}  # fmt: skip


def test_the_email_has_text_and_html_parts_and_a_failed_channel_is_retried_alone(
    client, s3, platform, report_queue, monkeypatch
):
    sender = f"reports-{uuid.uuid4().hex[:6]}@example.com"
    monkeypatch.setenv("SES_SENDER", sender)
    monkeypatch.setenv("SES_RECIPIENTS", "care@example.com, lead@example.com")
    reset_clients()
    bucket = platform["DATA_BUCKET"]
    rows = processed_rows("sample_data.csv")[:40]
    rows[0] = {**rows[0], "user_id": "<b>o'hara&co</b>", "heart_rate": "170"}
    path = upload_processed(s3, bucket, rows)
    event = completion(bucket, path, len(rows))

    # the sender is not verified yet: SNS goes out, the email fails and the invocation fails for a retry
    with pytest.raises(NotificationFailed, match="MessageRejected"):
        deliver(client, event)
    assert len(received(report_queue)) == 1

    boto3.client("ses").verify_email_identity(EmailAddress=sender)
    assert deliver(client, event)["notifications"] == {"sns": "already_sent", "email": "sent"}
    assert received(report_queue) == []
    assert deliver(client, event)["status"] == "already_notified"

    [message] = sent_emails(sender)
    assert message["Subject"].startswith("Health Data Analysis Report - ")
    assert message["To"] == "care@example.com, lead@example.com"
    parts = _parts(message)
    assert set(parts) == {"text/plain", "text/html"}
    assert f"File: raw/health/{path}.csv" in parts["text/plain"]
    html = parts["text/html"]
    anomalies = stored_analysis(s3, bucket, path)["anomalies"]
    assert html.count("<tr><td>") == len(anomalies)
    assert "&lt;b&gt;o&#x27;hara&amp;co&lt;/b&gt;" in html and "<b>o'hara" not in html
    assert {row["channel"] for row in _ledger(f"analysis/health/{path}.json")} == {"sns", "email"}


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        json.dumps(["a list"]),
        json.dumps({"type": "report.sent", "dataset": "health"}),
        json.dumps(completion("b", "p", 5, dataset="orders")),
        json.dumps(completion("b", "p", 5, status="rejected")),
        json.dumps(completion("b", "p", 0)),
        json.dumps(completion("b", "p", 5, processed_key="raw/health/p.csv")),
    ],
)
def test_other_events_are_ignored(client, s3, platform, report_queue, message):
    result = deliver(client, message)
    assert result["status"] == "ignored" and result["reason"]
    assert received(report_queue) == []


# --- Bedrock insights (botocore's Stubber on the real client) ----------------------------------------------------


@pytest.fixture
def bedrock(platform, monkeypatch):
    """The app's bedrock-runtime client, stubbed, with every Converse request it receives captured."""
    monkeypatch.setenv("INSIGHTS_MODEL_ID", "anthropic.claude-3-haiku-20240307-v1:0")
    reset_clients()
    runtime = aws.client("bedrock-runtime")
    requests: list[dict] = []
    runtime.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse", lambda params, **_: requests.append(copy.deepcopy(params))
    )
    with Stubber(runtime) as stubber:
        yield stubber, requests
        stubber.assert_no_pending_responses()


def _answer(text: str) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 400, "outputTokens": 120, "totalTokens": 520},
        "metrics": {"latencyMs": 900},
    }


MODEL_ANSWER = {
    "summary": "About a third of the readings were anomalous, mostly high diastolic pressure.",
    "insights": ["Diastolic pressure above 90 mmHg dominates.", "Low SpO2 is rare."],
    "recommendations": ["Review blood pressure trends with the care team."],
}


def test_bedrock_writes_the_insights_from_aggregates_only(client, s3, platform, report_queue, bedrock):
    stubber, requests = bedrock
    stubber.add_response("converse", _answer("```json\n" + json.dumps(MODEL_ANSWER) + "\n```"))
    bucket = platform["DATA_BUCKET"]
    rows = processed_rows("sample_data.csv")
    path = upload_processed(s3, bucket, rows)

    deliver(client, completion(bucket, path, len(rows)))

    analysis = stored_analysis(s3, bucket, path)
    assert analysis["insights_source"] == "bedrock:anthropic.claude-3-haiku-20240307-v1:0"
    assert analysis["summary"] == MODEL_ANSWER["summary"]
    assert analysis["insights"] == MODEL_ANSWER["insights"]
    assert analysis["recommendations"] == MODEL_ANSWER["recommendations"]
    assert MODEL_ANSWER["summary"] in received(report_queue)[0]["Message"]

    [request] = requests
    assert request["modelId"] == "anthropic.claude-3-haiku-20240307-v1:0"
    sent = json.dumps(request)
    assert "user_" not in sent  # no user id
    assert "2025-09" not in sent and "T11:" not in sent  # no timestamp of any row
    statistics = json.loads(request["messages"][0]["content"][0]["text"])
    assert statistics["records_analyzed"] == 843 and statistics["users"] == 10
    assert set(statistics) == {
        "records_analyzed", "users", "users_with_anomalies", "anomalous_records", "anomaly_rate",
        "anomalies_by_reason", "metrics",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("stub", "reason"),
    [
        (("error", "ThrottlingException", 429), "ThrottlingException"),
        (("error", "ModelTimeoutException", 408), "ModelTimeoutException"),
        (("error", "ServiceUnavailableException", 503), "ServiceUnavailableException"),
        (("answer", "Here are some insights: the data looks fine."), "MalformedAnswer: not JSON"),
        (("answer", json.dumps({"summary": "ok", "insights": ["x"]})), "'recommendations' must be"),
        (("answer", json.dumps({"summary": "", "insights": ["x"], "recommendations": ["y"]})), "'summary' must be"),
    ],
)
def test_bedrock_failures_fall_back_to_the_rule_based_insights(
    client, s3, platform, report_queue, bedrock, stub, reason
):
    stubber, _ = bedrock
    if stub[0] == "error":
        stubber.add_client_error("converse", service_error_code=stub[1], http_status_code=stub[2])
    else:
        stubber.add_response("converse", _answer(stub[1]))
    bucket = platform["DATA_BUCKET"]
    rows = processed_rows("synthetic_health_data.csv")
    path = upload_processed(s3, bucket, rows)

    assert deliver(client, completion(bucket, path, len(rows)))["insights_source"] == "rules"

    analysis = stored_analysis(s3, bucket, path)
    assert analysis["insights_source"] == "rules"
    assert reason in analysis["insights_fallback_reason"]
    assert analysis["summary"].startswith("Analysed 849 valid readings from 10 users")
    assert len(received(report_queue)) == 1


def test_an_uploaded_health_csv_is_ingested_analysed_and_reported_through_local_delivery(
    s3, db, platform, report_queue
):
    """End to end as in ``make run``: upload to raw/, the delivery loop runs the ingest, whose completion
    event the loop hands to ``on_pipeline_event``; nothing else is called."""
    from app import app
    from devtools.events import deliver_pending, setup_delivery, teardown_delivery

    with db.cursor() as cur:  # the sample's bytes, still current under another test's key, would be a duplicate
        cur.execute("DELETE FROM ingest_ledger")

    bucket = platform["DATA_BUCKET"]
    path = f"e2e/{uuid.uuid4().hex[:8]}/sample data"
    routes = setup_delivery(app)
    try:
        s3.put_object(Bucket=bucket, Key=f"raw/health/{path}.csv", Body=(DATA_DIR / "sample_data.csv").read_bytes())
        for _ in range(50):
            deliver_pending(app, routes)
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"analysis/health/{path}.json").get("KeyCount", 0)
            if listed:
                break
        analysis = stored_analysis(s3, bucket, path)
    finally:
        teardown_delivery(routes, [bucket])

    rows = processed_rows("sample_data.csv")
    assert analysis["records_analyzed"] == len(rows) == 843
    assert analysis["source_key"] == f"raw/health/{path}.csv"
    assert len(analysis["anomalies"]) == sum(1 for row in rows if expected_reasons(row))
    [notification] = received(report_queue)
    assert notification["Subject"].startswith("Health Data Analysis Report - ")
    assert f"File: raw/health/{path}.csv" in notification["Message"]


def test_an_unreachable_bedrock_falls_back_too(client, s3, platform, report_queue, monkeypatch):
    """No stub: the real client against an endpoint that hangs up on every request (botocore's own errors)."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def hang_up() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setenv("INSIGHTS_MODEL_ID", "anthropic.claude-3-haiku-20240307-v1:0")
    reset_clients()
    bucket = platform["DATA_BUCKET"]
    rows = processed_rows("sample_data.csv")[:100]
    path = upload_processed(s3, bucket, rows)
    try:
        deliver(client, completion(bucket, path, len(rows)))
    finally:
        stop.set()
        thread.join()
        server.close()

    analysis = stored_analysis(s3, bucket, path)
    assert analysis["insights_source"] == "rules"
    assert "Connection" in analysis["insights_fallback_reason"]
    assert len(received(report_queue)) == 1
