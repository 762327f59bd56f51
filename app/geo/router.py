"""HTTP routes of the geography."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.api.deps import PageDep, SessionDep, paged
from app.api.params import text_path, text_query
from app.api.problems import problems
from app.api.schemas import Page
from app.geo import service
from app.geo.schemas import LevelOut, UnitDetail, UnitOut, VersionOut

router = APIRouter(prefix="/geo", tags=["geography"])

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
