"""``make run``: the whole platform on this machine, in the foreground; Ctrl-C stops what it started.

Order: AWS emulator -> stage resources -> schema and sample data -> S3/SNS event delivery -> ``chalice local``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from chalicelib.core.settings import parse_settings
from devtools.local_aws import create_stage_resources, emulator_environment, start_emulator
from devtools.localdb import prepare_database
from devtools.seed import seed_all
from devtools.stage import PROJECT_DIR, stage_environment

STAGE = "local"


def _stop(signum: int, frame: object) -> None:
    """``kill`` (SIGTERM) stops the platform the way Ctrl-C does."""
    raise KeyboardInterrupt


def _require_free(port: int, setting: str) -> None:
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is already in use; stop what listens there or set {setting}=<another port>")


def main() -> int:
    aws_port = int(os.environ.get("AWS_PORT", "5000"))
    api_port = int(os.environ.get("API_PORT", "8000"))
    _require_free(aws_port, "AWS_PORT")
    _require_free(api_port, "API_PORT")
    signal.signal(signal.SIGTERM, _stop)
    started: list[subprocess.Popen] = []
    try:
        started_at = time.monotonic()
        print(f"[aws] starting the AWS emulator (moto) on 127.0.0.1:{aws_port}")
        started.append(start_emulator(aws_port))
        env = {**stage_environment(STAGE), **emulator_environment(aws_port)}
        os.environ.update(env)
        create_stage_resources(env)
        settings = parse_settings(env)
        for source in {"default": settings.db, **settings.analysis_sources}.values():
            prepare_database(source)
        seed_all(settings)
        # chalice local serves HTTP only: this process hands the emulator's S3/SNS events to the app's handlers,
        # with the ingest function's settings (its longer MySQL timeouts)
        events_env = {**os.environ, **stage_environment(STAGE, "on_s3_upload"), **emulator_environment(aws_port)}
        started.append(subprocess.Popen([sys.executable, "-m", "devtools.events"], cwd=PROJECT_DIR, env=events_env))
        print(f"[api] chalice local --stage {STAGE} on http://127.0.0.1:{api_port}")
        api = subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "chalice"),
                "local",
                "--stage",
                STAGE,
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--no-autoreload",  # a reload drops in-flight requests; restart make run to pick up code changes
            ],
            cwd=PROJECT_DIR,
            env={**os.environ, **env},
        )
        started.append(api)
        print(f"[run] ready in {time.monotonic() - started_at:.1f}s; Ctrl-C stops everything started here")
        return api.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
