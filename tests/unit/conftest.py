"""The unit tier: pure logic, no MySQL, Redis or emulator. Every test here runs with connections refused, so a
test that reached for a service fails instead of passing only where the services happen to run."""

from __future__ import annotations

import socket
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"a unit test connected to {address}; unit tests use no service")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
