"""How validated superhero rows reach MySQL: new keys and rows without one through ``LOAD DATA``, existing or
repeated keys through the upsert, values byte for byte whatever characters they hold."""

from __future__ import annotations

from chalicelib.ingest import loaders, pipeline
from chalicelib.ingest.datasets import DATASETS
from tests.support.ingest import (
    read_csv,
    table_rows,
    upload,
)

AWKWARD = ['say "hi", ok', "back\\slash", "two\nlines", "NULL", "zürich 🦸", "tab\tin"]


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def test_new_repeated_existing_and_unkeyed_rows_load_exactly(client, db, ingest_env):
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO superheroes (id, name, hero, power, xp, color, version) VALUES (5, 'a', 'b', 'c', 1, 'd', 3)"
        )
    lines = ["id,name,hero,power,xp,color"]
    lines += [f"{10 + i},{_quoted(text)},  no  ,eat,{i},red" for i, text in enumerate(AWKWARD)]
    lines += ["20,first,no,eat,1,red", "20,second,no,eat,2,red"]  # a new key twice in one batch
    lines += [
        "5,renamed,yes,fly,50,blue",
        "10,again,maybe,run,60,pink",
        ",nokey,no,jump,70,white",
        "10,third,no,run,61,x",
    ]
    upload("raw/superheroes/awkward.csv", "\n".join(lines) + "\n")

    result = pipeline.ingest_object(ingest_env["bucket"], "raw/superheroes/awkward.csv", batch_rows=4)

    assert result["counts"] == {"input": 12, "loaded": 12, "rejected": 0}
    rows = table_rows(db, "SELECT id, name, hero, power, xp, color, version FROM superheroes ORDER BY id")
    by_id = {row.pop("id"): row for row in rows}
    assert by_id[5] == {"name": "renamed", "hero": "yes", "power": "fly", "xp": 50, "color": "blue", "version": 4}
    # id 10: added by its first row, replaced by the two later ones (each bumps the version)
    assert by_id[10] == {"name": "third", "hero": "no", "power": "run", "xp": 61, "color": "x", "version": 3}
    for i, text in enumerate(AWKWARD[1:], 1):
        assert by_id[10 + i] == {"name": text, "hero": "no", "power": "eat", "xp": i, "color": "red", "version": 1}
    assert by_id[20] == {"name": "second", "hero": "no", "power": "eat", "xp": 2, "color": "red", "version": 2}
    unkeyed = [row for key, row in by_id.items() if key > 20]
    assert unkeyed == [{"name": "nokey", "hero": "no", "power": "jump", "xp": 70, "color": "white", "version": 1}]
    assert [row["name"] for row in read_csv("processed/superheroes/awkward.csv")][:6] == AWKWARD


def _plain_chunk(ids: range, name: str) -> tuple[str, list[list]]:
    """Superhero rows as a raw chunk hands them to the writer: their text and their typed columns."""
    rows = [(hero_id, f"{name}{hero_id}", "no", "eat", 1, "red") for hero_id in ids]
    return "".join(",".join(map(str, row)) + "\n" for row in rows), [list(column) for column in zip(*rows, strict=True)]


def test_a_chunk_naming_ids_the_table_assigned_earlier_in_the_same_file_replaces_those_rows(db):
    """The writer reads the highest key once and loads a chunk above it as new rows without a read of its keys;
    rows without a key written meanwhile got ids the table assigned above it, which a later chunk may name."""
    with db.cursor() as cur:
        cur.execute("TRUNCATE TABLE superheroes")  # the ids the table assigns follow its highest one
        cur.execute("INSERT INTO superheroes (id, name, hero, power, xp, color) VALUES (1000, 'a', 'b', 'c', 1, 'd')")

    with db.transaction(dicts=False) as cursor, loaders.BatchWriter(cursor, DATASETS["superheroes"], {}) as writer:
        writer.write_text(*_plain_chunk(range(1001, 1011), "first"))  # above the highest key: loaded as it stands
        writer.write([(None, f"unkeyed{i}", "no", "eat", 1, "red") for i in range(5)])  # assigned 1011-1015
        writer.write_text(*_plain_chunk(range(1011, 1021), "named"))

    assert writer.written.present == 5
    rows = table_rows(db, "SELECT id, name, version FROM superheroes WHERE id > 1010 ORDER BY id")
    assert [(row["id"], row["name"], row["version"]) for row in rows] == [
        (hero_id, f"named{hero_id}", 2 if hero_id <= 1015 else 1) for hero_id in range(1011, 1021)
    ]
