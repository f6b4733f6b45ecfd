"""The cache tests run twice, through the ``redis_mode`` fixture: against the single Redis server (``single``)
and against a real 3-node Redis Cluster started for the session (``cluster``, ``REDIS_CLUSTER=true``), so every
consistency guarantee is shown on both. ``@pytest.mark.redis_modes("single")`` narrows a test to the modes named."""

from __future__ import annotations

import pytest

from chalicelib.core.redis_client import get_redis
from tests.support.environment import reset_clients

REDIS_MODES = ("single", "cluster")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "redis_mode" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("redis_modes")
        metafunc.parametrize("redis_mode", marker.args if marker else REDIS_MODES, indirect=True)


@pytest.fixture
def redis_mode(request: pytest.FixtureRequest, platform: dict, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the app at the Redis of this run's mode, emptied (``platform`` already emptied the single one).
    Request it before ``redis_client`` and ``client`` (``usefixtures`` does), so they get its client."""
    if request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        monkeypatch.setenv("REDIS_URL", cluster.url)
        monkeypatch.setenv("REDIS_CLUSTER", "true")
        reset_clients()
        get_redis().flushdb()  # on every primary
    return request.param
