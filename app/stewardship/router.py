"""HTTP routes for owners: edit metadata, manage roles, read the dataset's history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from app.api.deps import SessionDep, UnitOfWorkDep
from app.auth.deps import CallerDep
from app.stewardship import service as editing

router = APIRouter(tags=["catalogue"])


class RoleGrant(BaseModel):
    organisation: str = Field(examples=["gent"])
    role: str = Field(description="owner, supplier, custodian or originator", examples=["supplier"])
    territory: list[str] = Field(
        default_factory=list,
        description="For a supplier: `level:code` units of the dataset's geography version.",
        examples=[["municipality:44021"]],
    )


@router.patch(
    "/datasets/{dataset_id}",
    summary="Edit a dataset's metadata (owners' editor keys)",
    description="Editable: title and description ({nl, en}), keywords, themes, frequency, "
    "contact_name, contact_email, version. Recorded in the dataset's history.",
)
def edit_dataset(
    dataset_id: str,
    caller: CallerDep,
    session: UnitOfWorkDep,
    patch: Annotated[dict[str, Any], Body(examples=[{"title": {"en": "Population 2025"}}])],
) -> dict[str, Any]:
    return editing.edit_metadata(session, caller, dataset_id, patch)


@router.post(
    "/datasets/{dataset_id}/roles",
    status_code=201,
    summary="Invite a co-owner or supplier, or set a supplier's territory (owners)",
)
def grant_role(
    dataset_id: str, caller: CallerDep, session: UnitOfWorkDep, grant: RoleGrant
) -> dict[str, Any]:
    return editing.grant_role(
        session, caller, dataset_id, grant.organisation, grant.role, grant.territory
    )


@router.delete(
    "/datasets/{dataset_id}/roles/{organisation_id}/{role}",
    summary="Remove a co-owner or supplier (the last owner cannot be removed)",
)
def revoke_role(
    dataset_id: str, organisation_id: str, role: str, caller: CallerDep, session: UnitOfWorkDep
) -> dict[str, Any]:
    return editing.revoke_role(session, caller, dataset_id, organisation_id, role)


@router.get("/datasets/{dataset_id}/history", summary="Metadata changes and submissions")
def history(dataset_id: str, session: SessionDep) -> list[dict[str, Any]]:
    return editing.history(session, dataset_id)
