"""Create a MySQL database on the local server and bring its schema up to date."""

from __future__ import annotations

import re

import pymysql

from chalicelib.config import DbSettings
from chalicelib.db import Database
from chalicelib.migrations import apply_migrations

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def create_database(settings: DbSettings) -> None:
    """``CREATE DATABASE IF NOT EXISTS`` for ``settings.name`` (a plain identifier, checked)."""
    if not _SAFE_NAME.match(settings.name):
        raise SystemExit(f"database name {settings.name!r} must be letters, digits and underscores")
    conn = pymysql.connect(
        host=settings.host, port=settings.port, user=settings.user, password=settings.password, connect_timeout=5
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{settings.name}` CHARACTER SET utf8mb4")  # sql-ok
    finally:
        conn.close()


def drop_database(settings: DbSettings) -> None:
    if not _SAFE_NAME.match(settings.name):
        raise SystemExit(f"database name {settings.name!r} must be letters, digits and underscores")
    conn = pymysql.connect(host=settings.host, port=settings.port, user=settings.user, password=settings.password)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{settings.name}`")  # sql-ok
    finally:
        conn.close()


def prepare_database(settings: DbSettings) -> Database:
    """Create the database if needed and apply pending migrations; returns a :class:`Database` on it."""
    create_database(settings)
    database = Database(settings)
    applied = apply_migrations(database)
    if applied:
        print(f"[db] {settings.name}: applied migrations {', '.join(applied)}")
    return database
