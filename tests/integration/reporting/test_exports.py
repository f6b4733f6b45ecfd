"""``POST /exports`` (named queries to workbooks) and the report's database credentials from SSM."""

from __future__ import annotations

import io
import json
import re
import secrets
import urllib.request

import boto3
import pytest

from chalicelib.core.mysql import get_database, reset_databases
from chalicelib.core.settings import get_settings
from devtools.stage import PROJECT_DIR
from tests.support.environment import SUFFIX, TEST_DB_NAME

HEROES = [
    ("Ana", "Nova", "flight", 10, "red"),
    ("Bo", "=cmd|' /C calc'!A0", "flight", 20, "blue"),
    ("Cy", "Quake", "strength", 30, "red"),
    ("Di", "Echo", "flight", 40, "red"),
]


def post_export(client, body) -> tuple[int, dict]:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.http.post("/exports", headers={"Content-Type": "application/json"}, body=raw)
    return response.status_code, json.loads(response.body)


@pytest.fixture
def heroes(db):
    with db.transaction() as cur:
        cur.execute("DELETE FROM superheroes")
        cur.executemany("INSERT INTO superheroes (name, hero, power, xp, color) VALUES (%s, %s, %s, %s, %s)", HEROES)
    return db


def read_sheet(s3, key: str) -> list[list]:
    from openpyxl import load_workbook

    data = s3.get_object(Bucket=get_settings().data_bucket, Key=key)["Body"].read()
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_heroes_export_with_parameters(client, heroes, s3):
    status, body = post_export(client, {"name": "heroes", "parameters": {"power": "flight", "min_xp": 15}})
    assert status == 201
    assert body["name"] == "heroes" and body["rows"] == 2 and body["bucket"] == get_settings().data_bucket
    assert re.fullmatch(r"exports/heroes/\d{8}T\d{6}\.\d{6}Z\.xlsx", body["key"])
    rows = read_sheet(s3, body["key"])
    assert rows[0] == ["ID", "Name", "Hero", "Power", "XP", "Color"]
    assert [r[1:] for r in rows[1:]] == [list(HEROES[1]), list(HEROES[3])]  # formula-like hero stays text
    assert all(isinstance(r[0], int) and isinstance(r[4], int) for r in rows[1:])


def test_every_hero_without_parameters(client, heroes, s3):
    status, body = post_export(client, {"name": "heroes"})
    assert status == 201 and body["rows"] == 4
    assert [r[1] for r in read_sheet(s3, body["key"])[1:]] == ["Ana", "Bo", "Cy", "Di"]
    with urllib.request.urlopen(body["download"]["url"], timeout=10) as answer:  # no AWS credentials needed
        assert answer.read() == s3.get_object(Bucket=body["bucket"], Key=body["key"])["Body"].read()
    assert body["download"]["expires_in"] == get_settings().link_expiry_seconds


def test_sales_export_over_several_days(client, cafe, s3):
    status, body = post_export(client, {"name": "sales", "parameters": {"from": "2020-06-20", "to": "2020-06-21"}})
    assert status == 201 and body["rows"] == 4
    rows = read_sheet(s3, body["key"])
    assert [(r[3], r[4], r[5]) for r in rows[1:]] == [
        ("Croissant", 4, 6),
        ("Donut", 12, 12),
        ("Coffee", 4, 12),
        ("Latte", 4, 14),
        (None, 24, 44),
    ]
    assert rows[-1][0] == "Total"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "users"}, "unknown export 'users'; available: heroes, sales"),
        ({"name": "heroes", "parameters": {"sql": "DROP TABLE superheroes"}}, "unknown parameter(s) sql"),
        ({"sql": "SELECT * FROM superheroes"}, "unknown field(s) sql; allowed: name, parameters"),
        ({"parameters": {}}, "name must be the name of an export (heroes, sales), got null"),
        ({"name": "heroes", "parameters": {"min_xp": -1}}, "parameter min_xp must be from 0 to 4294967295, got -1"),
        ({"name": "heroes", "parameters": {"min_xp": "10"}}, "parameter min_xp must be an integer, got str '10'"),
        ({"name": "heroes", "parameters": {"power": "x" * 21}}, "parameter power must be 1 to 20 characters, got 21"),
        ({"name": "heroes", "parameters": []}, "parameters must be a JSON object, got []"),
        ({"name": "sales", "parameters": {"from": "2020-06-31"}}, "from '2020-06-31' is not a calendar date"),
        ({"name": "sales", "parameters": {"from": "2020-06-21", "to": "2020-06-20"}}, "must not be before from"),
        ("[1, 2", "the request body is not valid JSON"),
    ],
)
def test_bad_exports_are_400(client, heroes, s3, body, message):
    before = s3.list_objects_v2(Bucket=get_settings().data_bucket, Prefix="exports/").get("KeyCount", 0)
    status, answer = post_export(client, body)
    assert status == 400
    assert message in answer["Message"]
    assert s3.list_objects_v2(Bucket=get_settings().data_bucket, Prefix="exports/").get("KeyCount", 0) == before


@pytest.fixture
def report_user(cafe):
    """A MySQL account that can only read the test database; its password exists nowhere but in SSM."""
    user, password = f"reporter{SUFFIX}", secrets.token_urlsafe(16)
    with cafe.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cur.execute(f"GRANT SELECT ON `{TEST_DB_NAME}`.* TO %s@'%%'", (user,))  # the test's own database name
    yield user, password
    with cafe.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))


def test_report_reads_its_credentials_from_ssm(client, report_user, monkeypatch):
    user, password = report_user
    ssm = boto3.client("ssm")
    values = {"dbUrl": "127.0.0.1:3306", "dbName": TEST_DB_NAME, "dbUser": user, "dbPassword": password}
    for name, value in values.items():
        ssm.put_parameter(Name=f"/cafe/{name}", Value=value, Type="SecureString", Overwrite=True)
    monkeypatch.setenv("DB_PARAMETER_PREFIX", "/cafe/")
    bogus = {"DB_HOST": "db.invalid", "DB_USER": "nobody", "DB_PASSWORD": "wrong", "DB_NAME": "nope"}
    for name, value in bogus.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    reset_databases()
    try:
        request = {"headers": {"Content-Type": "application/json"}, "body": json.dumps({"date": "2020-07-05"})}
        first = client.http.post("/reports/sales", **request)
        assert first.status_code == 200, first.body
        assert json.loads(first.body)["quantity"] == 21
        stored = ssm.get_parameter(Name="/cafe/dbPassword")["Parameter"]
        assert stored["Type"] == "SecureString" and stored["Value"] != password  # encrypted unless decrypted
    finally:
        ssm.delete_parameters(Names=[f"/cafe/{name}" for name in values])
    # fetched once per warm container: a new connection is made without asking SSM again (the parameters are gone)
    get_database().close()
    second = client.http.post("/reports/sales", **request)
    assert second.status_code == 200 and json.loads(second.body)["quantity"] == 21


def readme_curl_examples() -> list[tuple[str, str | None]]:
    """The ``curl`` lines of the reports and exports page of the docs: (path, body)."""
    section = (PROJECT_DIR / "docs/reports-and-exports.md").read_text()
    pattern = re.compile(
        r"^curl -s -X POST http://127\.0\.0\.1:8000(/\S+) -H 'Content-Type: application/json'(?: -d '(.*)')?$"
    )
    return [m.groups() for m in map(pattern.match, section.splitlines()) if m]


def test_readme_examples_work(client, cafe, heroes, s3):
    examples = readme_curl_examples()
    assert len(examples) == 4
    for path, body in examples:
        response = client.http.post(path, headers={"Content-Type": "application/json"}, body=body or "")
        assert response.status_code in {200, 201}, (path, body, response.body)
        answer = json.loads(response.body)
        key = answer["workbook"]["key"] if "workbook" in answer else answer["key"]
        assert s3.head_object(Bucket=get_settings().data_bucket, Key=key)["ContentLength"] > 0
