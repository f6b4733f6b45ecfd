"""What every benchmark shares: the bench's own database and Redis index, timing, peak RSS, child processes.

The bench never touches what ``make run`` serves (database ``platform``, Redis index 0) or what the tests use:
it has the database ``bench_suite`` and Redis index 7 (``BENCH_DB_NAME`` / ``BENCH_REDIS_DB`` change them).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORK_DIR = PROJECT_DIR / "bench" / "work"  # generated files (git-ignored)
DB_NAME = os.environ.get("BENCH_DB_NAME", "bench_suite")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "7"))


def bench_environment(aws_endpoint: str | None = None) -> dict[str, str]:
    """The local stage's settings pointed at the bench database, Redis index and (optionally) emulator."""
    from devtools.local_aws import EMULATOR_CREDENTIALS
    from devtools.stage import stage_environment

    env = stage_environment("local", "on_s3_upload")  # the ingest's waits (timeouts bound hangs, not speed)
    env.update(DB_NAME=DB_NAME, REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}", ANALYSIS_SOURCES="")
    if aws_endpoint:
        env.update(AWS_ENDPOINT_URL=aws_endpoint, **EMULATOR_CREDENTIALS)
    return env


def peak_rss_mib(field: str = "VmHWM") -> float:
    """This process's peak resident set size in MiB (``field="VmRSS"``: the current one). ``VmHWM`` belongs to
    the address space, so it starts afresh at ``exec``; ``ru_maxrss`` of a child can report its parent's peak
    at ``fork`` instead."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))
    return round(kib / 1024, 1)


def rate_figure(contender: str, seconds: float, rows: int, baseline_rss_mib: float, **extra: Any) -> dict[str, Any]:
    """A child's answer for a contender that went through ``rows`` rows in ``seconds``: its rate, this process's
    peak RSS and how far that rose above ``baseline_rss_mib`` (the RSS once imports and clients were ready)."""
    peak = peak_rss_mib()
    return {
        "contender": contender,
        "seconds": seconds,
        "rows": rows,
        "rows_per_s": rows / seconds,
        "peak_rss_mib": peak,
        "rss_growth_mib": round(peak - baseline_rss_mib, 1),
        **extra,
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def interleaved(
    contenders: Mapping[str, Callable[[], Any]], rounds: int, round_seconds: float = 0.2, max_calls: int = 500
) -> dict[str, dict[str, Any]]:
    """Seconds per call of each contender: ``rounds`` rounds, each timing a batch of calls of every contender in
    turn, so that the machine's drift hits them alike. A contender's batch is as many calls as fit in about
    ``round_seconds`` (at least 1, at most ``max_calls``). Each figure is the median over the rounds."""
    batch = {name: max(1, min(max_calls, int(round_seconds / max(timed(fn), 1e-6)))) for name, fn in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            started = time.perf_counter()
            for _ in range(batch[name]):
                fn()
            samples[name].append((time.perf_counter() - started) / batch[name])
    return {name: figure(values, calls=batch[name]) for name, values in samples.items()}


def figure(seconds: list[float], **extra: Any) -> dict[str, Any]:
    """A measured figure: the median of ``seconds`` and the runs it came from."""
    return {"seconds": median(seconds), "runs": [round(s, 9) for s in seconds], **extra}


def run_child(module: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600) -> dict[str, Any]:
    """Run ``python -m <module> <args>`` in a fresh process; it prints its result as JSON on its last line."""
    child = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if child.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed ({child.returncode}):\n{child.stderr[-4000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def emit(result: Mapping[str, Any]) -> None:
    """A child's answer to :func:`run_child`: one JSON line on the real stdout."""
    stdout = sys.__stdout__
    if stdout is None:  # an embedded interpreter: no stdout to answer on
        raise RuntimeError("no stdout to answer the parent on")
    stdout.write(json.dumps(result, default=str) + "\n")
    stdout.flush()
