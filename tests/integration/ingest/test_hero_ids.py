"""Data one row can break: a superhero file may not set an id that uses up the ids the table assigns
(``EXPLICIT_ID_CEILING``), an integer of thousands of digits is a rejected row, and a table whose ids did run
out (broken before this rule, by hand) answers a clear 409 to writes and rejects id-less files with a manifest:
never a 500, never a dropped file."""

from __future__ import annotations

import pytest

from chalicelib.heroes import EXPLICIT_ID_CEILING, ID_FIELD
from tests.support.heroes import body, hero, send
from tests.support.ingest import (
    deliver,
    read_csv,
    read_manifest,
    table_rows,
    upload,
)

HEADER = "id,name,hero,power,xp,color"
MP6_WRITE = {"USE_CACHE": "False", "REQUEST": "write", "SQLS": [hero()]}


def test_an_id_above_the_ceiling_is_rejected_and_ids_stay_assignable(client, db, ingest_env):
    rows = [
        f"{EXPLICIT_ID_CEILING},atceiling,no,eat,1,red",
        f"{ID_FIELD.maximum},greedy,no,eat,1,red",  # loaded, it moved AUTO_INCREMENT past the column's range
        f"{EXPLICIT_ID_CEILING + 1},greedy,no,eat,1,red",
        f"{'9' * 5000},huge,no,eat,1,red",  # more digits than Python converts
        f"1,huge,no,eat,{'1' * 5000},red",
    ]
    upload("raw/superheroes/ids.csv", "\n".join([HEADER, *rows]) + "\n")

    result = deliver(client, "raw/superheroes/ids.csv")

    assert result["status"] == "loaded"
    assert result["counts"] == {"input": 5, "loaded": 1, "rejected": 4}
    manifest = read_manifest("manifests/superheroes/ids.json")
    assert manifest["reasons"] == {"id_above_ceiling": 2, "out_of_range_id": 1, "out_of_range_xp": 1}
    assert [r["reject_reason"] for r in read_csv("rejected/superheroes/ids.csv")] == [
        "id_above_ceiling",
        "id_above_ceiling",
        "out_of_range_id",
        "out_of_range_xp",
    ]
    created = send(client, "POST", "/heroes", hero())
    assert created.status_code == 201, created.body
    assert body(created)["id"] == EXPLICIT_ID_CEILING + 1  # the ids above the ceiling are the table's to assign
    assert send(client, "POST", "/mp6", MP6_WRITE).status_code == 200


@pytest.fixture
def ids_used_up(db):
    """A table whose AUTO_INCREMENT passed its range, as the file above did before the ceiling."""
    with db.cursor() as cur:
        cur.execute("DELETE FROM superheroes")
        cur.execute(
            "INSERT INTO superheroes (id, name, hero, power, xp, color) VALUES (%s, 'last', 'no', 'eat', 1, 'red')",
            (ID_FIELD.maximum,),
        )
    yield
    with db.cursor() as cur:
        cur.execute("DELETE FROM superheroes")
        cur.execute("ALTER TABLE superheroes AUTO_INCREMENT = 1")


def test_when_ids_run_out_writes_answer_409_and_files_are_rejected_with_a_manifest(client, db, ingest_env, ids_used_up):
    for path, payload in (("/heroes", hero()), ("/heroes", [hero(), hero()]), ("/mp6", MP6_WRITE)):
        response = send(client, "POST", path, payload)
        assert response.status_code == 409, response.body
        assert body(response) == {
            "Code": "IdsExhausted",
            "Message": "no superheroes id is left to assign: the table's ids have reached their column's maximum",
        }
    upload("raw/superheroes/more.csv", f"{HEADER}\n,newcomer,no,eat,1,red\n7,explicit,no,eat,1,red\n")

    result = deliver(client, "raw/superheroes/more.csv")

    assert (result["status"], result["reason"]) == ("rejected", "ids_exhausted")
    manifest = read_manifest("manifests/superheroes/more.json")
    assert (manifest["status"], manifest["reason"]) == ("rejected", "ids_exhausted")
    assert table_rows(db, "SELECT name FROM superheroes") == [{"name": "last"}]  # the file loaded nothing
