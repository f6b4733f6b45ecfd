"""The daily sales report: aggregate, day boundaries, text, SNS, workbook, schedule vs route, CLI."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from chalicelib.core.settings import get_settings
from chalicelib.reporting import sales
from tests.support.sns_inbox import received

README_QUANTITIES = {
    "Croissant": 29,
    "Donut": 23,
    "Chocolate Chip Cookie": 18,
    "Muffin": 6,
    "Strawberry Blueberry Tart": 34,
    "Strawberry Tart": 33,
    "Coffee": 33,
    "Hot Chocolate": 17,
    "Latte": 24,
}

JULY_5 = {  # orders 13 and 14 of the sample
    "groups": [
        {
            "number": 1,
            "name": "Pastries",
            "products": [
                {"id": 3, "name": "Chocolate Chip Cookie", "quantity": 4, "revenue": 10.0},
                {"id": 5, "name": "Strawberry Blueberry Tart", "quantity": 3, "revenue": 10.5},
                {"id": 6, "name": "Strawberry Tart", "quantity": 8, "revenue": 28.0},
            ],
            "quantity": 15,
            "revenue": 48.5,
        },
        {
            "number": 2,
            "name": "Drinks",
            "products": [
                {"id": 8, "name": "Hot Chocolate", "quantity": 2, "revenue": 6.0},
                {"id": 9, "name": "Latte", "quantity": 4, "revenue": 14.0},
            ],
            "quantity": 6,
            "revenue": 20.0,
        },
    ],
    "quantity": 21,
    "revenue": 68.5,
}


def post_report(client, body) -> tuple[int, dict]:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.http.post("/reports/sales", headers={"Content-Type": "application/json"}, body=raw)
    return response.status_code, json.loads(response.body)


def use_timezone(monkeypatch, zone: str) -> None:
    monkeypatch.setenv("REPORT_TIMEZONE", zone)
    get_settings.cache_clear()


def add_order(db, number: int, when: str, product_id: int, quantity: int, price: str) -> None:
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO `order` (order_number, order_date_time, amount) VALUES (%s, %s, %s * %s)",
            (number, when, quantity, price),
        )
        cur.execute(
            "INSERT INTO order_item (order_number, order_item_number, product_id, quantity, amount)"
            " VALUES (%s, 1, %s, %s, %s * %s)",
            (number, product_id, quantity, quantity, price),
        )


def load_workbook_bytes(data: bytes):
    from openpyxl import load_workbook as load

    return load(io.BytesIO(data))


def load_workbook(s3, bucket: str, key: str):
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return load_workbook_bytes(data), data


def test_one_day_per_group_and_product(client, cafe):
    status, body = post_report(client, {"date": "2020-07-05"})
    assert status == 200
    assert {k: body[k] for k in JULY_5} == JULY_5
    assert body["date"] == "2020-07-05"
    download = body["workbook"].pop("download")
    assert body["workbook"] == {"bucket": get_settings().data_bucket, "key": "exports/sales/2020-07-05.xlsx"}
    assert download["expires_in"] == get_settings().link_expiry_seconds
    with urllib.request.urlopen(download["url"], timeout=10) as answer:  # a client without AWS credentials
        assert load_workbook_bytes(answer.read())["Sales"]["A1"].value == "Group No."


def test_all_days_sum_to_the_sample_readme(cafe):
    """Every day of the sample (2020-06-20 .. 2020-07-28), each reported alone, adds up to the lab's totals."""
    totals: Counter[str] = Counter()
    revenue = 0.0
    day = date(2020, 6, 19)
    while day <= date(2020, 7, 29):
        result = sales.run_sales_report(day)
        for group in result["groups"]:
            totals.update({p["name"]: p["quantity"] for p in group["products"]})
        revenue += result["revenue"]
        day += timedelta(days=1)
    assert dict(totals) == README_QUANTITIES
    with cafe.cursor() as cur:
        cur.execute("SELECT SUM(amount) AS total FROM `order`")
        assert revenue == pytest.approx(float(cur.fetchone()["total"]))


def test_empty_day(client, cafe, s3, report_queue):
    status, body = post_report(client, {"date": "2020-06-23"})
    assert status == 200
    assert (body["groups"], body["quantity"], body["revenue"]) == ([], 0, 0)
    assert sales.NO_ORDERS in body["message"]
    (note,) = received(report_queue)
    assert note["Message"].splitlines()[:2] == ["Sales Analysis Report", "Date: 2020-06-23"]
    assert sales.NO_ORDERS in note["Message"]
    workbook, _ = load_workbook(s3, body["workbook"]["bucket"], body["workbook"]["key"])
    sheet = workbook["Sales"]
    assert [c.value for c in sheet[2]] == ["Total", None, None, None, 0, 0]
    assert sheet._charts == []


def test_day_boundaries_follow_the_report_timezone(client, cafe, monkeypatch):
    """03:00 UTC on 2020-06-21 is 23:00 on 2020-06-20 in New York."""
    add_order(cafe, 100, "2020-06-21 03:00:00", 4, 2, "3.00")  # two muffins
    status, utc_day = post_report(client, {"date": "2020-06-21"})
    assert status == 200 and [p["name"] for g in utc_day["groups"] for p in g["products"]] == [
        "Donut",
        "Muffin",
        "Coffee",
    ]

    use_timezone(monkeypatch, "America/New_York")
    _, evening = post_report(client, {"date": "2020-06-20"})
    assert evening["timezone"] == "America/New_York"
    assert [(p["name"], p["quantity"]) for g in evening["groups"] for p in g["products"]] == [
        ("Croissant", 4),
        ("Muffin", 2),
        ("Latte", 4),
    ]
    _, next_day = post_report(client, {"date": "2020-06-21"})
    assert [p["name"] for g in next_day["groups"] for p in g["products"]] == ["Donut", "Coffee"]


def test_utc_range_is_half_open_and_follows_daylight_saving():
    assert sales.utc_range(date(2020, 6, 20), date(2020, 6, 20), "America/New_York") == {
        "start": datetime(2020, 6, 20, 4),
        "end": datetime(2020, 6, 21, 4),
    }
    fall_back = sales.utc_range(date(2020, 11, 1), date(2020, 11, 1), "America/New_York")
    assert fall_back["end"] - fall_back["start"] == timedelta(hours=25)
    spring = sales.utc_range(date(2020, 3, 8), date(2020, 3, 8), "America/New_York")
    assert spring["end"] - spring["start"] == timedelta(hours=23)


def test_the_day_is_a_range_scan_on_the_order_time_index(cafe):
    """With a year of orders, one day reads a range of idx_order_date_time, not the whole table."""
    start = datetime(2021, 1, 1)
    rows = [(1000 + i, start + timedelta(minutes=131 * i), 3) for i in range(4000)]
    with cafe.transaction(dicts=False) as cur:
        cur.executemany("INSERT INTO `order` (order_number, order_date_time, amount) VALUES (%s, %s, %s)", rows)
        cur.executemany(
            "INSERT INTO order_item (order_number, order_item_number, product_id, quantity, amount)"
            " VALUES (%s, 1, 7, 1, 3)",
            [(r[0],) for r in rows],
        )
    with cafe.cursor() as cur:
        cur.execute("ANALYZE TABLE `order`, order_item")
        cur.fetchall()
        cur.execute("EXPLAIN " + sales.SALES_SQL, sales.utc_range(date(2021, 3, 1), date(2021, 3, 1), "UTC"))
        plan = {row["table"]: row for row in cur.fetchall()}
    assert plan["o"]["type"] == "range", plan
    assert plan["o"]["key"] == "idx_order_date_time"
    assert plan["oi"]["type"] in {"ref", "eq_ref"} and plan["oi"]["key"] == "PRIMARY"


def test_schedule_and_route_give_the_same_report(client, cafe):
    event = client.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/daily_sales_report"],
    )
    event["time"] = "2020-07-05T20:00:00Z"
    scheduled = client.lambda_.invoke("daily_sales_report", event).payload
    _, requested = post_report(client, {"date": "2020-07-05"})
    assert scheduled.pop("message_id") != requested.pop("message_id")
    assert requested["workbook"].pop("download")["url"]  # the route answers a link; the schedule has no caller
    assert scheduled == requested
    assert {k: scheduled[k] for k in JULY_5} == JULY_5


def test_scheduled_day_is_the_event_time_in_the_report_timezone(client, cafe, monkeypatch):
    use_timezone(monkeypatch, "America/New_York")
    event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    event["time"] = "2020-07-06T02:00:00Z"  # 22:00 on July 5 in New York
    result = client.lambda_.invoke("daily_sales_report", event).payload
    assert result["date"] == "2020-07-05"


def test_sns_message_read_back_from_a_subscribed_queue(client, cafe, report_queue):
    status, body = post_report(client, {"date": "2020-07-05"})
    assert status == 200
    (note,) = received(report_queue)
    assert note["Subject"] == "Daily Sales Analysis Report"
    assert note["MessageId"] == body["message_id"]
    text = note["Message"]
    assert text == body["message"]
    assert "\t" not in text
    expected = [
        "Sales Analysis Report",
        "Date: 2020-07-05",
        "Time zone: UTC",
        "",
        "Product Group: Pastries",
        "  Product                    Quantity  Revenue",
        "  Chocolate Chip Cookie             4    10.00",
        "  Strawberry Blueberry Tart         3    10.50",
        "  Strawberry Tart                   8    28.00",
        "  " + "-" * 44,
        "  Total                            15    48.50",
        "",
        "Product Group: Drinks",
        "  Product                    Quantity  Revenue",
        "  Hot Chocolate                     2     6.00",
        "  Latte                             4    14.00",
        "  " + "-" * 44,
        "  Total                             6    20.00",
        "",
        "All groups                         21    68.50",
    ]
    assert text.splitlines() == expected


def test_workbook_read_back(client, cafe, s3):
    assert post_report(client, {"date": "2020-07-05"})[0] == 200
    workbook, data = load_workbook(s3, get_settings().data_bucket, "exports/sales/2020-07-05.xlsx")
    sheet = workbook["Sales"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values == [
        ["Group No.", "Product Group", "Product ID", "Product", "Quantity", "Revenue"],
        [1, "Pastries", 3, "Chocolate Chip Cookie", 4, 10],
        [1, "Pastries", 5, "Strawberry Blueberry Tart", 3, 10.5],
        [1, "Pastries", 6, "Strawberry Tart", 8, 28],
        [2, "Drinks", 8, "Hot Chocolate", 2, 6],
        [2, "Drinks", 9, "Latte", 4, 14],
        ["Total", None, None, None, 21, 68.5],
    ]
    assert all(sheet.cell(r, 6).data_type == "n" and sheet.cell(r, 6).number_format == "#,##0.00" for r in (2, 7))
    assert sheet["A1"].font.bold and sheet["A1"].fill.fgColor.rgb.endswith("1F4E78")
    assert sheet.column_dimensions["D"].width == 28
    assert sheet.freeze_panes == "A2"
    (chart,) = sheet._charts
    assert chart.tagname == "barChart"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        chart_xml = archive.read("xl/charts/chart1.xml").decode()
    assert "<barChart>" in chart_xml and "'Sales'!$E$2:$E$6" in chart_xml and "'Sales'!$D$2:$D$6" in chart_xml
    head = s3.head_object(Bucket=get_settings().data_bucket, Key="exports/sales/2020-07-05.xlsx")
    assert head["ContentType"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_data_that_looks_like_a_formula_stays_text(client, cafe, s3):
    with cafe.cursor() as cur:
        cur.execute("UPDATE product SET product_name = %s WHERE id = 3", ('=HYPERLINK("http://x","y")',))
        cur.execute("UPDATE product SET product_name = %s WHERE id = 5", ("+1+1",))
        cur.execute("UPDATE product SET product_name = %s WHERE id = 6", ("-2",))
        cur.execute("UPDATE product SET product_name = %s WHERE id = 8", ("@SUM(A1)",))
    _, body = post_report(client, {"date": "2020-07-05"})
    workbook, data = load_workbook(s3, body["workbook"]["bucket"], body["workbook"]["key"])
    cells = [workbook["Sales"].cell(row, 4) for row in range(2, 6)]
    assert [c.value for c in cells] == ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)"]
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"date": "2020-02-30"}, "'2020-02-30' is not a calendar date: day is out of range for month"),
        ({"date": "20-06-2020"}, 'date must be a string in the form YYYY-MM-DD, got "20-06-2020"'),
        ({"date": "20200620"}, 'date must be a string in the form YYYY-MM-DD, got "20200620"'),
        ({"date": 20200620}, "date must be a string in the form YYYY-MM-DD, got 20200620"),
        ({"date": "1969-12-31"}, "date must be between 1970-01-01 and 9998-12-31, got 1969-12-31"),
        ({"day": "2020-06-20"}, "unknown field(s) day; allowed: date"),
        (["2020-06-20"], 'the request body must be a JSON object like {"date": "2020-06-20"}, got list'),
        ("{not json", "the request body is not valid JSON"),
    ],
)
def test_bad_dates_and_bodies_are_400(client, cafe, body, message):
    status, answer = post_report(client, body)
    assert status == 400
    assert answer["Code"] == "BadRequestError"
    assert message in answer["Message"]


def test_no_body_means_today_in_the_report_timezone(client, cafe, monkeypatch):
    use_timezone(monkeypatch, "Pacific/Kiritimati")  # UTC+14: its today is often not UTC's
    response = client.http.post("/reports/sales", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert json.loads(response.body)["date"] == sales.today("Pacific/Kiritimati").isoformat()


def test_cli_runs_the_same_report(cafe, capsys, report_queue):
    from devtools.sales_report import main

    assert main(["--date", "2020-07-05"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Sales Analysis Report\nDate: 2020-07-05\n")
    summary = json.loads(out[out.index("\n{") :])
    assert {k: summary[k] for k in JULY_5} == JULY_5
    assert [n["MessageId"] for n in received(report_queue)] == [summary["message_id"]]
    assert main(["--date", "2020-13-01"]) == 2


def test_aws_unreachable_is_503_naming_it(client, cafe, monkeypatch):
    from tests.support.environment import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    reset_clients()
    response = client.http.post("/reports/sales", headers={"Content-Type": "application/json"}, body="")
    assert response.status_code == 503
    assert json.loads(response.body)["Message"] == "s3 is unavailable right now; retry later"  # no endpoint text


def test_cafe_seeder_loads_the_sample_once(cafe):
    from devtools.seed import CAFE_TABLES, seed_cafe

    assert seed_cafe(cafe) == {}  # the tables hold data already: nothing is loaded twice
    with cafe.cursor(dicts=False) as cur:
        counts = {}
        for table in CAFE_TABLES:
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")  # noqa: S608 - table names from CAFE_TABLES
            counts[table] = cur.fetchone()[0]
        cur.execute("SELECT MIN(order_date_time), MAX(order_date_time) FROM `order`")
        first, last = cur.fetchone()
    assert counts == {"product_group": 2, "product": 9, "order": 24, "order_item": 51}
    assert (str(first), str(last)) == ("2020-06-20 13:09:07", "2020-07-28 13:14:07")  # UTC, as in the dump


def test_importing_the_app_loads_no_workbook_library():
    """openpyxl (and lxml through it) load on the first export, not at every cold start."""
    import subprocess
    import sys

    from devtools.stage import PROJECT_DIR

    code = "import sys, app; print(sorted(m for m in ('openpyxl', 'lxml', 'xlsxwriter') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
