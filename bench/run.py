"""``make bench``: every benchmark in one run, side by side on this machine; a table and ``bench/results.json``.

    .venv/bin/python -m bench.run [--rows 1000000] [--only ingest --only heroes ...] [--with writers]
                                  [--rounds 3] [--out bench/results.json]
                                  (--only writes bench/work/partial.json by default)

Absolute times drift on a shared machine; the ratios, taken from contenders run next to each other, are the
figures to read. Each contender that holds memory runs in its own process (peak RSS is its own), ours and its
limit in turn, round after round; fast ones run interleaved in rounds. Every ratio to a limit is the median of
the per-round ratios, shown with its spread (lowest-highest round) and the load average when the line was made.
Slow peers run once, and a sampled peer says so. Any section runs alone (``--only export``): it makes what it
reads (the generated file, the loaded ``superheroes`` table) when an earlier section has not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import data
from bench.common import PROJECT_DIR, WORK_DIR, bench_environment, median, run_child

SECTIONS = ("ingest", "export", "heroes", "sales", "health", "coldstart")
OPTIONAL_SECTIONS = ("writers", "scaling")  # run with --with (or --only)
LIBRARIES = ("chalice", "PyMySQL", "redis", "openpyxl", "boto3", "moto", "pandas", "SQLAlchemy", "XlsxWriter")
DATA_KEY = "raw/superheroes/bench/superheroes-{rows}.csv"
HEALTH_KEY = "processed/health/bench/health-{rows}-{started}.csv"  # a new key per run: analysed and notified once
PANDAS_EXPORT_SAMPLE = 100_000
ROW_BY_ROW_SAMPLE = 20_000
COLD_RUNS = 7
SCALING_ROWS = (100_000, 1_000_000, 3_000_000)  # the ingest's time per row and peak RSS as the file grows
HEAVY_ROUNDS = 3  # rounds of each 1,000,000-row contender that is our figure or its limit (about 30 s a run)


class Bench:
    """The emulator, the bench database and the results collected so far."""

    def __init__(self, rows: int, heavy_rounds: int = HEAVY_ROUNDS) -> None:
        self.rows = rows
        self.heavy_rounds = heavy_rounds
        self.results: dict[str, Any] = {}
        self.table: list[dict[str, Any]] = []
        self.emulator: subprocess.Popen | None = None

    # ------------------------------------------------------------ set-up

    def start(self) -> None:
        from devtools.local_aws import create_stage_resources, start_emulator

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.emulator = start_emulator(port)
        os.environ.update(bench_environment(f"http://127.0.0.1:{port}"))
        create_stage_resources(os.environ)

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.terminate()
            self.emulator.wait(timeout=10)

    def database(self) -> Any:
        from chalicelib.core.mysql import get_database
        from chalicelib.core.settings import get_settings
        from devtools.localdb import prepare_database

        prepare_database(get_settings().db).close()
        return get_database()

    def add(self, what: str, unit: str, ours: float, limit: float | None, peers: dict[str, float],
            goals: list[tuple[str, bool]], note: str = "", ratios: dict[str, float] | None = None,
            per_round: dict[str, list[float]] | None = None) -> None:  # fmt: skip
        """One line of the table, figures in ``unit`` (``s...`` a time, ``rows/s`` a rate, ``MiB`` memory).

        Ratios: ``ours/limit`` in the unit itself (a time 1.3x the limit's; a rate 0.6x the limit's), and per peer
        how many times faster ours is (times) or how many times more memory the peer took (memory).
        ``per_round``: a ratio's value in each round (its median is the ratio; the line shows their spread)."""
        if ratios is None:
            ratios = self._ratios(unit, ours, limit, peers)
        per_round = per_round or {}
        ratios = {**ratios, **{name: median(values) for name, values in per_round.items()}}
        self.table.append({"what": what, "unit": unit, "ours": ours, "limit": limit, "peers": peers,
                           "ratios": ratios, "goals": [{"goal": g, "met": bool(m)} for g, m in goals],
                           "per_round": per_round, "load_average": [round(v, 2) for v in os.getloadavg()],
                           "note": note})  # fmt: skip

    @staticmethod
    def _ratios(unit: str, ours: float, limit: float | None, peers: dict[str, float]) -> dict[str, float]:
        ratios = {}
        if limit:
            ratios["ours/limit"] = ours / limit
        for name, value in peers.items():
            if unit == "rows/s":
                ratios[f"faster than {name}"] = ours / value
            elif unit.startswith("s"):
                ratios[f"faster than {name}"] = value / ours
            else:
                ratios[f"{name}/ours"] = value / ours
        return ratios

    def add_rounds(self, what: str, unit: str, figures: dict[str, dict], peers: dict[str, str],
                   goals: list[tuple[str, str, float]], note: str = "",
                   references: dict[str, str] | None = None) -> None:  # fmt: skip
        """A line from :func:`bench.common.interleaved` figures (``ours``, ``limit`` and the ``peers``' keys).
        Its ratios are medians of the per-round ratios: a round's contenders ran back to back, so the machine's
        drift cancels out of them. A goal ``(label, ratio, bound)`` is met when that ratio is at most ``bound``
        (``ours/limit``) or at least ``bound`` (``faster than ...``). ``references`` are shown like peers, with
        the ratio ``ours/<reference>``."""
        ours = figures["ours"]
        rounds_of = {"ours/limit": round_ratios(ours, figures["limit"])}
        rounds_of.update({f"faster than {label}": round_ratios(figures[key], ours) for label, key in peers.items()})
        rounds_of.update(
            {f"ours/{label}": round_ratios(ours, figures[key]) for label, key in (references or {}).items()}
        )
        ratios = {name: median(values) for name, values in rounds_of.items()}
        peers = {**peers, **(references or {})}
        self.add(what, unit, ours["seconds"], figures["limit"]["seconds"],
                 {label: figures[key]["seconds"] for label, key in peers.items()}, goals_met(goals, ratios), note,
                 ratios, {"ours/limit": rounds_of["ours/limit"], **{f"ours/{label}": rounds_of[f"ours/{label}"]
                                                                    for label in references or {}}})  # fmt: skip

    # ------------------------------------------------------------ sections

    def _ingest_args(self, rows: int | None = None) -> tuple[str, ...]:
        """The superheroes CSV (of ``rows``, default the bench's), uploaded: the arguments of
        :mod:`bench.ingest_bench`."""
        import boto3

        rows = rows or self.rows
        csv_path = data.heroes_csv(rows)
        bucket, key = os.environ["DATA_BUCKET"], DATA_KEY.format(rows=rows)
        boto3.client("s3").upload_file(str(csv_path), bucket, key)
        return ("--bucket", bucket, "--key", key, "--csv", str(csv_path), "--sample", str(ROW_BY_ROW_SAMPLE))

    def ingest(self) -> None:
        args = self._ingest_args()
        found = {name: run_child("bench.ingest_bench", name, *args) for name in ("row_by_row", "pandas")}
        # ours last in each round: its table is the one the other sections read
        found.update(rounds("bench.ingest_bench", ("load_data", "ours"), *args, count=self.heavy_rounds))
        self.results["ingest"] = found
        ours, limit = found["ours"], found["load_data"]
        speed = {"pandas": found["pandas"]["rows_per_s"], "row-by-row INSERT": found["row_by_row"]["rows_per_s"]}
        per_round = round_ratios(ours, limit, "rows_per_s")
        self.add(
            f"ingest {self.rows:,}-row superheroes CSV from S3",
            "rows/s",
            ours["rows_per_s"],
            limit["rows_per_s"],
            speed,
            [
                (">= 0.7x limit", median(per_round) >= 0.7),
                (">= 5x pandas", ours["rows_per_s"] >= 5 * speed["pandas"]),
                ("peak RSS <= 150 MB", ours["peak_rss_mib"] * 2**20 <= 150e6),
            ],
            note=f"row_by_row on the first {ROW_BY_ROW_SAMPLE:,} rows, extrapolated; LOAD DATA from a local file",
            per_round={"ours/limit": per_round},
        )
        self._rss_line("ingest peak RSS", found, ("ours", "load_data", "pandas", "row_by_row"))

    def writers(self) -> None:
        found = rounds("bench.ingest_bench", ("writer_staging", "writer_ours"), *self._ingest_args(),
                       count=self.heavy_rounds)  # fmt: skip
        self.results["writers"] = found
        self.add(
            f"  write {self.rows:,} validated superhero rows in one transaction",
            "rows/s",
            found["writer_ours"]["rows_per_s"],
            None,
            {"LOAD DATA into a staging table + upsert": found["writer_staging"]["rows_per_s"]},
            [],
            note="ours: chalicelib.ingest.loaders.write_rows, batch by batch; typed rows read from the local file",
        )

    def scaling(self) -> None:
        """The ingest and its limit once each at every size of :data:`SCALING_ROWS`: time per row, peak RSS."""
        found = {}
        for rows in SCALING_ROWS:
            args = self._ingest_args(rows)
            found[rows] = {name: run_child("bench.ingest_bench", name, *args) for name in ("load_data", "ours")}
            ours, limit = found[rows]["ours"], found[rows]["load_data"]
            self.add(
                f"  ingest of {rows:,} rows, time per row",
                "s/row",
                ours["seconds"] / rows,
                limit["seconds"] / rows,
                {},
                [("peak RSS <= 150 MB", ours["peak_rss_mib"] * 2**20 <= 150e6)],
                note=f"peak RSS ours {ours['peak_rss_mib']:.1f} MiB, LOAD DATA {limit['peak_rss_mib']:.1f} MiB; "
                f"ours {ours['seconds']:.1f} s",
            )
        self.results["scaling"] = found

    def health(self) -> None:
        import boto3

        bucket = os.environ["DATA_BUCKET"]
        key = HEALTH_KEY.format(rows=self.rows, started=int(time.time()))
        boto3.client("s3").upload_file(str(data.health_csv(self.rows)), bucket, key)
        found = {name: run_child("bench.health_bench", name, "--bucket", bucket, "--key", key)
                 for name in ("read_only", "ours")}  # fmt: skip
        self.results["health"] = found
        ours, floor = found["ours"], found["read_only"]
        self.add(
            f"health analysis of a {ours['rows']:,}-row processed file ({ours['anomalies']:,} anomalies)",
            "rows/s",
            ours["rows_per_s"],
            floor["rows_per_s"],
            {},
            [],
            note="analyse_file: statistics, anomalies streamed into the result, insights, notification; "
            f"limit: reading the rows alone (csv.DictReader); peak RSS ours {ours['peak_rss_mib']:.0f} MiB, "
            f"reading alone {floor['peak_rss_mib']:.0f} MiB",
        )

    def export(self) -> None:
        self.superheroes_loaded()
        sample = str(min(self.rows, PANDAS_EXPORT_SAMPLE))
        found = rounds("bench.export_bench", ("ours", "xlsxwriter"), count=self.heavy_rounds)
        found["pandas"] = run_child("bench.export_bench", "pandas", "--limit", sample)
        found["stream_only"] = run_child("bench.export_bench", "stream_only", "--limit", sample)
        self.results["export"] = found
        ours, limit = found["ours"], found["xlsxwriter"]
        per_round = round_ratios(ours, limit, "rows_per_s")
        self.add(
            f".xlsx export of {ours['rows']:,} rows",
            "rows/s",
            ours["rows_per_s"],
            limit["rows_per_s"],
            {"pandas": found["pandas"]["rows_per_s"]},
            [
                (">= 1.0x limit", median(per_round) >= 1.0),
                ("peak RSS <= 150 MB", ours["peak_rss_mib"] * 2**20 <= 150e6),
            ],
            note=f"limit: xlsxwriter constant_memory; pandas on the first {found['pandas']['rows']:,} rows, "
            f"extrapolated; reading the rows alone: {found['stream_only']['rows_per_s']:,.0f} rows/s (same sample)",
            per_round={"ours/limit": per_round},
        )
        self._rss_line("export peak RSS", found, ("ours", "xlsxwriter", "pandas", "stream_only"))

    def _rss_line(self, what: str, found: dict[str, dict], names: tuple[str, ...]) -> None:
        ours, limit = found[names[0]]["peak_rss_mib"], found[names[1]]["peak_rss_mib"]
        peers = {name.replace("_", " "): found[name]["peak_rss_mib"] for name in names[2:]}
        self.add(what, "MiB", ours, limit, peers, [("<= 150 MB", ours * 2**20 <= 150e6)])

    def superheroes_loaded(self) -> None:
        """``superheroes`` holds the generated file's rows (the ingest section leaves them; alone, a section that
        reads them loads them here)."""
        from bench.ingest_bench import COLUMNS, empty_tables

        database = self.database()
        if data.count(database, "superheroes") != self.rows:
            empty_tables()
            data.load_data(database, data.heroes_csv(self.rows), "superheroes", COLUMNS)

    def heroes(self) -> None:
        self.superheroes_loaded()
        found = run_child("bench.heroes_bench", "--rows", str(self.rows))
        self.results["heroes"] = found
        hit, miss, batch = found["hit"], found["miss"], found["batch100"]
        self.add_rounds(
            "cache-hit GET /heroes/{id}, Lambda handler in-process",
            "s/request",
            hit,
            {"template": "peer"},
            [
                ("<= 1.6x limit", "ours/limit", 1.6),
                ("<= 1.25x chalice floor", "ours/chalice floor", 1.25),
                (">= 5x faster than template", "faster than template", 5),
            ],
            note="limit: bare redis-py GET + json.loads; chalice floor: a one-route Chalice app doing that GET",
            references={"chalice floor": "chalice_floor"},
        )
        self.add_rounds(
            "cache-miss GET /heroes/{id}",
            "s/request",
            miss,
            {"template": "peer"},
            [("<= 2x limit", "ours/limit", 2)],
            note="limit: primary-key SELECT + SET on open connections",
        )
        trips = batch["ours"]["redis_round_trips"]
        self.add_rounds(
            "read of 100 xp values, all cached (GET /heroes?xp=...)",
            "s/request",
            batch,
            {"template": "peer"},
            [],
            note=f"Redis round trips: ours {trips}, MGET {batch['limit']['redis_round_trips']}, "
            f"template {batch['peer']['redis_round_trips']} (+{batch['peer']['redis_connections']} new connection)",
        )
        self.table[-1]["goals"].append({"goal": "1 Redis round trip", "met": trips == 1})

    def sales(self) -> None:
        self.results["cafe_data"] = data.cafe_orders(self.database())
        found = run_child("bench.sales_bench")
        self.results["sales"] = found
        what = f"one day's sales report, {found['order_items_total']:,} order items over a year"
        peers = {"original unfiltered query": "peer"}
        ours_note = "ours: the day's aggregate through the app's connection, report built and formatted"
        self.add_rounds(what, "s/report", found, peers, [("<= 1.5x limit", "ours/limit", 1.5)], note=ours_note)
        end_to_end = {**found, "ours": found["ours_end_to_end"]}
        fixed_note = "the workbook and the two AWS calls are a fixed cost; the emulator serves S3 and SNS"
        what = "  the same, end to end (+ workbook, S3 upload, SNS publish)"
        self.add_rounds(what, "s/report", end_to_end, peers, [], note=fixed_note)

    def coldstart(self) -> None:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

        def fresh(code: str, compiled: bool) -> float:
            if not compiled:  # as in Lambda: the package holds no .pyc and /var/task is read-only
                for cache in (PROJECT_DIR / "__pycache__", PROJECT_DIR / "chalicelib" / "__pycache__"):
                    shutil.rmtree(cache, ignore_errors=True)
            out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True,
                                 check=True, env=env).stdout  # fmt: skip
            return float(out.strip().splitlines()[-1])

        timer = "import time; t = time.perf_counter(); import {0}; print(time.perf_counter() - t)"
        runs: dict[str, list[float]] = {"app": [], "chalice": [], "app_from_source": []}
        for _ in range(COLD_RUNS):
            runs["app_from_source"].append(fresh(timer.format("app"), compiled=False))
            subprocess.run([sys.executable, "-m", "compileall", "-q", "app.py", "chalicelib"], cwd=PROJECT_DIR,
                           check=True, capture_output=True)  # fmt: skip
            runs["app"].append(fresh(timer.format("app"), compiled=True))
            runs["chalice"].append(fresh(timer.format("chalice"), compiled=True))
        first = [run_child("bench.coldstart_bench", "--hero-id", str(self.rows // 2 + i)) for i in range(COLD_RUNS)]
        costly = import_costs()
        self.results["coldstart"] = {"import_seconds": runs, "first_request": first, "importtime_top": costly}
        app_import = median(runs["app"])
        per_round = [app / chalice for app, chalice in zip(runs["app"], runs["chalice"], strict=True)]
        self.add(
            "cold start: import app (.pyc present)",
            "s",
            app_import,
            median(runs["chalice"]),
            {},
            [("<= 100 ms", app_import <= 0.1), ("<= 1.3x import chalice", median(per_round) <= 1.3)],
            note="limit: import chalice, in the same round; most costly (-X importtime, cumulative): "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in costly[:5]),
            per_round={"ours/limit": per_round},
        )
        from_source = median(runs["app_from_source"])
        self.add(
            "  import app compiled from source (no .pyc, as a chalice package in Lambda)",
            "s",
            from_source,
            median(runs["chalice"]),
            {},
            [("<= 100 ms", from_source <= 0.1)],
            per_round={"ours/limit": [a / c for a, c in zip(runs["app_from_source"], runs["chalice"], strict=True)]},
        )
        self.add(
            "cold start: first GET /heroes/{id} in a new process (after import)",
            "s",
            median([run["first_request_seconds"] for run in first]),
            None,
            {},
            [],
            note="a cache miss: imports redis and PyMySQL, connects both (PyMySQL builds a TLS context); median of "
            f"{len(first)}; the next (warm, a hit): {median([r['warm_request_seconds'] for r in first]) * 1e3:.2f} ms",
        )


def rounds(
    module: str, contenders: tuple[str, ...], *args: str, count: int = HEAVY_ROUNDS
) -> dict[str, dict[str, Any]]:
    """``count`` rounds of a fresh process per contender, in turn; per contender the median time and rate, the
    highest peak RSS, and every run (round by round) under ``runs``."""
    runs: dict[str, list[dict]] = {name: [] for name in contenders}
    for _ in range(count):
        for name in contenders:
            runs[name].append(run_child(module, name, *args))
    return {
        name: {
            **found[-1],
            "seconds": median([run["seconds"] for run in found]),
            "rows_per_s": median([run["rows_per_s"] for run in found]),
            "peak_rss_mib": max(run["peak_rss_mib"] for run in found),
            "rss_growth_mib": max(run["rss_growth_mib"] for run in found),
            "runs": found,
        }
        for name, found in runs.items()
    }


def round_ratios(numerator: dict, denominator: dict, key: str | None = None) -> list[float]:
    """The per-round ratios of two figures measured in the same rounds: their ``runs`` are seconds (interleaved
    figures) or, with ``key``, the runs' dicts whose ``key`` is compared (heavy contenders)."""
    pairs = zip(numerator["runs"], denominator["runs"], strict=True)
    return [(a[key] / b[key]) if key else a / b for a, b in pairs]


def goals_met(goals: list[tuple[str, str, float]], ratios: dict[str, float]) -> list[tuple[str, bool]]:
    """A goal ``(label, ratio, bound)`` is met when that ratio is at least ``bound`` (``faster than ...``) or
    at most ``bound`` (any other ratio)."""
    return [
        (label, ratios[name] >= bound if name.startswith("faster") else ratios[name] <= bound)
        for label, name, bound in goals
    ]


def spread(row: dict[str, Any], name: str) -> str:
    """`` (0.70-0.75, 3 rounds)``: the lowest and highest round of a ratio that has rounds, else nothing."""
    values = row.get("per_round", {}).get(name)
    return (
        f" ({min(values):.2f}-{max(values):.2f}, {len(values)} round{'s' if len(values) > 1 else ''})" if values else ""
    )


def import_costs() -> list[tuple[str, float]]:
    """What ``import app`` spends most on: its direct imports by cumulative time (``-X importtime``, in ms)."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=PROJECT_DIR,
                         capture_output=True, text=True, check=True).stderr  # fmt: skip
    costs = []
    for line in err.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            _, cumulative, raw_name = line[len("import time:") :].split("|")
            if raw_name.startswith("   ") and not raw_name.startswith("    "):  # one level below app
                costs.append((raw_name.strip(), int(cumulative) / 1000))
    return sorted(costs, key=lambda item: -item[1])[:8]


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))  # fmt: skip
    return {"platform": platform.platform(), "cpu": cpu, "cpus": os.cpu_count(), "memory_gib": round(memory / 2**20, 1),
            "load_average_at_start": os.getloadavg()}  # fmt: skip


def versions() -> dict[str, str]:
    from chalicelib.core.mysql import get_database
    from chalicelib.core.redis_client import get_redis

    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    with get_database().cursor(dicts=False) as cur:
        cur.execute("SELECT VERSION()")
        found["mariadb"] = cur.fetchone()[0]
    found["redis-server"] = get_redis().info("server")["redis_version"]
    return found


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit.startswith("s"):
        for scale, suffix in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if value >= scale:
                return f"{value / scale:.3g} {suffix}"
        return f"{value * 1e6:.3g} µs"
    if unit == "rows/s":
        return f"{value:,.0f}/s"
    return f"{value:,.1f} {unit}"


def print_table(rows: list[dict[str, Any]]) -> None:
    lines = [("what", "ours", "limit", "peers", "ratios", "goals", "average")]
    for row in rows:
        peers = "; ".join(f"{name} {_format(value, row['unit'])}" for name, value in row["peers"].items())
        ratios = "; ".join(f"{name} {value:.2f}x{spread(row, name)}" for name, value in row["ratios"].items())
        goals = "; ".join(f"{g['goal']}: {'met' if g['met'] else 'NOT met'}" for g in row["goals"]) or "-"
        lines.append((row["what"], _format(row["ours"], row["unit"]), _format(row["limit"], row["unit"]),
                       peers or "-", ratios, goals, load(row)))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    for line in lines:
        figures = f"{line[0]:<{widths[0]}}  {line[1]:>{widths[1]}}  {line[2]:>{widths[2]}}"
        print(f"{figures}  {line[3]} | {line[4]} | {line[5]} | load {line[6]}")


def load(row: dict[str, Any]) -> str:
    """The 1-minute load average when the line was made."""
    return f"{row['load_average'][0]:.1f}" if row.get("load_average") else "-"


def markdown_table(report: dict[str, Any]) -> str:
    """The table of a results file as Markdown (for docs/benchmarks.md)."""
    lines = [
        "| what | ours | limit | peers | ratios (lowest-highest round) | goals | load |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["table"]:
        peers = "; ".join(f"{name} {_format(value, row['unit'])}" for name, value in row["peers"].items())
        ratios = "; ".join(f"{name} {value:.2f}x{spread(row, name)}" for name, value in row["ratios"].items())
        goals = "; ".join(f"{g['goal']}: {'**met**' if g['met'] else '**not met**'}" for g in row["goals"])
        cells = (row["what"].strip(), _format(row["ours"], row["unit"]), _format(row["limit"], row["unit"]),
                 peers or "-", ratios or "-", goals or "-", load(row))  # fmt: skip
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="superheroes rows (default 1000000)")
    parser.add_argument("--only", action="append", choices=SECTIONS + OPTIONAL_SECTIONS, help="run only these")
    parser.add_argument("--with", dest="extra", action="append", choices=OPTIONAL_SECTIONS, default=[],
                        help="also run these optional sections")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=HEAVY_ROUNDS, help="rounds of the 1M-row contenders (3)")
    parser.add_argument("--out", type=Path, help="default: bench/results.json, or bench/work/partial.json with --only")
    parser.add_argument("--markdown", type=Path, metavar="RESULTS", help="print a results file's table as Markdown")
    args = parser.parse_args(argv)
    # a partial run never replaces the committed results of a full one
    args.out = args.out or PROJECT_DIR / "bench" / ("work/partial.json" if args.only else "results.json")
    if args.markdown:
        print(markdown_table(json.loads(args.markdown.read_text())))
        return 0
    started = time.perf_counter()
    bench = Bench(args.rows, args.rounds)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    failed: dict[str, str] = {}
    try:
        bench.start()
        bench.database()
        report: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                  "machine": machine(), "versions": versions()}  # fmt: skip
        sections: dict[str, Callable[[], None]] = {name: getattr(bench, name) for name in SECTIONS + OPTIONAL_SECTIONS}
        for name in args.only or SECTIONS + tuple(args.extra):
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            section_started = time.perf_counter()
            try:
                sections[name]()
            except Exception as exc:  # the other sections still run; the failure is in the results
                failed[name] = f"{type(exc).__name__}: {exc}"
                print(f"[bench] {name} FAILED: {failed[name]}", file=sys.stderr, flush=True)
            print(f"[bench] {name}: {time.perf_counter() - section_started:.0f} s", file=sys.stderr, flush=True)
    finally:
        bench.stop()
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["table"] = bench.table
    report["details"] = bench.results
    report["failed"] = failed
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_table(bench.table)
    print(f"\n{report['seconds']:.0f} s in all; {args.out} written", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
