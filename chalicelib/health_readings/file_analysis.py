"""Anomalies, insights and the report of one ingested health file.

Triggered by the ingest's ``ingest.completed`` event (SNS on ``EVENTS_TOPIC_ARN``): the processed CSV (the
file's valid rows) is read as a stream, every row breaking a threshold of :mod:`chalicelib.health_readings.rules` is
listed with all its reasons, and the result goes to ``analysis/health/<path>.json`` (``<path>`` as uploaded).
Then the report is sent once (:mod:`chalicelib.health_readings.notifications`).

Readings are parsed as :class:`~decimal.Decimal`, so ``72.0`` in an integer column or ``36.55`` is a reading,
never a crash; a value that is not a finite number skips its row and is counted in ``rows_skipped``.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from zoneinfo import ZoneInfo

from chalicelib.core import aws
from chalicelib.core.logs import log_event
from chalicelib.core.results import put_result_with_list
from chalicelib.core.s3 import json_value
from chalicelib.core.settings import get_settings
from chalicelib.health_readings import insights, notifications, report, rules

DATASET = "health"
EVENT_TYPE = "ingest.completed"
# The SNS subscription's filter policy, on the message attributes chalicelib.ingest publishes with each event:
# only health ingests reach the handler (the deploy and the local delivery apply it; docs/deploy.md)
PIPELINE_FILTER_POLICY: dict[str, list[str]] = {"event_type": [EVENT_TYPE], "dataset": [DATASET]}
PROCESSED_PREFIX = f"processed/{DATASET}/"
ANALYSIS_PREFIX = f"analysis/{DATASET}/"
SKIPPED_EXAMPLES = 20


def analysis_key_for(processed_key: str) -> str:
    """``processed/health/a/b.csv`` -> ``analysis/health/a/b.json``."""
    if not processed_key.startswith(PROCESSED_PREFIX):
        raise ValueError(f"{processed_key!r} is not under {PROCESSED_PREFIX}")
    path = processed_key[len(PROCESSED_PREFIX) :]
    stem = path[:-4] if path.lower().endswith(".csv") else path
    return f"{ANALYSIS_PREFIX}{stem}.json"


@dataclass
class _Metric:
    count: int = 0
    total: Decimal = Decimal(0)
    low: Decimal | None = None
    high: Decimal | None = None

    def add(self, value: Decimal) -> None:
        self.count += 1
        self.total += value
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)

    def summary(self) -> dict[str, Any]:
        mean = round(self.total / self.count, 2) if self.count else None
        return {"min": self.low, "mean": mean, "max": self.high}


@dataclass
class FileAnalysis:
    """Accumulates the statistics of one file's rows as they stream past.

    Anomalies go to ``spool`` (a temporary file, one JSON object per line) as they are found, and only the
    first :data:`~chalicelib.health_readings.report.HTML_ANOMALY_LIMIT` stay in memory for the report: a large file
    with many anomalies must not grow the function's memory.
    """

    spool: IO[str]
    records: int = 0
    anomaly_count: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    skipped_examples: list[dict[str, Any]] = field(default_factory=list)
    by_reason: dict[str, int] = field(default_factory=lambda: dict.fromkeys(rules.REASONS, 0))
    metrics: dict[str, _Metric] = field(default_factory=lambda: {m: _Metric() for m in rules.METRICS})
    per_user: dict[str, dict[str, int]] = field(default_factory=dict)
    first_reading: str | None = None
    last_reading: str | None = None

    def add(self, line: int, row: Mapping[str, str | None]) -> None:
        try:
            readings = {metric: _reading(row.get(metric)) for metric in rules.METRICS}
        except ValueError as exc:
            self.skipped += 1
            if len(self.skipped_examples) < SKIPPED_EXAMPLES:
                self.skipped_examples.append({"line": line, "reason": str(exc)})
            return
        user_id, event_time = row.get("user_id") or "", row.get("event_time") or ""
        self.records += 1
        for metric, value in readings.items():
            self.metrics[metric].add(value)
        user = self.per_user.setdefault(user_id, {"readings": 0, "anomalies": 0})
        user["readings"] += 1
        if event_time:
            self.first_reading = min(self.first_reading or event_time, event_time)
            self.last_reading = max(self.last_reading or event_time, event_time)
        reasons = rules.reasons_for(readings)
        if reasons:
            user["anomalies"] += 1
            for reason in reasons:
                self.by_reason[reason] += 1
            anomaly = {"line": line, "event_time": event_time, "user_id": user_id, **readings, "reasons": reasons}
            self.anomaly_count += 1
            self.spool.write(json.dumps(anomaly, default=json_value, ensure_ascii=False) + "\n")
            if len(self.preview) < report.HTML_ANOMALY_LIMIT:
                self.preview.append(anomaly)

    def anomalies(self) -> Iterator[str]:
        """The anomalies found, as JSON texts, in file order."""
        self.spool.seek(0)
        for line in self.spool:
            yield line.rstrip("\n")

    def statistics(self) -> dict[str, Any]:
        return {
            "records_analyzed": self.records,
            "rows_skipped": self.skipped,
            "users": len(self.per_user),
            "users_with_anomalies": sum(1 for user in self.per_user.values() if user["anomalies"]),
            "anomalous_records": self.anomaly_count,
            "anomaly_rate": round(self.anomaly_count / self.records, 4) if self.records else 0.0,
            "anomalies_by_reason": dict(self.by_reason),
            "metrics": {metric: values.summary() for metric, values in self.metrics.items()},
            "first_reading": self.first_reading,
            "last_reading": self.last_reading,
            "per_user": self.per_user,
        }


def _reading(raw: str | None) -> Decimal:
    try:
        value = Decimal((raw or "").strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {raw!r}")
    return value


def analyse_rows(rows: Iterable[Mapping[str, str | None]], spool: IO[str]) -> FileAnalysis:
    """Analyse CSV rows (dicts by header name), anomalies written to ``spool``; line numbers count the header
    as line 1."""
    analysis = FileAnalysis(spool)
    for line, row in enumerate(rows, start=2):
        analysis.add(line, row)
    return analysis


def analyse_file(bucket: str, processed_key: str, source_key: str | None = None) -> dict[str, Any]:
    """Analyse the processed CSV ``processed_key``, store the result, notify once. Returns a summary.

    When every channel has already been notified for this exact content (a redelivered trigger), nothing is
    recomputed or sent.
    """
    import tempfile  # only this function needs it: kept out of every handler's cold start

    analysis_key = analysis_key_for(processed_key)
    obj = aws.client("s3").get_object(Bucket=bucket, Key=processed_key)
    etag = obj["ETag"].strip('"')
    if notifications.all_sent(analysis_key, etag):
        obj["Body"].close()
        log_event("health.analysis.skipped", reason="already analysed and notified", analysis_key=analysis_key)
        return {"status": "already_notified", "analysis_key": analysis_key}
    with obj["Body"] as body, tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        analysis = analyse_rows(csv.DictReader(codecs.getreader("utf-8-sig")(body)), spool)
        statistics = analysis.statistics()
        written = insights.write_insights(statistics)
        document: dict[str, Any] = {
            "analysis_key": analysis_key,
            "bucket": bucket,
            "source_key": source_key,
            "processed_key": processed_key,
            "content_etag": etag,
            "analysed_at": datetime.now(UTC),
            "records_analyzed": analysis.records,
            "anomaly_count": analysis.anomaly_count,
            "summary": written["summary"],
            "insights": written["insights"],
            "recommendations": written["recommendations"],
            "insights_source": written["source"],
            **({"insights_fallback_reason": written["fallback_reason"]} if "fallback_reason" in written else {}),
            "statistics": statistics,
            "rows_skipped_examples": analysis.skipped_examples,
        }
        put_result_with_list(analysis_key, document, "anomalies", analysis.anomalies())
    settings = get_settings()
    zone = ZoneInfo(settings.report_timezone)
    rendered = report.render(document, analysis.preview, settings.require("DATA_BUCKET"), zone)
    outcomes = notifications.notify_once(analysis_key, etag, rendered)
    summary = {
        "status": "analysed",
        "analysis_key": analysis_key,
        "records_analyzed": analysis.records,
        "anomalies": analysis.anomaly_count,
        "insights_source": written["source"],
        "notifications": outcomes,
    }
    log_event("health.analysis", **summary)
    return summary


DIGEST_FILES = 100  # analysed files a digest lists; it counts what they found
_HEAD_BYTES = 8192  # the leading fields of an analysis object: put_result_with_list writes them before the list
_HEAD_FIELD = re.compile(r'^  "(source_key|records_analyzed|anomaly_count)": (.*),$', re.MULTILINE)


def analysed_between(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The health files analysed and reported in ``[start, end)`` (UTC), at most :data:`DIGEST_FILES`: each
    one's analysis key, source key, readings analysed and anomalies found. Only the head of each analysis
    object is read (its anomaly list may be large)."""
    s3, bucket = aws.client("s3"), get_settings().require("DATA_BUCKET")
    files: list[dict[str, Any]] = []
    for key in notifications.sent_between(start, end, ANALYSIS_PREFIX, DIGEST_FILES):
        try:
            head = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{_HEAD_BYTES - 1}")["Body"].read()
        except s3.exceptions.NoSuchKey:  # removed since (a lifecycle rule, by hand): listed as such
            files.append({"analysis_key": key, "missing": True})
            continue
        fields = {name: json.loads(value) for name, value in _HEAD_FIELD.findall(head.decode("utf-8", "replace"))}
        files.append({"analysis_key": key, **fields})
    return files


def handle_pipeline_message(message: str) -> dict[str, Any]:
    """An SNS message of ``EVENTS_TOPIC_ARN``: analyse health ingests that loaded rows, ignore the rest.

    ``duplicate`` completions are analysed too: if an earlier analysis of the same content was interrupted, this
    completes it; if it finished, :func:`analyse_file` sees the notifications were sent and stops at once.
    """
    try:
        event = json.loads(message)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        log_event("pipeline.event.ignored", reason="message is not a JSON object", sns_message=message[:200])
        return {"status": "ignored", "reason": "message is not a JSON object"}
    reason = _ignore_reason(event)
    if reason:
        log_event("pipeline.event.ignored", reason=reason, event_type=event.get("type"), dataset=event.get("dataset"))
        return {"status": "ignored", "reason": reason}
    source_key = event.get("source_key") if isinstance(event.get("source_key"), str) else None
    return analyse_file(event["bucket"], event["processed_key"], source_key)


def _ignore_reason(event: dict[str, Any]) -> str | None:
    """Why a pipeline event is not a health ingest to analyse; None when it is one."""
    kind, dataset, status = event.get("type"), event.get("dataset"), event.get("status")
    counts = event.get("counts")
    loaded = counts.get("loaded") if isinstance(counts, dict) else None
    if kind != EVENT_TYPE or dataset != DATASET:
        return f"not a health ingest completion (type={kind!r}, dataset={dataset!r})"
    if status not in ("loaded", "duplicate") or not isinstance(loaded, int) or loaded <= 0:
        return f"no loaded rows to analyse (status={status!r}, loaded={loaded!r})"
    if not isinstance(event.get("processed_key"), str) or not isinstance(event.get("bucket"), str):
        return "the event has no bucket/processed_key"
    if not event["processed_key"].startswith(PROCESSED_PREFIX):
        return f"processed_key {event['processed_key']!r} is not under {PROCESSED_PREFIX}"
    return None
