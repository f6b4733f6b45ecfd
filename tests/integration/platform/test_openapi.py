"""``GET /openapi.json`` describes every route, and schemathesis finds no 5xx and no error outside the documented
``{"Code", "Message"}`` shape when it throws generated requests at the API served over HTTP."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devtools.api import serve_in_thread

MAX_EXAMPLES = 50  # per operation (and the coverage phase's cases): about 1,500 requests, 20 s here
CASES: list[str] = []


def test_the_document_describes_every_route_with_its_methods(client):
    from app import app

    document = json.loads(client.http.get("/openapi.json").body)

    described = {(path, method.upper()) for path, methods in document["paths"].items() for method in methods}
    routed = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert described == routed
    assert document["openapi"].startswith("3.")
    assert document["components"]["schemas"]["Error"]["required"] == ["Code", "Message"]


def test_every_operation_documents_its_errors_and_parameters(client):
    document = json.loads(client.http.get("/openapi.json").body)
    ingests = document["paths"]["/ingests"]["get"]
    rejected = document["paths"]["/ingests/{ingest_id}/rejected"]["get"]

    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            error = operation["responses"]["default"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}, (method, path)
    assert {p["name"] for p in ingests["parameters"]} == {"dataset", "status", "day", "limit", "after"}
    assert [p["name"] for p in rejected["parameters"] if p["in"] == "path"] == ["ingest_id"]
    assert "Retry-After" in ingests["responses"]["503"]["headers"]
    hero = document["paths"]["/heroes/{hero_id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert hero["required"] == ["name", "hero", "power", "xp", "color"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_url(migrated: Any, test_environment: dict[str, str]) -> Iterator[str]:
    """The app served over HTTP by ``chalice local``'s server, on the test database, Redis index and emulator.

    That server makes the app object an instance of chalice's ``CustomLocalChalice``, whose base it sets to the
    app's class: serving the app again in the same process made that class its own base ("an inheritance cycle").
    The app gets its class back once the server stopped, so the tests after these use the app as imported, and a
    second setup of this fixture (the module's tests not together, as in a shuffled order) can serve it again."""
    from app import app

    imported_as = type(app)
    port = _free_port()
    server = serve_in_thread(app, port)
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    app.__class__ = imported_as
    print(f"\n[schemathesis] {len(CASES)} generated requests")


def _served_document() -> dict[str, Any]:
    """What ``GET /openapi.json`` answers (the view called directly: the cases are generated at collection)."""
    from app import openapi_document

    return openapi_document()


schema = schemathesis.openapi.from_dict(_served_document())
# methods no route has are answered by API Gateway when deployed; chalice local's HTTP server (Python's
# BaseHTTPRequestHandler) answers TRACE and QUERY with its own 501 page, never reaching the app: not sent
schema.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "options", "patch"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure is the code's, reproducible, never the draw's
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found, in bounded time
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_no_5xx_and_documented_answers(case: Any, api_url: str, platform: dict) -> None:
    CASES.append(f"{case.method} {case.path}")
    case.call_and_validate(
        base_url=api_url,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
