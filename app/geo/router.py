"""HTTP routes of the geography."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.api.deps import PageDep, SessionDep, set_link_header
from app.api.schemas import Page
from app.geo import service
from app.geo.schemas import LevelOut, UnitDetail, UnitOut, VersionOut

router = APIRouter(prefix="/geo", tags=["geography"])

VersionQuery = Annotated[
    str | None,
    Query(description="Geography version, e.g. `2025` or `2024`.", examples=["2025"]),
]


@router.get("/levels", summary="Geographic levels and regionalisations")
def list_levels(session: SessionDep) -> list[LevelOut]:
    return service.list_levels(session)


@router.get("/versions", summary="Geography versions")
def list_versions(session: SessionDep) -> list[VersionOut]:
    return service.list_versions(session)


@router.get("/units", summary="Search geographic units")
def list_units(
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    level: Annotated[
        str | None, Query(description="Only this level.", examples=["municipality"])
    ] = None,
    version: VersionQuery = None,
    within: Annotated[
        str | None,
        Query(
            description="Only units inside this `level:code` (in `version`, or its latest).",
            examples=["referentieregio:REFREG13"],
        ),
    ] = None,
    q: Annotated[
        str | None, Query(description="Part of the name or code.", examples=["gent"])
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
    set_link_header(request, response, paging, total)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/units/{level}/{code}", summary="One geographic unit with its context")
def get_unit(
    session: SessionDep,
    level: Annotated[str, Path(examples=["municipality"])],
    code: Annotated[str, Path(examples=["44021"])],
    version: VersionQuery = None,
) -> UnitDetail:
    return service.describe_unit(session, level, code, version)
