"""The superhero routes through ``chalice.test.Client``: results, stored rows, and every kind of bad input."""

from __future__ import annotations

import json

import pytest

from tests.support.heroes import body, create, db_row, hero, send

pytestmark = pytest.mark.usefixtures("hero_table")


def assert_bad_request(response, fragment: str) -> None:
    assert response.status_code == 400, response.body
    answer = body(response)
    assert answer["Code"] == "BadRequestError"
    assert fragment in answer["Message"], answer["Message"]


# ---------------------------------------------------------------- create


def test_create_one_answers_201_with_the_hero_and_its_location(client, db):
    response = send(client, "POST", "/heroes", hero(name="windhero", xp=7))
    created = body(response)
    assert response.status_code == 201
    assert response.headers["Location"] == f"/heroes/{created['id']}"
    assert created == {"id": created["id"], **hero(name="windhero", xp=7)}
    assert db_row(db, created["id"]) == created


def test_create_many_in_one_request_answers_them_in_order_with_their_ids(client, db):
    heroes = [hero(name=f"hero{i}", xp=i) for i in range(5)]
    response = send(client, "POST", "/heroes", heroes)
    created = body(response)
    assert response.status_code == 201
    assert "Location" not in response.headers
    assert [{k: v for k, v in h.items() if k != "id"} for h in created] == heroes
    assert [db_row(db, h["id"]) for h in created] == created
    assert len({h["id"] for h in created}) == 5


def test_a_created_hero_starts_at_version_1(client, db):
    created = create(client)
    with db.cursor() as cur:
        cur.execute("SELECT version FROM superheroes WHERE id = %s", (created["id"],))
        assert cur.fetchone()["version"] == 1


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{bad", "the request body is not valid JSON"),
        ("", "the request body is empty"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("null", "a hero must be a JSON object, got null"),
        ('"irondoctor"', "a hero must be a JSON object, got a string"),
        ("42", "a hero must be a JSON object, got a number"),
        ("[]", "must be a list of 1 to 1000 heroes, got an array of 0"),
        ("[1]", "the body[0]: a hero must be a JSON object, got a number"),
        (json.dumps({"name": "a"}), "missing field(s) ['hero', 'power', 'xp', 'color']"),
        (json.dumps(hero(cape=True)), "unknown field(s) ['cape']"),
        (json.dumps(hero(id=3)), "id is assigned by the server"),
        (json.dumps(hero(xp=True)), "xp must be an integer, got bool True"),
        (json.dumps(hero(xp=1.5)), "xp must be an integer, got float 1.5"),
        (json.dumps(hero(xp="5")), "xp must be an integer, got str '5'"),
        (json.dumps(hero(xp=-1)), "xp must be from 0 to 4294967295, got -1"),
        (json.dumps(hero(xp=4294967296)), "xp must be from 0 to 4294967295, got 4294967296"),
        (json.dumps(hero(name="")), "name must be 1 to 20 characters and not blank, got 0"),
        (json.dumps(hero(name="   ")), "name must be 1 to 20 characters and not blank"),
        (json.dumps(hero(name="x" * 21)), "name must be 1 to 20 characters and not blank, got 21"),
        (json.dumps(hero(color=7)), "color must be a string, got int 7"),
        (json.dumps(hero(power=None)), "power must be a string, got NoneType None"),
        (json.dumps([hero(), hero(hero=[])]), "the body[1]: hero must be a string, got list []"),
        (json.dumps([hero()] * 1001), "must be a list of 1 to 1000 heroes, got an array of 1001"),
    ],
)
def test_create_rejects_bad_bodies_saying_what_is_wrong(client, db, raw, fragment):
    assert_bad_request(send(client, "POST", "/heroes", raw), fragment)
    with db.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM superheroes")
        assert cur.fetchone()["n"] == 0  # nothing of a rejected batch is stored


def test_limits_are_inclusive(client):
    created = create(client, name="x" * 20, hero="h", xp=4294967295)
    assert created["name"] == "x" * 20
    assert create(client, xp=0)["xp"] == 0
    assert len(body(send(client, "POST", "/heroes", [hero()] * 1000))) == 1000


def test_a_body_that_is_not_json_by_content_type_is_415(client):
    response = client.http.post("/heroes", headers={"Content-Type": "text/plain"}, body="hello")
    assert response.status_code == 415
    assert body(response)["Code"] == "UnsupportedMediaType"


# ---------------------------------------------------------------- read one


def test_get_answers_the_hero(client):
    created = create(client, name="dogwoman", hero="maybe", power="steal", xp=999998, color="pink")
    response = client.http.get(f"/heroes/{created['id']}")
    assert response.status_code == 200
    assert body(response) == created
    assert response.headers["X-Cache"] in {"HIT", "MISS"}


def test_get_unknown_id_is_404(client):
    response = client.http.get("/heroes/424242")
    assert response.status_code == 404
    assert body(response) == {"Code": "NotFoundError", "Message": "no hero with id 424242"}
    assert response.headers["X-Cache"] == "MISS"


@pytest.mark.parametrize("raw_id", ["abc", "0", "-1", "1.5", "4294967296", "+1", "1e3", "%20"])
def test_get_with_an_id_that_is_not_a_positive_integer_is_400(client, raw_id):
    assert_bad_request(client.http.get(f"/heroes/{raw_id}"), "hero id must be an integer from 1 to 4294967295")


def test_get_rejects_unknown_query_parameters(client):
    created = create(client)
    assert_bad_request(client.http.get(f"/heroes/{created['id']}?fields=name"), "unknown query parameter(s) ['fields']")


# ---------------------------------------------------------------- read by xp


def test_get_by_xp_answers_the_heroes_of_each_value_in_the_order_asked(client):
    a, b, c = create(client, xp=10), create(client, xp=20), create(client, xp=10)
    response = client.http.get("/heroes?xp=20,10,30")
    assert response.status_code == 200
    assert body(response) == {"items": [b, a, c]}


def test_get_by_xp_accepts_repeated_parameters_and_duplicates(client):
    a, b = create(client, xp=1), create(client, xp=2)
    assert body(client.http.get("/heroes?xp=2&xp=1,2"))["items"] == [b, a]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("xp=", "each xp value must be an integer from 0 to 4294967295, got ''"),
        ("xp=a", "got 'a'"),
        ("xp=-1", "got '-1'"),
        ("xp=1,,2", "got ''"),
        ("xp=4294967296", "got '4294967296'"),
        ("xp=" + ",".join(str(i) for i in range(1001)), "names 1001 xp values; at most 1000"),
        ("xp=1&limit=2", "unknown query parameter(s) ['limit']"),
        ("xp=1&cache=maybe", "query parameter cache must be true or false, got 'maybe'"),
    ],
)
def test_get_by_xp_rejects_bad_values(client, query, fragment):
    assert_bad_request(client.http.get(f"/heroes?{query}"), fragment)


# ---------------------------------------------------------------- pages


def test_pages_follow_next_until_null_in_id_order(client):
    created = body(send(client, "POST", "/heroes", [hero(name=f"h{i}", xp=i) for i in range(5)]))
    seen, after = [], 0
    while after is not None:
        page = body(client.http.get(f"/heroes?limit=2&after={after}"))
        seen += page["items"]
        after = page["next"]
    assert seen == created
    assert body(client.http.get("/heroes"))["items"] == created  # the default limit covers them


def test_pages_filter_by_power_and_color(client):
    red_fly = create(client, power="fly", color="red")
    create(client, power="fly", color="blue")
    create(client, power="eat", color="red")
    red_fly2 = create(client, power="fly", color="red")
    page = body(client.http.get("/heroes?power=fly&color=red&limit=1"))
    assert page == {"items": [red_fly], "next": red_fly["id"]}
    page = body(client.http.get(f"/heroes?power=fly&color=red&limit=1&after={page['next']}"))
    assert page == {"items": [red_fly2], "next": None}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=0", "query parameter limit must be an integer from 1 to 1000, got '0'"),
        ("limit=1001", "got '1001'"),
        ("limit=ten", "got 'ten'"),
        ("after=-5", "query parameter after must be an integer from 0 to 4294967295, got '-5'"),
        ("limit=1&limit=2", "query parameter limit is given 2 times"),
        ("power=" + "x" * 21, "query parameter power must be 1 to 20 characters"),
        ("colour=red", "unknown query parameter(s) ['colour']"),
    ],
)
def test_pages_reject_bad_values(client, query, fragment):
    assert_bad_request(client.http.get(f"/heroes?{query}"), fragment)


# ---------------------------------------------------------------- replace, update, delete


def test_put_replaces_every_field_and_bumps_the_version(client, db):
    created = create(client, xp=5)
    replacement = hero(name="windhero", hero="yes", power="fly", xp=6, color="blue")
    response = send(client, "PUT", f"/heroes/{created['id']}", {"id": created["id"], **replacement})
    assert response.status_code == 200
    assert body(response) == {"id": created["id"], **replacement}
    assert db_row(db, created["id"]) == {"id": created["id"], **replacement}
    with db.cursor() as cur:
        cur.execute("SELECT version FROM superheroes WHERE id = %s", (created["id"],))
        assert cur.fetchone()["version"] == 2


def test_put_needs_every_field_and_a_matching_id(client):
    created = create(client)
    path = f"/heroes/{created['id']}"
    assert_bad_request(send(client, "PUT", path, {"name": "a"}), "missing field(s) ['hero', 'power', 'xp', 'color']")
    assert_bad_request(send(client, "PUT", path, hero(id=created["id"] + 1)), "does not match the id")
    assert_bad_request(send(client, "PUT", path, hero(id=True)), "does not match the id")
    assert_bad_request(send(client, "PUT", path, "[]"), "a hero must be a JSON object, got an array")


def test_put_and_patch_and_delete_of_unknown_ids_are_404(client):
    for method, payload in (("PUT", hero()), ("PATCH", {"xp": 1}), ("DELETE", None)):
        response = send(client, method, "/heroes/999999", payload)
        assert response.status_code == 404, method
        assert body(response) == {"Code": "NotFoundError", "Message": "no hero with id 999999"}


def test_patch_changes_only_the_fields_sent(client, db):
    created = create(client, xp=5, color="red")
    response = send(client, "PATCH", f"/heroes/{created['id']}", {"xp": 6})
    assert body(response) == {**created, "xp": 6}
    assert db_row(db, created["id"]) == {**created, "xp": 6}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({}, "no field to change"),
        ({"cape": "red"}, "unknown field(s) ['cape']"),
        ({"xp": False}, "xp must be an integer, got bool False"),
        ({"name": "y" * 21}, "name must be 1 to 20 characters"),
    ],
)
def test_patch_rejects_bad_bodies(client, db, payload, fragment):
    created = create(client)
    assert_bad_request(send(client, "PATCH", f"/heroes/{created['id']}", payload), fragment)
    assert db_row(db, created["id"]) == created


def test_bad_ids_on_writes_are_400(client):
    for method in ("PUT", "PATCH", "DELETE"):
        assert_bad_request(send(client, method, "/heroes/x1", hero()), "hero id must be an integer")


def test_delete_removes_the_row_and_answers_204(client, db):
    created = create(client)
    response = client.http.delete(f"/heroes/{created['id']}")
    assert response.status_code == 204
    assert response.body == b""
    assert db_row(db, created["id"]) is None
    assert client.http.delete(f"/heroes/{created['id']}").status_code == 404


# ---------------------------------------------------------------- the older format


def test_no_input_gets_a_5xx(client):
    """Odd but well-formed JSON of every shape, on every hero route: always a 4xx or a success."""
    shapes = [None, True, 0, -1, 2**70, 1e308, "", "x" * 10_000, [], [None], {}, {"": ""}, {"xp": {"$gt": 0}}]
    created = create(client)
    for shape in shapes:
        raw = json.dumps(shape)
        for method, path in [
            ("POST", "/heroes"),
            ("PUT", f"/heroes/{created['id']}"),
            ("PATCH", f"/heroes/{created['id']}"),
            ("POST", "/mp6"),
        ]:
            response = send(client, method, path, raw)
            assert response.status_code < 500, (method, path, raw, response.body)
    for query in ["xp=1e3", "xp=%00", "limit=99999999999999999999", "after=1.0", "power=%F0%9F%A6%B8", "cache="]:
        assert client.http.get(f"/heroes?{query}").status_code < 500, query
