"""The shared core every capability builds on: settings, errors, the HTTP edge, logs, the MySQL, Redis and AWS
clients, S3 storage, schema migrations (``sql/``) and the dependency check behind ``GET /health``.

The core imports no feature package (a unit test reads the imports and fails when it does). Its surface is its
modules: import them by name, e.g. ``from chalicelib.core.settings import get_settings``.
"""

__all__ = [
    "aws",
    "bodies",
    "dependencies",
    "errors",
    "http",
    "lazy",
    "logs",
    "migrations",
    "mysql",
    "params",
    "redis_client",
    "results",
    "s3",
    "settings",
]
