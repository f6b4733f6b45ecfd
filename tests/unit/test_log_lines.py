"""The log line as :mod:`chalicelib.core.logs` writes it: the direct path (no ``LogRecord``, taken when the
platform's own handler is the only one) and the record path (any other configuration, e.g. a test's handler)
write the same JSON object, and a level below the logger's writes nothing."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from chalicelib.core import logs


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """What the platform's handler writes, for the duration of a test."""
    logs.get_logger()
    handler = logs._line_handler
    assert handler is not None
    out = io.StringIO()
    previous = handler.setStream(out)
    yield out
    handler.setStream(previous)  # type: ignore[arg-type]


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_direct_path_and_the_record_path_write_the_same_line(stream):
    fields = {"request_id": "r-1", "status_code": 200, "nested": {"a": [1, 2]}, "odd": object}

    logs.log_event("invocation", logging.WARNING, **fields)
    recorder = Recorder()
    logger = logs.get_logger()
    logger.addHandler(recorder)  # a second handler: every line now goes through a LogRecord
    try:
        logs.log_event("invocation", logging.WARNING, **fields)
    finally:
        logger.removeHandler(recorder)

    direct, through_record = lines(stream)
    assert direct == through_record
    assert direct == {
        "level": "WARNING",
        "logger": "platform",
        "message": "invocation",
        "time": direct["time"],
        "request_id": "r-1",
        "status_code": 200,
        "nested": {"a": [1, 2]},
        "odd": str(object),
    }
    assert [record.fields for record in recorder.records] == [fields]  # type: ignore[attr-defined]


def test_a_level_the_logger_does_not_take_writes_nothing(stream):
    logs.log_event("chatter", logging.DEBUG, detail=1)
    assert stream.getvalue() == ""


def test_a_line_that_cannot_be_written_does_not_fail_the_caller(stream, monkeypatch):
    monkeypatch.setattr(logging, "raiseExceptions", False)
    stream.close()
    logs.log_event("invocation", request_id="r-2")  # a closed stream: the line is lost, the request is not
