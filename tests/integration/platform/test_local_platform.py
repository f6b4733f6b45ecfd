"""The local platform as a user meets it: ``make run`` (``devtools.run``) says ``ready`` once the API answers,
keeps what was uploaded across a restart, reconciles what a crash left behind, and ``make reset`` wipes it."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.core.settings import parse_settings
from devtools.local_state import forget_missing_ingests, local_databases
from devtools.localdb import drop_database
from tests.support.environment import SUFFIX, TEST_REDIS_DB
from tests.support.ingest import (
    deliver,
    table_rows,
    upload,
)

PROJECT_DIR = Path(__file__).resolve().parents[3]
START_SECONDS = 120  # a first start migrates two new databases and seeds them; later ones take a few seconds
CSV = (
    "event_time,user_id,heart_rate,spo2,steps,temp_c,systolic_bp,diastolic_bp\n"
    "2025-09-17T12:00:00Z,u1,72,98,5,36.6,120,80\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalPlatform:
    """``python -m devtools.run`` in a subprocess, on its own ports, databases and state directory."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.url = f"http://127.0.0.1:{env['API_PORT']}"
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []

    def start(self) -> float:
        """Start it and wait for ``ready``; answers the seconds that took."""
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.run"],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        self._wait_for("[run] ready", START_SECONDS)
        return time.monotonic() - started

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.put(line)

    def _wait_for(self, text: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.process is not None and self.process.poll() is None, "".join(self.output)
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} within {seconds}s:\n{''.join(self.output)}")

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C: the platform saves its objects and stops what it started."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        time.sleep(0.2)  # the reader has the last lines
        while not self.lines.empty():
            self.output.append(self.lines.get())

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=20) as answer:
            assert answer.headers["Content-Type"] == "application/json"
            return json.loads(answer.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=20) as answer:
            return json.loads(answer.read())

    def upload(self, name: str, body: str) -> dict[str, Any]:
        """Upload through ``POST /uploads`` and its link; answers the ingest once listed (bounded wait)."""
        link = self.post("/uploads", {"dataset": "health", "name": name})
        put = urllib.request.Request(link["url"], data=body.encode(), headers=link["headers"], method="PUT")
        urllib.request.urlopen(put, timeout=20).close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = [item for item in self.get("/ingests?dataset=health")["items"] if item["key"] == link["key"]]
            if found and found[0]["completed_at"]:
                return found[0]
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"{link['key']} was not ingested within 30s:\n{''.join(self.output)}")


@pytest.fixture
def local_platform(tmp_path: Path, migrated: Any) -> Iterator[LocalPlatform]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DB_", "ANALYSIS_", "REDIS_"))},
        "API_PORT": str(_free_port()),
        "AWS_PORT": str(_free_port()),
        "DB_NAME": f"test_platform_run{SUFFIX}",
        "ANALYSIS_SOURCES": json.dumps({"public": {}, "private": {"DB_NAME": f"test_platform_run_private{SUFFIX}"}}),
        "REDIS_URL": f"redis://127.0.0.1:6379/{TEST_REDIS_DB}",
        "LOCAL_STATE_DIR": str(tmp_path / "state"),
        "HERO_SAMPLE_ROWS": "100",
    }
    platform = LocalPlatform(env)
    yield platform
    platform.stop()
    for source in local_databases(parse_settings(env)):
        drop_database(source)


def test_a_restarted_platform_still_serves_an_earlier_uploads_outputs(local_platform):
    local_platform.start()
    entry = local_platform.upload("restart/day.csv", CSV)
    before = local_platform.get(f"/ingests/{entry['id']}")
    local_platform.stop()
    assert any("[state] saved" in line for line in local_platform.output)

    local_platform.start()
    after = local_platform.get(f"/ingests/{entry['id']}")

    assert after["counts"] == before["counts"] == {"input": 1, "loaded": 1, "rejected": 0}
    with urllib.request.urlopen(after["downloads"]["processed"]["url"], timeout=10) as processed:
        assert processed.read().decode().splitlines()[1].startswith("2025-09-17T12:00:00Z,u1,72")
    with urllib.request.urlopen(after["downloads"]["manifest"]["url"], timeout=10) as manifest:
        assert json.loads(manifest.read())["status"] == "loaded"
    assert local_platform.get("/health")["status"] == "ok"


def reset(platform: LocalPlatform) -> subprocess.CompletedProcess[str]:
    """``make reset``'s command with the platform's environment."""
    return subprocess.run(
        [sys.executable, "-m", "devtools.local_state"],
        cwd=PROJECT_DIR,
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_reset_wipes_the_databases_and_the_saved_objects_but_not_while_running(local_platform, db):
    local_platform.start()
    local_platform.upload("reset/day.csv", CSV)
    refused = reset(local_platform)
    local_platform.stop()
    state = Path(local_platform.env["LOCAL_STATE_DIR"])
    assert (state / "s3" / "objects.json").exists()

    done = reset(local_platform)

    assert refused.returncode == 1 and "stop it (Ctrl-C) first" in refused.stderr
    assert done.returncode == 0, done.stderr
    assert not state.exists()
    names = [db_.name for db_ in local_databases(parse_settings(local_platform.env))]
    with db.cursor(dicts=False) as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN %s", (names,))
        assert cur.fetchall() == ()


def documented_example(page: str, name: str) -> str:
    """The bash block that follows ``<!-- example: name -->`` in ``page``."""
    text = (PROJECT_DIR / page).read_text()
    block = text.split(f"<!-- example: {name} -->", 1)[1].split("```bash\n", 1)[1]
    return block.split("```", 1)[0]


def test_ready_comes_once_the_api_answers_and_the_ingest_walkthrough_runs_as_documented(local_platform):
    local_platform.start()
    # the moment ready is printed, the API answers (no retry here)
    assert local_platform.get("/health")["status"] == "ok"

    script = documented_example("docs/ingest.md", "ingest-walkthrough")
    result = subprocess.run(
        ["bash", "-eu", "-c", script],
        cwd=PROJECT_DIR,
        env={**local_platform.env, "API": local_platform.url},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    outputs = result.stdout.splitlines()
    assert '"counts":{"input":1000,"loaded":843,"rejected":157}' in result.stdout
    assert '"line":' in result.stdout and '"reason":' in result.stdout
    assert outputs[-1].isdigit() and int(outputs[-1]) > 0  # the analysis' anomaly count


def test_a_ledger_entry_whose_files_are_gone_is_forgotten_so_the_file_can_be_ingested_again(client, db, ingest_env):
    upload("raw/health/crash/day.csv", CSV)
    deliver(client, "raw/health/crash/day.csv")
    kept = "raw/health/crash/kept.csv"
    upload(kept, CSV)
    deliver(client, kept)
    boto3.client("s3").delete_object(Bucket=ingest_env["bucket"], Key="processed/health/crash/day.csv")

    assert forget_missing_ingests(ingest_env["bucket"]) == 1

    keys = [row["object_key"] for row in table_rows(db, "SELECT object_key FROM ingest_ledger")]
    assert keys == [kept]
    assert deliver(client, "raw/health/crash/day.csv")["status"] == "loaded"  # not a duplicate of a lost ingest
