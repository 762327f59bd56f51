"""HTTP routes of grants and the audit log."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.access import service
from app.api.deps import PageDep, PageParams, UnitOfWorkDep, paged
from app.auth.deps import CallerDep
from app.auth.service import Caller

router = APIRouter(tags=["access"])


class NewGrant(BaseModel):
    organisation: str = Field(examples=["leuven"])
    purpose: str = Field(examples=["Omgevingsanalyse voor het mobiliteitsplan"])
    valid_until: date = Field(examples=["2027-12-31"])


@router.get("/datasets/{dataset_id}/grants", summary="Grants on a dataset (owners)")
def list_grants(dataset_id: str, caller: CallerDep, session: UnitOfWorkDep) -> list[dict[str, Any]]:
    return service.list_grants(session, caller, dataset_id)


@router.post(
    "/datasets/{dataset_id}/grants",
    status_code=201,
    summary="Grant an organisation access to a restricted dataset (owners)",
)
def create_grant(
    dataset_id: str, grant: NewGrant, caller: CallerDep, session: UnitOfWorkDep
) -> dict[str, Any]:
    return service.create_grant(
        session, caller, dataset_id, grant.organisation, grant.purpose, grant.valid_until
    )


@router.delete("/grants/{grant_id}", summary="Revoke a grant (owners)")
def revoke_grant(grant_id: int, caller: CallerDep, session: UnitOfWorkDep) -> dict[str, Any]:
    return service.revoke_grant(session, caller, grant_id)


def _log(
    request: Request,
    response: Response,
    caller: Caller,
    session: UnitOfWorkDep,
    paging: PageParams,
    dataset_id: str | None,
) -> dict[str, Any]:
    items, total = service.audit_log(session, caller, dataset_id, paging.offset, paging.page_size)
    return paged(request, response, paging, items, total)


@router.get("/datasets/{dataset_id}/audit", summary="The audit log of a dataset (owners)")
def dataset_audit(
    dataset_id: str,
    request: Request,
    response: Response,
    caller: CallerDep,
    session: UnitOfWorkDep,
    paging: PageDep,
) -> dict[str, Any]:
    return _log(request, response, caller, session, paging, dataset_id)


@router.get("/audit", summary="The whole audit log (site admins)")
def audit(
    request: Request, response: Response, caller: CallerDep, session: UnitOfWorkDep, paging: PageDep
) -> dict[str, Any]:
    return _log(request, response, caller, session, paging, None)
