"""``make run AUTH=jwt``'s API server over real HTTP: Chalice's local server with the local issuer's settings laid
over the ``local`` stage's (which say ``AUTH_MODE=none``). Only answers given before any database is touched."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from devtools import local_auth
from devtools.stage import PROJECT_DIR
from tests.support.ports import free_port, wait_listening


@pytest.fixture
def local_api(jwks_port: int) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.local_api", "--port", str(port), "--jwks-port", str(jwks_port)],
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, process, seconds=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _call(url: str, method: str = "GET", token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=b"{}" if method != "GET" else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_make_run_with_auth_jwt_checks_tokens_of_the_local_issuer(local_api, keys):
    status, answer = _call(f"{local_api}/heroes")
    assert (status, answer["Code"]) == (401, "UnauthorizedError")

    status, answer = _call(f"{local_api}/heroes", "POST", local_auth.issue_token(["read"], directory=keys))
    assert (status, answer["Code"]) == (403, "ForbiddenError")

    stranger = local_auth.issue_token(["write"], directory=keys.parent / "stranger")
    assert _call(f"{local_api}/heroes", "POST", stranger)[0] == 401

    assert _call(f"{local_api}/health")[0] in (200, 503)  # open: the local stage's OPEN_ROUTES
