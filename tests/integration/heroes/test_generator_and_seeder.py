"""The superhero CSV generator (``python -m devtools.gen_superheroes``) and the ``make run`` seeder."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.heroes import cache as hero_cache
from devtools import gen_superheroes
from devtools.seed import seed_heroes
from devtools.stage import PROJECT_DIR
from tests.support.heroes import body, generation

HEAD5 = PROJECT_DIR / "data" / "superheroes" / "head5.csv"


def generate(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / f"heroes{len(list(tmp_path.iterdir()))}.csv"
    gen_superheroes.main(["--out", str(out), *args])
    return out


def test_the_file_has_the_shape_of_the_original(tmp_path):
    rows = list(csv.DictReader(generate(tmp_path, "--rows", "2000").open(newline="")))
    assert len(rows) == 2000
    assert list(rows[0]) == ["id", "name", "hero", "power", "xp", "color"]
    assert [int(r["id"]) for r in rows] == list(range(1, 2001))
    assert all(int(r["xp"]) == 2001 - int(r["id"]) for r in rows)
    assert all(re.fullmatch(r"[a-z]{2,20}", r["name"]) for r in rows)
    assert {r["hero"] for r in rows} == {"no", "maybe", "yes"}
    assert {r["power"] for r in rows} <= set(gen_superheroes.POWERS)
    assert {r["color"] for r in rows} <= set(gen_superheroes.COLORS)
    assert len({r["name"] for r in rows}) > 500  # varied, not a handful of names


def test_the_default_seed_starts_with_the_original_rows_and_seeds_repeat(tmp_path):
    first_chunk = next(gen_superheroes.generate_lines(1_000_000))
    assert first_chunk[:5] == HEAD5.read_text().splitlines()[1:]  # the original's first rows, xp = 1000001 - id
    default = generate(tmp_path, "--rows", "100000").read_text()
    assert generate(tmp_path, "--rows", "100000").read_text() == default
    other = generate(tmp_path, "--rows", "100000", "--seed", "7").read_text()
    assert other != default
    assert other == generate(tmp_path, "--rows", "100000", "--seed", "7").read_text()
    assert len(default.splitlines()) == 100_001


def test_the_command_line_validates_and_writes_to_stdout():
    run = [sys.executable, "-m", "devtools.gen_superheroes"]
    out = subprocess.run([*run, "--rows", "3", "--out", "-"], capture_output=True, text=True, cwd=PROJECT_DIR)
    assert out.stdout.splitlines() == HEAD5.read_text().splitlines()[:1] + [
        line.replace(str(1000001 - i), str(4 - i)) for i, line in enumerate(HEAD5.read_text().splitlines()[1:4], 1)
    ]
    bad = subprocess.run([*run, "--rows", "-1", "--out", "x.csv"], capture_output=True, text=True, cwd=PROJECT_DIR)
    assert bad.returncode == 2
    assert "--rows must be from 0 to 4294967295" in bad.stderr


def test_the_seeder_loads_an_empty_table_once_and_the_api_serves_it(client, hero_table, redis_client):
    hero_cache.invalidate_all_heroes()
    before = int(generation(redis_client))
    assert seed_heroes(hero_table, 300) == 300
    assert seed_heroes(hero_table, 300) == 0  # not empty any more: left alone
    assert int(generation(redis_client)) == before + 1  # the seeder dropped any cached hero
    assert body(client.http.get("/heroes/1")) == {
        "id": 1, "name": "irondoctor", "hero": "no", "power": "eat", "xp": 300, "color": "yellow"
    }  # fmt: skip
    assert body(client.http.get("/heroes?xp=1"))["items"][0]["id"] == 300


@pytest.mark.parametrize("rows", [0, 1, 5, 6])
def test_small_files_are_complete(tmp_path, rows):
    lines = generate(tmp_path, "--rows", str(rows)).read_text().splitlines()
    assert len(lines) == rows + 1
    assert (
        lines[1:]
        == [
            f"{i},{n},{h},{p},{rows + 1 - i},{c}"
            for i, (n, h, p, c) in enumerate(gen_superheroes.ORIGINAL_HEAD[:rows], 1)
        ]
        + lines[6:]
    )
