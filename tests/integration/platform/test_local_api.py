"""``make run AUTH=jwt`` over real HTTP: the server ``make run`` starts (``devtools/api.py``, ``chalice local``'s)
with the settings ``devtools/run.py`` adds for it, the local issuer's keys served on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import local_auth
from devtools.run import _token_check
from devtools.stage import PROJECT_DIR
from tests.support.ports import free_port, wait_listening


@pytest.fixture
def local_api(platform: dict, jwks_port: int) -> Iterator[str]:
    """``python -m devtools.api``, as ``make run AUTH=jwt`` starts it: the test environment and the settings
    ``devtools/run.py`` adds for ``AUTH=jwt``."""
    port = free_port()
    settings = {**local_auth.local_auth_environment(jwks_port), "OPEN_ROUTES": "GET /health"}
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.api", "--port", str(port)],
        cwd=PROJECT_DIR,
        env={**os.environ, **settings},
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


def test_make_run_with_auth_jwt_checks_tokens_of_the_local_issuer(local_api, keys: Path, hero_table):
    status, answer = _call(f"{local_api}/heroes")
    assert (status, answer["Code"]) == (401, "UnauthorizedError")

    assert _call(f"{local_api}/heroes?limit=1", token=local_auth.issue_token(["read"], directory=keys))[0] == 200
    status, answer = _call(f"{local_api}/heroes", "POST", local_auth.issue_token(["read"], directory=keys))
    assert (status, answer["Code"]) == (403, "ForbiddenError")

    stranger = local_auth.issue_token(["write"], directory=keys.parent / "stranger")
    assert _call(f"{local_api}/heroes", "POST", stranger)[0] == 401
    assert _call(f"{local_api}/health")[0] == 200  # open, as in the deployed stages


def test_make_run_turns_the_check_on_only_when_asked():
    assert _token_check({}, 8000) == {}
    assert _token_check({"AUTH": "none"}, 8000) == {}
    with pytest.raises(SystemExit, match="AUTH must be none or jwt"):
        _token_check({"AUTH": "oauth"}, 8000)
