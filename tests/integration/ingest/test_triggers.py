"""What invokes the ingest functions: the S3 notifications and the pipeline topic's subscription filter, as the
app declares them, applied by the emulator (the local delivery of ``make run`` sets them up as AWS does)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from urllib.parse import unquote_plus

import boto3
import pytest

from devtools import events
from tests.support.ingest import deliver, published_events, upload

HEALTH = "event_time,user_id,heart_rate,spo2,steps,temp_c,systolic_bp,diastolic_bp\n"
HEALTH_ROW = "2025-09-17T10:00:00Z,user_1,100,95,21,37.5,120,80\n"


@pytest.fixture
def delivery(ingest_env: dict) -> Iterator[dict[str, events.Route]]:
    """The app's S3 notifications and topic subscriptions set up on the emulator, by handler; nothing is
    delivered: the tests read what is queued for each handler. All undone after the test: a queue left subscribed
    to the events topic collected the later tests' ingest events, which the next test delivering to the app (the
    end-to-end health test) was then handed as well."""
    from app import app

    routes = {route.handler: route for route in events.setup_delivery(app)}
    _drain(routes.values())
    yield routes
    events.teardown_delivery(list(routes.values()), [ingest_env["bucket"]])


def _drain(routes: Iterable[events.Route]) -> None:
    for route in routes:
        _queued(route)


def _queued(route: events.Route) -> list[dict]:
    """The bodies waiting in the handler's queue (removed from it)."""
    sqs = boto3.client("sqs")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=route.queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _created_keys(route: events.Route) -> list[str]:
    return sorted(
        unquote_plus(record["s3"]["object"]["key"]) for body in _queued(route) for record in body.get("Records", [])
    )


def test_only_uploads_and_workbooks_invoke_a_function_never_the_platforms_outputs(delivery):
    keys = [
        "raw/health/day.csv",
        "processed/health/day.csv",
        "rejected/health/day.csv",
        "manifests/health/day.json",
        "analysis/health/day.json",
        "exports/sales/2026-03-02.xlsx",
        "exports/notes.txt",
    ]
    for key in keys:
        upload(key, HEALTH)

    assert _created_keys(delivery["on_s3_upload"]) == ["raw/health/day.csv"]
    assert _created_keys(delivery["on_s3_export"]) == ["exports/sales/2026-03-02.xlsx"]


def test_the_pipeline_handler_receives_only_health_ingest_completions(client, ingest_env, delivery):
    upload("raw/health/day.csv", HEALTH + HEALTH_ROW)
    upload("raw/superheroes/batch.csv", "not,the,superheroes,header\n")
    assert deliver(client, "raw/health/day.csv")["status"] == "loaded"
    deliver(client, "raw/superheroes/batch.csv")

    received = [json.loads(body["Message"]) for body in _queued(delivery["on_pipeline_event"])]

    assert [(event["dataset"], event["status"]) for event in received] == [("health", "loaded")]
    published = published_events(ingest_env["events_queue"])  # a subscriber without the filter gets both
    assert sorted(event["message"]["dataset"] for event in published) == ["health", "superheroes"]
