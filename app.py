"""The Chalice app: registers routes and event handlers; every one delegates to ``chalicelib``."""

from __future__ import annotations

from chalice import Chalice, Response

from chalicelib import status
from chalicelib.logs import log_invocation
from chalicelib.web import json_route

app = Chalice(app_name="serverless-data-platform")
app.register_middleware(log_invocation, "all")  # one JSON summary line per invocation of every handler


@json_route(app, "/health", methods=["GET"])
def health() -> Response:
    healthy, body = status.dependency_status()
    return Response(body=body, status_code=200 if healthy else 503)


@app.lambda_function(name="migrate")
def migrate(event: dict, context: object) -> dict:
    """Apply pending schema migrations; the deploy invokes it inside the VPC, where the databases are.
    ``{"source": "public"}`` migrates an ``ANALYSIS_SOURCES`` database instead of the default one."""
    from chalicelib.db import get_database
    from chalicelib.migrations import apply_migrations

    source = event.get("source", "default") if isinstance(event, dict) else "default"
    return {"source": source, "applied": apply_migrations(get_database(source))}
