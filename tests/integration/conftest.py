"""The integration tier runs against the real MariaDB and Redis and moto's server (``make services``): the
service fixtures of :mod:`tests.support.services`, registered for every capability folder below, and the log
lines of :mod:`tests.support.log_lines`."""

from tests.support.ingest import ingest_env  # noqa: F401 - a fixture of the ingest, read-back and platform tests
from tests.support.log_lines import logged  # noqa: F401 - a fixture, registered by being a name of this conftest
from tests.support.redis_cluster import redis_cluster  # noqa: F401 - a fixture, registered by its name
from tests.support.services import (  # noqa: F401 - fixtures, registered by being names of this conftest
    aws_endpoint,
    cafe,
    client,
    db,
    hero_table,
    migrated,
    mysql_proxy,
    platform,
    redis_client,
    report_queue,
    s3,
    test_environment,
)
