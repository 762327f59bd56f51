"""HTTP routes of the catalogue: organisations, licences, datasets, indicators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import PageDep, SessionDep, set_link_header
from app.api.schemas import Page
from app.catalogue import service
from app.catalogue.schemas import (
    DatasetOut,
    DatasetPage,
    IndicatorOut,
    LicenceOut,
    OrganisationOut,
)

router = APIRouter()


@router.get("/organisations", tags=["organisations"], summary="Organisations")
def list_organisations(session: SessionDep) -> list[OrganisationOut]:
    return service.list_organisations(session)


@router.get("/organisations/{organisation_id}", tags=["organisations"], summary="One organisation")
def get_organisation(session: SessionDep, organisation_id: str) -> OrganisationOut:
    return service.get_organisation(session, organisation_id)


@router.get("/licences", tags=["catalogue"], summary="Licences")
def list_licences(session: SessionDep) -> list[LicenceOut]:
    return service.list_licences(session)


@router.get("/datasets", tags=["catalogue"], summary="Search datasets, with facets")
def list_datasets(
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(description="Words in title, description or id.")] = None,
    theme: Annotated[
        str | None, Query(description="EU data-theme code.", examples=["SOCI"])
    ] = None,
    organisation: Annotated[
        str | None, Query(description="Organisation with a role on the dataset.", examples=["gent"])
    ] = None,
    role: Annotated[
        str | None, Query(description="With `organisation`: only this role.", examples=["owner"])
    ] = None,
    licence: Annotated[str | None, Query(description="Licence id.")] = None,
    access_level: Annotated[
        str | None, Query(description="public, restricted or non_public.")
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
        offset=paging.offset,
        limit=paging.page_size,
    )
    set_link_header(request, response, paging, total)
    return DatasetPage(
        items=items, total=total, page=paging.page, page_size=paging.page_size, facets=facets
    )


@router.get("/datasets/{dataset_id}", tags=["catalogue"], summary="One dataset")
def get_dataset(session: SessionDep, dataset_id: str) -> DatasetOut:
    return service.get_dataset(session, dataset_id)


@router.get("/indicators", tags=["indicators"], summary="The Datapedia: indicator definitions")
def list_indicators(
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(description="Words in the label or id.")] = None,
    dataset: Annotated[str | None, Query(description="Only indicators of this dataset.")] = None,
) -> Page[IndicatorOut]:
    items, total = service.search_indicators(
        session, q=q, dataset=dataset, offset=paging.offset, limit=paging.page_size
    )
    set_link_header(request, response, paging, total)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
