"""``POST /exports``: named, whitelisted queries streamed into ``exports/<name>/<timestamp>.xlsx``.

Clients choose an export by name and give typed parameters; the SQL is fixed here and every parameter is
bound, never spliced. Adding an export is a declaration in :data:`EXPORTS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.core import s3
from chalicelib.core.bodies import json_object
from chalicelib.core.data_bucket import EXPORTS_PREFIX, EXPORTS_SUFFIX
from chalicelib.core.errors import InvalidInput
from chalicelib.core.logs import log_event
from chalicelib.core.params import json_integer, json_text
from chalicelib.core.settings import get_settings
from chalicelib.heroes import HERO_FIELDS
from chalicelib.reporting import sales, workbooks


@dataclass(frozen=True)
class Param:
    """A parameter: ``kind`` is ``text`` (1..max_length characters), ``integer`` (minimum..maximum) or
    ``date`` (YYYY-MM-DD)."""

    kind: str
    default: Any = None
    max_length: int = 255
    minimum: int = 0
    maximum: int = 2**31 - 1

    def parse(self, name: str, raw: Any) -> Any:
        if raw is None:
            return self.default
        if self.kind == "date":
            return sales.parse_day(raw, name)
        if self.kind == "integer":
            return json_integer(raw, f"parameter {name}", self.minimum, self.maximum)
        return json_text(raw, f"parameter {name}", self.max_length)


def _hero_param(name: str, default: Any = None) -> Param:
    """A parameter that filters on hero field ``name``, checked as :mod:`chalicelib.heroes` declares it."""
    declared = next(f for f in HERO_FIELDS if f.name == name)
    if declared.kind == "int":
        return Param("integer", default, minimum=declared.minimum, maximum=declared.maximum)
    return Param("text", default, max_length=declared.max_length)


_XP = next(f for f in HERO_FIELDS if f.name == "xp")


@dataclass(frozen=True)
class Export:
    """A named query: its SQL (``%(name)s`` placeholders only), parameters, how bound values become the
    SQL's parameters, and the sheet it fills."""

    sql: str
    params: Mapping[str, Param]
    sheet: workbooks.Sheet
    bind: Callable[[dict[str, Any]], dict[str, Any]] = dict


def _sales_bind(values: dict[str, Any]) -> dict[str, Any]:
    first = values["from"] or sales.today(get_settings().report_timezone)
    last = values["to"] or first
    if last < first:
        raise InvalidInput(f"parameter to ({last}) must not be before from ({first})")
    return sales.utc_range(first, last, get_settings().report_timezone)


EXPORTS: dict[str, Export] = {
    "heroes": Export(
        sql=(
            "SELECT id, name, hero, power, xp, color FROM superheroes"
            " WHERE (%(power)s IS NULL OR power = %(power)s) AND (%(color)s IS NULL OR color = %(color)s)"
            " AND xp BETWEEN %(min_xp)s AND %(max_xp)s ORDER BY id"
        ),
        params={
            "power": _hero_param("power"),
            "color": _hero_param("color"),
            "min_xp": _hero_param("xp", default=_XP.minimum),
            "max_xp": _hero_param("xp", default=_XP.maximum),
        },
        sheet=workbooks.Sheet(
            title="Heroes",
            columns=(
                workbooks.Column("ID", "integer", 10),
                workbooks.Column("Name", "text", 22),
                workbooks.Column("Hero", "text", 22),
                workbooks.Column("Power", "text", 22),
                workbooks.Column("XP", "integer", 12),
                workbooks.Column("Color", "text", 22),
            ),
        ),
    ),
    # the daily report's aggregate over the local days from..to (both inclusive; default today)
    "sales": Export(
        sql=sales.SALES_SQL,
        params={"from": Param("date"), "to": Param("date")},
        sheet=sales.SALES_SHEET,
        bind=_sales_bind,
    ),
}


def export_key(name: str, now: datetime | None = None) -> str:
    """``exports/<name>/<UTC time to the microsecond>.xlsx``, e.g. ``exports/heroes/20261122T104705.123456Z.xlsx``"""
    return f"{EXPORTS_PREFIX}{name}/{(now or datetime.now(UTC)):%Y%m%dT%H%M%S.%fZ}{EXPORTS_SUFFIX}"


def run_export(name: str, raw_params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``raw_params`` for export ``name``, stream its rows into a workbook in ``DATA_BUCKET``;
    answers ``{"name", "bucket", "key", "rows", "download"}`` (a time-limited link to the workbook)."""
    export = EXPORTS.get(name)
    if export is None:
        raise InvalidInput(f"unknown export {name!r}; available: {', '.join(sorted(EXPORTS))}")
    unknown = sorted(set(raw_params) - set(export.params))
    if unknown:
        raise InvalidInput(
            f"unknown parameter(s) {', '.join(unknown)} for export {name!r}; allowed: {', '.join(export.params)}"
        )
    values = {param: spec.parse(param, raw_params.get(param)) for param, spec in export.params.items()}
    result = workbooks.export_query(export.sql, export.bind(values), export.sheet, export_key(name))
    log_event("export written", export=name, rows=result["rows"], key=result["key"])
    return {"name": name, **result, "download": s3.download_link(result["bucket"], result["key"])}


def export_for_request(raw_body: bytes | str | None) -> dict[str, Any]:
    """``POST /exports`` with ``{"name": "heroes", "parameters": {"power": "flight"}}``."""
    example = '{"name": "heroes", "parameters": {"min_xp": 10}}'
    body = json_object(raw_body, ["name", "parameters"], example)
    name, params = body.get("name"), body.get("parameters", {})
    if not isinstance(name, str):
        raise InvalidInput(f"name must be the name of an export ({', '.join(sorted(EXPORTS))}), got {json.dumps(name)}")
    if not isinstance(params, dict):
        raise InvalidInput(f"parameters must be a JSON object, got {json.dumps(params)}")
    return run_export(name, params)
