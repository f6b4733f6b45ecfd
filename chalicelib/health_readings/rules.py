"""The health anomaly thresholds (docs/analysis.md, "Health files"), declared once.

Both the per-file analysis (rows of a processed CSV, in Python) and the per-source analysis (rows of
``health_metrics``, in SQL) derive their checks from :data:`THRESHOLDS`, so the two cannot disagree.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_OPERATORS = {"<": operator.lt, ">": operator.gt}


@dataclass(frozen=True)
class Threshold:
    """A reading is anomalous when ``<field> <op> <limit>``; ``reason`` names it in results."""

    field: str
    op: str
    limit: Decimal
    reason: str
    label: str  # for people: "heart rate below 60 bpm"
    advice: str  # the rule-based recommendation when readings break this threshold

    def broken_by(self, value: Decimal) -> bool:
        return _OPERATORS[self.op](value, self.limit)


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "heart_rate",
        "<",
        Decimal(60),
        "low_heart_rate",
        "heart rate below 60 bpm",
        "Check low heart-rate readings for bradycardia, or for sensors that slipped during rest.",
    ),
    Threshold(
        "heart_rate",
        ">",
        Decimal(160),
        "high_heart_rate",
        "heart rate above 160 bpm",
        "Review readings above 160 bpm against activity (steps) to separate exercise from tachycardia.",
    ),
    Threshold(
        "spo2",
        "<",
        Decimal(92),
        "low_spo2",
        "blood oxygen (SpO2) below 92%",
        "Follow up SpO2 below 92% promptly: confirm with a second measurement and escalate persistent lows.",
    ),
    Threshold(
        "temp_c",
        ">",
        Decimal("38.0"),
        "high_temperature",
        "body temperature above 38.0 °C",
        "Contact users with temperatures above 38.0 °C about possible fever and repeat the measurement.",
    ),
    Threshold(
        "systolic_bp",
        ">",
        Decimal(140),
        "high_systolic_bp",
        "systolic blood pressure above 140 mmHg",
        "Schedule a blood-pressure review for users with repeated systolic readings above 140 mmHg.",
    ),
    Threshold(
        "diastolic_bp",
        ">",
        Decimal(90),
        "high_diastolic_bp",
        "diastolic blood pressure above 90 mmHg",
        "Schedule a blood-pressure review for users with repeated diastolic readings above 90 mmHg.",
    ),
)

METRICS: tuple[str, ...] = ("heart_rate", "spo2", "steps", "temp_c", "systolic_bp", "diastolic_bp")
REASONS: tuple[str, ...] = tuple(t.reason for t in THRESHOLDS)
BY_REASON: Mapping[str, Threshold] = {t.reason: t for t in THRESHOLDS}


def reasons_for(readings: Mapping[str, Decimal]) -> list[str]:
    """Every threshold ``readings`` break, in declaration order (empty when the row is normal).

    >>> reasons_for({"heart_rate": Decimal(170), "spo2": Decimal(90), "temp_c": Decimal("36.5"),
    ...              "systolic_bp": Decimal(120), "diastolic_bp": Decimal(80)})
    ['high_heart_rate', 'low_spo2']
    """
    return [t.reason for t in THRESHOLDS if t.broken_by(readings[t.field])]


def sql_condition(threshold: Threshold) -> tuple[str, list[Any]]:
    """``(sql, params)`` that is true for a ``health_metrics`` row breaking ``threshold``."""
    return f"{threshold.field} {threshold.op} %s", [threshold.limit]  # field and op from THRESHOLDS, never input


def sql_any_anomaly() -> tuple[str, list[Any]]:
    """``(sql, params)`` that is true for a ``health_metrics`` row breaking any threshold."""
    parts = [sql_condition(t) for t in THRESHOLDS]
    return "(" + " OR ".join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]
