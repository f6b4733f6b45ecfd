"""The health-file pipeline: anomaly rules for heart-rate, SpO2, temperature and blood-pressure readings, the
analysis of each ingested health file, its insights, its report and the notifications sent once per file.

(``GET /health``, the platform's own dependency check, is :mod:`chalicelib.core.dependencies`.)"""

from chalicelib.health_readings.file_analysis import (
    PIPELINE_FILTER_POLICY,
    analysed_between,
    analysis_key_for,
    handle_pipeline_message,
)
from chalicelib.health_readings.notifications import Report, notify_once
from chalicelib.health_readings.rules import THRESHOLDS, sql_any_anomaly, sql_condition

__all__ = [
    "PIPELINE_FILTER_POLICY",
    "THRESHOLDS",
    "Report",
    "analysed_between",
    "analysis_key_for",
    "handle_pipeline_message",
    "notify_once",
    "sql_any_anomaly",
    "sql_condition",
]
