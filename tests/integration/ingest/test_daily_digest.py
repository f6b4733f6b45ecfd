"""The daily digest (issue 12; in the ingest tier for its fixture): the day's ingests per dataset, the anomalies
found, the analysis runs and the failed ones, with where to find each result; SNS, and SES with an HTML part;
sent once per day even when the schedule fires twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.core.settings import parse_settings
from devtools.localdb import create_database
from tests.support.environment import SUFFIX, reset_clients
from tests.support.ingest import HEALTH_HEADER, deliver, published_events, upload
from tests.support.ses_outbox import sent_emails
from tests.support.sns_inbox import received

HEALTH_LINE = HEALTH_HEADER + "\n"
READINGS = HEALTH_LINE + (
    "2025-09-17T08:00:00Z,u1,100,95,21,37.5,120,80\n"
    "2025-09-17T08:01:00Z,u1,170,95,21,37.5,120,80\n"  # heart rate above 160: an anomaly
    "2025-09-17T08:02:00Z,u1,100,95,21,37.5,200,80\n"  # systolic out of the dataset's range: rejected
    "2025-09-17T08:03:00Z,u2,100,95,21,37.5,120,130\n"  # diastolic out of range: rejected
    "2025-09-17T08:04:00Z,u2,100,95,21,37.5,120,80\n"
)


def _fire(client: Any, when: datetime) -> dict[str, Any]:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:rule/digest"]
    )
    event["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return client.lambda_.invoke("daily_digest", event).payload


@pytest.fixture
def day_of_work(client, db, ingest_env, report_queue, monkeypatch):
    """Today: a health file loaded (2 rows rejected) and analysed, the same bytes under another key, one
    analysis run that worked and one that failed."""
    with db.cursor() as cur:
        cur.execute("DELETE FROM analysis_notifications")  # other tests' reports and digests
    empty = parse_settings({**ingest_env, "DB_NAME": f"test_digest_empty{SUFFIX}"}).db
    create_database(empty)
    monkeypatch.setenv("ANALYSIS_SOURCES", json.dumps({"public": {}, "bare": {"DB_NAME": empty.name}}))
    reset_clients()
    upload("raw/health/ward/monday.csv", READINGS)
    upload("raw/health/ward/monday-again.csv", READINGS)
    assert deliver(client, "raw/health/ward/monday.csv")["status"] == "loaded"
    assert deliver(client, "raw/health/ward/monday-again.csv")["status"] == "duplicate"
    [loaded] = [
        e["message"] for e in published_events(ingest_env["events_queue"]) if e["message"]["status"] == "loaded"
    ]
    sns = client.events.generate_sns_event(message=json.dumps(loaded))
    assert client.lambda_.invoke("on_pipeline_event", sns).payload["anomalies"] == 1
    response = client.http.post("/analysis", headers={"Content-Type": "application/json"}, body="{}")
    runs = json.loads(response.body)["results"]
    assert (runs["public"]["status"], runs["bare"]["status"]) == ("ok", "error")
    received(report_queue)  # the health report; the digest is what the test reads
    return runs


def test_the_digest_tells_the_day_and_goes_out_once(client, ingest_env, report_queue, day_of_work, monkeypatch):
    sender = "digest@example.com"
    monkeypatch.setenv("SES_SENDER", sender)
    monkeypatch.setenv("SES_RECIPIENTS", "ops@example.com")
    reset_clients()
    boto3.client("ses").verify_email_identity(EmailAddress=sender)
    tomorrow_morning = datetime.now(UTC).replace(hour=6, minute=0) + timedelta(days=1)
    today = datetime.now(UTC).date().isoformat()

    first = _fire(client, tomorrow_morning)
    second = _fire(client, tomorrow_morning + timedelta(minutes=5))  # the schedule fired twice

    key = f"analysis/digest/{today}.json"
    assert first == {"day": today, "key": key, "notifications": {"sns": "sent", "email": "sent"}, "failed_runs": 1}
    assert second["notifications"] == {"sns": "already_sent", "email": "already_sent"}
    [message] = received(report_queue)
    assert message["Subject"] == f"Platform daily digest - {today}, 1 failed analyses"
    text = message["Message"]
    assert "- health: 1 files (0 rejected whole), 3 rows loaded (0 already present), 2 rejected (top reasons:" in text
    assert "1 duplicate deliveries; manifests under manifests/health/" in text
    assert f"This digest as JSON: {key}" in text
    assert "Anomalies: 1 in 1 health files analysed" in text
    assert "- 1 of 3 readings -> analysis/health/ward/monday.json" in text
    assert f"public [api] ok (health, sales, superheroes) -> {day_of_work['public']['key']}" in text
    assert "bare [api] failed: SourceNotAnalysable" in text and day_of_work["bare"]["key"] in text
    [mail] = sent_emails(sender)
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "<h2>Anomalies: 1</h2>" in parts["text/html"] and "analysis/health/ward/monday.json" in parts["text/html"]
    stored = json.loads(boto3.client("s3").get_object(Bucket=ingest_env["bucket"], Key=key)["Body"].read())
    assert (
        stored["ingests"]["health"]["rows_loaded"] == 3
        and stored["failed_runs"][0]["key"] == day_of_work["bare"]["key"]
    )


def test_a_day_without_work_still_gets_its_digest(client, db, platform, report_queue):
    with db.cursor() as cur:
        cur.execute("DELETE FROM analysis_notifications WHERE analysis_key LIKE 'digest/%%'")
    result = _fire(client, datetime(2020, 1, 2, 6, 0, tzinfo=UTC))
    assert result == {
        "day": "2020-01-01",
        "key": "analysis/digest/2020-01-01.json",
        "notifications": {"sns": "sent"},
        "failed_runs": 0,
    }
    [message] = received(report_queue)
    assert "Ingests\n- none" in message["Message"] and "Analysis runs\n- none" in message["Message"]
