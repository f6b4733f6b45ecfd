"""The daily sales report as its readers get it: the plain-text email body (aligned with spaces, totals per group
and overall) and the JSON summary, built from the aggregate's rows without a database."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from chalicelib.reporting.sales import SalesReport, format_report, summary

ROWS = [  # as SALES_SQL answers them: group number, group name, product id, product name, quantity, revenue
    (1, "Pastries", 1, "Croissant", 4, Decimal("6.00")),
    (1, "Pastries", 2, "Pain au chocolat", 2, Decimal("3.50")),
    (2, "Drinks", 5, "Latte", 1200, Decimal("4321.5")),
]

EXPECTED = """\
Sales Analysis Report
Date: 2020-06-20
Time zone: Europe/Zurich

Product Group: Pastries
  Product           Quantity   Revenue
  Croissant                4      6.00
  Pain au chocolat         2      3.50
  ------------------------------------
  Total                    6      9.50

Product Group: Drinks
  Product           Quantity   Revenue
  Latte                 1200  4,321.50
  ------------------------------------
  Total                 1200  4,321.50

All groups              1206  4,331.00
"""


def _report(rows: list[tuple]) -> SalesReport:
    report = SalesReport(date(2020, 6, 20), "Europe/Zurich")
    for row in rows:
        report.add(row)
    return report


def test_the_text_groups_products_with_totals_aligned_by_spaces():
    text = format_report(_report(ROWS))

    assert text == EXPECTED
    assert "\t" not in text and all(line == line.rstrip() for line in text.splitlines())


def test_a_day_without_orders_says_so():
    assert format_report(_report([])) == (
        "Sales Analysis Report\nDate: 2020-06-20\nTime zone: Europe/Zurich\n\nThere were no orders today.\n"
    )
    assert summary(_report([])) == {
        "date": "2020-06-20",
        "timezone": "Europe/Zurich",
        "groups": [],
        "quantity": 0,
        "revenue": 0.0,
    }


def test_the_summary_is_json_with_money_as_numbers():
    answer = summary(_report(ROWS))

    assert json.loads(json.dumps(answer)) == answer
    assert (answer["date"], answer["timezone"], answer["quantity"], answer["revenue"]) == (
        "2020-06-20",
        "Europe/Zurich",
        1206,
        4331.0,
    )
    pastries, drinks = answer["groups"]
    assert (pastries["number"], pastries["name"], pastries["quantity"], pastries["revenue"]) == (1, "Pastries", 6, 9.5)
    assert pastries["products"] == [
        {"id": 1, "name": "Croissant", "quantity": 4, "revenue": 6.0},
        {"id": 2, "name": "Pain au chocolat", "quantity": 2, "revenue": 3.5},
    ]
    assert drinks["products"] == [{"id": 5, "name": "Latte", "quantity": 1200, "revenue": 4321.5}]


def test_a_product_without_quantity_or_revenue_counts_as_zero():
    report = _report([(1, "Pastries", 3, "Muffin", None, None)])

    assert summary(report)["groups"][0]["products"] == [{"id": 3, "name": "Muffin", "quantity": 0, "revenue": 0.0}]
    assert "  Muffin             0     0.00\n" in format_report(report)
