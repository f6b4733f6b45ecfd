"""The café's original report extractor (the ``salesAnalysisReportDataExtractor`` Lambda): one aggregate per
product group and product over ALL orders ever placed, no date filter, on a new connection."""

from __future__ import annotations

from typing import Any

from bench.peers import connect

ORIGINAL_SQL = """
SELECT product_group_number, product_group_name, product_id, product_name, SUM(quantity) AS quantity
FROM `order`
JOIN order_item ON `order`.order_number = order_item.order_number
JOIN product ON order_item.product_id = product.id
JOIN product_group ON product.product_group = product_group.product_group_number
GROUP BY product_group_number, product_group_name, product_id, product_name
ORDER BY product_group_number, product_id
"""


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    conn = connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(ORIGINAL_SQL)
            rows = cursor.fetchall()
    finally:
        conn.close()
    return {"statusCode": 200, "body": [list(row) for row in rows]}
