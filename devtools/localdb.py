"""Create a MySQL database on the local server and bring its schema up to date."""

from __future__ import annotations

import re

import pymysql

from chalicelib.core.migrations import apply_migrations
from chalicelib.core.mysql import Database
from chalicelib.core.settings import DbSettings, parse_settings
from devtools.stage import stage_environment

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _on_server(settings: DbSettings, statement: str) -> None:
    """Run a database-level ``statement`` whose ``{name}`` is ``settings.name`` (a plain identifier, checked:
    a database name cannot be a query parameter)."""
    if not _SAFE_NAME.match(settings.name):
        raise SystemExit(f"database name {settings.name!r} must be letters, digits and underscores")
    conn = pymysql.connect(
        host=settings.host, port=settings.port, user=settings.user, password=settings.password, connect_timeout=5
    )
    try:
        with conn.cursor() as cur:
            cur.execute(statement.format(name=settings.name))  # the database name is a checked identifier
    finally:
        conn.close()


def create_database(settings: DbSettings) -> None:
    _on_server(settings, "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")


def drop_database(settings: DbSettings) -> None:
    _on_server(settings, "DROP DATABASE IF EXISTS `{name}`")


def prepare_database(settings: DbSettings) -> Database:
    """Create the database if needed and apply pending migrations; returns a :class:`Database` on it."""
    create_database(settings)
    # the migrate function's waits: migrations queue for a server-wide lock and may rebuild tables
    database = Database(settings, timeouts=parse_settings(stage_environment("local", "migrate")).timeouts)
    applied = apply_migrations(database)
    if applied:
        print(f"[db] {settings.name}: applied migrations {', '.join(applied)}")
    return database
