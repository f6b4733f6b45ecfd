"""Hostile client input on every route that takes a body, a query or a path value: always a 4xx with
``{"Code", "Message"}``, never a 500, and nothing written. A hand-made table of inputs known to have broken the
platform, then generated ones (hypothesis): arbitrary JSON documents, arbitrary bytes and arbitrary query
strings."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.heroes import body, create, hero, send

pytestmark = pytest.mark.usefixtures("hero_table")

HUGE = "1" * 5000  # more digits than Python converts from text (4,300)
DEEP_ARRAY = "[" * 1000 + "]" * 1000  # a 2 KB body that recursed past Python's limit
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
SURROGATE = '"\\ud800"'  # a lone surrogate, as JSON escapes it: valid JSON, not storable text

BODY_ROUTES = [
    ("POST", "/heroes"),
    ("PUT", "/heroes/{id}"),
    ("PATCH", "/heroes/{id}"),
    ("POST", "/mp6"),
    ("POST", "/reports/sales"),
    ("POST", "/exports"),
    ("POST", "/analysis"),
]


def hero_json(**raw_fields: str) -> str:
    """A hero document with some fields given as raw JSON text (to carry what ``json.dumps`` cannot write)."""
    fields = {name: json.dumps(value) for name, value in hero().items()} | raw_fields
    return "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"


def mp6_json(request: str, sqls: str) -> str:
    return f'{{"USE_CACHE": "True", "REQUEST": "{request}", "SQLS": {sqls}}}'


HOSTILE_BODIES = [
    # (method, path, raw body, fragment of the message)
    *[(m, p, HUGE, "integer too long") for m, p in BODY_ROUTES],
    *[(m, p, DEEP_ARRAY, "nested deeper than") for m, p in BODY_ROUTES],
    *[(m, p, DEEP_OBJECT, "nested deeper than") for m, p in BODY_ROUTES],
    *[(m, p, "NaN", "NaN is not a JSON number") for m, p in BODY_ROUTES],
    ("POST", "/heroes", hero_json(xp=HUGE), "integer too long"),
    ("POST", "/heroes", f"[{hero_json(xp=HUGE)}]", "integer too long"),
    ("POST", "/heroes", hero_json(xp="1" * 4000), "xp must be from 0 to 4294967295, got 111"),
    ("POST", "/heroes", hero_json(xp="Infinity"), "Infinity is not a JSON number"),
    ("POST", "/heroes", hero_json(name=SURROGATE), "name contains a lone surrogate"),
    ("POST", "/heroes", f"[{hero_json()}, {hero_json(color=SURROGATE)}]", "[1].color contains a lone surrogate"),
    ("POST", "/heroes", '{"\\udfff": 1}', "field name in the request body contains a lone surrogate"),
    ("PUT", "/heroes/{id}", hero_json(hero=SURROGATE), "hero contains a lone surrogate"),
    ("PUT", "/heroes/{id}", hero_json(id="{id}.0"), "does not match the id"),
    ("PATCH", "/heroes/{id}", f'{{"power": {SURROGATE}}}', "power contains a lone surrogate"),
    ("PATCH", "/heroes/{id}", f'{{"xp": {HUGE}}}', "integer too long"),
    ("PATCH", "/heroes/{id}", '{"xp": 1.0}', "xp must be an integer, got float 1.0"),
    ("POST", "/mp6", mp6_json("write", f"[{hero_json(name=SURROGATE)}]"), "SQLS[0].name contains a lone surrogate"),
    ("POST", "/mp6", mp6_json("read", f"[{HUGE}]"), "integer too long"),
    ("POST", "/mp6", mp6_json("read", "[1e999]"), "number too large"),
    ("POST", "/exports", f'{{"name": "heroes", "parameters": {{"power": {SURROGATE}}}}}', "parameters.power"),
    ("POST", "/exports", f'{{"name": "heroes", "parameters": {{"min_xp": {HUGE}}}}}', "integer too long"),
    ("POST", "/exports", '{"name": "heroes", "parameters": {"min_xp": 10.0}}', "min_xp must be an integer"),
    ("POST", "/exports", f'{{"name": {SURROGATE}}}', "name contains a lone surrogate"),
    ("POST", "/reports/sales", f'{{"date": {SURROGATE}}}', "date contains a lone surrogate"),
    ("POST", "/analysis", f'{{"sources": [{SURROGATE}]}}', "sources[0] contains a lone surrogate"),
]

HOSTILE_QUERIES = [
    # (path with query, fragment of the message)
    (f"/heroes/{HUGE}", "hero id must be an integer from 1 to 4294967295"),
    ("/heroes/5.0", "hero id must be an integer from 1 to 4294967295"),
    (f"/heroes?xp={HUGE}", "each xp value must be an integer from 0 to 4294967295"),
    ("/heroes?xp=1.0", "each xp value must be an integer from 0 to 4294967295, got '1.0'"),
    (f"/heroes?limit={HUGE}", "query parameter limit must be an integer from 1 to 1000"),
    (f"/heroes?after={HUGE}", "query parameter after must be an integer from 0 to 4294967295"),
    ("/heroes?limit=", "query parameter limit must be an integer from 1 to 1000, got ''"),
    ("/heroes?after=", "query parameter after must be an integer from 0 to 4294967295, got ''"),
    ("/heroes?cache=", "query parameter cache must be true or false, got ''"),
    ("/heroes/1?cache=", "query parameter cache must be true or false, got ''"),
    ("/heroes?xp=1&cache=", "query parameter cache must be true or false, got ''"),
]


def rows(db) -> list[dict]:
    with db.cursor() as cur:
        cur.execute("SELECT id, name, hero, power, xp, color, version FROM superheroes ORDER BY id")
        return list(cur.fetchall())


def assert_error_shape(response, status: int | None = None) -> dict:
    answer = body(response)
    assert set(answer) == {"Code", "Message"}, response.body
    assert isinstance(answer["Code"], str) and isinstance(answer["Message"], str)
    if status is not None:
        assert response.status_code == status, response.body
    return answer


@pytest.mark.parametrize(
    ("method", "path", "raw", "fragment"),
    HOSTILE_BODIES,
    ids=[f"{m} {p} {f}" for m, p, _, f in HOSTILE_BODIES],
)
def test_hostile_bodies_are_400_naming_what_is_wrong_and_write_nothing(client, db, method, path, raw, fragment):
    existing = create(client)
    before = rows(db)
    raw = raw.replace("{id}", str(existing["id"]))
    response = send(client, method, path.replace("{id}", str(existing["id"])), raw)
    answer = assert_error_shape(response, 400)
    assert answer["Code"] == "BadRequestError"
    assert fragment in answer["Message"], answer["Message"]
    assert len(answer["Message"]) < 400  # a message names what is wrong; it does not echo a megabyte back
    assert rows(db) == before


@pytest.mark.parametrize(("path", "fragment"), HOSTILE_QUERIES, ids=[f for _, f in HOSTILE_QUERIES])
def test_hostile_path_and_query_values_are_400(client, path, fragment):
    answer = assert_error_shape(client.http.get(path), 400)
    assert fragment in answer["Message"], answer["Message"]
    assert len(answer["Message"]) < 400


def test_a_body_id_and_an_xp_follow_one_integer_rule(client, db):
    """JSON integers only: ``5.0`` is refused as an id exactly as it is as an xp; ``5`` is accepted by both."""
    existing = create(client)
    path = f"/heroes/{existing['id']}"
    as_float = hero_json(id=f"{existing['id']}.0")
    assert send(client, "PUT", path, as_float).status_code == 400
    assert send(client, "PUT", path, hero_json(xp="5.0")).status_code == 400
    assert send(client, "PUT", path, hero_json(id=str(existing["id"]), xp="5")).status_code == 200


# ---------------------------------------------------------------- generated input

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# documents shaped like what the routes expect, with arbitrary values in their fields
SHAPED = st.one_of(
    st.fixed_dictionaries({name: JSON_VALUES for name in ("name", "hero", "power", "xp", "color")}),
    st.fixed_dictionaries(
        {"USE_CACHE": JSON_VALUES, "REQUEST": st.sampled_from(["read", "write"]), "SQLS": JSON_VALUES}
    ),
    st.fixed_dictionaries({"name": st.sampled_from(["heroes", "sales"]), "parameters": JSON_VALUES}),
    st.fixed_dictionaries({"date": JSON_VALUES}),
    st.fixed_dictionaries({"sources": JSON_VALUES}),
)
RAW_BODIES = st.one_of(
    JSON_VALUES.map(json.dumps),
    SHAPED.map(json.dumps),
    st.binary(max_size=64),
    st.text(max_size=64),
    # integers and nesting past Python's own limits, and strings that are not storable text
    st.integers(4301, 6000).map(lambda digits: "9" * digits),
    st.integers(33, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.sampled_from(["\\ud800", "\\udfff", "\\udbff"]).map(lambda s: f'{{"name": "{s}"}}'),
)
QUERY_VALUES = st.one_of(st.text(max_size=12), st.integers().map(str), st.just("9" * 5000), st.just(""))
QUERIES = st.dictionaries(
    st.sampled_from(["xp", "limit", "after", "power", "color", "cache"]) | st.text(max_size=6),
    QUERY_VALUES,
    max_size=4,
)
GENERATED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_no_5xx(response) -> None:
    assert response.status_code < 500, response.body
    if response.status_code >= 400:
        assert_error_shape(response)


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m} {p}" for m, p in BODY_ROUTES])
@GENERATED
@given(raw=RAW_BODIES)
def test_generated_bodies_never_get_a_5xx(client, method, path, raw):
    assert_no_5xx(send(client, method, path.replace("{id}", "1"), raw))


@GENERATED
@given(query=QUERIES, hero_id=QUERY_VALUES.filter(lambda v: v and "/" not in v and "?" not in v and "#" not in v))
def test_generated_queries_and_path_ids_never_get_a_5xx(client, query, hero_id):
    encoded = urlencode(query)
    assert_no_5xx(client.http.get(f"/heroes?{encoded}"))
    assert_no_5xx(client.http.get(f"/heroes/{hero_id}?{encoded}"))
