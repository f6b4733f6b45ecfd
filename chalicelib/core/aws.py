"""Lazily created, reused boto3 clients.

boto3 is imported on first use so that handlers which never call AWS do not pay for it at cold start. The
endpoint comes from the standard ``AWS_ENDPOINT_URL`` variable that boto3 reads itself: the code is the same
against AWS and against the local emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, Literal

from chalicelib.core.errors import DependencyUnavailable

Service = Literal["bedrock-runtime", "s3", "ses", "sns", "sqs", "ssm"]
"""The AWS services the platform calls (a new one is added here, and to the functions' policies)."""


@cache
def client(service: Service) -> Any:
    """A shared boto3 client for ``service`` with timeouts shorter than a Lambda's and standard retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        config=Config(connect_timeout=3, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"}),
    )


def reset_clients() -> None:
    """Forget every client (tests point the process at a new endpoint)."""
    client.cache_clear()


@contextmanager
def unavailable_as(service: str) -> Iterator[None]:
    """Raise a failed AWS call (unreachable, throttled, denied, failed upload) as ``DependencyUnavailable``
    naming ``service``: a 503 at the HTTP edge, a failed invocation (and a retry) for an event."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError, Boto3Error) as exc:
        raise DependencyUnavailable(service, str(exc)) from exc
