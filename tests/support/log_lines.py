"""The platform's log lines as a test sees them: the ``logged`` fixture (registered in the integration tier's
conftest) collects every line the platform's logger writes during a test, parsed.

Not pytest's ``caplog``: the platform's logger does not propagate to the root logger, and ``caplog`` reaches such a
logger only when it was already configured as the test began, i.e. when an earlier test of the process had logged
(``chalicelib.core.logs.get_logger`` configures it on first use). A test reading lines through ``caplog`` passed or
failed depending on which tests ran before it; ``logged`` configures the logger and adds its handler itself."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from chalicelib.core.logs import JsonFormatter, get_logger

COMMON = ("level", "logger", "message", "time", "exception")  # what format_line writes besides the fields


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

    def fields(self, message: str) -> list[dict]:
        """The fields of each line saying ``message``: the line without its level, logger, message and time."""
        return [{k: v for k, v in line.items() if k not in COMMON} for line in self.lines if line["message"] == message]


@pytest.fixture
def logged() -> Iterator[LogLines]:
    """Every line of the test at INFO and above: the logger's level is the ``LOG_LEVEL`` it found on its first use
    in this process, whichever test that was, so it is set for the test and restored after."""
    handler = LogLines()
    logger = get_logger()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
