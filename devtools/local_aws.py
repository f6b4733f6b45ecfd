"""The AWS emulator for the local platform and the tests: moto in server mode, a real HTTP endpoint.

boto3 reaches it through ``AWS_ENDPOINT_URL``; the application code does not know it is there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

import boto3

from devtools.stage import stage_environment

# dummy credentials (the emulator checks none), declared with the local stage in .chalice/config.json so that
# `chalice local --stage local` started by hand reaches the emulator of `make run` too
EMULATOR_CREDENTIALS = {
    name: stage_environment("local")[name]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
}


def start_emulator(port: int) -> subprocess.Popen:
    """Start ``moto_server`` on 127.0.0.1:``port`` and wait until it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in make run reaches it only through make run, after the state is saved
    )
    wait_until_up(f"http://127.0.0.1:{port}/moto-api/", process, "the AWS emulator")
    return process


def wait_until_up(url: str, process: subprocess.Popen, name: str, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers anything over HTTP (an error status too) while ``process`` runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:  # it answered
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{name} did not answer at {url} within {timeout:.0f}s")


def emulator_environment(port: int) -> dict[str, str]:
    """Variables that point boto3 at the emulator (dummy credentials: the emulator checks none)."""
    return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", **EMULATOR_CREDENTIALS}


def _named(env: Mapping[str, str], *settings: str) -> set[str]:
    """The distinct values of ``settings`` that are set and not empty."""
    return {value for name in settings if (value := env.get(name))}


def create_stage_resources(env: Mapping[str, str]) -> None:
    """Create the buckets and topics a stage's settings name (idempotent)."""
    s3 = boto3.client("s3")
    for bucket in _named(env, "DATA_BUCKET", "ARCHIVE_BUCKET"):
        s3.create_bucket(Bucket=bucket)
    sns = boto3.client("sns")
    for arn in _named(env, "REPORT_TOPIC_ARN", "EVENTS_TOPIC_ARN"):
        sns.create_topic(Name=arn.rsplit(":", 1)[1])


def apply_environment(values: Mapping[str, str]) -> None:
    os.environ.update(values)
