"""Structured JSON logs: one object per line, with the request or event id, so CloudWatch Logs Insights can
query them. :func:`log_invocation` (registered once in ``app.py`` as middleware for every event type) writes
one summary line per invocation of any handler; handlers add detail through :func:`log_event`."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

_LOGGER_NAME = "platform"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def get_logger() -> logging.Logger:
    logger = logging.getLogger(_LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        logger.propagate = False
    return logger


def log_event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``message`` with ``fields`` (request_id, event kind, counts, duration_ms, ...) as one JSON line."""
    get_logger().log(level, message, extra={"fields": fields})


def _event_fields(event: Any) -> dict[str, Any]:
    """What identifies one invocation in the log: the request or event id and the event's kind."""
    from chalice.app import CloudWatchEvent, LambdaFunctionEvent, Request, S3Event, SNSEvent

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
    started = time.perf_counter()
    try:
        response = get_response(event)
    except Exception as exc:
        fields.update(outcome="error", error=type(exc).__name__, duration_ms=_elapsed_ms(started))
        get_logger().error("invocation", exc_info=True, extra={"fields": fields})
        raise
    status = getattr(response, "status_code", None)
    if status is not None:
        fields["status_code"] = status
    fields.update(outcome="error" if status is not None and status >= 500 else "ok")
    fields["duration_ms"] = _elapsed_ms(started)
    log_event("invocation", logging.WARNING if fields["outcome"] == "error" else logging.INFO, **fields)
    return response


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
