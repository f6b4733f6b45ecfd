"""The daily digest for the people who run the pipeline: the day's ingests per dataset (files, rows loaded,
rejected with the top reasons, already present, duplicates), the anomalies found in the health files analysed,
the analysis runs and any that failed, with where to find each result. The digest itself is stored as JSON
under ``analysis/digest/<day>.json``.

It covers the UTC day before the schedule fires, and goes out on ``REPORT_TOPIC_ARN`` (and by SES email with an
HTML part when ``SES_SENDER`` and ``SES_RECIPIENTS`` are set) once per day and channel: the send is claimed in
MySQL (``analysis_notifications``, key ``digest/<day>``), so a schedule that fires twice sends nothing more.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from chalicelib.analysis import runs_between
from chalicelib.core.logs import log_event
from chalicelib.core.results import put_result
from chalicelib.health_readings import Report, analysed_between, notify_once
from chalicelib.ingest import ingests_between

SUBJECT_PREFIX = "Platform daily digest"
DIGEST_PREFIX = "analysis/digest/"  # with the analyses ("digest" is a reserved source name there)
DIGEST_ETAG = "daily-digest"  # one digest per day: its claim does not depend on what it says


def digest_day(event_time: str) -> date:
    """The day a schedule firing at ``event_time`` (ISO 8601, UTC) reports on: the UTC day before."""
    fired = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    return fired.astimezone(UTC).date() - timedelta(days=1)


def collect(day: date) -> dict[str, Any]:
    """What happened on ``day`` (UTC)."""
    start = datetime.combine(day, time(), UTC)
    end = start + timedelta(days=1)
    health_files = analysed_between(start, end)
    runs = runs_between(start, end)
    return {
        "day": day.isoformat(),
        "ingests": ingests_between(start, end),
        "health_files": health_files,
        "anomalies": sum(f.get("anomaly_count") or 0 for f in health_files),
        "analysis_runs": runs,
        "failed_runs": [run for source_runs in runs.values() for run in source_runs if run["status"] != "ok"],
    }


def send_daily_digest(event_time: str) -> dict[str, Any]:
    """The schedule's handler: collect the previous UTC day and send its digest once per channel."""
    digest = collect(digest_day(event_time))
    digest["key"] = put_result(f"{DIGEST_PREFIX}{digest['day']}.json", digest)  # rewritten by a second firing
    outcomes = notify_once(f"digest/{digest['day']}", DIGEST_ETAG, render(digest))
    log_event("daily digest", day=digest["day"], key=digest["key"], outcomes=outcomes)
    return {
        "day": digest["day"],
        "key": digest["key"],
        "notifications": outcomes,
        "failed_runs": len(digest["failed_runs"]),
    }


def render(digest: dict[str, Any]) -> Report:
    """The digest as a plain-text and an HTML message."""
    text = "\n".join(_text_lines(digest))
    body = "".join(_html_parts(digest))
    page = f"<html><body><h1>{html.escape(_subject(digest))}</h1>{body}</body></html>"
    return Report(subject=_subject(digest), text=text, html=page, report_type="daily_digest")


def _subject(digest: dict[str, Any]) -> str:
    failed = f", {len(digest['failed_runs'])} failed analyses" if digest["failed_runs"] else ""
    return f"{SUBJECT_PREFIX} - {digest['day']}{failed}"


def _ingest_line(dataset: str, s: dict[str, Any]) -> str:
    reasons = ", ".join(f"{r['reason']} ({r['count']})" for r in s["top_reasons"]) or "none"
    return (
        f"{dataset}: {s['files']} files ({s['rejected_files']} rejected whole), {s['rows_loaded']} rows loaded"
        f" ({s['rows_already_present']} already present), {s['rows_rejected']} rejected (top reasons: {reasons}),"
        f" {s['duplicates']} duplicate deliveries; manifests under {s['manifests_prefix']}"
    )


def _run_line(source: str, run: dict[str, Any]) -> str:
    outcome = f"failed: {run['error']}" if run["status"] != "ok" else f"ok ({', '.join(run['analyses']) or 'profile'})"
    return f"{source} [{run['trigger']}] {outcome} -> {run['key']}"


def _text_lines(digest: dict[str, Any]) -> list[str]:
    lines = [_subject(digest), f"This digest as JSON: {digest['key']}", "", "Ingests"]
    lines += [f"- {_ingest_line(name, s)}" for name, s in sorted(digest["ingests"].items())] or ["- none"]
    lines += ["", f"Anomalies: {digest['anomalies']} in {len(digest['health_files'])} health files analysed"]
    lines += [
        f"- {f.get('anomaly_count')} of {f.get('records_analyzed')} readings -> {f['analysis_key']}"
        for f in digest["health_files"]
    ]
    lines += ["", "Analysis runs"]
    runs = [(source, run) for source, source_runs in sorted(digest["analysis_runs"].items()) for run in source_runs]
    lines += [f"- {_run_line(source, run)}" for source, run in runs] or ["- none"]
    return lines


def _html_parts(digest: dict[str, Any]) -> list[str]:
    e = html.escape
    parts = ["<h2>Ingests</h2><ul>"]
    parts += [f"<li>{e(_ingest_line(name, s))}</li>" for name, s in sorted(digest["ingests"].items())] or [
        "<li>none</li>"
    ]
    parts += ["</ul>", f"<h2>Anomalies: {digest['anomalies']}</h2><table>"]
    parts += [
        f"<tr><td>{e(str(f.get('anomaly_count')))}</td><td>{e(str(f.get('records_analyzed')))}</td>"
        f"<td>{e(f['analysis_key'])}</td></tr>"
        for f in digest["health_files"]
    ]
    parts += ["</table><h2>Analysis runs</h2><ul>"]
    runs = [(source, run) for source, source_runs in sorted(digest["analysis_runs"].items()) for run in source_runs]
    parts += [f"<li>{e(_run_line(source, run))}</li>" for source, run in runs] or ["<li>none</li>"]
    return [*parts, "</ul>"]
