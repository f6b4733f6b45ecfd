"""Analyses read back over HTTP: the latest of a source, its history, and the analysis of an uploaded health
file by its ingest id."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from typing import Any

import boto3
import pytest

from chalicelib.core.settings import parse_settings
from devtools.localdb import prepare_database
from devtools.stage import PROJECT_DIR
from tests.support.ingest import (
    HEALTH_HEADER,
    deliver,
    published_events,
    upload,
)


def documented_reads() -> list[str]:
    """The paths of the ``curl -s`` GET examples of the analysis page of the docs."""
    text = (PROJECT_DIR / "docs/analysis.md").read_text()
    paths = re.findall(r"^curl -s '?http://127\.0\.0\.1:8000(/analysis/[^'\s]+)'?$", text, flags=re.MULTILINE)
    assert len(paths) == 3, paths
    return paths


def get(client: Any, path: str, status: int = 200) -> Any:
    answer = client.http.get(path)
    assert answer.status_code == status, answer.body
    return json.loads(answer.body)


def analyse(client: Any, source: str) -> str:
    """Run ``POST /analysis`` on ``source``; answers the result's key."""
    answer = client.http.post(
        "/analysis", headers={"Content-Type": "application/json"}, body=json.dumps({"sources": [source]})
    )
    return json.loads(answer.body)["results"][source]["key"]


@pytest.fixture
def private_source(platform: dict, test_environment: dict) -> str:
    """The ``private`` source, migrated, with none of its earlier results in the bucket."""
    prepare_database(parse_settings(test_environment).analysis_sources["private"])
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=platform["DATA_BUCKET"], Prefix="analysis/private/")
    for obj in listed.get("Contents", []):
        s3.delete_object(Bucket=platform["DATA_BUCKET"], Key=obj["Key"])
    return "private"


def test_the_latest_analysis_of_a_source_and_its_history(client, private_source):
    assert "no analysis of 'private' yet" in get(client, "/analysis/private", status=404)["Message"]
    older, newer = analyse(client, "private"), analyse(client, "private")

    latest = get(client, "/analysis/private")
    first = get(client, "/analysis/private/history?limit=1")
    rest = get(client, f"/analysis/private/history?limit=1&after={first['next']}")

    assert latest["key"] == newer
    assert latest["result"]["source"] == "private" and latest["result"]["status"] == "ok"
    with urllib.request.urlopen(latest["download"]["url"], timeout=10) as answer:
        assert json.loads(answer.read()) == latest["result"]
    assert [item["key"] for item in first["items"] + rest["items"]] == [newer, older]
    assert rest["next"] is None


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/analysis/nowhere", 404, "no analysis source 'nowhere'"),
        ("/analysis/nowhere/history", 404, "no analysis source 'nowhere'"),
        ("/analysis/private/history?limit=0", 400, "limit must be an integer from 1 to 200"),
        ("/analysis/private/history?after=analysis/private/none.json", 400, "after must be the key of one"),
        ("/analysis/private/history?sort=asc", 400, "unknown query parameter(s) ['sort']"),
        ("/ingests/abc/analysis", 400, "ingest id must be an integer"),
    ],
)
def test_bad_analysis_reads_are_answered_with_what_is_wrong(client, private_source, path, status, message):
    assert message in get(client, path, status=status)["Message"]


def test_an_uploaded_health_file_has_its_analysis_read_back_by_ingest_id(client, ingest_env):
    user = uuid.uuid4().hex[:12]  # new content: an analysis already notified for the same bytes is not redone
    upload("raw/health/readback/day.csv", f"{HEALTH_HEADER}\n2025-09-17T12:00:00Z,{user},170,98,10,36.6,120,80\n")
    deliver(client, "raw/health/readback/day.csv")
    [entry] = get(client, "/ingests?dataset=health")["items"]
    assert "no analysis (yet)" in get(client, f"/ingests/{entry['id']}/analysis", status=404)["Message"]
    [event] = published_events(ingest_env["events_queue"])
    sns = client.events.generate_sns_event(message=json.dumps(event["message"]))
    client.lambda_.invoke("on_pipeline_event", sns)

    analysis = get(client, f"/ingests/{entry['id']}/analysis")
    latest = get(client, "/analysis/health")

    assert analysis["key"] == "analysis/health/readback/day.json" == latest["key"]
    assert analysis["result"]["records_analyzed"] == 1 and analysis["result"]["anomaly_count"] == 1
    assert analysis["result"]["anomalies"][0]["line"] == 2
    assert analysis["download"]["expires_in"] == 900
    analyse(client, "private")
    for path in documented_reads():  # the read-back examples of docs/analysis.md, as written
        assert client.http.get(path).status_code == 200, path


def test_only_health_ingests_have_an_analysis(client, ingest_env):
    upload("raw/superheroes/readback.csv", "name,hero,power,xp,color\nAna,Ant,flight,10,red\n")
    deliver(client, "raw/superheroes/readback.csv")
    [entry] = get(client, "/ingests")["items"]

    body = get(client, f"/ingests/{entry['id']}/analysis", status=404)

    assert body["Message"] == f"ingest {entry['id']} is not a health file that loaded rows; only those are analysed"
