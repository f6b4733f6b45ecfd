"""A real 3-node Redis Cluster on loopback, for the tests of cluster mode (``REDIS_CLUSTER``): three
``redis-server --cluster-enabled yes`` processes without persistence in a temporary directory, joined by
``redis-cli --cluster create`` (no replicas), stopped by PID at the end of the session.

Its nodes and their cluster buses take six free ports (from ``TEST_PORTS`` when set, :mod:`tests.support.ports`)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.support.ports import free_ports

NODES = 3
STARTUP_SECONDS = 20  # bound on each step: a node answering, the cluster agreeing on its slots


@dataclass(frozen=True)
class RedisCluster:
    ports: tuple[int, ...]
    pids: tuple[int, ...]  # of each port's redis-server

    @property
    def url(self) -> str:
        """What ``REDIS_URL`` names: one node; the client discovers the others."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def node(self, port: int) -> redis.Redis:
        """A plain client of one node: what that node holds, without the cluster's routing."""
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

    def owner(self, slot: int) -> int:
        """The port of the node serving ``slot``."""
        with self.node(self.ports[0]) as node:
            for first, last, (_, port, *_) in ((r[0], r[1], r[2]) for r in node.execute_command("CLUSTER SLOTS")):
                if first <= slot <= last:
                    return int(port)
        raise LookupError(f"slot {slot} is not served")

    def move_slot(self, slot: int, to_port: int) -> None:
        """Reshard ``slot`` with its keys to the node at ``to_port``, as ``redis-cli --cluster reshard`` does
        (IMPORTING/MIGRATING, MIGRATE of its keys, then the new owner told to every node)."""
        from_port = self.owner(slot)
        with self.node(from_port) as source, self.node(to_port) as target:
            source_id, target_id = source.execute_command("CLUSTER MYID"), target.execute_command("CLUSTER MYID")
            target.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", source_id)
            source.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", target_id)
            while keys := source.execute_command("CLUSTER GETKEYSINSLOT", slot, 100):
                source.execute_command("MIGRATE", "127.0.0.1", to_port, "", 0, 5000, "KEYS", *keys)
        for port in self.ports:
            with self.node(port) as node:
                node.execute_command("CLUSTER SETSLOT", slot, "NODE", target_id)

    @contextmanager
    def frozen(self, port: int) -> Iterator[None]:
        """The node at ``port`` hangs (SIGSTOP: connections are accepted, nothing is answered) until the block
        ends. Well below the cluster's node timeout (15 s) the others do not mark it failed."""
        pid = self.pids[self.ports.index(port)]
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)


def _start_node(port: int, bus_port: int, directory: Path) -> subprocess.Popen:
    directory.mkdir()
    command = [
        "redis-server", "--port", str(port), "--cluster-port", str(bus_port), "--bind", "127.0.0.1",
        "--cluster-enabled", "yes", "--cluster-config-file", str(directory / "nodes.conf"),
        "--dir", str(directory), "--save", "", "--appendonly", "no",
    ]  # fmt: skip
    log = (directory / "redis.log").open("w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _wait(check: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the test Redis Cluster did not come up: {what}")


def _answers(cluster: RedisCluster, port: int) -> bool:
    with cluster.node(port) as node:
        return bool(node.ping())


def _cluster_ok(cluster: RedisCluster) -> bool:
    def state(port: int) -> str:
        with cluster.node(port) as node:
            return node.cluster("INFO")["cluster_state"]

    return all(state(port) == "ok" for port in cluster.ports)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """Three cluster nodes with the 16,384 slots split between them (``redis-cli --cluster create``)."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server and redis-cli are not installed: cluster mode cannot be tested here")
    chosen = free_ports(2 * NODES)
    ports, bus_ports = chosen[:NODES], chosen[NODES:]
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as tmp:
        servers = [_start_node(p, b, Path(tmp) / str(p)) for p, b in zip(ports, bus_ports, strict=True)]
        cluster = RedisCluster(tuple(ports), tuple(server.pid for server in servers))
        try:
            for port in ports:
                _wait(lambda port=port: _answers(cluster, port), f"node {port} does not answer")
            addresses = [f"127.0.0.1:{port}" for port in ports]
            subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
                check=True, capture_output=True, timeout=STARTUP_SECONDS,
            )  # fmt: skip
            _wait(lambda: _cluster_ok(cluster), "cluster_state is not ok on every node")
            yield cluster
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=10)
