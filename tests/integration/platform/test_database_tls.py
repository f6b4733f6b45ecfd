"""TLS to MySQL: with ``DB_SSL_CA`` the functions verify the server's certificate (as they verify RDS or RDS
Proxy against the bundle the deploy ships) and a server whose certificate that CA did not sign is refused.
A MariaDB of its own, on a loopback port, requiring secure transport as the RDS parameter group does; stopped
by its PID."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.mysql import Database
from chalicelib.core.settings import DbSettings
from tests.support.ports import free_port, wait_listening

START_SECONDS = 20


def _run(*command: str, cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(directory: Path) -> None:
    """A CA, a server certificate it signs for 127.0.0.1, and a second CA that signed nothing."""
    for ca in ("ca", "other-ca"):
        _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={ca}",
             "-keyout", f"{ca}.key", "-out", f"{ca}.pem", cwd=directory)  # fmt: skip
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", "server.key", "-out", "server.csr", cwd=directory)  # fmt: skip
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    _run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-days", "1", "-extfile", "san.cnf", "-out", "server.pem", cwd=directory)  # fmt: skip


@pytest.fixture(scope="module")
def tls_mysql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    if not (shutil.which("mariadbd") and shutil.which("mariadb-install-db") and shutil.which("openssl")):
        pytest.skip("needs mariadbd, mariadb-install-db and openssl")
    directory = tmp_path_factory.mktemp("tls-mysql")
    _certificates(directory)
    data = directory / "data"
    _run("mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
         "--auth-root-authentication-method=normal", "--skip-test-db", cwd=directory)  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={data}", "--user=root", f"--port={port}",
         "--bind-address=127.0.0.1", f"--socket={directory / 'mysqld.sock'}", "--skip-log-bin",
         f"--ssl-ca={directory / 'ca.pem'}", f"--ssl-cert={directory / 'server.pem'}",
         f"--ssl-key={directory / 'server.key'}", "--require-secure-transport=ON"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_listening(port, server, START_SECONDS)
        yield port, directory
    finally:
        server.terminate()
        server.wait(timeout=30)


def _database(port: int, ca: Path) -> Database:
    return Database(DbSettings(host="127.0.0.1", port=port, name="mysql", ssl_ca=str(ca)), label="mysql:tls")


def test_the_connection_is_tls_verified_against_the_configured_ca(tls_mysql):
    port, directory = tls_mysql
    database = _database(port, directory / "ca.pem")

    with database.cursor(dicts=False) as cur:
        cur.execute("SHOW STATUS LIKE 'Ssl_version'")
        assert cur.fetchone()[1].startswith("TLSv1.")
    database.close()


def test_a_server_the_configured_ca_did_not_sign_is_refused(tls_mysql):
    port, directory = tls_mysql
    impostor = _database(port, directory / "other-ca.pem")

    with pytest.raises(DependencyUnavailable) as refused:
        impostor.connection()

    assert refused.value.dependency == "mysql:tls"
