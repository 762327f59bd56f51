"""HTTP routes of grants and the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from app.access import service
from app.access.schemas import AuditEventOut, GrantOut, NewGrant
from app.api.deps import DbId, PageDep, TextId, UnitOfWorkDep, paged, refuse_unknown_parameters
from app.api.problems import problems
from app.api.schemas import Page
from app.auth.deps import CallerDep

router = APIRouter(tags=["access"], dependencies=[Depends(refuse_unknown_parameters)])


@router.get(
    "/datasets/{dataset_id}/grants",
    summary="Grants on a dataset (owners)",
    responses=problems(404, 422),
)
def list_grants(
    dataset_id: TextId,
    request: Request,
    response: Response,
    caller: CallerDep,
    session: UnitOfWorkDep,
    paging: PageDep,
) -> Page[GrantOut]:
    items, total = service.list_grants(session, caller, dataset_id, paging.offset, paging.page_size)
    return paged(request, response, paging, items, total)


@router.post(
    "/datasets/{dataset_id}/grants",
    status_code=201,
    summary="Grant an organisation access to a restricted dataset (owners)",
    description="A non-public dataset is opened by no grant: 409.",
    responses=problems(404, 409, 422),
)
def create_grant(
    dataset_id: TextId, grant: NewGrant, caller: CallerDep, session: UnitOfWorkDep
) -> GrantOut:
    return service.create_grant(session, caller, dataset_id, grant)


@router.get(
    "/organisations/{organisation_id}/grants",
    summary="The grants an organisation holds (its own keys, site admins)",
    description="Every grant given to the organisation, newest first, revoked and expired "
    "ones included: which restricted datasets it reads, for what purpose, until when.",
    responses=problems(404, 422),
)
def held_grants(
    organisation_id: TextId,
    request: Request,
    response: Response,
    caller: CallerDep,
    session: UnitOfWorkDep,
    paging: PageDep,
) -> Page[GrantOut]:
    items, total = service.held_grants(
        session, caller, organisation_id, paging.offset, paging.page_size
    )
    return paged(request, response, paging, items, total)


@router.delete("/grants/{grant_id}", summary="Revoke a grant (owners)", responses=problems(404))
def revoke_grant(grant_id: DbId, caller: CallerDep, session: UnitOfWorkDep) -> GrantOut:
    return service.revoke_grant(session, caller, grant_id)


@router.get(
    "/datasets/{dataset_id}/audit",
    summary="The audit log of a dataset (owners)",
    responses=problems(404, 422),
)
def dataset_audit(
    dataset_id: TextId,
    request: Request,
    response: Response,
    caller: CallerDep,
    session: UnitOfWorkDep,
    paging: PageDep,
) -> Page[AuditEventOut]:
    items, total = service.audit_log(session, caller, dataset_id, paging.offset, paging.page_size)
    return paged(request, response, paging, items, total)


@router.get("/audit", summary="The whole audit log (site admins)", responses=problems(422))
def audit(
    request: Request, response: Response, caller: CallerDep, session: UnitOfWorkDep, paging: PageDep
) -> Page[AuditEventOut]:
    items, total = service.audit_log(session, caller, None, paging.offset, paging.page_size)
    return paged(request, response, paging, items, total)
