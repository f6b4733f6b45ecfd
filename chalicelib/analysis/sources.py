"""Analyses over the named databases of ``ANALYSIS_SOURCES`` (``POST /analysis`` and the daily schedule).

An analysis is a declaration: the tables it needs and the SQL queries that aggregate them. One generic runner
executes, for each source, every analysis whose tables the source has, and stores one result object per source
and run under ``analysis/<source>/<run timestamp>.json``. Aggregation happens in the database: the queries
return summaries (counts, percentiles, top-N, per-day and per-user rows), never whole tables.

Sources are analysed in parallel, each on its own connection, so a source that is down costs at most one
connect timeout (3 s) and yields its own error entry while the others complete.

The SQL text is built from this module's constants and the health ``THRESHOLDS`` declaration only, never from a
request; values are ``%s`` parameters. Each statement's ``# noqa: S608`` names what it splices in.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.analysis.profile import profile_source
from chalicelib.core import aws
from chalicelib.core.bodies import json_object
from chalicelib.core.errors import InvalidInput, PlatformError
from chalicelib.core.logs import log_event, metric
from chalicelib.core.mysql import Database, get_database
from chalicelib.core.results import put_result
from chalicelib.core.settings import ConfigError, get_settings
from chalicelib.health_readings import THRESHOLDS, sql_any_anomaly, sql_condition

TOP_N = 10
PER_USER_LIMIT = 1000  # bounds the result object; the overview still counts every user
SALES_DAYS = 30
PERCENTILES = (25, 50, 75, 90, 99)
HISTOGRAM_BUCKETS = 10
MAX_TABLE_NAME = 64  # MySQL's identifier length
# tables are profiled until this many seconds have passed: an API answer stays inside API Gateway's 29 s, the
# schedule inside daily_analysis's 300 s timeout
PROFILE_SECONDS = {"api": 15.0, "schedule": 240.0}
# analysis/health/ holds the analyses of ingested health files, analysis/digest/ the daily digests
RESERVED_SOURCE_NAMES = frozenset({"health", "digest"})


@dataclass
class RunContext:
    """What a query's parameters may depend on: the run's time zone and the results of earlier queries."""

    timezone: ZoneInfo
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    params: Callable[[RunContext], Sequence[Any]] = lambda context: ()
    single_row: bool = False


@dataclass(frozen=True)
class Analysis:
    name: str
    tables: frozenset[str]
    queries: tuple[Query, ...]


# --- superheroes -----------------------------------------------------------------------------------------------

# nearest-rank percentiles: the value at rank ceil(p/100 * n), read by walking the xp index to that offset (about
# seven times faster than a window function over a million rows, and the same SQL on MySQL 8 and MariaDB)
_PERCENTILE_ROWS = " UNION ALL ".join(
    f"(SELECT {p} AS percentile, xp FROM superheroes ORDER BY xp LIMIT 1 OFFSET %s)"  # noqa: S608 - PERCENTILES
    for p in PERCENTILES
)


def _percentile_offsets(context: RunContext) -> list[int]:
    heroes = context.results["xp"]["heroes"]
    return [max(0, math.ceil(p * heroes / 100) - 1) for p in PERCENTILES]


def _top_values(column: str) -> str:
    """The most frequent values of a superheroes column (``column`` is one of our literals, never input)."""
    return (
        f"SELECT {column} AS value, COUNT(*) AS heroes FROM superheroes"  # noqa: S608 - column is a literal below
        f" GROUP BY {column} ORDER BY heroes DESC, {column} LIMIT {TOP_N}"
    )


SUPERHEROES = Analysis(
    name="superheroes",
    tables=frozenset({"superheroes"}),
    queries=(
        Query(
            "xp",
            "SELECT COUNT(*) AS heroes, MIN(xp) AS min, MAX(xp) AS max, AVG(xp) AS mean, STDDEV_POP(xp) AS stddev"
            " FROM superheroes",
            single_row=True,
        ),
        Query("xp_percentiles", _PERCENTILE_ROWS, _percentile_offsets),
        Query(
            "xp_histogram",
            f"SELECT FLOOR((s.xp - b.lo) * {HISTOGRAM_BUCKETS} / (b.hi - b.lo + 1)) AS bucket,"  # noqa: S608 - constant
            " MIN(s.xp) AS min_xp, MAX(s.xp) AS max_xp, COUNT(*) AS heroes"
            " FROM superheroes AS s CROSS JOIN (SELECT MIN(xp) AS lo, MAX(xp) AS hi FROM superheroes) AS b"
            " GROUP BY bucket ORDER BY bucket",
        ),
        Query("top_powers", _top_values("power")),
        Query("top_colors", _top_values("color")),
    ),
)


# --- sales -----------------------------------------------------------------------------------------------------


def sales_days(
    last_order: datetime | None, zone: ZoneInfo, days: int = SALES_DAYS
) -> list[tuple[date, datetime, datetime]]:
    """The ``days`` business days (in ``zone``) ending with the day of ``last_order`` (UTC, naive as MySQL
    returns it; today when there are no orders), each with its UTC start and end.

    Computing the boundaries here keeps days right across DST changes without MySQL's time-zone tables.
    """
    now = datetime.now(UTC) if last_order is None else last_order.replace(tzinfo=UTC)
    last_day = now.astimezone(zone).date()
    windows = []
    for offset in range(days - 1, -1, -1):
        day = last_day - timedelta(days=offset)
        starts = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
        ends = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
        windows.append((day, starts.replace(tzinfo=None), ends.replace(tzinfo=None)))
    return windows


def _sales_windows(context: RunContext) -> list[tuple[date, datetime, datetime]]:
    return sales_days(context.results["period"]["last_order"], context.timezone)


def _per_day_params(context: RunContext) -> list[Any]:
    return [value for window in _sales_windows(context) for value in window]


def _period_params(context: RunContext) -> list[Any]:
    windows = _sales_windows(context)
    return [windows[0][1], windows[-1][2]]


_DAY_ROWS = " UNION ALL ".join(["SELECT %s AS day, %s AS starts, %s AS ends"] * SALES_DAYS)
_IN_PERIOD = "o.order_date_time >= %s AND o.order_date_time < %s"

SALES = Analysis(
    name="sales",
    tables=frozenset({"order", "order_item", "product", "product_group"}),
    queries=(
        Query(
            "period", "SELECT MAX(order_date_time) AS last_order, COUNT(*) AS all_orders FROM `order`", single_row=True
        ),
        Query(
            "per_day",
            "SELECT d.day, COUNT(o.order_number) AS orders, COALESCE(SUM(o.amount), 0) AS revenue"  # noqa: S608 - _DAY_ROWS
            f" FROM ({_DAY_ROWS}) AS d"
            " LEFT JOIN `order` AS o ON o.order_date_time >= d.starts AND o.order_date_time < d.ends"
            " GROUP BY d.day ORDER BY d.day",
            _per_day_params,
        ),
        Query(
            "top_products",
            "SELECT p.id AS product_id, p.product_name, SUM(i.quantity) AS quantity, SUM(i.amount) AS revenue"  # noqa: S608 - constants
            " FROM `order` AS o JOIN order_item AS i ON i.order_number = o.order_number"
            f" JOIN product AS p ON p.id = i.product_id WHERE {_IN_PERIOD}"
            f" GROUP BY p.id, p.product_name ORDER BY revenue DESC, quantity DESC, p.id LIMIT {TOP_N}",
            _period_params,
        ),
        Query(
            "revenue_per_group",
            "SELECT g.product_group_number, g.product_group_name, SUM(i.quantity) AS quantity,"  # noqa: S608 - _IN_PERIOD
            " SUM(i.amount) AS revenue"
            " FROM `order` AS o JOIN order_item AS i ON i.order_number = o.order_number"
            " JOIN product AS p ON p.id = i.product_id"
            f" JOIN product_group AS g ON g.product_group_number = p.product_group WHERE {_IN_PERIOD}"
            " GROUP BY g.product_group_number, g.product_group_name ORDER BY g.product_group_number",
            _period_params,
        ),
    ),
)


# --- health ----------------------------------------------------------------------------------------------------

_ANOMALY_SQL, _ANOMALY_PARAMS = sql_any_anomaly()
_REASON_PARTS = [(t.reason, *sql_condition(t)) for t in THRESHOLDS]

HEALTH = Analysis(
    name="health",
    tables=frozenset({"health_metrics"}),
    queries=(
        Query(
            "overview",
            "SELECT COUNT(*) AS readings, COUNT(DISTINCT user_id) AS users,"  # noqa: S608 - from THRESHOLDS
            f" COALESCE(SUM({_ANOMALY_SQL}), 0) AS anomalies, ROUND(AVG({_ANOMALY_SQL}), 4) AS anomaly_rate,"
            " MIN(event_time) AS first_reading, MAX(event_time) AS last_reading FROM health_metrics",
            lambda context: _ANOMALY_PARAMS * 2,
            single_row=True,
        ),
        Query(
            "anomalies_by_reason",
            "SELECT "  # noqa: S608 - reasons and conditions from THRESHOLDS
            + ", ".join(f"COALESCE(SUM({sql}), 0) AS {reason}" for reason, sql, _ in _REASON_PARTS)
            + " FROM health_metrics",
            lambda context: [p for _, _, params in _REASON_PARTS for p in params],
            single_row=True,
        ),
        Query(
            "per_user",
            f"SELECT user_id, COUNT(*) AS readings, SUM({_ANOMALY_SQL}) AS anomalies,"  # noqa: S608 - from THRESHOLDS
            # a full scan: walking the (user_id, event_time) index costs a row lookup per reading, ~6x slower
            f" ROUND(AVG({_ANOMALY_SQL}), 4) AS anomaly_rate FROM health_metrics IGNORE INDEX (uq_health_reading)"
            f" GROUP BY user_id ORDER BY anomaly_rate DESC, user_id LIMIT {PER_USER_LIMIT}",
            lambda context: _ANOMALY_PARAMS * 2,
        ),
    ),
)

ANALYSES: tuple[Analysis, ...] = (SUPERHEROES, SALES, HEALTH)


# --- the runner --------------------------------------------------------------------------------------------------


class SourceNotAnalysable(Exception):
    """The source has none of the tables any analysis needs."""


def existing_tables(database: Database) -> set[str]:
    with database.cursor(dicts=False) as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
        return {row[0] for row in cur.fetchall()}


def run_analysis(analysis: Analysis, database: Database, zone: ZoneInfo) -> dict[str, Any]:
    """Run ``analysis``'s queries in order on ``database``: ``{query name: row or rows}``."""
    context = RunContext(timezone=zone)
    with database.cursor() as cur:
        for query in analysis.queries:
            cur.execute(query.sql, query.params(context) or None)
            context.results[query.name] = cur.fetchone() if query.single_row else cur.fetchall()
    return context.results


Profile = bool | list[str]  # profile no table, every table, or the tables named


def analyse_source(source: str, zone: ZoneInfo, profile: Profile = False, trigger: str = "api") -> dict[str, Any]:
    """Every analysis that fits ``source``'s tables, and the profile of its tables when asked; raises when the
    source is down, or fits no analysis and no profile was asked."""
    database = get_database(source)
    profiled = None
    try:
        tables = existing_tables(database)
        fitting = [a for a in ANALYSES if a.tables <= tables]
        if not fitting and profile is False:
            needs = "; ".join(", ".join(sorted(a.tables)) for a in ANALYSES)
            raise SourceNotAnalysable(f"database {database.name!r} has none of the tables an analysis needs ({needs})")
        analyses = {}
        for analysis in fitting:
            started = time.perf_counter()
            analyses[analysis.name] = run_analysis(analysis, database, zone)
            analyses[analysis.name]["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        if profile is not False:
            budget = PROFILE_SECONDS.get(trigger, PROFILE_SECONDS["api"])
            profiled = profile_source(database, None if profile is True else profile, budget)
    finally:
        database.close()  # connections are per thread, and this thread ends with the run
    skipped = {a.name: {"missing_tables": sorted(a.tables - tables)} for a in ANALYSES if a not in fitting}
    found = {"database": database.name, "analyses": analyses, "skipped": skipped}
    return found if profiled is None else {**found, "profile": profiled}


def _result_key(source: str, run_at: datetime) -> str:
    return f"analysis/{source}/{run_at.strftime('%Y%m%dT%H%M%S.%fZ')}.json"


def _analyse_and_store(source: str, run_at: datetime, trigger: str, zone: ZoneInfo, profile: Profile) -> dict[str, Any]:
    """One source's entry in the answer; its result object (or the error) is stored under its key."""
    started = time.perf_counter()
    document: dict[str, Any] = {"source": source, "run_at": run_at, "trigger": trigger, "timezone": zone.key}
    try:
        document.update(status="ok", **analyse_source(source, zone, profile, trigger))
    except Exception as exc:  # one source's failure (down, no tables, SQL error) must not stop the others
        # a driver's words (which may name a host) go to the log only; the answer has the error's public message
        shown = exc.public_message if isinstance(exc, PlatformError) else str(exc)
        document.update(status="error", error=f"{type(exc).__name__}: {shown}")
        log_event("analysis.source failed", logging.WARNING, source=source, detail=str(exc))
    document["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    entry: dict[str, Any] = {"status": document["status"], "key": _result_key(source, run_at)}
    if document["status"] == "ok":
        entry.update(analyses=sorted(document["analyses"]), skipped=sorted(document["skipped"]))
        if "profile" in document:
            entry["profiled_tables"] = sorted(document["profile"]["tables"])
    else:
        entry["error"] = document["error"]
    try:
        put_result(entry["key"], document)
    except Exception as exc:  # the answer still reports the analysis; only storing it failed
        entry.update(status="error", key=None, error=f"could not store the result: {exc}")
    entry["duration_ms"] = document["duration_ms"]
    log_event("analysis.source", source=source, trigger=trigger, **{k: v for k, v in entry.items() if k != "skipped"})
    return entry


def configured_sources() -> list[str]:
    sources = list(get_settings().analysis_sources)
    reserved = RESERVED_SOURCE_NAMES.intersection(sources)
    if reserved:
        raise ConfigError(f"setting ANALYSIS_SOURCES: source names {sorted(reserved)} are reserved")
    return sources


def run_analyses(
    sources: Iterable[str] | None = None, trigger: str = "api", profile: Profile = False
) -> dict[str, Any]:
    """Analyse ``sources`` (all configured ones when ``None``) in parallel, profiling their tables as ``profile``
    asks: ``{"results": {source: entry}}``."""
    from concurrent.futures import ThreadPoolExecutor  # only runs need it: kept out of every cold start

    names = list(dict.fromkeys(sources)) if sources is not None else configured_sources()
    run_at = datetime.now(UTC)
    zone = ZoneInfo(get_settings().report_timezone)
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        entries = pool.map(lambda source: _analyse_and_store(source, run_at, trigger, zone, profile), names)
        results = dict(zip(names, entries, strict=True))
    for source, entry in results.items():  # recorded on the invocation's thread, whose log line carries them
        metric("AnalysisDuration", entry["duration_ms"], Source=source)
    return {"results": results}


DIGEST_RUNS = 20  # runs per source a digest lists


def runs_between(start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    """``{source: [run]}`` of the analysis runs stored in ``[start, end)`` (UTC; keys start with the run's
    time), at most :data:`DIGEST_RUNS` per source: each run's key, trigger, status and error or analyses."""
    bucket, s3 = get_settings().require("DATA_BUCKET"), aws.client("s3")
    runs: dict[str, list[dict[str, Any]]] = {}
    for source in configured_sources():
        first, after = _result_key(source, start), _result_key(source, end)
        keys = [key for key in _keys_by_day(s3, bucket, source, start, end) if first <= key < after]
        for key in keys[:DIGEST_RUNS]:
            document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            run = {"key": key, "trigger": document.get("trigger"), "status": document.get("status")}
            if document.get("status") == "ok":
                run["analyses"] = sorted(document.get("analyses", {}))
                run["profiled_tables"] = len(document.get("profile", {}).get("tables", {}))
            else:
                run["error"] = document.get("error")
            runs.setdefault(source, []).append(run)
    return runs


def _keys_by_day(s3: Any, bucket: str, source: str, start: datetime, end: datetime) -> list[str]:
    """The result keys of ``source`` on the UTC days from ``start`` to ``end``, in order."""
    keys: list[str] = []
    day = start.date()
    while day <= end.date():
        prefix = f"analysis/{source}/{day.strftime('%Y%m%d')}T"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        day += timedelta(days=1)
    return sorted(keys)


def requested_sources(body: dict[str, Any]) -> list[str] | None:
    """The sources a ``POST /analysis`` body names (``None``: all). Raises :class:`InvalidInput` saying what is
    wrong with ``sources`` when it is not a list of known names."""
    if "sources" not in body:
        return None
    sources = body["sources"]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise InvalidInput("'sources' must be a non-empty list of source names")
    known = configured_sources()
    unknown = [s for s in sources if s not in known]
    if unknown:
        raise InvalidInput(f"unknown source(s) {unknown}; the configured sources are {known}")
    return sources


def requested_profile(body: dict[str, Any]) -> Profile:
    """What a ``POST /analysis`` body's ``profile`` asks: ``true`` (every table), ``false`` (none, the default)
    or a list of table names (each profiled in every source that has it)."""
    profile = body.get("profile", False)
    if isinstance(profile, bool):
        return profile
    if not isinstance(profile, list) or not profile or not all(map(_table_name, profile)):
        raise InvalidInput(
            f"'profile' must be true, false or a non-empty list of table names of 1 to {MAX_TABLE_NAME} characters"
        )
    return profile


def _table_name(name: Any) -> bool:
    return isinstance(name, str) and 0 < len(name) <= MAX_TABLE_NAME


def analyse_request(raw_body: bytes | str | None) -> dict[str, Any]:
    """``POST /analysis``: validate the body, then :func:`run_analyses` on the sources it names."""
    body = json_object(raw_body, ["sources", "profile"], '{"sources": ["public"], "profile": true}')
    return run_analyses(requested_sources(body), trigger="api", profile=requested_profile(body))
