"""The health anomaly thresholds: which readings break which rule (limits themselves are normal), the reasons in
declaration order, and the SQL form the per-source analysis runs with the limits bound as parameters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.health_readings.rules import METRICS, REASONS, THRESHOLDS, reasons_for, sql_any_anomaly, sql_condition

NORMAL = {
    "heart_rate": Decimal(72),
    "spo2": Decimal(97),
    "steps": Decimal(4000),
    "temp_c": Decimal("36.6"),
    "systolic_bp": Decimal(120),
    "diastolic_bp": Decimal(80),
}


def test_a_normal_reading_breaks_nothing():
    assert reasons_for(NORMAL) == []


@pytest.mark.parametrize(
    ("metric", "at_limit", "beyond", "reason"),
    [
        ("heart_rate", "60", "59", "low_heart_rate"),
        ("heart_rate", "160", "161", "high_heart_rate"),
        ("spo2", "92", "91", "low_spo2"),
        ("temp_c", "38.0", "38.1", "high_temperature"),
        ("systolic_bp", "140", "141", "high_systolic_bp"),
        ("diastolic_bp", "90", "91", "high_diastolic_bp"),
    ],
)
def test_a_limit_is_normal_and_one_step_beyond_it_breaks_the_rule(metric, at_limit, beyond, reason):
    assert reasons_for({**NORMAL, metric: Decimal(at_limit)}) == []
    assert reasons_for({**NORMAL, metric: Decimal(beyond)}) == [reason]


def test_every_broken_rule_is_named_in_declaration_order():
    everything = {
        **NORMAL,
        "diastolic_bp": Decimal(95),
        "heart_rate": Decimal(170),
        "temp_c": Decimal("39.2"),
        "spo2": Decimal(88),
        "systolic_bp": Decimal(150),
    }

    assert reasons_for(everything) == [
        "high_heart_rate",
        "low_spo2",
        "high_temperature",
        "high_systolic_bp",
        "high_diastolic_bp",
    ]
    assert set(reasons_for(everything)) | {"low_heart_rate"} == set(REASONS)


def test_every_threshold_reads_a_declared_metric_and_has_its_own_reason():
    assert {threshold.field for threshold in THRESHOLDS} <= set(METRICS)
    assert len(set(REASONS)) == len(THRESHOLDS)


def test_the_sql_form_binds_every_limit_as_a_parameter():
    low_heart_rate = THRESHOLDS[0]
    assert sql_condition(low_heart_rate) == ("heart_rate < %s", [Decimal(60)])

    sql, params = sql_any_anomaly()

    assert sql == "(" + " OR ".join(f"{t.field} {t.op} %s" for t in THRESHOLDS) + ")"
    assert params == [t.limit for t in THRESHOLDS]
