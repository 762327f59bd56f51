"""HTTP routes for keys: who am I, list, create and revoke keys."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import DbId, PageDep, TextId, UnitOfWorkDep, paged, refuse_unknown_parameters
from app.api.problems import problems
from app.api.schemas import Page
from app.auth import service
from app.auth.deps import CallerDep
from app.auth.schemas import KeyOut, MeOut, NewKey, NewKeyOut

router = APIRouter(tags=["keys"], dependencies=[Depends(refuse_unknown_parameters)])


@router.get("/me", summary="Who this API key is", responses=problems(422))
def me(caller: CallerDep) -> MeOut:
    return service.whoami(caller)


@router.get(
    "/organisations/{organisation_id}/keys",
    summary="The keys of an organisation (its editors, site admins)",
    responses=problems(404, 422),
)
def list_keys(
    organisation_id: TextId,
    request: Request,
    response: Response,
    caller: CallerDep,
    session: UnitOfWorkDep,
    paging: PageDep,
) -> Page[KeyOut]:
    items, total = service.list_keys(
        session, caller, organisation_id, paging.offset, paging.page_size
    )
    return paged(request, response, paging, items, total)


@router.post(
    "/organisations/{organisation_id}/keys",
    status_code=201,
    summary="Create a key (shown once, in this response only)",
    responses=problems(404, 422),
)
def new_key(
    organisation_id: TextId, body: NewKey, caller: CallerDep, session: UnitOfWorkDep
) -> NewKeyOut:
    return service.create_key_for(session, caller, organisation_id, body)


@router.delete("/keys/{key_id}", summary="Revoke a key", responses=problems(404))
def revoke_key(key_id: DbId, caller: CallerDep, session: UnitOfWorkDep) -> KeyOut:
    return service.revoke_key(session, caller, key_id)
