"""HTTP route of the observations query (JSON, CSV, JSON-stat)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator, StringConstraints

from app.access.service import authorize_read
from app.api.deps import (
    INT64_MAX,
    PageDep,
    PageParams,
    SessionDep,
    UnitOfWorkDep,
    app_state,
    envelope,
    refuse_unknown_parameters,
    set_link_header,
)
from app.api.http import cache_control, request_line
from app.api.params import date_time_text
from app.api.problems import problems
from app.api.streaming import read_ahead
from app.auth.deps import OptionalCallerDep
from app.catalogue.schemas import IndicatorOut
from app.errors import InvalidParameter
from app.stats import service
from app.stats.cursor import MAX_LENGTH as MAX_CURSOR_LENGTH
from app.stats.formats import Format, jsonstat_chunks, negotiate
from app.stats.schemas import ObservationsJson

router = APIRouter(tags=["observations"])

# JSON-stat has no registered media type of its own: it is served as JSON (as the DCAT
# distribution says) and asked for with format=jsonstat or Accept: …json-stat….
JSONSTAT_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

# Repeated parameters: enough for any sensible query (use `level` or `within` for more units),
# few enough that one URL cannot make the service resolve thousands of names.
MAX_VALUES = 100
# No name or code holds a control character, and PostgreSQL refuses a NUL in a query
# parameter outright: such input is refused before it reaches the database.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Id = Annotated[str, StringConstraints(max_length=100, pattern=PRINTABLE)]
Period = Annotated[str, StringConstraints(max_length=20, pattern=PRINTABLE)]
UnitRef = Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE)]
DatasetId = Annotated[
    str,
    Path(
        max_length=100,
        pattern=PRINTABLE,
        description="A dataset id.",
        examples=["population-2025"],
    ),
]


def _negotiate(request: Request, requested: Format | None) -> Format:
    return negotiate(request.headers.get("accept", "*/*"), requested)


@router.get(
    "/datasets/{dataset_id}/observations",
    summary="Observations and aggregates of a dataset",
    dependencies=[Depends(refuse_unknown_parameters)],
    description=(
        "Flat records at any level: values as supplied (sectors) and derived by each "
        "indicator's aggregation rule at every level above, in the dataset's geography version "
        "or, for 2024 data, on the 2025 municipalities. `area` (repeatable `level:code`) "
        "aggregates any set of units into one ad-hoc area. Derived values carry `coverage`; "
        "status `incomplete` means some members had no value. Formats: `json` (paged), `csv` "
        "(RFC 4180) and `jsonstat` (JSON-stat 2.0, served as `application/json`), both "
        "streamed, or without any filter the stored whole-dataset download of the revision "
        "once it is written (the same bytes, with its `ETag`), "
        "also chosen by `Accept`. Each repeatable parameter takes at most "
        f"{MAX_VALUES} values."
    ),
    response_model=None,
    responses={
        200: {
            "model": ObservationsJson,
            "description": "A page of records (`json`), or a JSON-stat 2.0 dataset "
            "(`jsonstat`); CSV with a header line (`csv`).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        304: {
            "description": "Not modified since the `ETag` the client sent: a page of "
            "JSON records, or the stored whole-dataset CSV or JSON-stat."
        },
        **problems(400, 404, 406, 409, 422),
    },
)
def observations(
    request: Request,
    session: UnitOfWorkDep,
    paging: PageDep,
    caller: OptionalCallerDep,
    dataset_id: DatasetId,
    indicator: Annotated[
        list[Id],
        Query(max_length=MAX_VALUES, description="Indicator id (repeatable); default all."),
    ] = [],  # noqa: B006 - FastAPI copies query defaults
    period: Annotated[
        list[Period], Query(max_length=MAX_VALUES, description="Period (repeatable); default all.")
    ] = [],  # noqa: B006
    level: Annotated[
        str | None,
        Query(
            max_length=50,
            pattern=PRINTABLE,
            description="Only this level.",
            examples=["municipality"],
        ),
    ] = None,
    version: Annotated[
        str | None,
        Query(
            max_length=20,
            pattern=PRINTABLE,
            description="Geography version; default the dataset's.",
        ),
    ] = None,
    within: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=PRINTABLE,
            description="Only units inside this `level:code`.",
        ),
    ] = None,
    unit: Annotated[
        list[UnitRef],
        Query(
            max_length=MAX_VALUES,
            description="Only these units (`level:code`, or `set:NAME` for a named unit set "
            "of /api/v1/geo/sets; repeatable).",
        ),
    ] = [],  # noqa: B006
    area: Annotated[
        list[UnitRef],
        Query(
            max_length=MAX_VALUES,
            description="Aggregate these units (`level:code` or `set:NAME`, repeatable) as "
            "one area.",
        ),
    ] = [],  # noqa: B006
    format: Annotated[Format | None, Query(description="json, csv or jsonstat.")] = None,
    revision: Annotated[
        int | None,
        Query(
            ge=1,
            le=INT64_MAX,
            description="An earlier revision of the dataset (see its history).",
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        BeforeValidator(date_time_text),
        Query(
            description="The revision current at this RFC 3339 date-time (without a zone: UTC).",
            examples=["2026-01-01T00:00:00Z"],
        ),
    ] = None,
    provenance: Annotated[
        bool, Query(description="Add supplier, submission and revision to supplied values.")
    ] = False,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            description="Where the previous page ended: the `next_cursor` of a page (also in "
            "its `next` link). As fast at any depth as the first page; `page` works too.",
        ),
    ] = None,
) -> Response:
    chosen = _negotiate(request, format)
    # A read of restricted data is logged in this request's unit of work.
    public = authorize_read(session, caller, dataset_id, request_line(request))
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
    if cursor is not None and chosen != "json":
        raise InvalidParameter(
            "cursor", "cursor pages the JSON records; CSV and JSON-stat are not paged"
        )
    # Nor page and page_size: ignored, every "page" of a CSV was the whole export, and a
    # script that read the pages one after the other got every record as many times.
    for name in ("page", "page_size"):
        if chosen != "json" and name in request.query_params:
            raise InvalidParameter(
                name,
                f"{name} pages the JSON records; CSV and JSON-stat are not paged: they hold "
                "every record of the query",
            )
    # The whole dataset is a stored file per revision (CSV, JSON-stat), the same bytes as the
    # streams below: sent as stored (gzip) or inflated on the way, never formatted again.
    # Until it is written (by the background writer after a submission, or at the first
    # request of the download itself) the rows stream: a first request after a submission
    # does not wait seconds for a whole file before its first byte.
    stored = app_state(request).stored_file
    if stored is not None and query.whole_dataset and chosen != "json":
        response = stored(request, session, dataset_id, chosen)
        if response is not None:
            response.headers["Cache-Control"] = cache_control(public)
            return _varies_by_accept(response)
    if chosen == "csv":
        # The request's session stays open until the whole stream has been sent.
        # Compressed by the middleware (ISA-L) while the next chunk is formatted: compressing
        # in the generator ran the two one after the other and made a million-row export
        # slower (0.086x DuckDB against 0.118x, quiet runs; benchmarks/RESULTS.md, "Scale —
        # 2026-12-02 20:55").
        return _varies_by_accept(
            StreamingResponse(
                read_ahead(service.csv_chunks(session, query)),
                media_type=CSV_MEDIA_TYPE,
                headers={
                    "Content-Disposition": _csv_disposition(dataset_id),
                    "Vary": "Accept-Encoding",
                    # Formatted as it is sent: no byte range of it (the stored download
                    # takes ranges).
                    "Accept-Ranges": "none",
                },
            )
        )
    if chosen == "jsonstat":
        # Streamed like the CSV: a large dataset's cube is never held whole.
        at = service.pinned(session, query)
        return _varies_by_accept(
            StreamingResponse(
                jsonstat_chunks(
                    at.dataset,
                    at.indicators,
                    service.iter_records(session, at),
                    service.updated_at(session, at),
                ),
                media_type=JSONSTAT_MEDIA_TYPE,
                headers={"Accept-Ranges": "none"},
            )
        )
    if cursor is not None and "page" in request.query_params:
        raise InvalidParameter("cursor", "give page or cursor, not both")
    result = service.read_page(session, query, paging.page, paging.page_size, cursor)
    shown = PageParams(page=result.page, page_size=paging.page_size)
    # orjson straight from the records: ObservationPage documents this body, but a page of
    # a thousand rows is not worth validating row by row.
    body = envelope(shown, result.items, result.total) | {"next_cursor": result.next_cursor}
    response = Response(orjson.dumps(body), media_type="application/json")
    set_link_header(request, response, shown, result.total, cursor=result.next_cursor)
    return _varies_by_accept(response)


def _varies_by_accept(response: Response) -> Response:
    """The same URL answers JSON, CSV or JSON-stat by ``Accept``: a shared cache must not
    hand one to a client that asked for another."""
    vary = response.headers.get("Vary")
    response.headers["Vary"] = f"Accept, {vary}" if vary else "Accept"
    return response


def _csv_disposition(dataset_id: str) -> str:
    return f'attachment; filename="{dataset_id}-observations.csv"'


@router.get(
    "/indicators/{indicator_id}",
    tags=["indicators"],
    summary="One indicator",
    responses=problems(404),
    dependencies=[Depends(refuse_unknown_parameters)],
)
def get_indicator(
    session: SessionDep,
    indicator_id: Annotated[str, Path(max_length=100, pattern=PRINTABLE)],
) -> IndicatorOut:
    """The Datapedia entry, with the levels, versions and periods in which it is published."""
    return service.indicator_detail(session, indicator_id)
