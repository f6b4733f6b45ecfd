"""The deploy tier: packaging and the deploy's own code, offline. Some of it hands credentials through SSM (moto)
and Redis AUTH (the real Redis), so it registers the service fixtures those tests use."""

from tests.support.services import (  # noqa: F401 - fixtures, registered by being names of this conftest
    aws_endpoint,
    migrated,
    platform,
    redis_client,
    test_environment,
)
