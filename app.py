"""The Chalice app: registers routes and event handlers; every one delegates to ``chalicelib``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Chalice, Response
from chalice.app import CloudWatchEvent, HeadersType, Request, S3Event, SNSEvent

from chalicelib.core import data_bucket
from chalicelib.core.http import json_route
from chalicelib.core.lazy import LazyModule
from chalicelib.core.logs import log_invocation
from chalicelib.core.settings import deploy_setting

if TYPE_CHECKING:  # the checker sees the real packages; at run time each is imported on its handler's first use
    from chalicelib import analysis, health_readings, heroes, ingest, operations, reporting
    from chalicelib.core import dependencies, migrations
else:  # each function imports only what its handler uses (cold start: docs/benchmarks.md)
    analysis = LazyModule("chalicelib.analysis")
    dependencies = LazyModule("chalicelib.core.dependencies")
    health_readings = LazyModule("chalicelib.health_readings")
    heroes = LazyModule("chalicelib.heroes")
    ingest = LazyModule("chalicelib.ingest")
    migrations = LazyModule("chalicelib.core.migrations")
    operations = LazyModule("chalicelib.operations")
    reporting = LazyModule("chalicelib.reporting")

app = Chalice(app_name="serverless-data-platform")
app.register_middleware(log_invocation, "all")  # one JSON summary line per invocation of every handler


@json_route(app, "/health", methods=["GET"])
def health() -> Response:
    healthy, body = dependencies.dependency_status()
    return Response(body=body, status_code=200 if healthy else 503)


def _request() -> Request:
    """The request a route's view is serving (Chalice sets it before it calls the view)."""
    request = app.current_request
    if request is None:  # only outside a route: a wiring mistake, never a client's
        raise RuntimeError("no current request outside an HTTP route")
    return request


def _body() -> bytes | str:
    return _request().raw_body


def _query() -> dict[str, list[str]]:
    """Every query parameter with all the values it was given."""
    params = _request().query_params
    return {name: params.getlist(name) for name in params} if params is not None else {}


def _cache_control() -> str | None:
    return _request().headers.get("cache-control")


def _cached(result: tuple[object, str]) -> Response:
    """A hero read's body with the ``X-Cache`` header saying where it came from."""
    body, cache = result
    return Response(body=body, headers={"X-Cache": cache})


@json_route(app, "/heroes/{hero_id}", methods=["GET"])
def get_hero(hero_id: str) -> Response:
    return _cached(heroes.get_hero(hero_id, _query(), _cache_control()))


@json_route(app, "/heroes", methods=["GET"])
def list_heroes() -> Response:
    return _cached(heroes.list_heroes(_query(), _cache_control()))


@json_route(app, "/heroes", methods=["POST"])
def create_heroes() -> Response:
    created = heroes.create_heroes(_body())
    # the request's own path, so that a deployed stage's prefix (/api/heroes) is kept
    path = _request().context.get("path", "/heroes").rstrip("/")
    headers: HeadersType = {"Location": f"{path}/{created['id']}"} if isinstance(created, dict) else {}
    return Response(body=created, status_code=201, headers=headers)


@json_route(app, "/heroes/{hero_id}", methods=["PUT"])
def replace_hero(hero_id: str) -> dict:
    return heroes.replace_hero(hero_id, _body())


@json_route(app, "/heroes/{hero_id}", methods=["PATCH"])
def update_hero(hero_id: str) -> dict:
    return heroes.update_hero(hero_id, _body())


@json_route(app, "/heroes/{hero_id}", methods=["DELETE"])
def delete_hero(hero_id: str) -> Response:
    heroes.delete_hero(hero_id)
    return Response(body="", status_code=204)


@json_route(app, "/mp6", methods=["POST"])
def mp6() -> Response:
    body, cache = heroes.mp6(_body())
    return Response(body=body, headers={"X-Cache": cache} if cache else {})


@app.lambda_function(name="migrate")
def migrate(event: dict, context: object) -> dict:
    """Create the app's database users and apply pending schema migrations; the deploy invokes it inside the
    VPC, where the databases are. ``{"source": "public"}`` migrates an ``ANALYSIS_SOURCES`` database instead of
    the default one."""
    source = event.get("source", "default") if isinstance(event, dict) else "default"
    return migrations.migrate_source(source)


@app.schedule("cron(0 20 ? * MON-SAT *)")
def daily_sales_report(event: CloudWatchEvent) -> dict:
    """The café's daily sales report for the event's day in REPORT_TIMEZONE (SNS + workbook)."""
    return reporting.report_for_event_time(event.time)


@json_route(app, "/reports/sales", methods=["POST"])
def sales_report() -> dict:
    return reporting.report_for_request(_body())


@json_route(app, "/exports", methods=["POST"])
def create_export() -> Response:
    return Response(body=reporting.export_for_request(_body()), status_code=201)


@json_route(app, "/analysis", methods=["POST"])
def run_analysis() -> dict:
    """Analyse the ANALYSIS_SOURCES named in the body (all without one); one result object per source."""
    return analysis.analyse_request(_body())


@app.schedule("cron(30 20 * * ? *)", name="daily_analysis")
def daily_analysis(event: CloudWatchEvent) -> dict:
    """Every ANALYSIS_SOURCES database, daily at 20:30 UTC (after the sales report)."""
    return analysis.run_analyses(trigger="schedule", profile=True)


@app.schedule("cron(0 6 * * ? *)", name="daily_digest")
def daily_digest(event: CloudWatchEvent) -> dict:
    """The previous UTC day's digest for the people who run the pipeline (SNS, SES), sent once per day."""
    return operations.send_daily_digest(event.time)


@app.on_sns_message(
    topic=deploy_setting("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:000000000000:EVENTS_TOPIC_ARN-not-configured")
)
def on_pipeline_event(event: SNSEvent) -> dict:
    """Pipeline events (``ingest.completed``): a health file that loaded rows is analysed and reported once."""
    return health_readings.handle_pipeline_message(event.message)


_DATA_BUCKET = deploy_setting("DATA_BUCKET", "platform-dev-data")
_CREATED = ["s3:ObjectCreated:*"]


def _object_created(event: S3Event) -> dict:
    version_id = event.to_dict()["Records"][0]["s3"]["object"].get("versionId")
    return ingest.handle_object_created(event.bucket, event.key, version_id)


@app.on_s3_event(bucket=_DATA_BUCKET, events=_CREATED, prefix=data_bucket.UPLOADS_PREFIX)
def on_s3_upload(event: S3Event) -> dict:
    """``raw/<dataset>/<path>.csv`` is ingested. The notification covers ``raw/`` only: the platform's outputs
    never invoke it."""
    return _object_created(event)


@app.on_s3_event(
    bucket=_DATA_BUCKET, events=_CREATED, prefix=data_bucket.EXPORTS_PREFIX, suffix=data_bucket.EXPORTS_SUFFIX
)
def on_s3_export(event: S3Event) -> dict:
    """``exports/**.xlsx`` is copied to ``ARCHIVE_BUCKET``."""
    return _object_created(event)
