"""The bench's peers answer what the systems they stand for answer (a peer that did less would flatter us),
and the bench's table says which goals were met. Fast: a few rows in the test database."""

from __future__ import annotations

import json

from bench.peers import cafe_extractor, mp6_template
from bench.run import Bench

HERO = {"name": "irondoctor", "hero": "no", "power": "eat", "xp": 77, "color": "yellow"}


def test_template_peer_answers_the_templates_response_and_caches_by_xp(hero_table, redis_client):
    written = mp6_template.lambda_handler({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [HERO]}, None)
    assert written == {"statusCode": 200, "body": "write success"}
    with hero_table.cursor() as cur:
        cur.execute("SELECT id, name, hero, power, xp, color FROM superheroes")
        stored = cur.fetchall()
    assert stored == [{"id": 1, **HERO}]
    assert json.loads(redis_client.get("77"))["name"] == "irondoctor"  # write-through under str(xp)

    read = {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [77, 78]}
    first = mp6_template.lambda_handler(read, None)
    assert first["statusCode"] == 200
    assert [{k: row[k] for k in ("id", *HERO)} for row in first["body"]] == [{"id": 1, **HERO}]  # 78: no such hero
    redis_client.delete("77")
    assert mp6_template.lambda_handler(read, None) == first  # a miss reads MySQL and fills the cache again
    assert redis_client.ttl("77") > 0


def test_cafe_extractor_peer_sums_every_order_like_the_original(cafe):
    """The original extractor's result on the lab's sample data (every order, no date filter)."""
    answer = cafe_extractor.lambda_handler({}, None)
    assert answer["statusCode"] == 200
    assert [(row[2], row[4]) for row in answer["body"]] == [
        (1, 29), (2, 23), (3, 18), (4, 6), (5, 34), (6, 33), (7, 33), (8, 17), (9, 24)
    ]  # fmt: skip
    assert answer["body"][0][:4] == [1, "Pastries", 1, "Croissant"]


def test_bench_table_ratios_and_goals():
    bench = Bench(rows=10)
    bench.add("time", "s/request", 2.0, 1.0, {"peer": 10.0}, [("<= 1.5x limit", False)])
    bench.add("rate", "rows/s", 50.0, 100.0, {"pandas": 10.0}, [(">= 0.5x limit", True)])
    bench.add("memory", "MiB", 60.0, 30.0, {"pandas": 240.0}, [])
    time_row, rate_row, memory_row = bench.table
    assert time_row["ratios"] == {"ours/limit": 2.0, "faster than peer": 5.0}
    assert time_row["goals"] == [{"goal": "<= 1.5x limit", "met": False}]
    assert rate_row["ratios"] == {"ours/limit": 0.5, "faster than pandas": 5.0}
    assert memory_row["ratios"] == {"ours/limit": 2.0, "pandas/ours": 4.0}


def test_ratios_are_paired_per_round_and_shown_with_their_spread():
    from bench.run import markdown_table, round_ratios

    bench = Bench(rows=10)
    ours = {"runs": [{"rows_per_s": 70.0}, {"rows_per_s": 60.0}, {"rows_per_s": 90.0}]}
    limit = {"runs": [{"rows_per_s": 100.0}, {"rows_per_s": 100.0}, {"rows_per_s": 100.0}]}
    per_round = round_ratios(ours, limit, "rows_per_s")
    assert per_round == [0.7, 0.6, 0.9]
    bench.add("rate", "rows/s", 70.0, 100.0, {}, [(">= 0.7x limit", True)], per_round={"ours/limit": per_round})
    fast = {"ours": {"seconds": 2.0, "runs": [2.0, 3.0, 2.0]}, "limit": {"seconds": 1.0, "runs": [1.0, 1.0, 2.0]}}
    bench.add_rounds("time", "s/request", fast, {}, [("<= 1.5x limit", "ours/limit", 1.5)])
    rate_row, time_row = bench.table
    assert rate_row["ratios"]["ours/limit"] == 0.7  # the median round, not the ratio of medians
    assert time_row["ratios"]["ours/limit"] == 2.0 and time_row["per_round"]["ours/limit"] == [2.0, 3.0, 1.0]
    assert time_row["goals"] == [{"goal": "<= 1.5x limit", "met": False}]
    assert len(rate_row["load_average"]) == 3
    table = markdown_table({"table": bench.table})
    assert "ours/limit 0.70x (0.60-0.90, 3 rounds)" in table
    assert "ours/limit 2.00x (1.00-3.00, 3 rounds)" in table
