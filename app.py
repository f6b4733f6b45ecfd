"""The Chalice app: registers routes and event handlers; every one delegates to ``chalicelib``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Chalice, Response
from chalice.app import CloudWatchEvent, HeadersType, Request, S3Event, SNSEvent

from chalicelib.core import data_bucket
from chalicelib.core.http import json_route
from chalicelib.core.lazy import LazyModule
from chalicelib.core.logs import log_invocation
from chalicelib.core.openapi import OBJECT, QueryParam, describe
from chalicelib.core.stage import deploy_setting

if TYPE_CHECKING:  # the checker sees the real packages; at run time each is imported on its handler's first use
    from chalicelib import analysis, health_readings, heroes, ingest, operations, reporting
    from chalicelib.core import dependencies, migrations, openapi
else:  # each function imports only what its handler uses (cold start: docs/benchmarks.md)
    analysis = LazyModule("chalicelib.analysis")
    dependencies = LazyModule("chalicelib.core.dependencies")
    health_readings = LazyModule("chalicelib.health_readings")
    heroes = LazyModule("chalicelib.heroes")
    ingest = LazyModule("chalicelib.ingest")
    migrations = LazyModule("chalicelib.core.migrations")
    operations = LazyModule("chalicelib.operations")
    openapi = LazyModule("chalicelib.core.openapi")
    reporting = LazyModule("chalicelib.reporting")

app = Chalice(app_name="serverless-data-platform")
# The API takes and answers JSON (and /mp6's form bodies) only, so no media type is binary: API Gateway never
# base64-encodes a body, and Chalice does not compare each request's Accept and each response's Content-Type with
# its 20 default binary types, which cost a cached read about 8 us (docs/benchmarks.md).
app.api.binary_types = []
app.register_middleware(log_invocation, "all")  # one JSON summary line per invocation of every handler


API_VERSION = "1"
LIMIT = {"type": "string", "pattern": "^[0-9]+$"}
PAGE = {"type": "object", "required": ["items", "next"], "properties": {"items": {"type": "array"}, "next": {}}}
LINK = {"type": "object", "required": ["url", "expires_in"]}
CACHE = QueryParam("cache", "false: read MySQL, not the cache", {"type": "string", "enum": ["true", "false"]})


def _paging(limits: str, after: dict | None = None) -> tuple[QueryParam, QueryParam]:
    """``limit`` (``limits``, e.g. ``1-500``) and ``after`` (the ``next`` of the previous page) of a list."""
    return (
        QueryParam("limit", f"page size, {limits}", LIMIT),
        QueryParam("after", "the next of the previous page", after or LIMIT),
    )


def _hero(**options: bool) -> object:
    return lambda: heroes.hero_json_schema(**options)


@json_route(app, "/health", methods=["GET"], scope="read")
@describe("MySQL and Redis reachable (200) or not (503)", answer=OBJECT, statuses=(200, 503), errors=())
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


@json_route(app, "/openapi.json", methods=["GET"], scope="read")
@describe("this OpenAPI document", answer=OBJECT, errors=())
def openapi_document() -> dict:
    return openapi.document(app, "Serverless data platform", API_VERSION)


@json_route(app, "/heroes/{hero_id}", methods=["GET"], scope="read")
@describe("one hero", answer=_hero(with_id=True), query=(CACHE,), errors=(400, 404), headers={"X-Cache": "HIT or MISS"})
def get_hero(hero_id: str) -> Response:
    return _cached(heroes.get_hero(hero_id, _query(), _cache_control()))


@json_route(app, "/heroes", methods=["GET"], scope="read")
@describe(
    "heroes by xp (xp=1,2) or a page by id (limit, after, power, color)",
    answer=PAGE,
    query=(
        QueryParam("xp", "comma-separated xp values"),
        *_paging("1-1000"),
        QueryParam("power", "only heroes with this power"),
        QueryParam("color", "only heroes of this color"),
        CACHE,
    ),
    headers={"X-Cache": "HIT or MISS"},
)
def list_heroes() -> Response:
    return _cached(heroes.list_heroes(_query(), _cache_control()))


@json_route(app, "/heroes", methods=["POST"], scope="write")
@describe(
    "create one hero or a list of them",
    answer=lambda: {"oneOf": [heroes.hero_json_schema(with_id=True), {"type": "array"}]},
    statuses=(201,),
    body=lambda: {"oneOf": [heroes.hero_json_schema(), {"type": "array", "items": heroes.hero_json_schema()}]},
    body_required=True,
)
def create_heroes() -> Response:
    created = heroes.create_heroes(_body())
    # the request's own path, so that a deployed stage's prefix (/api/heroes) is kept
    path = _request().context.get("path", "/heroes").rstrip("/")
    headers: HeadersType = {"Location": f"{path}/{created['id']}"} if isinstance(created, dict) else {}
    return Response(body=created, status_code=201, headers=headers)


@json_route(app, "/heroes/{hero_id}", methods=["PUT"], scope="write")
@describe("replace a hero", answer=_hero(with_id=True), body=_hero(), body_required=True, errors=(400, 404))
def replace_hero(hero_id: str) -> dict:
    return heroes.replace_hero(hero_id, _body())


@json_route(app, "/heroes/{hero_id}", methods=["PATCH"], scope="write")
@describe(
    "change some fields of a hero",
    answer=_hero(with_id=True),
    body=_hero(partial=True),
    body_required=True,
    errors=(400, 404),
)
def update_hero(hero_id: str) -> dict:
    return heroes.update_hero(hero_id, _body())


@json_route(app, "/heroes/{hero_id}", methods=["DELETE"], scope="write")
@describe("delete a hero", statuses=(204,), errors=(400, 404))
def delete_hero(hero_id: str) -> Response:
    heroes.delete_hero(hero_id)
    return Response(body="", status_code=204)


# the original Lambda read its body whatever the Content-Type; clients that post JSON as text or form data keep working
MP6_CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded"]


@json_route(app, "/mp6", methods=["POST"], scope="write", content_types=MP6_CONTENT_TYPES)
@describe(
    "the course's original request format: read heroes by xp or write heroes",
    answer=OBJECT,
    body={"type": "object", "required": ["USE_CACHE", "REQUEST", "SQLS"]},
    body_required=True,
)
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


@json_route(app, "/reports/sales", methods=["POST"], scope="operate")
@describe(
    "the daily sales report of a day (default today): published, and a workbook with a download link",
    answer=OBJECT,
    body={
        "type": "object",
        "properties": {"date": {"type": "string", "format": "date"}},
        "additionalProperties": False,
    },
)
def sales_report() -> dict:
    return reporting.report_for_request(_body())


@json_route(app, "/exports", methods=["POST"], scope="operate")
@describe(
    "a workbook of a named export, with a download link",
    answer={"type": "object", "required": ["name", "key", "rows", "download"]},
    statuses=(201,),
    body={
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}},
        "additionalProperties": False,
    },
    body_required=True,
)
def create_export() -> Response:
    return Response(body=reporting.export_for_request(_body()), status_code=201)


@json_route(app, "/analysis", methods=["POST"], scope="operate")
@describe(
    "analyse the named sources (all without a body); one result object per source",
    answer=OBJECT,
    body={
        "type": "object",
        "properties": {"sources": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
        "additionalProperties": False,
    },
)
def run_analysis() -> dict:
    """Analyse the ANALYSIS_SOURCES named in the body (all without one); one result object per source."""
    return analysis.analyse_request(_body())


@json_route(app, "/analysis/{source}", methods=["GET"], scope="read")
@describe("the latest analysis of a source (health: of an ingested health file)", answer=OBJECT, errors=(404,))
def latest_analysis(source: str) -> dict:
    return analysis.latest(source)


@json_route(app, "/analysis/{source}/history", methods=["GET"], scope="read")
@describe(
    "the analyses of a source, newest first",
    answer=PAGE,
    query=_paging("1-200", after={"type": "string"}),
    errors=(400, 404),
)
def analysis_history(source: str) -> dict:
    return analysis.history(source, _query())


@json_route(app, "/ingests", methods=["GET"], scope="read")
@describe(
    "the ingested uploads, newest first",
    answer=PAGE,
    query=(
        QueryParam("dataset", "only this dataset's uploads"),
        QueryParam(
            "status",
            "only loaded, rejected or duplicate files",
            lambda: {"type": "string", "enum": list(ingest.STATUSES)},
        ),
        QueryParam("day", "only those received on this UTC day", {"type": "string", "format": "date"}),
        *_paging("1-500"),
    ),
)
def list_ingests() -> dict:
    return ingest.list_ingests(_query())


@json_route(app, "/ingests/{ingest_id}", methods=["GET"], scope="read")
@describe(
    "an upload's manifest: status, counts, reasons, timings, outputs and their download links",
    answer=OBJECT,
    errors=(400, 404),
)
def get_ingest(ingest_id: str) -> dict:
    return ingest.get_ingest(ingest_id)


@json_route(app, "/ingests/{ingest_id}/rejected", methods=["GET"], scope="read")
@describe(
    "an upload's rejected rows, each with its line in the file and its reason",
    answer=PAGE,
    query=_paging("1-1000"),
    errors=(400, 404),
)
def rejected_rows(ingest_id: str) -> dict:
    return ingest.rejected_rows(ingest_id, _query())


@json_route(app, "/ingests/{ingest_id}/analysis", methods=["GET"], scope="read")
@describe("the analysis of an uploaded health file", answer=OBJECT, errors=(400, 404))
def ingest_analysis(ingest_id: str) -> dict:
    return analysis.ingest_analysis(ingest_id)


@json_route(app, "/uploads", methods=["POST"], scope="ingest")
@describe(
    "a time-limited URL to PUT a CSV to raw/<dataset>/<name>; the upload is then ingested",
    answer=LINK,
    body={
        "type": "object",
        "required": ["dataset", "name"],
        "properties": {"dataset": {"type": "string"}, "name": {"type": "string"}},
        "additionalProperties": False,
    },
    body_required=True,
)
def create_upload() -> dict:
    return ingest.upload_link_for_request(_body())


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
    return ingest.handle_s3_event(event.to_dict())


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
