"""Each route's one declaration of the scope it needs, and what a stage's ``AUTH_MODE`` and ``OPEN_ROUTES`` make of
it when the app is imported: API Gateway's SigV4 check on every closed route of an ``iam`` stage."""

from __future__ import annotations

import pytest
from chalice import Chalice
from chalice.app import IAMAuthorizer

from chalicelib.core.auth import SCOPES
from chalicelib.core.http import json_route, route_scopes
from chalicelib.core.settings import AuthSettings, ConfigError, parse_auth_settings


def _view() -> dict:
    return {}


def _things_app() -> Chalice:
    app = Chalice("scopes-test")
    json_route(app, "/things", methods=["GET", "POST"], scope="write")(_view)
    json_route(app, "/things/{id}", methods=["GET"], scope="read")(_view)
    return app


def test_every_route_of_the_app_declares_one_of_the_four_scopes():
    from app import app

    declared = route_scopes(app)
    registered = {(method, path) for path, entries in app.routes.items() for method in entries}
    assert set(declared) == registered  # no route registered around json_route, so none without a scope
    assert set(declared.values()) <= set(SCOPES)
    assert declared[("GET", "/heroes/{hero_id}")] == "read"
    assert declared[("DELETE", "/heroes/{hero_id}")] == "write"
    assert declared[("POST", "/mp6")] == "write"
    assert declared[("POST", "/exports")] == "operate"


def test_a_route_cannot_be_registered_without_a_known_scope():
    with pytest.raises(TypeError, match="scope"):
        json_route(Chalice("scopes-test"), "/things")(_view)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="read, write, ingest, operate"):
        json_route(Chalice("scopes-test"), "/things", scope="admin")


def test_an_iam_stage_puts_sigv4_on_every_route_it_does_not_leave_open(monkeypatch):
    monkeypatch.setenv("AUTH_MODE", "iam")
    monkeypatch.setenv("OPEN_ROUTES", "GET /things")
    app = _things_app()

    assert app.routes["/things"]["GET"].authorizer is None
    assert isinstance(app.routes["/things"]["POST"].authorizer, IAMAuthorizer)
    assert isinstance(app.routes["/things/{id}"]["GET"].authorizer, IAMAuthorizer)
    assert route_scopes(app) == {
        ("GET", "/things"): "write",
        ("POST", "/things"): "write",
        ("GET", "/things/{id}"): "read",
    }


@pytest.mark.parametrize("mode", ["jwt", "none"])
def test_other_stages_leave_api_gateway_out_of_it(monkeypatch, mode):
    monkeypatch.setenv("AUTH_MODE", mode)
    app = _things_app()

    assert all(entry.authorizer is None for entries in app.routes.values() for entry in entries.values())


def test_auth_settings_default_to_closed_and_name_a_bad_value():
    assert parse_auth_settings({}) == AuthSettings(mode="jwt")
    settings = parse_auth_settings(
        {"AUTH_MODE": "JWT", "OPEN_ROUTES": " get /health,POST /mp6 ,", "JWT_ISSUER": "https://issuer.example/"}
    )
    assert settings.open_routes == {"GET /health", "POST /mp6"}
    assert settings.is_open("GET", "/health") and not settings.is_open("POST", "/health")
    assert settings.jwt_jwks_url == "https://issuer.example/.well-known/jwks.json"
    assert parse_auth_settings({"AUTH_MODE": "none"}).is_open("DELETE", "/heroes/{hero_id}")
    with pytest.raises(ConfigError, match="AUTH_MODE"):
        parse_auth_settings({"AUTH_MODE": "apikey"})
    with pytest.raises(ConfigError, match="OPEN_ROUTES"):
        parse_auth_settings({"OPEN_ROUTES": "/health"})
