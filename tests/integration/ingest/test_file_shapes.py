"""Files one detail used to break: bare CR line endings (old Mac exports) are read as the csv module reads them;
a quoted value holding a bare CR is written quoted again to ``processed/`` and ``rejected/`` (csv's writer quotes
it only when CR is in its line terminator), so that a reader of those files gets the value back, not a split
row; and an upload key so long that its outputs' keys would pass S3's 1,024-byte limit is rejected with its own
reason and a manifest under a key that fits."""

from __future__ import annotations

import csv
import hashlib
import io

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

ROWS = [f"2025-09-17T11:59:{s:02d}Z,user_{s},100,95,21,37.5,120,80" for s in range(3)]


def health_count(db) -> int:
    return table_rows(db, "SELECT COUNT(*) AS n FROM health_metrics")[0]["n"]


def test_a_file_with_bare_cr_line_endings_is_loaded(client, db, ingest_env):
    quoted = '2025-09-17T12:00:00Z,"user,9",100,95,21,37.5,120,80'
    upload("raw/health/mac.csv", "\r".join([HEALTH_HEADER, *ROWS, quoted]) + "\r")

    result = deliver(client, "raw/health/mac.csv")

    assert (result["status"], result["counts"]) == ("loaded", {"input": 4, "loaded": 4, "rejected": 0})
    assert health_count(db) == 4
    assert [row["user_id"] for row in read_csv("processed/health/mac.csv")] == ["user_0", "user_1", "user_2", "user,9"]


def csv_rows(key: str) -> list[list[str]]:
    """An output object's rows as :func:`csv.reader` reads a file opened with ``newline=""`` (as the csv docs
    say): any line end, a bare CR too, ends a line unless it is within quotes."""
    return list(csv.reader(io.StringIO(read_text(key), newline="")))


def test_a_value_with_a_bare_cr_round_trips_through_the_processed_and_rejected_files(client, db, ingest_env):
    header = ["id", "name", "hero", "power", "xp", "color"]
    body = ",".join(header) + '\n1,"iron\rdoctor",no,eat,5,yellow\n2,plain,no,eat,6,red\n3,"cr\rtoo",no,eat,lots,red\n'
    upload("raw/superheroes/cr.csv", body)

    result = deliver(client, "raw/superheroes/cr.csv")

    assert result["counts"] == {"input": 3, "loaded": 2, "rejected": 1}
    assert table_rows(db, "SELECT id, name FROM superheroes ORDER BY id") == [
        {"id": 1, "name": "iron\rdoctor"},
        {"id": 2, "name": "plain"},
    ]
    assert csv_rows("processed/superheroes/cr.csv") == [
        header,
        ["1", "iron\rdoctor", "no", "eat", "5", "yellow"],
        ["2", "plain", "no", "eat", "6", "red"],
    ]
    # only the value with the CR is quoted: every other byte is as the csv writer writes it
    processed = 'id,name,hero,power,xp,color\n1,"iron\rdoctor",no,eat,5,yellow\n2,plain,no,eat,6,red\n'
    assert read_text("processed/superheroes/cr.csv") == processed
    rejected = csv_rows("rejected/superheroes/cr.csv")
    assert rejected[0] == ["reject_reason", "line", *header]
    # (each row's line aside: the ingest counts a bare CR as a line end, as in files with old Mac line ends)
    assert [[row[0], *row[2:]] for row in rejected[1:]] == [["invalid_xp", "3", "cr\rtoo", "no", "eat", "lots", "red"]]


def long_key(total_bytes: int) -> str:
    prefix, suffix = "raw/health/", ".csv"
    room = total_bytes - len(prefix) - len(suffix)
    return prefix + "a" * (room % 2) + "é" * (room // 2) + suffix  # é: 2 bytes in UTF-8


def test_an_upload_whose_outputs_would_pass_the_key_limit_is_rejected_with_a_manifest_that_fits(client, db, ingest_env):
    key = long_key(1024)
    assert len(key.encode()) == 1024
    upload(key, "\n".join([HEALTH_HEADER, *ROWS]) + "\n")

    result = deliver(client, key)

    assert (result["status"], result["reason"]) == ("rejected", "key_too_long")
    manifest_key = f"manifests/key-too-long/{hashlib.sha256(key.encode()).hexdigest()}.json"
    assert result["manifest_key"] == manifest_key
    manifest = read_manifest(manifest_key)
    assert (manifest["status"], manifest["reason"], manifest["source"]["key"]) == ("rejected", "key_too_long", key)
    assert "past S3's limit of 1024" in manifest["detail"]
    assert health_count(db) == 0
    [event] = published_events(ingest_env["events_queue"])
    assert (event["message"]["status"], event["message"]["manifest_key"]) == ("rejected", manifest_key)


def test_the_longest_upload_key_whose_outputs_fit_is_loaded(client, db, ingest_env):
    key = long_key(1017)  # manifests/ and .json add 7 bytes: 1,024
    assert len(key.encode()) == 1017
    upload(key, "\n".join([HEALTH_HEADER, *ROWS]) + "\n")

    result = deliver(client, key)

    assert result["status"] == "loaded"
    assert len(result["manifest_key"].encode()) == 1024 and exists(result["manifest_key"])
    assert health_count(db) == 3
