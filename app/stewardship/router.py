"""HTTP routes for owners: edit metadata, manage roles and the publisher, read the history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request, Response

from app.api.deps import (
    PageDep,
    SessionDep,
    UnitOfWorkDep,
    refuse_unknown_parameters,
    set_link_header,
)
from app.api.problems import problems
from app.api.schemas import Page
from app.auth.deps import CallerDep, OptionalCallerDep
from app.stewardship import service as editing
from app.stewardship.schemas import (
    DatasetPatch,
    EditResult,
    HistoryEvent,
    PublisherChange,
    PublisherResult,
    RoleGrant,
    RoleName,
    RoleResult,
)

router = APIRouter(tags=["catalogue"], dependencies=[Depends(refuse_unknown_parameters)])

RIGHTS = "Who may do what: see the README, section *Who may do what*."


@router.patch(
    "/datasets/{dataset_id}",
    summary="Edit a dataset's metadata (editor keys of its co-owners and publisher)",
    description="Editable: title and description ({nl, en}), keywords ({nl, en}: lists), themes "
    "(EU data-theme codes), frequency (EU frequency code), contact_name, contact_email, "
    "version, access_level. Fields left out stay as they are. Recorded in the dataset's "
    "history. A stricter access level is carried over to the datasets that derive values "
    "from this one; a dataset of derived values cannot be opened wider than its sources "
    "(409). " + RIGHTS,
    response_model=EditResult,
    responses=problems(404, 409, 422),
)
def edit_dataset(
    dataset_id: str,
    caller: CallerDep,
    session: UnitOfWorkDep,
    patch: Annotated[DatasetPatch, Body(examples=[{"title": {"en": "Population 2025"}}])],
) -> EditResult:
    return editing.edit_metadata(session, caller, dataset_id, patch)


@router.post(
    "/datasets/{dataset_id}/roles",
    status_code=201,
    summary="Invite a co-owner or supplier, or set a supplier's territory",
    description="Granting a role an organisation already holds replaces its territory. " + RIGHTS,
    response_model=RoleResult,
    responses=problems(404, 422),
)
def grant_role(
    dataset_id: str, caller: CallerDep, session: UnitOfWorkDep, grant: RoleGrant
) -> RoleResult:
    return editing.grant_role(session, caller, dataset_id, grant)


@router.delete(
    "/datasets/{dataset_id}/roles/{organisation_id}/{role}",
    summary="Remove a role (the last owner and the publisher cannot be removed)",
    description=RIGHTS,
    response_model=RoleResult,
    responses=problems(404, 409),
)
def revoke_role(
    dataset_id: str,
    organisation_id: str,
    role: Annotated[RoleName, Path(description="The role to remove.")],
    caller: CallerDep,
    session: UnitOfWorkDep,
) -> RoleResult:
    return editing.revoke_role(session, caller, dataset_id, organisation_id, role)


@router.put(
    "/datasets/{dataset_id}/publisher",
    summary="Hand the dataset over to another publisher (the publisher and site admins)",
    description=RIGHTS,
    response_model=PublisherResult,
    responses=problems(404, 422),
)
def change_publisher(
    dataset_id: str, caller: CallerDep, session: UnitOfWorkDep, change: PublisherChange
) -> PublisherResult:
    return editing.change_publisher(session, caller, dataset_id, change)


@router.get(
    "/datasets/{dataset_id}/history",
    summary="Metadata and role changes and submissions, newest first",
    response_model=Page[HistoryEvent],
    responses=problems(404, 422),
)
def history(
    dataset_id: str,
    request: Request,
    response: Response,
    params: PageDep,
    session: SessionDep,
    caller: OptionalCallerDep,
) -> Page[HistoryEvent]:
    events, total = editing.history(session, caller, dataset_id, params)
    set_link_header(request, response, params, total)
    return Page[HistoryEvent](
        items=events, total=total, page=params.page, page_size=params.page_size
    )
