"""Who may call what, through ``chalice.test.Client`` on a stage with ``AUTH_MODE=jwt``: the local issuer's keys
served over HTTP on loopback (as ``make run AUTH=jwt`` serves them), tokens from ``make token``'s code."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib.core.auth import SCOPES
from chalicelib.core.http import route_scopes
from devtools import local_auth
from devtools.seed import seed_heroes
from devtools.stage import PROJECT_DIR
from tests.integration.platform.test_docs_examples import BASE_URL, request_of
from tests.support.environment import reset_clients
from tests.support.heroes import body, hero, send

AUTH_PAGE = "docs/auth.md"
MAKE_TOKEN = re.compile(r"\$\(make -s token SCOPE=(\w+)\)")

# a request each route accepts far enough to show it got past the credential check
SAMPLE_PATHS = {"/heroes/{hero_id}": "/heroes/987654"}


@pytest.fixture
def jwt_stage(platform: dict, monkeypatch: pytest.MonkeyPatch, jwks_port: int) -> dict[str, str]:
    """The test environment turned into a ``jwt`` stage of the local issuer, leaving ``GET /health`` open."""
    settings = {**local_auth.local_auth_environment(jwks_port), "OPEN_ROUTES": "GET /health"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    reset_clients()
    return settings


def _token(keys: Path, *scopes: str, **options: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {local_auth.issue_token(scopes, directory=keys, **options)}"}


def _assert_error(response: object, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.body
    answer = body(response)
    assert set(answer) == {"Code", "Message"} and answer["Code"] == code
    assert message in answer["Message"]


def test_without_a_token_a_closed_route_answers_401(client, jwt_stage, hero_table):
    response = client.http.get("/heroes")

    _assert_error(response, 401, "UnauthorizedError", "Authorization: Bearer")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("authorization", "message"),
    [("Bearer not-a-jwt", "not a JWT"), ("Basic dXNlcjpwYXNz", "not a JWT"), ("Bearer ", "needs a token")],
)
def test_a_credential_that_is_not_a_token_answers_401(client, jwt_stage, authorization, message):
    _assert_error(
        client.http.get("/heroes", headers={"Authorization": authorization}), 401, "UnauthorizedError", message
    )


def test_an_expired_token_answers_401(client, jwt_stage, keys):
    response = client.http.get("/heroes", headers=_token(keys, "read", minutes=-1))

    _assert_error(response, 401, "UnauthorizedError", "expired")


def test_a_read_token_reads_heroes_but_cannot_write_them(client, jwt_stage, keys, hero_table):
    read = _token(keys, "read")

    assert client.http.get("/heroes", headers=read).status_code == 200
    _assert_error(send(client, "POST", "/heroes", hero(), read), 403, "ForbiddenError", "'write' scope")
    with hero_table.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM superheroes")
        assert cur.fetchone()["n"] == 0  # refused before anything was written


def test_a_write_token_creates_a_hero(client, jwt_stage, keys, hero_table):
    response = send(client, "POST", "/heroes", hero(), _token(keys, "write"))

    assert response.status_code == 201, response.body


def test_each_route_admits_exactly_the_scope_it_declares(client, jwt_stage, keys, hero_table):
    """Every route but the open one: each other scope is a 403, its own scope gets past the check (to a 2xx, or
    the 4xx of an empty body or a missing hero)."""
    from app import app

    tokens = {scope: _token(keys, scope) for scope in SCOPES}
    for (method, path), scope in route_scopes(app).items():
        if (method, path) == ("GET", "/health"):
            continue
        url = SAMPLE_PATHS.get(path, path)
        for other in set(SCOPES) - {scope}:
            _assert_error(client.http.request(method, url, headers=tokens[other]), 403, "ForbiddenError", scope)
        admitted = client.http.request(method, url, headers={**tokens[scope], "Content-Type": "application/json"})
        assert admitted.status_code not in (401, 403, 500), (method, path, admitted.body)


def test_the_route_the_stage_leaves_open_needs_no_token(client, jwt_stage):
    assert client.http.get("/health").status_code == 200


def test_the_log_line_names_the_caller_and_never_the_token(client, jwt_stage, keys, logged):
    token = local_auth.issue_token(["read"], subject="reporting-app", directory=keys)
    client.http.get("/heroes", headers={"Authorization": f"Bearer {token}"})
    client.http.get("/heroes")

    allowed, refused = logged.invocations()
    assert (allowed["caller"], allowed["status_code"]) == ("reporting-app", 200)
    assert (refused["caller"], refused["status_code"]) == (None, 401)
    assert token not in json.dumps(logged.lines) and token.split(".")[2] not in json.dumps(logged.lines)


def test_unreachable_issuer_keys_are_a_503_naming_the_dependency_not_the_host(client, jwt_stage, keys, monkeypatch):
    monkeypatch.setenv("JWT_JWKS_URL", "http://127.0.0.1:1/.well-known/jwks.json")  # nothing listens on port 1
    reset_clients()

    response = client.http.get("/heroes", headers=_token(keys, "read"))

    _assert_error(response, 503, "ServiceUnavailable", "identity provider")
    assert "127.0.0.1" not in response.body.decode() and response.headers["Retry-After"] == "5"


def test_the_local_stage_needs_no_credentials(client, hero_table):
    """``make run`` (AUTH_MODE none) and every other test: no token anywhere."""
    assert client.http.get("/heroes").status_code == 200
    assert send(client, "POST", "/heroes", hero()).status_code == 201


def test_a_token_granting_several_scopes_may_do_each(client, jwt_stage, keys, hero_table):
    both = _token(keys, "read", "write")
    created = body(send(client, "POST", "/heroes", hero(), both))

    assert client.http.get(f"/heroes/{created['id']}", headers=both).status_code == 200


def test_a_stage_that_names_no_auth_mode_is_closed(platform, monkeypatch, keys):
    """A stage that says nothing about AUTH_MODE is a jwt stage; without an issuer that is a configuration error
    (503 "misconfigured", logged with the setting's name), never an open door."""
    from app import app

    monkeypatch.delenv("AUTH_MODE")
    reset_clients()
    with Client(app, stage_name="test") as client:
        response = client.http.get("/heroes", headers=_token(keys, "read"))

    assert response.status_code == 503
    assert body(response) == {
        "Code": "ServiceUnavailable",
        "Message": "the service is misconfigured; its operators have the details",
    }


def test_the_local_examples_of_the_auth_page_answer_as_documented(client, jwt_stage, keys, hero_table):
    """docs/auth.md's curl examples against ``make run AUTH=jwt``, each ``$(make -s token SCOPE=...)`` replaced by
    the token that command prints; the status a line's comment names (200 when it names none) is the answer."""
    seed_heroes(hero_table, 10)
    page = (PROJECT_DIR / AUTH_PAGE).read_text().splitlines()
    lines = [line for line in page if line.replace('"', "").startswith(f"curl -s {BASE_URL}")]
    assert len(lines) == 5
    for line in lines:
        command = MAKE_TOKEN.sub(lambda match: local_auth.issue_token(match[1].split(), directory=keys), line)
        method, path, headers, data = request_of(shlex.split(command, comments=True)[1:])
        expected = re.search(r"#\s*(\d{3})", line)
        response = client.http.request(method, path, headers=headers, body=data or b"")
        assert response.status_code == (int(expected[1]) if expected else 200), (line, response.body)


def test_the_openapi_document_names_the_credential_and_each_routes_scope(client, jwt_stage, keys):
    from app import app

    document = body(client.http.get("/openapi.json", headers=_token(keys, "read")))

    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    for (method, path), scope in route_scopes(app).items():
        operation = document["paths"][path][method.lower()]
        assert operation["x-scope"] == scope
        assert operation.get("security") == (None if (method, path) == ("GET", "/health") else [{"bearer": []}])


def test_the_local_stages_openapi_document_asks_for_no_credential(client):
    document = body(client.http.get("/openapi.json"))

    assert "securitySchemes" not in document["components"]
    assert not any("security" in operation for methods in document["paths"].values() for operation in methods.values())
