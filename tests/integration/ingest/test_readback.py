"""What happened to an upload, over HTTP: ``GET /ingests``, ``GET /ingests/{id}`` with download links,
``GET /ingests/{id}/rejected``, and ``POST /uploads`` links that a client without AWS credentials can use."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from devtools import events
from tests.support.ingest import (
    HEALTH_HEADER,
    deliver,
    exists,
    read_text,
    upload,
)

GOOD = "2025-09-17T12:00:00Z,user_1,72,98,100,36.6,120,80"
TOO_FAST = "2025-09-17T12:01:00Z,user_1,300,98,100,36.6,120,80"
TOO_COLD = "2025-09-17T12:02:00Z,user_2,70,98,100,20,120,80"


def ingested(client: Any, key: str, lines: list[str]) -> dict[str, Any]:
    """Upload ``lines`` under ``key``, deliver the event, answer the list entry ``GET /ingests`` gives for it."""
    upload(key, "\n".join([HEALTH_HEADER, *lines]) + "\n")
    deliver(client, key)
    items = get(client, "/ingests?limit=500")["items"]
    return next(item for item in items if item["key"] == key)


def get(client: Any, path: str, status: int = 200) -> Any:
    answer = client.http.get(path)
    assert answer.status_code == status, answer.body
    return json.loads(answer.body)


def fetch(url: str) -> bytes:
    """What a client without AWS credentials gets from a pre-signed URL."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_ingests_are_listed_newest_first_with_their_counts(client, ingest_env):
    first = ingested(client, "raw/health/list/a.csv", [GOOD])
    second = ingested(client, "raw/health/list/b.csv", [GOOD, TOO_FAST])

    items = get(client, "/ingests")["items"]

    assert [item["key"] for item in items[:2]] == ["raw/health/list/b.csv", "raw/health/list/a.csv"]
    assert second["id"] > first["id"]
    assert second["dataset"] == "health" and second["status"] == "loaded"
    assert second["counts"] == {"input": 2, "loaded": 1, "rejected": 1}
    assert second["received_at"].startswith(datetime.now(UTC).date().isoformat())
    assert second["completed_at"]


def test_ingests_are_filtered_by_dataset_status_and_day(client, ingest_env):
    loaded = ingested(client, "raw/health/filter/ok.csv", [GOOD])
    rejected = ingested(client, "raw/health/filter/empty.csv", [])  # no rows but the header: loaded, 0 rows
    upload("raw/health/filter/bad.csv", "not,a,header\n1,2,3\n")
    deliver(client, "raw/health/filter/bad.csv")
    today = datetime.now(UTC).date().isoformat()

    keys = {
        query: [item["key"] for item in get(client, f"/ingests?{query}")["items"]]
        for query in ("dataset=health", "dataset=orders", "status=rejected", "status=loaded", f"day={today}")
    }

    assert keys["dataset=health"][:3] == ["raw/health/filter/bad.csv", rejected["key"], loaded["key"]]
    assert keys["dataset=orders"] == []
    assert keys["status=rejected"] == ["raw/health/filter/bad.csv"]
    assert "raw/health/filter/bad.csv" not in keys["status=loaded"]
    assert len(keys[f"day={today}"]) == 3
    assert get(client, "/ingests?day=2001-01-01")["items"] == []


def test_ingests_are_paged_by_cursor(client, ingest_env):
    for name in ("p1", "p2", "p3"):
        ingested(client, f"raw/health/page/{name}.csv", [GOOD])

    first = get(client, "/ingests?limit=2")
    rest = get(client, f"/ingests?limit=2&after={first['next']}")

    assert [item["key"] for item in first["items"]] == ["raw/health/page/p3.csv", "raw/health/page/p2.csv"]
    assert [item["key"] for item in rest["items"]] == ["raw/health/page/p1.csv"]
    assert rest["next"] is None


def test_an_ingest_answers_its_manifest_and_links_to_its_objects(client, ingest_env):
    entry = ingested(client, "raw/health/one/day.csv", [GOOD, TOO_FAST])

    manifest = get(client, f"/ingests/{entry['id']}")

    assert manifest["id"] == entry["id"]
    assert manifest["status"] == "loaded"
    assert manifest["counts"] == {"input": 2, "loaded": 1, "rejected": 1}
    assert manifest["reasons"] == {"out_of_range_heart_rate": 1}
    assert manifest["outputs"] == {
        "processed": "processed/health/one/day.csv",
        "rejected": "rejected/health/one/day.csv",
    }
    assert manifest["started_at"] <= manifest["finished_at"]
    assert set(manifest["downloads"]) == {"source", "processed", "rejected", "manifest"}
    for name, key in [
        ("source", "raw/health/one/day.csv"),
        ("processed", "processed/health/one/day.csv"),
        ("rejected", "rejected/health/one/day.csv"),
        ("manifest", "manifests/health/one/day.json"),
    ]:
        link = manifest["downloads"][name]
        assert link["expires_in"] == 900
        assert fetch(link["url"]).decode() == read_text(key)


def test_the_rejected_rows_come_with_their_line_and_reason_in_pages(client, ingest_env):
    entry = ingested(client, "raw/health/rej/day.csv", [GOOD, TOO_FAST, "", GOOD, TOO_COLD])

    first = get(client, f"/ingests/{entry['id']}/rejected?limit=1")
    rest = get(client, f"/ingests/{entry['id']}/rejected?limit=1&after={first['next']}")

    assert first["columns"] == HEALTH_HEADER.split(",")
    assert first["items"] == [{"line": 3, "reason": "out_of_range_heart_rate", "values": TOO_FAST.split(",")}]
    assert rest["items"] == [{"line": 6, "reason": "out_of_range_temp_c", "values": TOO_COLD.split(",")}]
    assert rest["next"] is None
    clean = ingested(client, "raw/health/rej/clean.csv", [GOOD])
    assert get(client, f"/ingests/{clean['id']}/rejected")["items"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/ingests?limit=0",
        "/ingests?limit=501",
        "/ingests?limit=ten",
        "/ingests?after=-1",
        "/ingests?status=done",
        "/ingests?day=2025-13-01",
        "/ingests?day=yesterday",
        "/ingests?dataset=../x",
        "/ingests?dataset=a&dataset=b",
        "/ingests?colour=red",
        "/ingests/abc",
        "/ingests/0",
        "/ingests/99999999999999999999999",
        "/ingests/1/rejected?limit=abc",
    ],
)
def test_bad_parameters_are_answered_400(client, ingest_env, path):
    if path.startswith("/ingests/1/"):  # the id must exist for its parameters to be looked at
        path = path.replace("/1/", f"/{ingested(client, 'raw/health/bad/p.csv', [GOOD])['id']}/")
    body = get(client, path, status=400)
    assert body["Code"] == "BadRequestError" and body["Message"]


@pytest.mark.parametrize("suffix", ["", "/rejected", "/analysis"])
def test_unknown_ingests_are_answered_404(client, ingest_env, suffix):
    body = get(client, f"/ingests/987654321{suffix}", status=404)
    assert body == {"Code": "NotFoundError", "Message": "no ingest with id 987654321"}


def test_rejected_files_written_before_line_numbers_are_paged_by_row(client, ingest_env):
    entry = ingested(client, "raw/health/old/day.csv", [TOO_FAST, GOOD, TOO_COLD])
    older = f"reject_reason,{HEALTH_HEADER}\nout_of_range_heart_rate,{TOO_FAST}\nout_of_range_temp_c,{TOO_COLD}\n"
    upload("rejected/health/old/day.csv", older)  # as the ingest wrote it before the line column

    first = get(client, f"/ingests/{entry['id']}/rejected?limit=1")
    rest = get(client, f"/ingests/{entry['id']}/rejected?after={first['next']}")

    assert first["columns"] == HEALTH_HEADER.split(",")
    assert first["items"] == [{"line": None, "reason": "out_of_range_heart_rate", "values": TOO_FAST.split(",")}]
    assert rest["items"] == [{"line": None, "reason": "out_of_range_temp_c", "values": TOO_COLD.split(",")}]
    assert (first["next"], rest["next"]) == (1, None)


def test_rejected_rows_gone_from_the_bucket_are_answered_404(client, ingest_env):
    entry = ingested(client, "raw/health/gone/day.csv", [TOO_FAST])
    boto3.client("s3").delete_object(Bucket=ingest_env["bucket"], Key="rejected/health/gone/day.csv")

    body = get(client, f"/ingests/{entry['id']}/rejected", status=404)

    assert "no longer in the bucket" in body["Message"]


def post(client: Any, path: str, body: Any) -> Any:
    return client.http.post(path, headers={"Content-Type": "application/json"}, body=json.dumps(body))


def test_an_upload_link_puts_a_csv_that_the_local_delivery_ingests(client, ingest_env):
    from app import app

    answer = post(client, "/uploads", {"dataset": "health", "name": "linked/2025-09.csv"})
    assert answer.status_code == 200, answer.body
    link = json.loads(answer.body)
    assert link["key"] == "raw/health/linked/2025-09.csv"
    assert (link["method"], link["headers"], link["expires_in"]) == ("PUT", {"Content-Type": "text/csv"}, 900)

    routes = events.setup_delivery(app)
    try:
        body = f"{HEALTH_HEADER}\n{GOOD}\n".encode()
        request = urllib.request.Request(link["url"], data=body, headers=link["headers"], method="PUT")
        urllib.request.urlopen(request, timeout=10).close()
        deadline = time.monotonic() + 20
        while not exists("manifests/health/linked/2025-09.json") and time.monotonic() < deadline:
            events.deliver_pending(app, routes)
    finally:
        events.teardown_delivery(routes, [ingest_env["bucket"]])

    [entry] = [i for i in get(client, "/ingests?dataset=health")["items"] if i["key"] == link["key"]]
    assert entry["counts"] == {"input": 1, "loaded": 1, "rejected": 0}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dataset": "nope", "name": "a.csv"}, "dataset must be one of"),
        ({"dataset": 7, "name": "a.csv"}, "dataset must be one of"),
        ({"dataset": "health", "name": "a.txt"}, "name must be a file name ending in .csv"),
        ({"dataset": "health", "name": "../escape.csv"}, "name must be a file name"),
        ({"dataset": "health", "name": "a b.csv"}, "name must be a file name"),
        ({"dataset": "health", "name": "/abs.csv"}, "name must be a file name"),
        ({"dataset": "health", "name": "x" * 1010 + ".csv"}, "name is too long"),
        ({"dataset": "health"}, "name must be a file name"),
        ({"dataset": "health", "name": "a.csv", "bucket": "b"}, "unknown field(s) bucket"),
        ([], "must be a JSON object"),
    ],
)
def test_bad_upload_requests_are_answered_400(client, platform, body, message):
    answer = post(client, "/uploads", body)
    assert answer.status_code == 400
    assert message in json.loads(answer.body)["Message"]


def test_the_longest_accepted_name_fits_every_derived_key(client, platform):
    name = "x" * (1024 - len("manifests/health/") - len(".json")) + ".csv"
    link = json.loads(post(client, "/uploads", {"dataset": "health", "name": name}).body)
    assert len(link["key"]) <= 1024
    assert post(client, "/uploads", {"dataset": "health", "name": "x" + name}).status_code == 400
