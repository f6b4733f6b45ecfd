"""Fixtures of the platform capability: the invocation log lines, and the local token issuer of
``make run AUTH=jwt`` (its keys in a temporary directory, its JWKS served on a loopback port)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.core.logs import JsonFormatter, get_logger
from devtools import local_auth


class LogLines(logging.Handler):
    """Every line the platform's logger writes, parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def invocations(self) -> list[dict]:
        return [line for line in self.lines if line["message"] == "invocation"]


@pytest.fixture
def logged() -> Iterator[LogLines]:
    handler = LogLines()
    logger = get_logger()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


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
