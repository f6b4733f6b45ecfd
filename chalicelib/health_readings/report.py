"""The health analysis report as people read it: an SNS subject and plain text, and an HTML email part.

Every value from the data is escaped in the HTML: user ids and timestamps come from uploaded files.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.core.s3 import json_value
from chalicelib.health_readings import rules
from chalicelib.health_readings.notifications import Report

SUBJECT_PREFIX = "Health Data Analysis Report"
TEXT_ANOMALY_LIMIT = 20  # the SNS text lists the first ones; the analysis object has them all
HTML_ANOMALY_LIMIT = 500  # keeps the email well under SES's message size limit


def subject(analysed_at: datetime, zone: ZoneInfo) -> str:
    """``Health Data Analysis Report - November 02, 2026`` (the analysis date in ``REPORT_TIMEZONE``)."""
    return f"{SUBJECT_PREFIX} - {analysed_at.astimezone(zone).strftime('%B %d, %Y')}"


def _value(value: Any) -> str:
    return str(json_value(value)) if not isinstance(value, str) else value


def _reason_lines(statistics: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (rules.BY_REASON[reason].label, count) for reason, count in statistics["anomalies_by_reason"].items() if count
    ]


def _anomaly_cells(anomaly: dict[str, Any]) -> list[str]:
    return [
        anomaly["event_time"],
        anomaly["user_id"],
        *(_value(anomaly[metric]) for metric in rules.METRICS),
        ", ".join(anomaly["reasons"]),
    ]


def _percent(document: dict[str, Any]) -> str:
    """The share of anomalous records, from the counts (as the summary computes it, so the two agree)."""
    records = document["records_analyzed"]
    return f"{100 * document['anomaly_count'] / records:.1f}%" if records else "0.0%"


def _anomaly_line(anomaly: dict[str, Any]) -> str:
    readings = " ".join(f"{metric}={_value(anomaly[metric])}" for metric in rules.METRICS)
    return f"  {anomaly['event_time']} {anomaly['user_id']}: {readings} -> {', '.join(anomaly['reasons'])}"


def render_text(document: dict[str, Any], anomalies: list[dict[str, Any]], location: str) -> str:
    statistics = document["statistics"]
    lines = [
        SUBJECT_PREFIX,
        "",
        f"File: {document['source_key'] or document['processed_key']}",
        f"Records analysed: {document['records_analyzed']} (from {statistics['users']} users)",
        f"Anomalous records: {statistics['anomalous_records']} ({_percent(document)}), "
        f"{statistics['users_with_anomalies']} users affected",
    ]
    lines += [f"  - {label}: {count}" for label, count in _reason_lines(statistics)]
    lines += ["", "Summary", document["summary"], "", "Insights"]
    lines += [f"  - {item}" for item in document["insights"]]
    lines += ["", "Recommendations"]
    lines += [f"  - {item}" for item in document["recommendations"]]
    if anomalies:
        shown = anomalies[:TEXT_ANOMALY_LIMIT]
        lines += ["", f"Anomalies (first {len(shown)} of {document['anomaly_count']})"]
        lines += [_anomaly_line(anomaly) for anomaly in shown]
    lines += ["", f"Full analysis: {location}"]
    return "\n".join(lines) + "\n"


def render_html(document: dict[str, Any], anomalies: list[dict[str, Any]], location: str) -> str:
    statistics = document["statistics"]
    shown = anomalies[:HTML_ANOMALY_LIMIT]
    header = ["event_time", "user_id", *rules.METRICS, "reasons"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in _anomaly_cells(anomaly)) + "</tr>" for anomaly in shown
    )

    def items(values: list[str]) -> str:
        return "".join(f"<li>{escape(value)}</li>" for value in values)

    reasons = items([f"{label}: {count}" for label, count in _reason_lines(statistics)])
    table = (
        "<table border='1' cellpadding='4' cellspacing='0'><thead><tr>"
        + "".join(f"<th>{escape(name)}</th>" for name in header)
        + f"</tr></thead><tbody>{rows}</tbody></table>"
        if shown
        else "<p>No anomalies.</p>"
    )
    total = document["anomaly_count"]
    more = f"<p>Showing the first {len(shown)} of {total} anomalies.</p>" if len(shown) < total else ""
    return (
        "<!DOCTYPE html><html><body>"
        f"<h1>{escape(SUBJECT_PREFIX)}</h1>"
        f"<p>File: {escape(document['source_key'] or document['processed_key'])}<br>"
        f"Records analysed: {document['records_analyzed']} (from {statistics['users']} users)<br>"
        f"Anomalous records: {statistics['anomalous_records']} ({_percent(document)})</p>"
        f"<ul>{reasons}</ul>"
        f"<h2>Summary</h2><p>{escape(document['summary'])}</p>"
        f"<h2>Insights</h2><ul>{items(document['insights'])}</ul>"
        f"<h2>Recommendations</h2><ul>{items(document['recommendations'])}</ul>"
        f"<h2>Anomalies</h2>{more}{table}"
        f"<p>Full analysis: {escape(location)}</p>"
        "</body></html>"
    )


def render(document: dict[str, Any], anomalies: list[dict[str, Any]], bucket: str, zone: ZoneInfo) -> Report:
    """The report of a health analysis ``document`` stored in ``bucket``; ``anomalies`` are its first ones
    (at least :data:`HTML_ANOMALY_LIMIT` when there are that many)."""
    location = f"s3://{bucket}/{document['analysis_key']}"
    return Report(
        subject=subject(document["analysed_at"], zone),
        text=render_text(document, anomalies, location),
        html=render_html(document, anomalies, location),
        report_type="health_analysis",
    )
