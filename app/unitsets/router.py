"""HTTP routes of the unit sets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import PageDep, SessionDep, paged, refuse_unknown_parameters
from app.api.params import text_path, text_query
from app.api.problems import problems
from app.api.schemas import Page
from app.unitsets import service
from app.unitsets.schemas import UnitSetOut

# A parameter a route does not take is a 422 naming it, as on every /api/v1/geo/… route.
router = APIRouter(
    prefix="/geo/sets", tags=["geography"], dependencies=[Depends(refuse_unknown_parameters)]
)

VersionQuery = Annotated[
    str | None,
    text_query("Geography version of the units; default the latest.", examples=["2025"]),
]


@router.get(
    "",
    summary="Named unit sets",
    description="Sets of units defined as data (seeds/unit_sets.yaml), usable as "
    "`unit=set:ID` wherever a list of units is accepted. Sets not defined in `version` are "
    "left out.",
    responses=problems(422),
)
def list_sets(
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    version: VersionQuery = None,
) -> Page[UnitSetOut]:
    found = service.list_sets(session, version)
    page = found[paging.offset : paging.offset + paging.page_size]
    return paged(request, response, paging, page, len(found))


@router.get(
    "/{set_id}",
    summary="One unit set with its units",
    responses=problems(404, 422),
)
def get_set(
    session: SessionDep,
    set_id: Annotated[str, text_path("A unit set id.", examples=["centrumsteden"])],
    version: VersionQuery = None,
) -> UnitSetOut:
    return service.set_out(session, set_id, version)
