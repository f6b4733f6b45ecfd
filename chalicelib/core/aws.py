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

Service = Literal["bedrock-runtime", "s3", "secretsmanager", "ses", "sns", "sqs", "ssm"]
"""The AWS services the platform calls (a new one is added here, and to the functions' policies)."""

# Every AWS call a request makes ends well before the API function's timeout (25 s, under API Gateway's 29 s),
# with room left for the API's MySQL waits (DB_CONNECT_TIMEOUT_SECONDS + DB_QUERY_TIMEOUT_SECONDS, 7 s): at most
# TOTAL_ATTEMPTS x (connect + read) plus the standard mode's backoff between them (up to 1 s for the first
# retry), 17 s. An S3 read or write waits for at most one chunk or part at a time, so long streams fit too.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 6
TOTAL_ATTEMPTS = 2
FIRST_RETRY_BACKOFF_SECONDS = 1
# A model's answer takes tens of seconds; only the pipeline function (300 s) calls it, never a request
SLOW_READ_TIMEOUT_SECONDS: dict[Service, int] = {"bedrock-runtime": 60}


def read_timeout(service: Service) -> int:
    return SLOW_READ_TIMEOUT_SECONDS.get(service, READ_TIMEOUT_SECONDS)


def worst_case_seconds(service: Service) -> int:
    """The longest one call to ``service`` can take, every attempt timing out."""
    attempt = CONNECT_TIMEOUT_SECONDS + read_timeout(service)
    return TOTAL_ATTEMPTS * attempt + (TOTAL_ATTEMPTS - 1) * FIRST_RETRY_BACKOFF_SECONDS


@cache
def client(service: Service) -> Any:
    """A shared boto3 client for ``service`` with the timeouts and retries above."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout(service),
        retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
    )
    if service == "s3":  # Signature Version 4 for pre-signed URLs too (boto3 may use version 2, which newer
        config = config.merge(Config(signature_version="s3v4"))  # regions refuse)
    return boto3.client(service, config=config)


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
