"""The app's own database users: created by the migrate function as the master user, each with its role's
privileges, their credentials read from Secrets Manager (the emulator) at run time, a rotated password picked
up without a deploy. Real MariaDB: the users are created in it and dropped afterwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pytest

from chalicelib.core import secrets
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.mysql import Database
from chalicelib.core.settings import DbSettings
from tests.support.environment import TEST_DB_NAME, reset_clients

PRIVILEGED = ("migrations", "readwrite", "readonly")


@pytest.fixture
def users(platform: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Secrets of a master user (the local root) and of one user per role, and DB_USERS naming them."""
    tag = uuid.uuid4().hex[:8]
    secretsmanager = boto3.client("secretsmanager")
    values = {"master": {"username": "root", "password": ""}}
    values.update({role: {"username": f"t_{role}_{tag}", "password": uuid.uuid4().hex} for role in PRIVILEGED})
    arns = {
        role: secretsmanager.create_secret(Name=f"db-{role}-{tag}", SecretString=json.dumps(value))["ARN"]
        for role, value in values.items()
    }
    monkeypatch.setenv("DB_USERS", json.dumps({"default": arns}))
    monkeypatch.setenv("DB_SECRET_ARN", arns["migrations"])  # the migrate function's own user
    reset_clients()
    yield arns
    reset_clients()
    root = Database(DbSettings(name=TEST_DB_NAME))
    with root.cursor() as cur:
        for role in PRIVILEGED:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (values[role]["username"],))
    root.close()


def _as(arn: str) -> Database:
    return Database(DbSettings(name=TEST_DB_NAME, secret_arn=arn))


def _denied(database: Database, statement: str) -> str:
    with pytest.raises(Exception) as raised, database.cursor() as cur:
        cur.execute(statement)
    return str(raised.value)


def test_migrate_creates_the_app_users_then_migrates_as_the_migrations_user(client, users):
    first = client.lambda_.invoke("migrate", {"source": "default"}).payload
    again = client.lambda_.invoke("migrate", {}).payload

    assert sorted(first["users"]) == sorted(json.loads(_secret(users[r]))["username"] for r in PRIVILEGED)
    assert again["users"] == first["users"] and again["applied"] == []  # idempotent
    with _as(users["migrations"]).cursor(dicts=False) as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone()[0].startswith("t_migrations_")


def test_each_user_can_do_what_its_role_needs_and_no_more(client, users):
    client.lambda_.invoke("migrate", {})
    reader, writer, migrator = _as(users["readonly"]), _as(users["readwrite"]), _as(users["migrations"])

    with reader.cursor(dicts=False) as cur:
        cur.execute("SELECT COUNT(*) FROM superheroes")
    assert "denied" in _denied(reader, "DELETE FROM superheroes WHERE id = -1")
    with writer.cursor(dicts=False) as cur:
        cur.execute("DELETE FROM superheroes WHERE id = -1")
    assert "denied" in _denied(writer, "CREATE TABLE roles_test_writer (id INT)")
    with migrator.cursor(dicts=False) as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS roles_test_migrator (id INT)")
        cur.execute("DROP TABLE roles_test_migrator")
    for database in (reader, writer, migrator):
        database.close()


def _secret(arn: str) -> str:
    return boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def test_a_rotated_password_is_read_again_after_a_failed_login_without_a_deploy(client, users):
    client.lambda_.invoke("migrate", {})
    writer = _as(users["readwrite"])
    with writer.cursor(dicts=False) as cur:
        cur.execute("SELECT 1")
    # a rotation: the user's password changes in MySQL and in the secret
    rotated = {**json.loads(_secret(users["readwrite"])), "password": uuid.uuid4().hex}
    with _as(users["master"]).cursor() as cur:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (rotated["username"], rotated["password"]))
    boto3.client("secretsmanager").put_secret_value(SecretId=users["readwrite"], SecretString=json.dumps(rotated))
    writer.close()  # the next invocation's connection (an open one is not affected by the change)

    with pytest.raises(DependencyUnavailable):  # the cached password is refused once...
        writer.connection()
    with writer.cursor(dicts=False) as cur:  # ...and the secret read again
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone()[0].startswith(rotated["username"])
    writer.close()


def test_a_secret_is_read_again_once_older_than_its_maximum_age(platform):
    secretsmanager = boto3.client("secretsmanager")
    arn = secretsmanager.create_secret(Name=f"age-{uuid.uuid4().hex[:8]}", SecretString='{"v": 1}')["ARN"]
    clock = [1000.0]
    assert secrets.secret_json(arn, now=lambda: clock[0]) == {"v": 1}
    secretsmanager.put_secret_value(SecretId=arn, SecretString='{"v": 2}')

    clock[0] += secrets.MAX_AGE_SECONDS - 1
    assert secrets.secret_json(arn, now=lambda: clock[0]) == {"v": 1}
    clock[0] += 1
    assert secrets.secret_json(arn, now=lambda: clock[0]) == {"v": 2}
