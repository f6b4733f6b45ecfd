"""Fixtures of the platform capability: the local token issuer of ``make run AUTH=jwt`` (its keys in a temporary
directory, its JWKS served on a loopback port)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import local_auth


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """The local issuer's key directory (a key is made on first use)."""
    return tmp_path / "keys"


@pytest.fixture
def jwks_port(keys: Path) -> Iterator[int]:
    """The port on 127.0.0.1 serving the issuer's JWKS at ``/.well-known/jwks.json``."""
    server = local_auth.serve_jwks(0, keys)
    yield server.server_port
    server.shutdown()
    server.server_close()
