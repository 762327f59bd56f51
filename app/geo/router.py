"""HTTP routes of the geography."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import PageDep, SessionDep, paged, refuse_unknown_parameters
from app.api.http import accepts_gzip, not_modified, weak
from app.api.params import text_path, text_query
from app.api.problems import problems
from app.api.schemas import Page
from app.geo import service
from app.geo.schemas import LevelOut, UnitDetail, UnitOut, VersionOut

# A parameter a route does not take is a 422 naming it: `versoin=2024` ignored would answer
# for the latest version, and the reader would take it for 2024.
router = APIRouter(
    prefix="/geo", tags=["geography"], dependencies=[Depends(refuse_unknown_parameters)]
)

VersionQuery = Annotated[
    str | None, text_query("Geography version, e.g. `2025` or `2024`.", examples=["2025"])
]


@router.get("/levels", summary="Geographic levels and regionalisations", responses=problems(422))
def list_levels(
    request: Request, response: Response, session: SessionDep, paging: PageDep
) -> Page[LevelOut]:
    levels = service.list_levels(session)
    page = levels[paging.offset : paging.offset + paging.page_size]
    return paged(request, response, paging, page, len(levels))


@router.get("/versions", summary="Geography versions", responses=problems(422))
def list_versions(
    request: Request, response: Response, session: SessionDep, paging: PageDep
) -> Page[VersionOut]:
    versions = service.list_versions(session)
    page = versions[paging.offset : paging.offset + paging.page_size]
    return paged(request, response, paging, page, len(versions))


@router.get("/units", summary="Search geographic units", responses=problems(404, 422))
def list_units(
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    level: Annotated[str | None, text_query("Only this level.", examples=["municipality"])] = None,
    version: VersionQuery = None,
    within: Annotated[
        str | None,
        text_query(
            "Only units inside this `level:code` (in `version`, or its latest); 404 when that "
            "unit does not exist.",
            examples=["referentieregio:REFREG13"],
        ),
    ] = None,
    q: Annotated[
        str | None, text_query("Part of the name or code, matched literally.", examples=["gent"])
    ] = None,
) -> Page[UnitOut]:
    items, total = service.search_units(
        session,
        level=level,
        version=version,
        within=within,
        q=q,
        offset=paging.offset,
        limit=paging.page_size,
    )
    return paged(request, response, paging, items, total)


@router.get(
    "/units/{level}/{code}",
    summary="One geographic unit with its context",
    responses=problems(404, 422),
)
def get_unit(
    session: SessionDep,
    level: Annotated[str, text_path("A level.", examples=["municipality"])],
    code: Annotated[str, text_path("The unit's code in that level.", examples=["44021"])],
    version: VersionQuery = None,
) -> UnitDetail:
    return service.describe_unit(session, level, code, version)


GEOJSON = "application/geo+json"
# Boundaries change only when `datapedia seed` loads new files: a day in caches, revalidated
# cheaply by ETag.
CACHE_CONTROL = "public, max-age=86400"
_GEOJSON_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "GeoJSON (RFC 7946), WGS84 longitude/latitude, 5 decimals. Properties "
        "`code`, `name`, `level`, `version`; `attribution` gives the credit lines to show.",
        "content": {GEOJSON: {"schema": {"type": "object"}}},
    },
    304: {"description": "Not modified: the `ETag` sent in `If-None-Match` still holds."},
}


def _geojson(request: Request, document: service.GeoJsonDocument) -> Response:
    """ETag and caching, 304 on a match, gzip when the client takes it (geometry compresses
    to about a quarter)."""
    headers = {
        "ETag": weak(document.etag),
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    if not_modified(request.headers, document.etag, None):
        return Response(status_code=304, headers=headers)
    body = document.body
    if accepts_gzip(request.headers.get("accept-encoding")):
        body = document.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(content=body, media_type=GEOJSON, headers=headers)


@router.get(
    "/units/{level}/{code}/geometry",
    summary="One unit's boundary as GeoJSON",
    response_class=Response,
    responses={**_GEOJSON_RESPONSES, **problems(404, 422)},
)
def get_unit_geometry(
    request: Request,
    session: SessionDep,
    level: Annotated[str, text_path("A level.", examples=["municipality"])],
    code: Annotated[str, text_path("The unit's code in that level.", examples=["44021"])],
    version: VersionQuery = None,
) -> Response:
    return _geojson(request, service.unit_geometry(session, level, code, version))


@router.get(
    "/boundaries",
    summary="Boundaries of every unit of a level, as a GeoJSON FeatureCollection",
    response_class=Response,
    responses={**_GEOJSON_RESPONSES, **problems(404, 422)},
)
def list_boundaries(
    request: Request,
    session: SessionDep,
    level: Annotated[
        str, text_query("The level to draw.", examples=["municipality"])
    ] = "municipality",
    version: Annotated[
        str | None,
        text_query(
            "Geography version; default: the latest that has shapes for the level.",
            examples=["2025"],
        ),
    ] = None,
    within: Annotated[
        str | None,
        text_query(
            "Only units inside this `level:code` (in its version).",
            examples=["municipality:44021"],
        ),
    ] = None,
) -> Response:
    return _geojson(
        request, service.boundaries(session, level=level, version=version, within=within)
    )
