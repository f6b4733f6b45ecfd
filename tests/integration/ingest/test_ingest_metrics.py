"""Rows loaded and rejected per dataset, as embedded metrics on the ingest's invocation log line."""

from __future__ import annotations

from tests.support.ingest import deliver, upload
from tests.unit.test_embedded_metrics import cloudwatch_metrics

HEALTH = "event_time,user_id,heart_rate,spo2,steps,temp_c,systolic_bp,diastolic_bp\n"
ROW = "2025-09-17T10:00:0{}Z,user_1,100,95,21,37.5,120,80\n"


def test_an_ingest_counts_rows_loaded_and_rejected_for_its_dataset(client, logged, ingest_env):
    upload("raw/health/metrics.csv", HEALTH + ROW.format(1) + ROW.format(2) + "not,a,row\n")

    deliver(client, "raw/health/metrics.csv")
    deliver(client, "raw/health/metrics.csv")  # a duplicate delivery loads nothing and counts nothing

    first, duplicate = (cloudwatch_metrics(line) for line in logged.invocations())
    dimensions = {"Function": "on_s3_upload", "Dataset": "health"}
    assert first == {"RowsLoaded": (2, dimensions), "RowsRejected": (1, dimensions)}
    assert duplicate == {}
