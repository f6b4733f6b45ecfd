"""Blocks of plain, canonical rows pass their text through to ``processed/`` and ``LOAD DATA`` unchanged; every
other block takes the CSV path. Both give the same table rows, the same ``processed/`` bytes and the same
rejections: a file whose columns are in the declared order (raw chunks where the blocks allow) loads exactly as
the same rows with the columns in another order (the CSV path throughout)."""

from __future__ import annotations

import csv
import io

from chalicelib.core.mysql import Database
from chalicelib.core.s3 import READ_CHUNK_BYTES
from chalicelib.ingest import pipeline
from tests.support.ingest import read_csv, read_manifest, read_text, table_rows, upload

COLUMNS = ["id", "name", "hero", "power", "xp", "color"]
PERMUTED = ["color", "xp", "name", "id", "power", "hero"]
EXISTING = 900_001  # in the table before the ingest: its row in the file replaces it


def rows_in_blocks() -> list[list[str]]:
    """About four blocks of rows: canonical ones, then one non-canonical value and a rejected row in the
    second block, a quoted field with a comma and a newline in the third, and in the fourth an existing key
    and a key repeated within the block."""
    rows: list[list[str]] = []
    size = len(",".join(COLUMNS)) + 1
    specials = {
        1: [["+42", "signed", "no", "eat", "1", "red"], ["43", "bad xp", "no", "eat", "x", "red"]],
        2: [["44", "a, b", "no", "eat", "1", "red"], ["45", "two\nlines", "no", "eat", "1", "red"]],
        3: [[str(EXISTING), "replaced", "yes", "fly", "9", "blue"], ["46", "again", "no", "eat", "2", "red"]],
    }
    hero_id = 100
    while size < 4 * READ_CHUNK_BYTES:
        block = size // READ_CHUNK_BYTES
        for special in specials.pop(block, []) if size % READ_CHUNK_BYTES > READ_CHUNK_BYTES // 2 else []:
            rows.append(special)
        hero_id += 1
        rows.append([str(hero_id), f"hero{hero_id % 997}", "no", "eat", str(hero_id % 5000), "red"])
        size += len(",".join(rows[-1])) + 1
    rows.append(["46", "last", "no", "eat", "3", "red"])
    return rows


def as_csv(rows: list[list[str]], columns: list[str]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    order = [COLUMNS.index(name) for name in columns]
    writer.writerows([[row[i] for i in order] for row in rows])
    return text.getvalue()[:-1]  # the last line without its newline


def ingest(env: dict, db: Database, name: str, body: str) -> dict:
    with db.cursor() as cur:
        cur.execute("DELETE FROM superheroes")
        cur.execute("DELETE FROM ingest_ledger")
        cur.execute(
            "INSERT INTO superheroes (id, name, hero, power, xp, color, version)"
            " VALUES (%s, 'old', 'no', 'x', 1, 'y', 4)",
            (EXISTING,),
        )
    key = f"raw/superheroes/{name}.csv"
    upload(key, body)
    result = pipeline.ingest_object(env["bucket"], key)
    rejected = {
        (row["reject_reason"], row["line"], row["id"], row["name"])
        for row in read_csv(f"rejected/superheroes/{name}.csv")
    }
    return {
        "counts": result["counts"],
        "reasons": result["reasons"],
        "rejected": rejected,
        "processed": read_text(f"processed/superheroes/{name}.csv"),
        "table": table_rows(db, "SELECT id, name, hero, power, xp, color, version FROM superheroes ORDER BY id"),
        "manifest_counts": read_manifest(f"manifests/superheroes/{name}.json")["counts"],
    }


def test_raw_chunks_and_the_csv_path_load_the_same_rows_and_write_the_same_bytes(db, ingest_env):
    rows = rows_in_blocks()
    raw = ingest(ingest_env, db, "declared-order", as_csv(rows, COLUMNS))
    parsed = ingest(ingest_env, db, "other-order", as_csv(rows, PERMUTED))

    assert raw["processed"] == parsed["processed"]
    assert raw["table"] == parsed["table"]
    assert raw["counts"] == parsed["counts"] == raw["manifest_counts"]
    assert raw["counts"] == {"input": len(rows), "loaded": len(rows) - 1, "rejected": 1}
    assert raw["reasons"] == parsed["reasons"] == {"invalid_xp": 1}
    bad_line = 2 + next(i for i, row in enumerate(rows) if row[0] == "43")  # after the header, from 1
    assert raw["rejected"] == parsed["rejected"] == {("invalid_xp", str(bad_line), "43", "bad xp")}
    by_id = {row["id"]: row for row in raw["table"]}
    assert by_id[42]["name"] == "signed"
    assert (by_id[44]["name"], by_id[45]["name"]) == ("a, b", "two\nlines")
    assert (by_id[EXISTING]["name"], by_id[EXISTING]["version"]) == ("replaced", 5)
    assert (by_id[46]["name"], by_id[46]["version"]) == ("last", 2)  # added in the fourth block, then replaced
    # the header, every loaded row ending in \n, and the newline within "two\nlines"
    assert raw["processed"].count("\n") == 1 + (len(rows) - 1) + 1
    assert '\n44,"a, b",no,eat,1,red\n' in raw["processed"]
