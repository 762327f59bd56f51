"""HTTP routes of monitors, the comparison and unit profiles (JSON, CSV, JSON-stat)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import StringConstraints

from app.api.deps import PageDep, SessionDep, UnitOfWorkDep, paged, refuse_unknown_parameters
from app.api.params import text_path, text_query
from app.api.problems import problems
from app.api.schemas import Page
from app.auth.deps import OptionalCallerDep
from app.monitors import formats, service
from app.monitors.schemas import (
    ComparisonJson,
    IndicatorSeries,
    MonitorJson,
    MonitorSummary,
    ProfileOut,
)
from app.stats.formats import Format, negotiate

router = APIRouter(tags=["monitors"])

MAX_VALUES = 100
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
_TABLE_RESPONSES = {
    "description": "JSON (`json`), JSON-stat 2.0 (`jsonstat`, served as "
    "`application/json`), or CSV with a header line, one row per indicator, period and unit "
    "(`csv`).",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
FormatQuery = Annotated[Format | None, Query(description="json, csv or jsonstat (or by `Accept`).")]
Period = Annotated[str, StringConstraints(max_length=20, pattern=PRINTABLE)]
UnitRef = Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE)]
PeriodsQuery = Annotated[
    list[Period],
    Query(max_length=MAX_VALUES, description="Only these periods (repeatable); default all."),
]


def _negotiate(request: Request, requested: Format | None) -> Format:
    return negotiate(request.headers.get("accept", "*/*"), requested)


# The same URL answers JSON, CSV or JSON-stat by ``Accept``: a cache (a browser's, a
# proxy's) must not hand the CSV it kept to a client that asked for JSON.
_VARY = {"Vary": "Accept"}


def _table(
    chosen: Format, name: str, label: str, series: list[IndicatorSeries], body: bytes
) -> Response:
    if chosen == "csv":
        return Response(
            formats.csv_text(series),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"', **_VARY},
        )
    if chosen == "jsonstat":
        return Response(
            orjson.dumps(formats.jsonstat(label, series)),
            media_type="application/json",
            headers=_VARY,
        )
    return Response(body, media_type="application/json", headers=_VARY)


@router.get("/monitors", summary="Monitors", responses=problems(422))
def list_monitors(request: Request, response: Response, paging: PageDep) -> Page[MonitorSummary]:
    """Named, ordered sets of indicators shown for a unit set beside the Flemish Region."""
    found = service.list_monitors()
    page = found[paging.offset : paging.offset + paging.page_size]
    return paged(request, response, paging, page, len(found))


@router.get(
    "/monitors/{monitor_id}",
    summary="One monitor: every indicator and period for the units of its set",
    dependencies=[Depends(refuse_unknown_parameters)],
    description="For every indicator and period: the value of each unit of the set, the "
    "reference (the Flemish Region), the rank within the set (1 = highest) and the change "
    "since the previous period (absolute and %), with status and coverage — the values of "
    "the observations API. Indicators of datasets the caller may not read are listed in "
    "`withheld`.",
    response_model=None,
    responses={
        200: {"model": MonitorJson, **_TABLE_RESPONSES},
        **problems(404, 406, 422),
    },
)
def get_monitor(
    request: Request,
    session: UnitOfWorkDep,
    caller: OptionalCallerDep,
    monitor_id: Annotated[str, text_path("A monitor id.", examples=["klimaat-energie"])],
    period: PeriodsQuery = [],  # noqa: B006 - FastAPI copies query defaults
    format: FormatQuery = None,
) -> Response:
    chosen = _negotiate(request, format)
    found = service.monitor(session, caller, monitor_id, period)
    return _table(
        chosen, monitor_id, found.title.en, found.series, found.model_dump_json().encode()
    )


@router.get(
    "/compare",
    summary="Compare one indicator over a set of units",
    dependencies=[Depends(refuse_unknown_parameters)],
    description="One indicator for the given units (`level:code` or `set:NAME`) beside the "
    "Flemish Region, with ranks and the change since the previous period, for `period` "
    "(default: the latest period the units have).",
    response_model=None,
    responses={
        200: {"model": ComparisonJson, **_TABLE_RESPONSES},
        **problems(400, 401, 403, 404, 406, 422),
    },
)
def compare(
    request: Request,
    session: UnitOfWorkDep,
    caller: OptionalCallerDep,
    indicator: Annotated[
        str, text_query("An indicator id.", examples=["electricity-consumption-residential"])
    ],
    unit: Annotated[
        list[UnitRef],
        Query(
            min_length=1,
            max_length=MAX_VALUES,
            description="Units: `level:code` or `set:NAME` (repeatable).",
            examples=["set:centrumsteden"],
        ),
    ],
    period: Annotated[
        str | None, text_query("A period; default the latest.", examples=["2021"])
    ] = None,
    dataset: Annotated[
        str | None, text_query("The dataset, where several carry the indicator.")
    ] = None,
    version: Annotated[
        str | None, text_query("Geography version; default the latest.", examples=["2025"])
    ] = None,
    format: FormatQuery = None,
) -> Response:
    chosen = _negotiate(request, format)
    found = service.compare(session, caller, indicator, unit, period, dataset, version)
    return _table(
        chosen,
        f"compare-{found.series.indicator}",
        found.series.label.en,
        [found.series],
        found.model_dump_json().encode(),
    )


@router.get(
    "/geo/units/{level}/{code}/profile",
    tags=["geography"],
    dependencies=[Depends(refuse_unknown_parameters)],
    summary="A unit's profile: the latest value of every public indicator",
    description="For every indicator of a public dataset that has a value for the unit: its "
    "latest period, the unit's value with the change since the previous period, and the "
    "values of its city-region and region.",
    responses=problems(404, 422),
)
def get_profile(
    session: SessionDep,
    level: Annotated[str, text_path("A level.", examples=["municipality"])],
    code: Annotated[str, text_path("The unit's code in that level.", examples=["44021"])],
    version: Annotated[
        str | None, text_query("Geography version; default the latest that has the unit.")
    ] = None,
) -> ProfileOut:
    return service.profile(session, level, code, version)
