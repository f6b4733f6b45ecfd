"""MySQL access: one lazily opened connection per named source, reused across warm invocations.

Nothing connects at import. A connection that dropped (server restart, idle timeout, failover) is replaced
on the next use, so the app recovers without a restart. Connection problems surface as
:class:`~chalicelib.core.errors.DependencyUnavailable` (HTTP 503 at the edge). Credentials come from SSM Parameter
Store when the source has a ``DB_PARAMETER_PREFIX`` (SecureString, decrypted), fetched once per container; the user
and password from a Secrets Manager secret when it has a ``DB_SECRET_ARN`` (:mod:`chalicelib.core.secrets`, read
again after a maximum age and after a failed connect). With ``DB_SSL_CA`` the connection is TLS and the server's
certificate is verified against that bundle, host name included.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from chalicelib.core import aws, secrets
from chalicelib.core.errors import DependencyUnavailable, IdsExhausted
from chalicelib.core.settings import ConfigError, DbSettings, Timeouts, get_settings

IDLE_PING_AFTER_SECONDS = 30  # a warm container may sit idle; check the connection before reusing it then
OUT_OF_RANGE = 167  # MariaDB's "Out of range value for column": an assigned id past the column's range
SSM_NAMES = {"host": "dbUrl", "name": "dbName", "user": "dbUser", "password": "dbPassword"}


def _pymysql() -> Any:
    import pymysql

    return pymysql


def _connection_errors() -> tuple[type[BaseException], ...]:
    pymysql = _pymysql()
    return (pymysql.err.OperationalError, pymysql.err.InterfaceError, OSError)


_ssm_credentials: dict[str, DbSettings] = {}


def resolve_credentials(settings: DbSettings) -> DbSettings:
    """Fill host/name/user/password from SSM when ``parameter_prefix`` is set (cached per prefix; ``dbUrl`` may be
    ``host`` or ``host:port``), the user and password from the secret when ``secret_arn`` is set."""
    if settings.secret_arn:
        secret = secrets.secret_json(settings.secret_arn)
        if not isinstance(secret.get("username"), str) or not isinstance(secret.get("password"), str):
            raise ConfigError(f"DB_SECRET_ARN={settings.secret_arn!r}: the secret has no username and password")
        return replace(settings, user=secret["username"], password=secret["password"])
    prefix = settings.parameter_prefix
    if not prefix:
        return settings
    if prefix not in _ssm_credentials:
        names = {field: prefix.rstrip("/") + "/" + ssm for field, ssm in SSM_NAMES.items()}
        try:
            found = aws.client("ssm").get_parameters(Names=list(names.values()), WithDecryption=True)
        except Exception as exc:  # botocore's errors are not importable without botocore at cold start
            raise DependencyUnavailable("ssm", str(exc)) from exc
        values = {p["Name"]: p["Value"] for p in found["Parameters"]}
        missing = [n for n in names.values() if n not in values]
        if missing:
            raise ConfigError(f"DB_PARAMETER_PREFIX={prefix!r}: SSM parameters not found: {missing}")
        host, _, port = values[names["host"]].partition(":")
        _ssm_credentials[prefix] = replace(
            settings,
            host=host,
            port=int(port) if port.isdigit() else settings.port,
            name=values[names["name"]],
            user=values[names["user"]],
            password=values[names["password"]],
        )
    return _ssm_credentials[prefix]


_PROJECT_DIR = Path(__file__).resolve().parent.parent.parent  # the Lambda task root: chalicelib's parent


def _tls(settings: DbSettings) -> dict[str, Any]:
    """PyMySQL's TLS arguments: verify the server against ``DB_SSL_CA`` (relative to the project) when set."""
    if not settings.ssl_ca:
        return {}
    bundle = _PROJECT_DIR / settings.ssl_ca
    if not bundle.is_file():
        raise ConfigError(f"DB_SSL_CA={settings.ssl_ca!r}: no such file ({bundle})")
    return {"ssl_ca": str(bundle), "ssl_verify_cert": True, "ssl_verify_identity": True}


class Database:
    """One MySQL database. Use :meth:`cursor` for reads and single statements, :meth:`transaction` for
    several statements that must commit together.

    A connection is per thread: a PyMySQL connection must not be shared between threads, and ``chalice local``
    serves each request on its own thread (Lambda uses one thread, so one connection per container)."""

    def __init__(self, settings: DbSettings, label: str = "mysql", timeouts: Timeouts | None = None) -> None:
        self._settings = settings
        self._timeouts = timeouts or Timeouts()
        self._label = label
        self._local = threading.local()

    @property
    def _conn(self) -> Any:
        return getattr(self._local, "conn", None)

    @_conn.setter
    def _conn(self, conn: Any) -> None:
        self._local.conn = conn

    @property
    def _last_used(self) -> float:
        return getattr(self._local, "last_used", 0.0)

    @_last_used.setter
    def _last_used(self, when: float) -> None:
        self._local.last_used = when

    @property
    def name(self) -> str:
        return resolve_credentials(self._settings).name

    def _connect(self) -> Any:
        creds = resolve_credentials(self._settings)
        pymysql = _pymysql()
        conn = pymysql.connect(
            host=creds.host,
            port=creds.port,
            user=creds.user,
            password=creds.password,
            database=creds.name,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=self._timeouts.db_connect_seconds,
            # PyMySQL's connect_timeout covers the TCP connect only; the handshake, login and session setup are
            # reads. Bounding them too makes a server that accepts connections but never answers (hung, or a
            # proxy in front of a dead one) fail within seconds instead of after a query timeout.
            read_timeout=self._timeouts.db_connect_seconds,
            write_timeout=self._timeouts.db_query_seconds,
            local_infile=True,
            init_command="SET time_zone = '+00:00'",
            **_tls(creds),
        )
        conn._read_timeout = self._timeouts.db_query_seconds  # for queries; PyMySQL (pinned) applies it at each read
        return conn

    def _forget_credentials(self) -> None:
        if self._settings.secret_arn:
            secrets.forget(self._settings.secret_arn)

    def connection(self) -> Any:
        """The open connection, (re)connecting when there is none or it went away while idle."""
        try:
            if self._conn is None or not self._conn.open:
                self._conn = self._connect()
            elif time.monotonic() - self._last_used > IDLE_PING_AFTER_SECONDS:
                self._conn.ping(reconnect=True)
        except _connection_errors() as exc:
            self.close()
            self._forget_credentials()  # a login refused after a rotation succeeds with the secret read again
            raise DependencyUnavailable(self._label, str(exc)) from exc
        self._last_used = time.monotonic()
        return self._conn

    @contextmanager
    def cursor(self, *, dicts: bool = True, stream: bool = False) -> Iterator[Any]:
        """A cursor on the shared connection. ``stream=True`` fetches rows from the server as they are read
        (memory stays flat in the size of the result); ``dicts`` returns rows as dicts."""
        cursors = _pymysql().cursors
        kind = {
            (True, False): cursors.DictCursor,
            (False, False): cursors.Cursor,
            (True, True): cursors.SSDictCursor,
            (False, True): cursors.SSCursor,
        }[(dicts, stream)]
        conn = self.connection()
        try:
            with conn.cursor(kind) as cur:
                yield cur
        except _connection_errors() as exc:
            self.close()
            raise DependencyUnavailable(self._label, str(exc)) from exc

    @contextmanager
    def transaction(self, *, dicts: bool = True) -> Iterator[Any]:
        """A cursor whose statements commit together, or roll back together when the block raises."""
        conn = self.connection()
        with self.cursor(dicts=dicts) as cur:
            conn.begin()
            try:
                yield cur
            except BaseException:
                if conn.open:
                    conn.rollback()
                raise
            conn.commit()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken; nothing to release
                conn.close()


@contextmanager
def assigning_ids(table: str) -> Iterator[None]:
    """Around statements that add rows to ``table`` without an id: a table whose ids ran out raises
    :class:`IdsExhausted` instead of the driver's error. (The values themselves were validated in range, so an
    out-of-range error there is the assigned id's.)"""
    try:
        yield
    except _pymysql().err.MySQLError as exc:
        if exc.args and exc.args[0] == OUT_OF_RANGE:
            raise IdsExhausted(table) from exc
        raise


_databases: dict[str, Database] = {}


def get_database(source: str = "default") -> Database:
    """The shared :class:`Database` of ``source``: ``default`` is the ``DB_*`` settings, other names come
    from ``ANALYSIS_SOURCES``."""
    if source not in _databases:
        settings = get_settings()
        if source == "default":
            _databases[source] = Database(settings.db, timeouts=settings.timeouts)
        elif source in settings.analysis_sources:
            _databases[source] = Database(
                settings.analysis_sources[source], label=f"mysql:{source}", timeouts=settings.timeouts
            )
        else:
            raise ConfigError(
                f"unknown database source {source!r}; ANALYSIS_SOURCES names {sorted(settings.analysis_sources)}"
            )
    return _databases[source]


def reset_databases() -> None:
    """Close every connection and forget cached credentials (tests, or after a credential rotation)."""
    for database in _databases.values():
        database.close()
    _databases.clear()
    _ssm_credentials.clear()
    secrets.forget()
