"""The Chalice app: registers routes and event handlers; every one delegates to ``chalicelib``."""

from __future__ import annotations

from chalice import Chalice, Response

from chalicelib import status
from chalicelib.web import json_route

app = Chalice(app_name="serverless-data-platform")


@json_route(app, "/health", methods=["GET"])
def health() -> Response:
    healthy, body = status.dependency_status()
    return Response(body=body, status_code=200 if healthy else 503)
