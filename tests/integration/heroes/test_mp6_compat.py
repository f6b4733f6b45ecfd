"""``POST /mp6`` answers as the course's original Lambda answered (issue 12): a table of requests, each with
what the original did with it (an answer, or a crash) and what the platform answers (the same answer, or a 400
that says why). The rows: two heroes of xp 10000 (the lower id first), one of 9999, one of 1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.heroes import body, db_by_xp, hero, send

pytestmark = pytest.mark.usefixtures("hero_table")


class Crash:
    """The original raised (its invocation failed); the platform answers 400 with ``fragment`` in the message."""

    def __init__(self, fragment: str) -> None:
        self.fragment = fragment


def read(sqls: Any, **extra: Any) -> dict[str, Any]:
    return {"USE_CACHE": "False", "REQUEST": "read", "SQLS": sqls, **extra}


# (case, request, the original's answer: the xp of each hero answered in order, or "write success", or a Crash)
CASES: list[tuple[str, Any, Any]] = [
    ("xp values in order", read([9999, 10000]), [9999, 10000]),
    ("repeated values answered each time", read([10000, 10000, 9999]), [10000, 10000, 9999]),
    ("a value without a hero is skipped", read([5, 10000, 6]), [10000]),
    ("numeric strings", read(["10000", "9999"]), [10000, 9999]),
    ("numeric string with spaces and sign", read([" +9999 "]), [9999]),
    ("a numeric string with a fraction", read(["10000.0", "9999.5"]), [10000]),
    ("a fraction matches no hero", read(["1.5"]), []),
    ("a value outside the column matches no hero", read([-1, 2**40, "-3"]), []),
    ("empty SQLS", read([]), []),
    ('USE_CACHE "true"', read([9999], USE_CACHE="true"), [9999]),
    ("USE_CACHE true", read([9999], USE_CACHE=True), [9999]),
    ('USE_CACHE "True"', read([9999], USE_CACHE="True"), [9999]),
    ("extra keys ignored", read([9999], course="mp6", version=2), [9999]),
    ("unknown REQUEST", read([9999], REQUEST="delete"), []),
    ("unknown REQUEST without SQLS", {"USE_CACHE": "True", "REQUEST": "list"}, []),
    (
        "write with a numeric string xp",
        {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [hero(xp="20003")]},
        "write success",
    ),
    (
        "write ignores extra hero keys",
        {"USE_CACHE": "False", "REQUEST": "write", "SQLS": [hero(id=7, xp=20004, age=3)]},
        "write success",
    ),
    (
        "write with a float xp",
        {"USE_CACHE": "False", "REQUEST": "write", "SQLS": [hero(xp=20005.0)]},
        "write success",
    ),
    ("write of no heroes", {"USE_CACHE": "False", "REQUEST": "write", "SQLS": []}, "write success"),
    ("missing USE_CACHE", {"REQUEST": "read", "SQLS": [9999]}, Crash("the body has no USE_CACHE")),
    ("missing REQUEST", {"USE_CACHE": "True", "SQLS": [9999]}, Crash("the body has no REQUEST")),
    ("missing SQLS", {"USE_CACHE": "True", "REQUEST": "read"}, Crash("the body has no SQLS")),
    ("SQLS not a list", read("10000"), Crash("SQLS must be a list, got a string")),
    ("SQLS an object", read({"xp": 1}), Crash("SQLS must be a list, got an object")),
    ("SQL injection text", read(["1 OR 1=1"]), Crash("SQLS[0]: xp must be a number or a string of a number")),
    (
        "SQL injection statement",
        read(["1; DROP TABLE superheroes"]),
        Crash("SQLS[0]: xp must be a number or a string of a number"),
    ),
    ("null xp", read([9999, None]), Crash("SQLS[1]: xp must be a number or a string of a number")),
    # the original formatted JSON numbers into its SQL too: 10000.0 is 10000, a fraction finds nothing, true is 1
    ("a float xp", read([10000.0, 9999.5]), [10000]),
    ("a boolean xp", read([True]), [1]),
    ("an object xp", read([{"xp": 1}]), Crash("SQLS[0]: xp must be a number or a string of a number")),
    ("body not an object", [9999], Crash("the body must be a JSON object")),
    (
        "a hero name too long",
        {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [hero(name="x" * 21)]},
        Crash("SQLS[0]: name must be 1 to 20 characters"),
    ),
    (
        "a negative xp written",
        {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [hero(xp="-5")]},
        Crash("SQLS[0]: xp must be from 0 to 4294967295"),
    ),
    (
        "a hero field missing",
        {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [{"name": "a"}]},
        Crash("SQLS[0]: missing field(s)"),
    ),
    (
        "write SQLS not a list",
        {"USE_CACHE": "True", "REQUEST": "write", "SQLS": {}},
        Crash("SQLS must be a list, got an object"),
    ),
    (
        "write injection in xp",
        {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [hero(xp="1); DROP TABLE x; --")]},
        Crash("SQLS[0]: xp must be an integer"),
    ),
]


@pytest.fixture
def rows(db: Any) -> dict[int, list[dict[str, Any]]]:
    """The table the cases read: xp -> its heroes by id."""
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO superheroes (name, hero, power, xp, color) VALUES (%s, %s, %s, %s, %s)",
            [
                ("first", "yes", "fly", 10000, "red"),
                ("second", "no", "eat", 10000, "blue"),
                ("third", "yes", "run", 9999, "green"),
                ("one", "no", "sing", 1, "white"),
            ],
        )
    return {xp: db_by_xp(db, xp) for xp in (10000, 9999, 1)}


@pytest.mark.parametrize(("case", "request_body", "original"), CASES, ids=[case for case, _, _ in CASES])
def test_mp6_answers_what_the_original_answered(client, rows, case, request_body, original):
    response = send(client, "POST", "/mp6", request_body)
    if isinstance(original, Crash):
        assert response.status_code == 400, response.body
        assert body(response)["Code"] == "BadRequestError"
        assert original.fragment in body(response)["Message"], body(response)["Message"]
        return
    assert response.status_code == 200, response.body
    expected = original if isinstance(original, str) else [rows[xp][0] for xp in original]
    assert body(response) == {"statusCode": 200, "body": expected}


def test_a_numeric_string_xp_is_stored_as_a_number_and_read_back(client, db):
    written = hero(name="stringxp", xp="20003")
    answer = send(client, "POST", "/mp6", {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [written]})
    assert body(answer) == {"statusCode": 200, "body": "write success"}
    stored = db_by_xp(db, 20003)
    assert [{k: v for k, v in row.items() if k != "id"} for row in stored] == [hero(name="stringxp", xp=20003)]
    read_back = send(client, "POST", "/mp6", read(["20003", 20003], USE_CACHE="True"))
    assert body(read_back)["body"] == stored * 2


def test_a_rejected_write_stores_nothing(client, db):
    heroes = [hero(name="good", xp=30001), hero(name="x" * 21, xp=30001)]
    assert send(client, "POST", "/mp6", {"USE_CACHE": "True", "REQUEST": "write", "SQLS": heroes}).status_code == 400
    assert db_by_xp(db, 30001) == []


@pytest.mark.parametrize("use_cache", ["True", "False"])
def test_mp6_write_then_read(client, db, use_cache):
    written = [hero(name="irondoctor", xp=1000000), hero(name="windhero", xp=999999), hero(name="late", xp=999999)]
    response = send(client, "POST", "/mp6", {"USE_CACHE": use_cache, "REQUEST": "write", "SQLS": written})
    assert response.status_code == 200
    assert body(response) == {"statusCode": 200, "body": "write success"}
    assert [{k: v for k, v in r.items() if k != "id"} for r in db_by_xp(db, 999999)] == written[1:]

    request = {"USE_CACHE": use_cache, "REQUEST": "read", "SQLS": [999999, 1000000, 5]}
    for expected_cache in ("MISS", "HIT") if use_cache == "True" else ("BYPASS", "BYPASS"):
        response = send(client, "POST", "/mp6", request)
        assert response.status_code == 200
        assert response.headers["X-Cache"] == expected_cache
        assert body(response) == {"statusCode": 200, "body": [db_by_xp(db, 999999)[0], db_by_xp(db, 1000000)[0]]}


def test_the_rest_routes_stay_strict(client, rows):
    """What /mp6 accepts for the original's sake, GET /heroes?xp= still refuses."""
    assert send(client, "GET", "/heroes?xp=9999.0").status_code == 400
    assert send(client, "POST", "/heroes", hero(xp="20003")).status_code == 400
    assert send(client, "POST", "/heroes", hero(extra=1)).status_code == 400


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_sent_with_another_content_type_is_read_as_the_original_read_it(client, rows, content_type):
    response = client.http.post(
        "/mp6", headers={"Content-Type": content_type}, body=json.dumps(read(["9999"], USE_CACHE="True"))
    )
    assert response.status_code == 200, response.body
    assert body(response) == {"statusCode": 200, "body": [rows[9999][0]]}
