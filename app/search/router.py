"""HTTP routes of search: the dataset search with facets, and the search box."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import (
    PageDep,
    SessionDep,
    SettingsDep,
    refuse_unknown_parameters,
    set_link_header,
)
from app.api.params import text_query
from app.api.problems import problems
from app.catalogue.schemas import DatasetPage
from app.search import service
from app.search.schemas import SearchOut

# A parameter a route does not take is a 422 naming it: `modified_since=` (the catalogue's)
# ignored here answered every dataset, and the reader took it for the recent ones.
router = APIRouter(dependencies=[Depends(refuse_unknown_parameters)])


@router.get(
    "/datasets",
    tags=["catalogue"],
    summary="Search datasets, with facets",
    responses=problems(422),
)
def list_datasets(
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[
        str | None,
        text_query(
            "Words searched in the full text (titles, descriptions, keywords and the "
            "definitions of the dataset's indicators; Dutch and English, stemmed where the "
            "database can), or the text found literally.",
            examples=["energie"],
        ),
    ] = None,
    theme: Annotated[str | None, text_query("EU data-theme code.", examples=["SOCI"])] = None,
    organisation: Annotated[
        str | None, text_query("Organisation with a role on the dataset.", examples=["gent"])
    ] = None,
    role: Annotated[
        str | None,
        text_query(
            "With `organisation`: only this role (owner, publisher, supplier, custodian or "
            "originator).",
            examples=["owner"],
        ),
    ] = None,
    licence: Annotated[str | None, text_query("Licence id.", examples=["cc-by-4.0"])] = None,
    access_level: Annotated[
        str | None, text_query("public, restricted or non_public.", examples=["public"])
    ] = None,
    level: Annotated[
        str | None, text_query("Only datasets with values at this level.", examples=["wijk"])
    ] = None,
    period: Annotated[
        str | None, text_query("Only datasets with values for this period.", examples=["2021"])
    ] = None,
) -> DatasetPage:
    items, total, facets = service.search_datasets(
        session,
        q=q,
        theme=theme,
        organisation=organisation,
        role=role,
        licence=licence,
        access_level=access_level,
        level=level,
        period=period,
        offset=paging.offset,
        limit=paging.page_size,
    )
    set_link_header(request, response, paging, total)
    return DatasetPage(
        items=items, total=total, page=paging.page, page_size=paging.page_size, facets=facets
    )


@router.get(
    "/search",
    tags=["catalogue"],
    summary="Search box: datasets, indicators and places",
    responses=problems(422),
)
def search(
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[
        str,
        text_query(
            "What was typed: words for datasets and indicators (full text), a name for "
            "places. Empty gives empty lists.",
            examples=["Gent"],
        ),
    ] = "",
) -> SearchOut:
    return service.search_everything(session, q, settings.base_url)
