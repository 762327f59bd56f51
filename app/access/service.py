"""Who may read a dataset's values, grants, and the audit log.

Metadata of every dataset is public. Observations (and every aggregate derived from them) of
a ``restricted`` dataset need a grant: an owner grants an organisation access for a purpose
until a date; without one the answer is 401 (no key) or 403 (a key), saying how to ask. A
``non_public`` dataset shows its metadata only. Owners, suppliers and site admins always read
their own data. Every read of restricted data is written to the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.access import repository
from app.access.models import AccessGrant
from app.access.schemas import AuditEventOut, GrantOut, NewGrant
from app.audit.models import AuditEvent
from app.audit.service import record
from app.auth.service import Caller, held_roles, require_owner
from app.catalogue import repository as catalogue_repository
from app.catalogue.models import READING_ROLES, Dataset
from app.db import queries
from app.errors import Conflict, Forbidden, NotFound, Unauthorized

# The longest description of a read an audit event keeps.
MAX_READ_LINE = 500


def _how_to_ask(dataset: Dataset) -> str:
    return (
        f"ask the owners for access with POST /api/v1/datasets/{dataset.id}/feedback "
        '{"kind": "access_request", "title": …, "body": <who you are and why>}'
    )


def _capacity(session: Session, caller: Caller, dataset: Dataset) -> str | None:
    """In which capacity the caller reads the values of ``dataset`` (restricted or
    non-public; its derived sources aside): the purpose its reads are logged with, or None
    when it may not read them."""
    held = {
        role.role
        for role, org in catalogue_repository.roles_of_dataset(session, dataset.id)
        if org.id == caller.organisation.id
    }
    if caller.is_admin or held & READING_ROLES:
        # A supplier reads the whole dataset it supplies to (its context), not only its
        # territory: the log says in which capacity, not "own data" for every reader.
        if caller.is_admin:
            return "site administration"
        if held & {"owner", "publisher"}:
            return "own data"
        return "supplier of the dataset"
    if dataset.access_level == "non_public":
        return None  # no grant opens it
    grant = repository.active_grant(
        session, dataset.id, caller.organisation.id, datetime.now(UTC).date()
    )
    return None if grant is None else grant.purpose


def may_read_values(session: Session, caller: Caller | None, dataset_id: str) -> bool:
    """Whether the caller may read the dataset's values — and so what counts them (the rows
    of its submissions): :func:`authorize_read`'s answer, without refusing or logging."""
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        return False
    if dataset.access_level != "public" and (
        caller is None or _capacity(session, caller, dataset) is None
    ):
        return False
    return all(
        may_read_values(session, caller, source)
        for source in catalogue_repository.derived_sources_by_dataset(session).get(dataset_id, [])
    )


def authorize_read(session: Session, caller: Caller | None, dataset_id: str, what: str) -> bool:
    """Raise unless the caller may read the dataset's values; log reads of restricted data,
    with ``what`` was read (the request, or the monitor or comparison). True when the values
    are public, so that a shared cache may keep an answer of them."""
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None or dataset.access_level == "public":
        return True  # an unknown dataset is the query's 404 to give
    if caller is None:
        if dataset.access_level == "non_public":
            raise Unauthorized(
                f"dataset {dataset_id!r} is non-public: only its metadata is published; its "
                "values are read by its owners and suppliers, with their API key"
            )
        raise Unauthorized(
            f"dataset {dataset_id!r} is restricted: its metadata is public, its values need "
            f"an API key and a grant; {_how_to_ask(dataset)}"
        )
    purpose = _capacity(session, caller, dataset)
    if purpose is None and dataset.access_level == "non_public":
        raise Forbidden(
            f"read:{dataset_id}",
            f"dataset {dataset_id!r} is non-public: only its metadata is published",
        )
    if purpose is None:
        raise Forbidden(
            f"grant:{dataset_id}",
            f"{caller.organisation.id!r} has no grant to read restricted dataset "
            f"{dataset_id!r}; {_how_to_ask(dataset)}",
        )
    # A derived dataset's values give its sources' back (a ratio times its public
    # denominator): reading them takes the right to read every restricted source too, and
    # each source's log records the read.
    for source in catalogue_repository.derived_sources_by_dataset(session).get(dataset_id, []):
        authorize_read(session, caller, source, f"through {dataset_id}: {what}")
    record(
        session,
        "read.restricted",
        caller=caller,
        dataset_id=dataset_id,
        target="observations",
        purpose=purpose,
        # Bounded: a query may name hundreds of units.
        details={"read": what if len(what) <= MAX_READ_LINE else what[: MAX_READ_LINE - 1] + "…"},
    )
    return False


def grant_out(grant: AccessGrant) -> GrantOut:
    return GrantOut(
        id=grant.id,
        dataset=grant.dataset_id,
        organisation=grant.organisation_id,
        purpose=grant.purpose,
        valid_until=grant.valid_until,
        granted_by=grant.granted_by,
        created_at=grant.created_at,
        revoked_at=grant.revoked_at,
    )


def _require_owner(session: Session, caller: Caller, dataset_id: str, action: str) -> None:
    if catalogue_repository.get_dataset(session, dataset_id) is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    require_owner(session, caller, dataset_id, action)


def create_grant(session: Session, caller: Caller, dataset_id: str, new: NewGrant) -> GrantOut:
    """An owner lets an organisation read the dataset's values; ``new`` was validated (purpose
    not blank, ``valid_until`` ahead within the bound)."""
    _require_owner(session, caller, dataset_id, "granting access")
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is not None and dataset.access_level == "non_public":
        # It would be stored and open nothing: no grant opens a non-public dataset.
        raise Conflict(
            f"dataset {dataset_id!r} is non-public: no grant opens it; its publisher may make "
            "it restricted first"
        )
    if dataset is not None and dataset.access_level == "public":
        # It would open nothing now, and would open the values once the publisher closes
        # the dataset: who reads a closed dataset is decided after it is closed.
        raise Conflict(
            f"dataset {dataset_id!r} is public: everyone reads its values, and a grant is "
            "given once it is restricted"
        )
    if new.organisation == caller.organisation.id and not caller.is_admin:
        # A grant outlives the role: an owner granting itself could leave and go on reading.
        raise Forbidden(
            "role:admin",
            f"{caller.organisation.id!r} cannot grant itself access: nobody widens their own "
            "rights (an owner reads its own data while it holds the role)",
        )
    if catalogue_repository.get_organisation(session, new.organisation) is None:
        raise NotFound(
            f"organisation {new.organisation!r} not found", organisation=new.organisation
        )
    repository.lock_grants(session, dataset_id, new.organisation)
    today = datetime.now(UTC).date()
    held = repository.active_grant(session, dataset_id, new.organisation, today)
    if held is not None:
        # One grant at a time: revoking "the" grant must end the access.
        raise Conflict(
            f"{new.organisation!r} already holds grant {held.id} on {dataset_id!r} until "
            f"{held.valid_until.isoformat()}; revoke it (DELETE /api/v1/grants/{held.id}) "
            "before granting again"
        )
    grant = AccessGrant(
        dataset_id=dataset_id,
        organisation_id=new.organisation,
        purpose=new.purpose,
        valid_until=new.valid_until,
        granted_by=caller.organisation.id,
        created_at=datetime.now(UTC),
    )
    session.add(grant)
    session.flush()
    record(
        session,
        "grant.create",
        caller=caller,
        dataset_id=dataset_id,
        target=f"grant:{grant.id}",
        purpose=new.purpose,
        details={"organisation": new.organisation, "valid_until": new.valid_until.isoformat()},
    )
    return grant_out(grant)


def _may_see_grant(session: Session, caller: Caller, grant: AccessGrant) -> bool:
    """Site admins, the owners and publisher of its dataset (they list its grants) and the
    organisation holding it (it lists the grants it holds)."""
    return (
        caller.is_admin
        or grant.organisation_id == caller.organisation.id
        or bool(held_roles(session, caller, grant.dataset_id) & {"owner", "publisher"})
    )


def revoke_grant(session: Session, caller: Caller, grant_id: int) -> GrantOut:
    grant = repository.get_grant(session, grant_id)
    # A grant the caller may not see is answered as one that does not exist: its id must not
    # tell which dataset it opens, nor to whom.
    if grant is None or not _may_see_grant(session, caller, grant):
        raise NotFound(f"grant {grant_id} not found", grant=grant_id)
    _require_owner(session, caller, grant.dataset_id, "revoking access")
    if grant.revoked_at is not None:
        raise Conflict(f"grant {grant_id} was already revoked on {grant.revoked_at.isoformat()}")
    grant.revoked_at = datetime.now(UTC)
    record(
        session,
        "grant.revoke",
        caller=caller,
        dataset_id=grant.dataset_id,
        target=f"grant:{grant.id}",
        details={"organisation": grant.organisation_id},
    )
    return grant_out(grant)


def end_grants_of_opened(session: Session, caller: Caller, dataset_id: str) -> None:
    """The dataset was made public: its grants end, each recorded as revoked by the caller.
    A public dataset takes no grants, and one given before it was opened would otherwise
    open it again, for years, once it is closed: who reads it then is decided after it is
    closed."""
    now = datetime.now(UTC)
    for grant in repository.active_grants(session, dataset_id, now.date()):
        grant.revoked_at = now
        record(
            session,
            "grant.revoke",
            caller=caller,
            dataset_id=dataset_id,
            target=f"grant:{grant.id}",
            details={
                "organisation": grant.organisation_id,
                "reason": "the dataset was made public",
            },
        )


def list_grants(
    session: Session, caller: Caller, dataset_id: str, offset: int, limit: int
) -> tuple[list[GrantOut], int]:
    _require_owner(session, caller, dataset_id, "reading the grants")
    stmt = repository.grants_query(dataset_id)
    grants = queries.page(session, stmt, offset, limit)
    return [grant_out(g) for g in grants], queries.count(session, stmt)


def held_grants(
    session: Session, caller: Caller, organisation_id: str, offset: int, limit: int
) -> tuple[list[GrantOut], int]:
    """The grants given to an organisation, for its own keys (of any role: a researcher's
    reader key asks until when it may read) and site admins."""
    if catalogue_repository.get_organisation(session, organisation_id) is None:
        raise NotFound(f"organisation {organisation_id!r} not found", organisation=organisation_id)
    if caller.organisation.id != organisation_id and not caller.is_admin:
        raise Forbidden(
            f"organisation:{organisation_id}",
            f"the grants {organisation_id!r} holds are for its own keys and site admins",
        )
    stmt = repository.held_grants_query(organisation_id)
    grants = queries.page(session, stmt, offset, limit)
    return [grant_out(g) for g in grants], queries.count(session, stmt)


def event_out(event: AuditEvent, caller: Caller) -> AuditEventOut:
    """One event as ``caller`` reads it: the key that acted only for the caller's own
    organisation's events (or for a site admin), as a key id of another organisation is
    answered nowhere else (a 404 at DELETE /keys/{id})."""
    own = caller.is_admin or event.organisation_id == caller.organisation.id
    return AuditEventOut(
        id=event.id,
        at=event.at,
        organisation=event.organisation_id,
        key=event.api_key_id if own else None,
        actor=event.actor,
        action=event.action,
        dataset=event.dataset_id,
        target=event.target,
        purpose=event.purpose,
        details=event.details,
    )


def audit_log(
    session: Session, caller: Caller, dataset_id: str | None, offset: int, limit: int
) -> tuple[list[AuditEventOut], int]:
    if dataset_id is None:
        if not caller.is_admin:
            raise Forbidden("role:admin", "the whole audit log is for site admins")
    else:
        _require_owner(session, caller, dataset_id, "reading the audit log")
    stmt = repository.events_query(dataset_id)
    events = queries.page(session, stmt, offset, limit)
    return [event_out(e, caller) for e in events], queries.count(session, stmt)
