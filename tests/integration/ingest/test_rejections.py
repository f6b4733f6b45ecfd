"""Rejected rows with their reasons, whole-file rejections, and the CSV dialect the ingest accepts."""

from __future__ import annotations

import pytest

from tests.support.ingest import (
    HEALTH_HEADER,
    deliver,
    exists,
    published_events,
    read_csv,
    read_manifest,
    table_rows,
    upload,
)

GOOD_HEALTH = "2025-09-17T11:59:16Z,user_1,100,95,21,37.5,120,80"

# (dataset, header, [(row, reason or None for a valid row)])
ROW_CASES = {
    "superheroes": (
        "id,name,hero,power,xp,color",
        [
            ("1,irondoctor,no,eat,1000000,yellow", None),
            (",windhero,no,grow,99.0,blue", None),
            ("2,,no,eat,1,red", "missing_name"),
            ("3,abcdefghijklmnopqrstu,no,eat,1,red", "too_long_name"),
            ("4,a,no,eat,lots,red", "invalid_xp"),
            ("5,a,no,eat,1.5,red", "invalid_xp"),
            ("6,a,no,eat,-1,red", "out_of_range_xp"),
            ("7,a,no,eat,4294967296,red", "out_of_range_xp"),
            ("0,a,no,eat,1,red", "out_of_range_id"),
            ("x,a,no,eat,1,red", "invalid_id"),
            ("8,a,no,eat,1", "wrong_column_count"),
            ("9,a,no,eat,1,red,extra", "wrong_column_count"),
            ("10,a,no,eat,,red", "missing_xp"),
        ],
    ),
    "health": (
        HEALTH_HEADER,
        [
            (GOOD_HEALTH, None),
            ("2025-09-17 12:00:00,user_1,50,90,0,35.0,90,60", None),
            (",user_1,100,95,21,37.5,120,80", "missing_event_time"),
            ("yesterday,user_1,100,95,21,37.5,120,80", "invalid_event_time"),
            ("2025-09-17,user_1,100,95,21,37.5,120,80", "invalid_event_time"),
            ("2025-09-17T11:59:16Z,,100,95,21,37.5,120,80", "missing_user_id"),
            ("2025-09-17T11:59:16Z,user_1,49,95,21,37.5,120,80", "out_of_range_heart_rate"),
            ("2025-09-17T11:59:16Z,user_1,181,95,21,37.5,120,80", "out_of_range_heart_rate"),
            ("2025-09-17T11:59:16Z,user_1,100,89,21,37.5,120,80", "out_of_range_spo2"),
            ("2025-09-17T11:59:16Z,user_1,100,95,50001,37.5,120,80", "out_of_range_steps"),
            ("2025-09-17T11:59:16Z,user_1,100,95,21,40.1,120,80", "out_of_range_temp_c"),
            ("2025-09-17T11:59:16Z,user_1,100,95,21,warm,120,80", "invalid_temp_c"),
            ("2025-09-17T11:59:16Z,user_1,100,95,21,37.5,181,80", "out_of_range_systolic_bp"),
            ("2025-09-17T11:59:16Z,user_1,100,95,21,37.5,120,59", "out_of_range_diastolic_bp"),
            ("2025-09-17T11:59:16Z,user_1,100,95,21,37.5,100,110", "diastolic_above_systolic"),
            ("2025-09-17T11:59:16Z,user_1,300,40,21,37.5,120,80", "out_of_range_heart_rate"),
        ],
    ),
    "orders": (
        "order_number,order_date_time,order_item_number,product_id,quantity",
        [
            ("2001,2026-03-02 09:15:00,1,1,4", None),
            ("2002,2026-03-02 09:15:00,1,99,4", "unknown_product"),
            ("2003,2026-03-02 09:15:00,1,1,0", "out_of_range_quantity"),
            ("2004,2040-01-01 00:00:00,1,1,1", "out_of_range_order_date_time"),
            ("abc,2026-03-02 09:15:00,1,1,1", "invalid_order_number"),
            ("2005,2026-03-02 09:15:00,,1,1", "missing_order_item_number"),
        ],
    ),
}


@pytest.mark.parametrize("dataset", sorted(ROW_CASES))
def test_every_rejected_row_is_reported_with_its_reason(client, cafe, ingest_env, dataset):
    header, cases = ROW_CASES[dataset]
    upload(f"raw/{dataset}/cases.csv", "\n".join([header] + [row for row, _ in cases]) + "\n")

    result = deliver(client, f"raw/{dataset}/cases.csv")

    expected = [reason for _, reason in cases if reason]
    assert result["counts"] == {"input": len(cases), "loaded": len(cases) - len(expected), "rejected": len(expected)}
    rejected = read_csv(f"rejected/{dataset}/cases.csv")
    assert [r["reject_reason"] for r in rejected] == expected
    first_bad = next(row for row, reason in cases if reason)
    assert ",".join(list(rejected[0].values())[2:]) == first_bad  # the row as uploaded
    # the line each rejected row has in the uploaded file (the header is line 1)
    assert [int(r["line"]) for r in rejected] == [i + 2 for i, (_, reason) in enumerate(cases) if reason]
    manifest = read_manifest(f"manifests/{dataset}/cases.json")
    assert sum(manifest["reasons"].values()) == manifest["counts"]["rejected"]
    assert len(read_csv(f"processed/{dataset}/cases.csv")) == len(cases) - len(expected)


WHOLE_FILE_CASES = [
    (
        "raw/health/latin1.csv",
        f"{HEALTH_HEADER}\n{GOOD_HEALTH}\nT,caf\xe9".encode("latin-1"),
        "not_utf8",
    ),
    ("raw/health/utf16.csv", f"{HEALTH_HEADER}\n{GOOD_HEALTH}\n".encode("utf-16"), "not_utf8"),
    ("raw/health/empty.csv", b"", "empty_file"),
    ("raw/health/blank.csv", b"\xef\xbb\xbf\r\n\n", "empty_file"),
    ("raw/health/noheader.csv", f"{GOOD_HEALTH}\n{GOOD_HEALTH}\n".encode(), "missing_header"),
    ("raw/health/extra.csv", f"{HEALTH_HEADER},mood\n{GOOD_HEALTH},ok\n".encode(), "wrong_header"),
    ("raw/health/short.csv", b"event_time,user_id,heart_rate\n2025-09-17T11:59:16Z,user_1,100\n", "wrong_header"),
    ("raw/superheroes/hero.csv", b"id,name,hero,power,xp,colour\n1,a,no,eat,1,red\n", "wrong_header"),
    ("raw/planets/mars.csv", f"{HEALTH_HEADER}\n{GOOD_HEALTH}\n".encode(), "unknown_dataset"),
    ("raw/health/quote.csv", f'{HEALTH_HEADER}\n{GOOD_HEALTH}\n"2025-09-17,user_1\n'.encode(), "malformed_csv"),
]


@pytest.mark.parametrize(("key", "body", "reason"), WHOLE_FILE_CASES, ids=[c[2] + ":" + c[0] for c in WHOLE_FILE_CASES])
def test_a_file_that_cannot_be_read_is_rejected_whole_and_loads_nothing(client, db, ingest_env, key, body, reason):
    upload(key, body)

    result = deliver(client, key)

    assert result["status"] == "rejected"
    assert result["reason"] == reason
    assert result["counts"] == {"input": 0, "loaded": 0, "rejected": 0}
    manifest_key = "manifests/" + key.removeprefix("raw/").removesuffix(".csv") + ".json"
    manifest = read_manifest(manifest_key)
    assert (manifest["status"], manifest["reason"]) == ("rejected", reason)
    assert manifest["detail"]
    assert len(manifest["sha256"]) == 64
    for kind in ("processed", "rejected"):
        assert not exists(manifest_key.replace("manifests/", f"{kind}/").replace(".json", ".csv"))
    assert table_rows(db, "SELECT COUNT(*) AS n FROM health_metrics")[0]["n"] == 0
    assert table_rows(db, "SELECT COUNT(*) AS n FROM superheroes")[0]["n"] == 0
    [event] = published_events(ingest_env["events_queue"])
    assert event["message"]["status"] == "rejected"


def test_a_bad_byte_after_many_loaded_rows_rolls_the_whole_file_back(client, db, ingest_env):
    rows = [f"2025-09-17T11:{i // 60 % 60:02d}:{i % 60:02d}Z,user_{i % 7},100,95,21,37.5,120,80" for i in range(12000)]
    upload("raw/health/late.csv", "\n".join([HEALTH_HEADER, *rows]).encode() + b"\n2025-09-17T11:59:16Z,\xff\n")

    result = deliver(client, "raw/health/late.csv")

    assert (result["status"], result["reason"]) == ("rejected", "not_utf8")
    assert table_rows(db, "SELECT COUNT(*) AS n FROM health_metrics")[0]["n"] == 0
    assert not exists("processed/health/late.csv")


def test_bom_crlf_and_quoted_fields_are_accepted(client, db, ingest_env):
    body = (
        "\ufeffId,Name,Hero,Power,XP,Color\r\n"
        '11,"iron, doctor",no,"eat ""all""",5,yellow\r\n'
        '12,"two\r\nlines",maybe,fly,6,"blue"\r\n'
        "\r\n"
        " 13 , spaced , no , run , 7 , red \r\n"
    )
    upload("raw/superheroes/windows.csv", body.encode("utf-8"))

    result = deliver(client, "raw/superheroes/windows.csv")

    assert result["counts"] == {"input": 3, "loaded": 3, "rejected": 0}
    rows = table_rows(db, "SELECT id, name, power, xp, color FROM superheroes ORDER BY id")
    assert rows == [
        {"id": 11, "name": "iron, doctor", "power": 'eat "all"', "xp": 5, "color": "yellow"},
        {"id": 12, "name": "two\r\nlines", "power": "fly", "xp": 6, "color": "blue"},
        {"id": 13, "name": "spaced", "power": "run", "xp": 7, "color": "red"},
    ]
    assert read_csv("processed/superheroes/windows.csv")[0]["name"] == "iron, doctor"


def test_multibyte_characters_split_between_read_chunks_are_decoded(client, db, ingest_env):
    from chalicelib.core.s3 import READ_CHUNK_BYTES

    def build(pad: int) -> bytes:
        rows = [f"2025-09-17T11:59:16Z,{'x' * pad}€ü{i},100,95,21,37.5,120,80" for i in range(READ_CHUNK_BYTES // 40)]
        return ("\n".join([HEALTH_HEADER, *rows]) + "\n").encode("utf-8")

    # shift the rows until the chunk boundary falls inside a multi-byte character
    body = next(b for b in map(build, range(4)) if b[READ_CHUNK_BYTES] & 0xC0 == 0x80)
    upload("raw/health/unicode.csv", body)

    result = deliver(client, "raw/health/unicode.csv")

    rows = READ_CHUNK_BYTES // 40
    assert result["counts"] == {"input": rows, "loaded": rows, "rejected": 0}
    users = table_rows(db, "SELECT user_id FROM health_metrics WHERE user_id LIKE %s", ("%€ü%",))
    assert len(users) == rows
