"""Loopback ports for the servers a test starts itself (TEST_PORTS, e.g. ``21400-21499``, keeps parallel runs
apart; any free port without it)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from contextlib import ExitStack


def _candidates() -> range:
    first, _, last = os.environ.get("TEST_PORTS", "").partition("-")
    return range(int(first), int(last) + 1) if first and last else range(0, 1)


def _bind_free(probe: socket.socket) -> int:
    for port in _candidates():
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return probe.getsockname()[1]
    raise RuntimeError(f"no free port in TEST_PORTS={os.environ.get('TEST_PORTS')}")


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nothing listens on now, on 127.0.0.1 (each held while the next is chosen)."""
    with ExitStack() as held:
        return [_bind_free(held.enter_context(socket.socket())) for _ in range(count)]


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    return free_ports(1)[0]


def wait_listening(port: int, process: subprocess.Popen, seconds: float) -> None:
    """Return once something listens on 127.0.0.1:``port``; ``RuntimeError`` when ``process`` exits first or
    ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{process.args!r} did not listen on {port} within {seconds} s (exit code {process.poll()})")
