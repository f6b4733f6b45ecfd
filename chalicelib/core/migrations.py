"""Versioned, idempotent schema migrations: ``chalicelib/core/sql/NNNN_name.sql``, applied in order, each once.

Each file is also written to be safe to run twice (``IF NOT EXISTS``), because MySQL commits DDL implicitly
and a migration interrupted half way is re-run whole. MySQL has no ``ADD COLUMN/INDEX IF NOT EXISTS``: an
``ALTER TABLE`` is atomic, so one that fails because its column or key is there already (or, for a ``DROP``,
gone already) was applied by the interrupted run and is passed over. A named lock keeps two deployers from
racing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chalicelib.core.logs import log_event
from chalicelib.core.mysql import Database

SQL_DIR = Path(__file__).resolve().parent / "sql"
LOCK_NAME = "platform_schema_migrations"


def migration_files() -> list[Path]:
    return sorted(SQL_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def split_statements(sql: str) -> list[str]:
    """Split a migration file into statements: our files end each statement with ``;`` at a line's end."""
    without_comments = re.sub(r"^\s*--.*$", "", sql, flags=re.MULTILINE)
    return [s.strip() for s in re.split(r";\s*$", without_comments, flags=re.MULTILINE) if s.strip()]


# ER_DUP_FIELDNAME, ER_DUP_KEYNAME, ER_CANT_DROP_FIELD_OR_KEY: the ALTER's change is already there
ALREADY_APPLIED = frozenset({1060, 1061, 1091})


def _run(cursor: Any, statement: str) -> int:
    """Run one statement; the rows it removed (a migration that removes duplicates says how many)."""
    import pymysql

    try:
        affected = cursor.execute(statement)
    except pymysql.err.MySQLError as exc:
        if not (statement.upper().startswith("ALTER TABLE") and exc.args and exc.args[0] in ALREADY_APPLIED):
            raise
        log_event("migration statement already applied", statement=statement[:120], error=exc.args[0])
        return 0
    return affected if statement.upper().startswith("DELETE") else 0


def apply_migrations(database: Database) -> list[str]:
    """Apply the migrations ``database`` has not seen yet; returns the versions applied now. Each logs a line
    ``migration applied`` with the rows its ``DELETE`` statements removed."""
    applied_now = []
    with database.cursor(dicts=False) as cur:
        cur.execute("SELECT GET_LOCK(%s, 30)", (LOCK_NAME,))
        try:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version VARCHAR(100) NOT NULL PRIMARY KEY,"
                " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for path in migration_files():
                if path.stem in done:
                    continue
                removed = sum(_run(cur, statement) for statement in split_statements(path.read_text()))
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
                log_event("migration applied", version=path.stem, rows_removed=removed)
                applied_now.append(path.stem)
        finally:
            cur.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
    return applied_now


def migrate_source(source: str = "default") -> dict[str, object]:
    """Create the app's missing database users of ``source`` (``DB_USERS``), then apply the pending migrations
    to its database (``default`` or an ``ANALYSIS_SOURCES`` name); the deployed ``migrate`` function runs this
    inside the VPC. Example: ``migrate_source("public")`` -> ``{"source": "public", "users": [...], "applied": [...]}``
    """
    from chalicelib.core.db_users import ensure_users
    from chalicelib.core.mysql import get_database

    users = ensure_users(source)
    return {"source": source, "users": users, "applied": apply_migrations(get_database(source))}
