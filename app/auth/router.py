"""HTTP routes for keys: who am I, list, create and revoke keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from app.api.deps import UnitOfWorkDep
from app.audit.service import record
from app.auth import repository, service
from app.auth.deps import CallerDep
from app.auth.keys import create_key
from app.auth.models import KEY_ROLES
from app.errors import Forbidden, InvalidParameter, NotFound

router = APIRouter(tags=["keys"])


class NewKey(BaseModel):
    role: str = Field(description="reader, supplier, editor or admin", examples=["supplier"])
    label: str | None = Field(default=None, max_length=200)


@router.get("/me", summary="Who this API key is")
def me(caller: CallerDep) -> dict[str, Any]:
    return {
        "organisation": {
            "id": caller.organisation.id,
            "name": {"nl": caller.organisation.name_nl, "en": caller.organisation.name_en},
        },
        "role": caller.role,
        "key_id": caller.key_id,
    }


def _may_manage_keys(caller: service.Caller, organisation_id: str) -> None:
    if caller.is_admin:
        return
    if caller.role != "editor" or caller.organisation.id != organisation_id:
        raise Forbidden(
            f"keys:{organisation_id}",
            f"managing keys of {organisation_id!r} needs an editor key of that organisation "
            "or a site admin key",
        )


@router.get("/organisations/{organisation_id}/keys", summary="The keys of an organisation")
def list_keys(
    organisation_id: str, caller: CallerDep, session: UnitOfWorkDep
) -> list[dict[str, Any]]:
    _may_manage_keys(caller, organisation_id)
    return [service.key_summary(k) for k in repository.keys_of(session, organisation_id)]


@router.post(
    "/organisations/{organisation_id}/keys",
    status_code=201,
    summary="Create a key (shown once, in this response only)",
)
def new_key(
    organisation_id: str,
    caller: CallerDep,
    session: UnitOfWorkDep,
    body: Annotated[NewKey, Body()],
) -> dict[str, Any]:
    _may_manage_keys(caller, organisation_id)
    if body.role not in KEY_ROLES:
        raise InvalidParameter("role", f"role must be one of {', '.join(KEY_ROLES)}")
    if body.role == "admin" and not caller.is_admin:
        raise Forbidden("role:admin", "only a site admin key can create admin keys")
    key = create_key(session, organisation_id, body.role, body.label)
    record(
        session,
        "key.create",
        caller=caller,
        target=f"organisation:{organisation_id}",
        details={"role": body.role, "prefix": key[:10]},
    )
    return {"key": key, "role": body.role, "organisation": organisation_id}


@router.delete("/keys/{key_id}", summary="Revoke a key", status_code=200)
def revoke_key(key_id: int, caller: CallerDep, session: UnitOfWorkDep) -> dict[str, Any]:
    key = repository.get_key(session, key_id)
    if key is None:
        raise NotFound(f"key {key_id} not found", key=key_id)
    _may_manage_keys(caller, key.organisation_id)
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        record(
            session,
            "key.revoke",
            caller=caller,
            target=f"key:{key.id}",
            details={"organisation": key.organisation_id, "prefix": key.prefix},
        )
    return service.key_summary(key)
