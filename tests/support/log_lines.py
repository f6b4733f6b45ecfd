"""The platform's log lines as a test sees them: the ``logged`` fixture (registered in the integration tier's
conftest) collects every line the platform's logger writes during a test, parsed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from chalicelib.core.logs import JsonFormatter, get_logger


class LogLines(logging.Handler):
    """Every line the platform's logger writes, parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def invocations(self) -> list[dict]:
        return [line for line in self.lines if line["message"] == "invocation"]


@pytest.fixture
def logged() -> Iterator[LogLines]:
    handler = LogLines()
    logger = get_logger()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
