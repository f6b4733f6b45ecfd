"""Structured JSON logs: one object per line, with the request or event id, so CloudWatch Logs Insights can
query them. :func:`log_invocation` (registered once in ``app.py`` as middleware for every event type) writes
one summary line per invocation of any handler; handlers add detail through :func:`log_event`.

Metrics ride on that line in CloudWatch's embedded metric format: what a handler records with :func:`metric`
(or :func:`timed`) becomes a CloudWatch metric of :data:`METRIC_NAMESPACE` when Lambda's log line arrives, with
no API call and no agent. The dashboard of infra/platform.yaml charts them."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from chalice.app import CloudWatchEvent, LambdaFunctionEvent, Request, S3Event, SNSEvent

from chalicelib.core.auth import caller

_LOGGER_NAME = "platform"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

METRIC_NAMESPACE = "ServerlessDataPlatform"
METRICS = {  # each metric the app records, with its unit; the dimension Function is always added
    "RowsLoaded": "Count",  # per Dataset, by each ingest that completes
    "RowsRejected": "Count",
    "CacheHits": "Count",  # hero reads answered from Redis
    "CacheMisses": "Count",  # ... read from MySQL and cached
    "CacheBypasses": "Count",  # ... read from MySQL without the cache (asked for, or Redis down)
    "ReportDuration": "Milliseconds",
    "AnalysisDuration": "Milliseconds",  # per Source
}
_recorded = threading.local()  # chalice local serves requests on threads; Lambda runs one invocation at a time


_ENCODER = json.JSONEncoder(default=str, check_circular=False)  # built once: json.dumps(default=...) builds one a line
_second: tuple[int, str] = (-1, "")  # the whole second of the last line's time, and that time formatted


def _time_text(created: float) -> str:
    """``created`` as :data:`TIME_FORMAT` in local time (UTC on Lambda), formatted once per second."""
    global _second
    second, text = _second
    if int(created) != second:
        text = time.strftime(TIME_FORMAT, time.localtime(created))
        _second = (int(created), text)  # one assignment: threads (chalice local) see a pair
    return text


def format_line(level: str, message: str, created: float, fields: dict[str, Any], exception: str | None = None) -> str:
    """One log line: level, logger, message and time, then ``fields``, as one JSON object (the one place that
    says what a line holds)."""
    entry: dict[str, Any] = {"level": level, "logger": _LOGGER_NAME, "message": message, "time": _time_text(created)}
    entry.update(fields)
    if exception:
        entry["exception"] = exception
    return _ENCODER.encode(entry)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        exception = self.formatException(record.exc_info) if record.exc_info else None
        fields = getattr(record, "fields", {})
        return format_line(record.levelname, record.getMessage(), record.created, fields, exception)


class LineHandler(logging.StreamHandler[TextIO]):
    """A ``StreamHandler`` that writes and flushes each line under one lock (``StreamHandler.flush`` takes it
    again), and takes lines already formatted (:func:`log_event`'s way, without a ``LogRecord``)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.write_line(self.format(record), record)

    def write_line(self, line: str, record: logging.LogRecord | None = None) -> None:
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except Exception:
                self.handleError(record or logging.makeLogRecord({"msg": line}))


_logger: logging.Logger | None = None
_line_handler: LineHandler | None = None  # the handler get_logger installed


def get_logger() -> logging.Logger:
    global _logger, _line_handler
    if _logger is not None:
        return _logger
    logger = logging.getLogger(_LOGGER_NAME)
    if not logger.handlers:
        _line_handler = LineHandler(sys.stdout)
        _line_handler.setFormatter(JsonFormatter())
        logger.addHandler(_line_handler)
        logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        logger.propagate = False
    _logger = logger
    return logger


def log_event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``message`` with ``fields`` (request_id, event kind, counts, duration_ms, ...) as one JSON line."""
    _log(message, level, fields)


def _log(message: str, level: int, fields: dict[str, Any]) -> None:
    """The line goes straight to :class:`LineHandler` when it is the logger's only handler, as configured by
    :func:`get_logger`: no ``LogRecord`` (its constructor reads the process, thread and clock), no handler
    filters, no second lock. That is most of the cost of the line written once per invocation, which every
    request pays (docs/benchmarks.md). Any other configuration (a test's handler, a filter) gets records as usual.
    """
    logger = get_logger()
    if not logger.isEnabledFor(level) or logger.disabled:
        return
    handler = _sole_line_handler(logger, level)
    if handler is not None:
        handler.write_line(format_line(logging.getLevelName(level), message, time.time(), fields))
        return
    record = logging.LogRecord(_LOGGER_NAME, level, "", 0, message, None, None)
    record.fields = fields
    logger.callHandlers(record)


def _sole_line_handler(logger: logging.Logger, level: int) -> LineHandler | None:
    """:func:`get_logger`'s handler when it alone would take a line of ``level``, nothing filtering."""
    handler = _line_handler
    if handler is None or logger.handlers != [handler] or level < handler.level or logger.filters:
        return None
    return None if handler.filters else handler


def metric(name: str, value: float, **dimensions: str) -> None:
    """Record ``value`` of metric ``name`` (one of :data:`METRICS`) for the current invocation's log line."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; declare it in METRICS")
    _pending().append((name, value, dimensions))


@contextmanager
def timed(name: str, **dimensions: str) -> Iterator[None]:
    """Record how long the block took, in milliseconds, as metric ``name`` (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        metric(name, _elapsed_ms(started), **dimensions)


def _pending() -> list[tuple[str, float, dict[str, str]]]:
    if not hasattr(_recorded, "metrics"):
        _recorded.metrics = []
    return _recorded.metrics


def embedded_metrics(function: str | None, recorded: list[tuple[str, float, dict[str, str]]]) -> list[dict[str, Any]]:
    """The recorded values as embedded-metric-format documents: metric and dimension values are the documents'
    top-level keys, so a name recorded under other dimension values goes into another document; a name recorded
    twice under the same ones becomes a list of values."""
    documents: list[dict[str, Any]] = []
    for name, value, dimensions in recorded:
        keys = {"Function": function or "unknown", **dimensions}
        document = next((d for d in documents if _fits(d, name, keys)), None)
        if document is None:
            document = {"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": []}}
            documents.append(document)
        _add(document, name, value, keys)
    return documents


def _fits(document: dict[str, Any], name: str, keys: dict[str, str]) -> bool:
    if any(document.get(key, value) != value for key, value in keys.items()):
        return False
    directive = _directive(document, name)
    return directive is None or directive["Dimensions"] == [sorted(keys)]


def _directive(document: dict[str, Any], name: str) -> dict[str, Any] | None:
    for directive in document["_aws"]["CloudWatchMetrics"]:
        if any(entry["Name"] == name for entry in directive["Metrics"]):
            return directive
    return None


def _add(document: dict[str, Any], name: str, value: float, keys: dict[str, str]) -> None:
    document.update(keys)
    if name in document:
        previous = document[name]
        document[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        return
    document[name] = value
    dimensions = [sorted(keys)]
    directives = document["_aws"]["CloudWatchMetrics"]
    directive = next((d for d in directives if d["Dimensions"] == dimensions), None)
    if directive is None:
        directive = {"Namespace": METRIC_NAMESPACE, "Dimensions": dimensions, "Metrics": []}
        directives.append(directive)
    directive["Metrics"].append({"Name": name, "Unit": METRICS[name]})


def _take_metrics(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """The invocation's metrics: the first document goes into its summary line (``fields``), the rest after."""
    recorded, _recorded.metrics = _pending(), []
    documents = embedded_metrics(fields.get("function"), recorded)
    if documents:
        fields.update(documents[0])
    return documents[1:]


def _event_fields(event: Any) -> dict[str, Any]:
    """What identifies one invocation in the log: the request or event id and the event's kind."""
    if isinstance(event, Request):
        context = event.lambda_context
        fields: dict[str, Any] = {
            "event_type": "http",
            "api_request_id": event.context.get("requestId"),
            "method": event.method,
            "path": event.path,
        }
    else:
        context = event.context
        fields = {"event_type": "event"}
        raw = event.to_dict()
        records = (raw.get("Records") if isinstance(raw, dict) else None) or []
        if isinstance(event, S3Event):
            fields.update(event_type="s3", bucket=event.bucket, key=event.key, records=len(records))
        elif isinstance(event, SNSEvent):
            fields.update(event_type="sns", message_id=records[0]["Sns"].get("MessageId"), subject=event.subject)
        elif isinstance(event, CloudWatchEvent):
            fields.update(event_type="scheduled", event_id=event.event_id, event_time=event.time)
        elif isinstance(event, LambdaFunctionEvent):
            fields["event_type"] = "invoke"
    fields["request_id"] = getattr(context, "aws_request_id", None)
    fields["function"] = getattr(context, "function_name", None)
    return fields


def log_invocation(event: Any, get_response: Any) -> Any:
    """Chalice middleware (``app.register_middleware(log_invocation, "all")``): one summary line per invocation
    of any handler, with its request/event id, outcome and duration; the handler's result passes through."""
    fields = _event_fields(event)
    _recorded.metrics = []
    started = time.perf_counter()
    try:
        response = get_response(event)
    except Exception as exc:
        fields.update(outcome="error", error=type(exc).__name__, duration_ms=_elapsed_ms(started))
        more = _take_metrics(fields)
        get_logger().error("invocation", exc_info=True, extra={"fields": fields})
        _log_metrics(more)
        raise
    status = getattr(response, "status_code", None)
    if status is not None:
        fields["status_code"] = status
    if fields["event_type"] == "http":
        fields["caller"] = caller(event)  # known once the route checked the credential
    fields.update(outcome="error" if status is not None and status >= 500 else "ok")
    fields["duration_ms"] = _elapsed_ms(started)
    more = _take_metrics(fields)
    _log("invocation", logging.WARNING if fields["outcome"] == "error" else logging.INFO, fields)
    _log_metrics(more)
    return response


def _log_metrics(documents: list[dict[str, Any]]) -> None:
    for document in documents:
        log_event("metrics", **document)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
