"""HTTP route of the observations query (JSON, CSV, JSON-stat)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.access.service import authorize_read
from app.api.deps import PageDep, SessionDep, UnitOfWorkDep, envelope, set_link_header
from app.auth.deps import OptionalCallerDep
from app.catalogue.schemas import IndicatorOut
from app.errors import NotAcceptable
from app.stats import service
from app.stats.formats import csv_lines, jsonstat

router = APIRouter(tags=["observations"])

Format = Literal["json", "csv", "jsonstat"]
JSONSTAT_MEDIA_TYPE = "application/json"
SUPPORTED = ("application/json", "text/csv", "application/vnd.json-stat+json")


def _negotiate(request: Request, requested: Format | None) -> Format:
    if requested is not None:
        return requested
    accept = request.headers.get("accept", "*/*").lower()
    if "text/csv" in accept:
        return "csv"
    if "json-stat" in accept:
        return "jsonstat"
    if "json" in accept or "*/*" in accept or not accept.strip():
        return "json"
    raise NotAcceptable(
        f"cannot produce {accept}; supported media types: {', '.join(SUPPORTED)}",
        supported=list(SUPPORTED),
    )


@router.get(
    "/datasets/{dataset_id}/observations",
    summary="Observations and aggregates of a dataset",
    description=(
        "Flat records at any level: values as supplied (sectors) and derived by each "
        "indicator's aggregation rule at every level above, in the dataset's geography version "
        "or, for 2024 data, on the 2025 municipalities. `area` (repeatable `level:code`) "
        "aggregates any set of units into one ad-hoc area. Derived values carry `coverage`; "
        "status `incomplete` means some members had no value. Formats: `json` (paged), `csv` "
        "(streamed, RFC 4180) and `jsonstat` (JSON-stat 2.0), also chosen by `Accept`."
    ),
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/csv": {},
                "application/vnd.json-stat+json": {},
            }
        }
    },
)
def observations(
    request: Request,
    session: UnitOfWorkDep,
    paging: PageDep,
    caller: OptionalCallerDep,
    dataset_id: str,
    indicator: Annotated[
        list[str], Query(description="Indicator id (repeatable); default all.")
    ] = [],  # noqa: B006 - FastAPI copies query defaults
    period: Annotated[list[str], Query(description="Period (repeatable); default all.")] = [],  # noqa: B006
    level: Annotated[
        str | None, Query(description="Only this level.", examples=["municipality"])
    ] = None,
    version: Annotated[
        str | None, Query(description="Geography version; default the dataset's.")
    ] = None,
    within: Annotated[str | None, Query(description="Only units inside this `level:code`.")] = None,
    unit: Annotated[
        list[str], Query(description="Only these units (`level:code`, repeatable).")
    ] = [],  # noqa: B006
    area: Annotated[
        list[str],
        Query(description="Aggregate these units (`level:code`, repeatable) as one area."),
    ] = [],  # noqa: B006
    format: Annotated[Format | None, Query(description="json, csv or jsonstat.")] = None,
    revision: Annotated[
        int | None, Query(description="An earlier revision of the dataset (see its history).")
    ] = None,
    as_of: Annotated[
        str | None, Query(description="The revision current at this ISO 8601 date-time.")
    ] = None,
    provenance: Annotated[
        bool, Query(description="Add supplier, submission and revision to supplied values.")
    ] = False,
) -> Response:
    chosen = _negotiate(request, format)
    # A read of restricted data is logged in this request's unit of work.
    authorize_read(session, caller, dataset_id)
    query = service.build_query(
        session,
        dataset_id,
        indicators=indicator,
        periods=period,
        level=level,
        version=version,
        within=within,
        units=unit,
        area=area,
        revision=revision,
        as_of=as_of,
        provenance=provenance,
    )
    if chosen == "csv":

        def body() -> Iterator[str]:
            # The request's session stays open until the whole stream has been sent.
            fields = service.RECORD_FIELDS + (service.PROVENANCE_FIELDS if query.provenance else ())
            yield from csv_lines(fields, service.iter_records(session, query))

        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{dataset_id}-observations.csv"'
            },
        )
    if chosen == "jsonstat":
        document = jsonstat(query.dataset, query.indicators, service.iter_records(session, query))
        return Response(orjson.dumps(document), media_type=JSONSTAT_MEDIA_TYPE)
    items = list(service.iter_records(session, query, paging.offset, paging.page_size))
    if paging.page == 1 and len(items) < paging.page_size:
        total = len(items)  # the whole result fits on the first page: no count needed
    else:
        total = service.count_records(session, query)
    response = Response(orjson.dumps(envelope(paging, items, total)), media_type="application/json")
    set_link_header(request, response, paging, total)
    return response


@router.get("/indicators/{indicator_id}", tags=["indicators"], summary="One indicator")
def get_indicator(session: SessionDep, indicator_id: str) -> IndicatorOut:
    """The Datapedia entry, with the levels, versions and periods in which it is published."""
    return service.indicator_detail(session, indicator_id)
