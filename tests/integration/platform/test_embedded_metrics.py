"""Metrics in CloudWatch's embedded metric format on the invocation's log line: hero cache hits and misses,
report and analysis durations (the ingest's rows: tests/integration/ingest/test_ingest_metrics.py). CloudWatch
turns a line into metrics when every dimension and metric a directive names is a top-level key of it; that is
checked here on the real lines."""

from __future__ import annotations

from tests.support.heroes import create
from tests.unit.test_embedded_metrics import cloudwatch_metrics


def test_hero_reads_count_cache_misses_hits_and_bypasses(client, logged):
    hero = create(client)
    logged.lines.clear()

    client.http.get("/heroes?limit=7")
    client.http.get("/heroes?limit=7")
    client.http.get(f"/heroes/{hero['id']}?cache=false")

    miss, hit, bypass = (cloudwatch_metrics(line) for line in logged.invocations())
    assert miss == {"CacheMisses": (1, {"Function": "api_handler"})}
    assert hit == {"CacheHits": (1, {"Function": "api_handler"})}
    assert bypass == {"CacheBypasses": (1, {"Function": "api_handler"})}


def test_report_and_analysis_durations(client, logged, cafe):
    client.http.post("/reports/sales", body='{"date": "2020-07-05"}', headers={"Content-Type": "application/json"})
    client.http.post("/analysis", body="{}", headers={"Content-Type": "application/json"})

    report, analysis = logged.invocations()
    (duration, dimensions) = cloudwatch_metrics(report)["ReportDuration"]
    assert duration > 0 and dimensions == {"Function": "api_handler"}
    per_source = [cloudwatch_metrics(line)["AnalysisDuration"] for line in [analysis, *_more(logged)]]
    assert sorted(dimensions["Source"] for _, dimensions in per_source) == ["private", "public"]


def _more(logged) -> list[dict]:
    """Metric documents that did not fit on the invocation's line (another value of the same dimension)."""
    return [line for line in logged.lines if line["message"] == "metrics"]
