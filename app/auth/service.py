"""Who is calling, and what they may do. No FastAPI here: routers pass the raw key in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from app.auth import repository
from app.auth.keys import hash_key
from app.auth.models import ApiKey
from app.catalogue import repository as catalogue_repository
from app.catalogue.models import Organisation
from app.db.queries import as_utc
from app.errors import Forbidden, Unauthorized

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


def key_summary(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "organisation": key.organisation_id,
        "role": key.role,
        "prefix": key.prefix,
        "label": key.label,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }
