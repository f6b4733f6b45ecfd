"""``make run``: the whole platform on this machine, in the foreground; Ctrl-C stops what it started.

Order: AWS emulator -> stage resources -> schema -> the objects saved by the last run, reconciled -> sample data
-> S3/SNS event delivery -> the HTTP API; ``ready`` once the API answers. On the way out the buckets' objects
are saved for the next run (:mod:`devtools.local_state`).

The local stage's settings come from ``.chalice/config.json``; any of them set in the environment wins (e.g.
``DB_NAME=mine REDIS_URL=redis://127.0.0.1:6379/3 make run``), and so do ``API_PORT`` (8000), ``AWS_PORT`` (5000)
and ``LOCAL_STATE_DIR`` (``.local/``). ``make run AUTH=jwt`` also serves the local token issuer's keys on
``JWKS_PORT`` (``API_PORT`` + 1) and has the API check its tokens (``devtools/local_auth.py``, docs/auth.md).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping

from chalicelib.core.settings import parse_settings
from devtools import local_auth
from devtools.events import delivery_ready
from devtools.local_aws import create_stage_resources, emulator_environment, start_emulator, wait_until_up
from devtools.local_state import local_databases, restore_and_reconcile, save, state_dir
from devtools.localdb import prepare_database
from devtools.seed import seed_all
from devtools.stage import PROJECT_DIR, stage_environment

STAGE = "local"
PORTS = {"API_PORT": "8000", "AWS_PORT": "5000"}
API_START_SECONDS = 60.0


def _stop(signum: int, frame: object) -> None:
    """``kill`` (SIGTERM) stops the platform the way Ctrl-C does."""
    raise KeyboardInterrupt


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _require_free(port: int, setting: str) -> None:
    if port_in_use(port):
        raise SystemExit(f"port {port} is already in use; stop what listens there or set {setting}=<another port>")


def local_environment(function: str | None = None, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The local stage's variables (``function``'s, when given), each overridden by ``environ`` (the user's), the
    ports, and the emulator's endpoint and credentials."""
    stage = stage_environment(STAGE, function)
    names = [*stage, *PORTS, "LOCAL_STATE_DIR"]
    env = {**stage, **PORTS, **{name: environ[name] for name in names if name in environ}}
    return {**env, **emulator_environment(int(env["AWS_PORT"]))}


def _stop_all(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _start(module: str, *arguments: str, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """``python -m module`` with this process's environment overlaid by ``env``."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *arguments], cwd=PROJECT_DIR, env={**os.environ, **(env or {})}
    )


def _wait_for_delivery(bucket: str, events: subprocess.Popen, timeout: float = API_START_SECONDS) -> None:
    """Until the event delivery is set up: an upload made once ``ready`` is printed is ingested."""
    deadline = time.monotonic() + timeout
    while not delivery_ready(bucket):
        if events.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the local event delivery did not start within {timeout:.0f}s (see its lines above)")
        time.sleep(0.1)


def _token_check(user: Mapping[str, str], api_port: int) -> dict[str, str]:
    """``AUTH=jwt``: serve the local issuer's keys (a daemon thread of this process, it stops with it) and answer
    the settings that make the API check its tokens; ``AUTH=none`` (the default): no settings, no credentials."""
    auth = user.get("AUTH", "none")
    if auth not in ("none", "jwt"):
        raise SystemExit(f"AUTH must be none or jwt, got {auth!r}")
    if auth == "none":
        return {}
    jwks_port = int(user.get("JWKS_PORT", str(api_port + 1)))
    _require_free(jwks_port, "JWKS_PORT")
    local_auth.serve_jwks(jwks_port)
    print(f"[auth] the API checks tokens of the local issuer (keys on :{jwks_port}); make token SCOPE=read")
    return local_auth.local_auth_environment(jwks_port)


def main() -> int:
    user = dict(os.environ)
    env = local_environment(environ=user)
    api_port, aws_port = int(env["API_PORT"]), int(env["AWS_PORT"])
    _require_free(aws_port, "AWS_PORT")
    _require_free(api_port, "API_PORT")
    env.update(_token_check(user, api_port))
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started with SIGINT ignored (in the background of a script)
    settings, directory = parse_settings(env), state_dir(env)
    started: list[subprocess.Popen] = []
    emulator: subprocess.Popen | None = None
    restored = False
    try:
        started_at = time.monotonic()
        print(f"[aws] starting the AWS emulator (moto) on 127.0.0.1:{aws_port}")
        emulator = start_emulator(aws_port)
        os.environ.update(env)
        create_stage_resources(env)
        for source in local_databases(settings):
            prepare_database(source)
        restore_and_reconcile(settings, directory)
        restored = True
        seed_all(settings)
        # chalice local serves HTTP only: this process hands the emulator's S3/SNS events to the app's handlers,
        # with the ingest function's settings (its longer MySQL timeouts)
        started.append(_start("devtools.events", env=local_environment("on_s3_upload", user)))
        print(f"[api] chalice local (stage {STAGE}) on http://127.0.0.1:{api_port}")
        api = _start("devtools.api", "--port", str(api_port))
        started.append(api)
        wait_until_up(f"http://127.0.0.1:{api_port}/health", api, "the API", API_START_SECONDS)
        _wait_for_delivery(settings.data_bucket, started[0])
        print(f"[run] ready in {time.monotonic() - started_at:.1f}s; Ctrl-C stops everything started here", flush=True)
        return api.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_all(started)
        if emulator is not None:
            if restored:  # a run that failed before restoring must not overwrite the saved state
                save(settings, directory)
            _stop_all([emulator])


if __name__ == "__main__":
    sys.exit(main())
