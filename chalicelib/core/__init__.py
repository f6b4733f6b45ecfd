"""The shared core every capability builds on: settings (and the stage's, read while ``app.py`` is imported),
errors, the HTTP edge, logs and their embedded metrics, the MySQL, Redis and AWS clients, Secrets Manager secrets,
the app's database users, S3 storage, pre-signed links and the data bucket's layout, query-value checks, schema
migrations (``sql/``), the dependency check behind ``GET /health`` and the OpenAPI document of the routes.

The core imports no feature package (a unit test reads the imports and fails when it does). Its surface is its
modules: import them by name, e.g. ``from chalicelib.core.settings import get_settings``.
"""

__all__ = [
    "aws",
    "bodies",
    "data_bucket",
    "db_users",
    "dependencies",
    "errors",
    "http",
    "lazy",
    "logs",
    "migrations",
    "mysql",
    "openapi",
    "params",
    "redis_client",
    "results",
    "s3",
    "secrets",
    "settings",
    "stage",
]
