"""Who is calling, what they may do, and managing the keys of an organisation. No FastAPI
here: routers pass the raw key in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy.orm import Session

from app.api.schemas import Text
from app.audit.service import record
from app.auth import repository
from app.auth.keys import hash_key, issue_key
from app.auth.models import ApiKey
from app.auth.schemas import KeyOut, KeyRole, MeOut, NewKey, NewKeyOut
from app.catalogue import repository as catalogue_repository
from app.catalogue.models import Organisation
from app.catalogue.schemas import OrganisationRef
from app.db import queries
from app.db.queries import as_utc
from app.errors import Forbidden, NotFound, Unauthorized

# last_used_at is written at most this often per key: a read-heavy client should not turn
# every request into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
WRITE_ROLES = ("supplier", "editor", "admin")
OWNER_ROLES = ("editor", "admin")


@dataclass(frozen=True)
class Caller:
    key_id: int
    organisation: Organisation
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def organisation_id(self) -> str:
        return self.organisation.id


def authenticate(session: Session, raw_key: str | None) -> Caller:
    if not raw_key:
        raise Unauthorized(
            "this request needs an API key: send 'Authorization: Bearer <key>' "
            "(keys are created with 'datapedia keys create' or by your organisation's admin)"
        )
    key = repository.key_by_hash(session, hash_key(raw_key))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("the API key is unknown or has been revoked")
    organisation = catalogue_repository.get_organisation(session, key.organisation_id)
    assert organisation is not None  # foreign key
    now = datetime.now(UTC)
    last = key.last_used_at
    if last is None or now - as_utc(last) > LAST_USED_RESOLUTION:
        repository.touch(session, key.id, now)
    return Caller(key.id, organisation, key.role)


def require_role(caller: Caller, roles: tuple[str, ...], action: str) -> None:
    if caller.role not in roles:
        raise Forbidden(
            f"role:{'|'.join(roles)}",
            f"{action} needs a key with role {' or '.join(roles)}; this key has role "
            f"{caller.role!r}",
        )


def held_roles(session: Session, caller: Caller, dataset_id: str) -> set[str]:
    """The roles the caller's organisation holds on the dataset."""
    return {
        role.role
        for role, org in catalogue_repository.roles_of_dataset(session, dataset_id)
        if org.id == caller.organisation.id
    }


def require_dataset_role(
    session: Session, caller: Caller, dataset_id: str, role: str | tuple[str, ...], action: str
) -> None:
    """The caller's organisation must hold ``role`` (or one of the roles) on the dataset; site
    admins always may. The missing right is named ``role:dataset`` (``owner|publisher:…``)."""
    if caller.is_admin:
        return
    wanted = (role,) if isinstance(role, str) else role
    held = held_roles(session, caller, dataset_id)
    if not held.intersection(wanted):
        raise Forbidden(
            f"{'|'.join(wanted)}:{dataset_id}",
            f"{action} needs the {' or '.join(wanted)} role on dataset {dataset_id!r}; "
            f"{caller.organisation.id!r} holds {', '.join(sorted(held)) or 'no role'} on it",
        )


def require_owner(session: Session, caller: Caller, dataset_id: str, action: str) -> None:
    """Owners' work: an editor key of a co-owner or of the publisher, or a site admin. The
    publisher organisation holds every right a co-owner holds."""
    require_role(caller, OWNER_ROLES, action)
    require_dataset_role(session, caller, dataset_id, ("owner", "publisher"), action)


def require_publisher(session: Session, caller: Caller, dataset_id: str, action: str) -> None:
    """The publisher's work (other organisations' roles, territories, the publisher itself):
    an editor key of the dataset's publisher organisation, or a site admin."""
    require_role(caller, OWNER_ROLES, action)
    require_dataset_role(session, caller, dataset_id, "publisher", action)


def whoami(caller: Caller) -> MeOut:
    organisation = caller.organisation
    return MeOut(
        organisation=OrganisationRef(
            id=organisation.id, name=Text(nl=organisation.name_nl, en=organisation.name_en)
        ),
        role=cast(KeyRole, caller.role),
        key_id=caller.key_id,
    )


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        organisation=key.organisation_id,
        role=cast(KeyRole, key.role),
        prefix=key.prefix,
        label=key.label,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _may_manage_keys(caller: Caller, organisation_id: str) -> None:
    if caller.is_admin:
        return
    if caller.role != "editor" or caller.organisation.id != organisation_id:
        raise Forbidden(
            f"keys:{organisation_id}",
            f"managing keys of {organisation_id!r} needs an editor key of that organisation "
            "or a site admin key",
        )


def _organisation_exists(session: Session, organisation_id: str) -> None:
    if catalogue_repository.get_organisation(session, organisation_id) is None:
        raise NotFound(f"organisation {organisation_id!r} not found", organisation=organisation_id)


def list_keys(
    session: Session, caller: Caller, organisation_id: str, offset: int, limit: int
) -> tuple[list[KeyOut], int]:
    _organisation_exists(session, organisation_id)
    _may_manage_keys(caller, organisation_id)
    stmt = repository.keys_query(organisation_id)
    keys = queries.page(session, stmt, offset, limit)
    return [key_out(k) for k in keys], queries.count(session, stmt)


def create_key_for(
    session: Session, caller: Caller, organisation_id: str, new: NewKey
) -> NewKeyOut:
    """A new key of the organisation, recorded in the audit log (by its prefix only)."""
    _organisation_exists(session, organisation_id)
    _may_manage_keys(caller, organisation_id)
    if new.role == "admin" and not caller.is_admin:
        raise Forbidden("role:admin", "only a site admin key can create admin keys")
    row, key = issue_key(session, organisation_id, new.role, new.label)
    record(
        session,
        "key.create",
        caller=caller,
        target=f"organisation:{organisation_id}",
        details={"role": new.role, "prefix": row.prefix},
    )
    return NewKeyOut(
        id=row.id,
        key=key,
        prefix=row.prefix,
        role=new.role,
        organisation=organisation_id,
        label=row.label,
    )


def revoke_key(session: Session, caller: Caller, key_id: int) -> KeyOut:
    """Revoke a key; revoking a revoked key changes nothing and answers it as it is."""
    key = repository.get_key(session, key_id)
    # Another organisation's key is answered as one that does not exist: a key id must not
    # tell who holds it (where the site admins' keys are, how many each organisation has).
    if key is None or not (caller.is_admin or key.organisation_id == caller.organisation.id):
        raise NotFound(f"key {key_id} not found among your organisation's keys", key=key_id)
    _may_manage_keys(caller, key.organisation_id)
    # Taking a site admin's key away is a site admin's act, as giving one is.
    if key.role == "admin" and not caller.is_admin:
        raise Forbidden("role:admin", "only a site admin key can revoke admin keys")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        record(
            session,
            "key.revoke",
            caller=caller,
            target=f"key:{key.id}",
            details={"organisation": key.organisation_id, "prefix": key.prefix},
        )
    return key_out(key)
