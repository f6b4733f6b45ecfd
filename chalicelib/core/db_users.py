"""The app's own MySQL users, one per role, so that no function connects as the master user: ``migrations``
(schema changes, the ``migrate`` function), ``readwrite`` (the API, the ingest, reports, the pipeline) and
``readonly`` (the analysis of sources). Their names and passwords live in Secrets Manager, which rotates them;
the ``migrate`` function creates the users it finds missing, connected as the master user, whose secret only it
may read (``DB_USERS``), before it applies the migrations.
"""

from __future__ import annotations

import re
from dataclasses import replace

from chalicelib.core import secrets
from chalicelib.core.mysql import Database, get_database
from chalicelib.core.settings import ConfigError, DbSettings, get_settings

PRIVILEGES = {
    "migrations": "ALL PRIVILEGES",
    "readwrite": "SELECT, INSERT, UPDATE, DELETE",
    "readonly": "SELECT",
}
ANY_HOST = "%"  # the users connect from the functions' VPC addresses (and the proxy), so from any host

_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def grant_target(database_name: str) -> str:
    """```name`.*`` for GRANT, where ``_`` would otherwise be a wildcard matching any character."""
    if not _DATABASE_NAME.match(database_name):
        raise ConfigError(f"database name {database_name!r} is not a plain identifier")
    return "`" + database_name.replace("_", "\\_") + "`.*"


def _source_settings(source: str) -> DbSettings:
    settings = get_settings()
    return settings.db if source == "default" else settings.analysis_sources[source]


def ensure_users(source: str = "default") -> list[str]:
    """Create the app's users of ``source`` that do not exist yet, with their role's privileges on its database;
    returns the user names. Passwords of existing users are left alone: the rotation owns them."""
    declared = get_settings().db_users.get(source)
    if not declared:
        return []
    target = grant_target(get_database(source).name)
    settings = replace(_source_settings(source), secret_arn=declared["master"], parameter_prefix=None)
    master = Database(settings, label=f"mysql:{source}", timeouts=get_settings().timeouts)
    users = []
    try:
        with master.cursor(dicts=False) as cur:
            for role, arn in sorted(declared.items()):
                if role == "master":
                    continue
                secret = secrets.secret_json(arn)
                user = secret["username"]
                cur.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, ANY_HOST, secret["password"]))
                # identifiers cannot be bound: the privileges are fixed words and the target a checked name
                cur.execute(f"GRANT {PRIVILEGES[role]} ON {target} TO %s@%s", (user, ANY_HOST))  # sql-ok: fixed words
                users.append(user)
    finally:
        master.close()
    return users
