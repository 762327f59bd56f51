"""HTTP routes of the catalogue: organisations, licences, datasets, indicators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import PageDep, SessionDep, app_state, paged, refuse_unknown_parameters
from app.api.params import text_path, text_query
from app.api.problems import problems
from app.api.schemas import Page
from app.catalogue import service
from app.catalogue.schemas import (
    DatasetOut,
    IndicatorOut,
    LicenceOut,
    OrganisationOut,
)

# A parameter a route does not take is a 422 naming it, as on every read of the API.
router = APIRouter(dependencies=[Depends(refuse_unknown_parameters)])

OrganisationPath = Annotated[str, text_path("An organisation's id.", examples=["gent"])]
DatasetPath = Annotated[str, text_path("A dataset's id.", examples=["population-2025"])]


@router.get(
    "/organisations", tags=["organisations"], summary="Organisations", responses=problems(422)
)
def list_organisations(
    request: Request, response: Response, session: SessionDep, paging: PageDep
) -> Page[OrganisationOut]:
    items, total = service.list_organisations(session, offset=paging.offset, limit=paging.page_size)
    return paged(request, response, paging, items, total)


@router.get(
    "/organisations/{organisation_id}",
    tags=["organisations"],
    summary="One organisation",
    responses=problems(404),
)
def get_organisation(session: SessionDep, organisation_id: OrganisationPath) -> OrganisationOut:
    return service.get_organisation(session, organisation_id)


@router.get("/licences", tags=["catalogue"], summary="Licences", responses=problems(422))
def list_licences(
    request: Request, response: Response, session: SessionDep, paging: PageDep
) -> Page[LicenceOut]:
    items, total = service.list_licences(session, offset=paging.offset, limit=paging.page_size)
    return paged(request, response, paging, items, total)


@router.get(
    "/datasets/{dataset_id}", tags=["catalogue"], summary="One dataset", responses=problems(404)
)
def get_dataset(request: Request, session: SessionDep, dataset_id: DatasetPath) -> DatasetOut:
    return service.get_dataset(session, dataset_id, _dataset_cache(request))


def _dataset_cache(request: Request) -> service.DatasetCache:
    """The application's cache of dataset descriptions (one per app, so per worker)."""
    return app_state(request).cache("datasets", service.DatasetCache)


@router.get(
    "/indicators",
    tags=["indicators"],
    summary="The Datapedia: indicator definitions",
    responses=problems(422),
)
def list_indicators(
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, text_query("Words in the label or id, matched literally.")] = None,
    dataset: Annotated[
        str | None, text_query("Only indicators of this dataset.", examples=["population-2025"])
    ] = None,
) -> Page[IndicatorOut]:
    items, total = service.search_indicators(
        session, q=q, dataset=dataset, offset=paging.offset, limit=paging.page_size
    )
    return paged(request, response, paging, items, total)
