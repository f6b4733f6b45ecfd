"""The peers the bench compares with: what a user would otherwise run, written to follow the peer's own code
path (its connections, round trips and queries) rather than as a strawman."""

from __future__ import annotations

import os
from typing import Any


def connect(**options: Any) -> Any:
    """A new PyMySQL connection to the bench's database (``DB_*`` settings), as each peer opens its own.

    TLS is off: PyMySQL >= 1.2 tries TLS by default and builds an SSL context (loading the system's CA
    certificates, ~100 ms here) on every connect; the originals' PyMySQL did not, so neither do the peers.
    """
    import pymysql

    return pymysql.connect(
        host=os.environ.get("DB_HOST", "127.0.0.1"),
        port=int(os.environ.get("DB_PORT", "3306")),
        user=os.environ.get("DB_USER", "root"),
        password=os.environ.get("DB_PASSWORD", ""),
        database=os.environ["DB_NAME"],
        charset="utf8mb4",
        ssl_disabled=True,
        **options,
    )
