"""Owners at work: editing a dataset's metadata, inviting or removing co-owners and suppliers,
setting territories, handing over the publisher. Every change is recorded (who, when, what)
for the dataset's history.

The rights rule (README, "Who may do what"): nobody widens their own rights. Other
organisations' roles, territories and the publisher are the publisher organisation's and the
site admins' to change; a co-owner may only invite a supplier, or add to a supplier's
territory, inside its own territory; an organisation may always give up (or narrow) a role of
its own, except the last owner.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import JsonValue
from sqlalchemy.orm import Session

from app.access.service import end_grants_of_opened, may_read_values
from app.api.deps import PageParams
from app.audit.service import record
from app.auth.service import (
    OWNER_ROLES,
    Caller,
    held_roles,
    require_owner,
    require_publisher,
    require_role,
)
from app.catalogue import repository
from app.catalogue.models import ACCESS_LEVELS, READING_ROLES, Dataset, DatasetChange
from app.db.queries import as_utc
from app.errors import Conflict, Forbidden, InvalidParameter, NotFound
from app.geo import repository as geo_repository
from app.geo.levels import Level
from app.geo.service import parse_unit_ref
from app.stats import repository as stats_repository
from app.stewardship.schemas import (
    DatasetPatch,
    EditResult,
    HistoryEvent,
    PublisherChange,
    PublisherResult,
    RoleGrant,
    RoleResult,
)

# Patch field → stored columns; bilingual ones are given as {nl, en}.
BILINGUAL = {"title": ("title_nl", "title_en"), "description": ("description_nl", "description_en")}
PLAIN = ("themes", "frequency", "contact_name", "contact_email", "version", "access_level")

Roles = dict[tuple[str, str], list[int]]


def _dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    return dataset


def _record(
    session: Session, caller: Caller, dataset_id: str, kind: str, changes: dict[str, Any]
) -> None:
    record(
        session,
        f"dataset.{kind}",
        caller=caller,
        dataset_id=dataset_id,
        target=f"dataset:{dataset_id}",
        details=changes,
    )
    session.add(
        DatasetChange(
            dataset_id=dataset_id,
            organisation_id=caller.organisation.id,
            api_key_id=caller.key_id,
            created_at=datetime.now(UTC),
            kind=kind,
            changes=changes,
        )
    )
    repository.touch_dataset(session, dataset_id)


# --- metadata ------------------------------------------------------------------------------


def edit_metadata(
    session: Session, caller: Caller, dataset_id: str, patch: DatasetPatch
) -> EditResult:
    dataset = _dataset(session, dataset_id)
    require_owner(session, caller, dataset_id, "editing dataset metadata")
    wanted: dict[str, Any] = {}
    for name, (nl_column, en_column) in BILINGUAL.items():
        text = getattr(patch, name)
        if text is not None:
            for column, lang in ((nl_column, "nl"), (en_column, "en")):
                if lang in text.model_fields_set:
                    wanted[column] = getattr(text, lang)
    if patch.keywords is not None:
        stored = dataset.keywords if isinstance(dataset.keywords, dict) else {}
        wanted["keywords"] = {**stored, **patch.keywords.model_dump(exclude_unset=True)}
    for name in PLAIN:
        if name in patch.model_fields_set:
            value = getattr(patch, name)
            wanted[name] = list(dict.fromkeys(value)) if name == "themes" else value
    if "access_level" in wanted and wanted["access_level"] != dataset.access_level:
        # Who reads the values is the publisher's to decide: a co-owner opening a closed
        # dataset to everyone would do more than any grant, and closing one cuts off readers.
        require_publisher(session, caller, dataset_id, "changing the access level")
        _check_not_looser_than_sources(session, dataset_id, wanted["access_level"])
    changes: dict[str, Any] = {}
    for column, value in wanted.items():
        old = getattr(dataset, column)
        if old != value:
            changes[column] = [old, value]
            setattr(dataset, column, value)
    if changes:
        _record(session, caller, dataset_id, "metadata", changes)
    if "access_level" in changes:
        _tighten_derived(session, caller, dataset_id, dataset.access_level)
        if dataset.access_level == "public":
            end_grants_of_opened(session, caller, dataset_id)
    return EditResult(dataset=dataset_id, changed=sorted(changes))


def _stricter(level: str, than: str) -> bool:
    return ACCESS_LEVELS.index(level) > ACCESS_LEVELS.index(than)


def _check_not_looser_than_sources(session: Session, dataset_id: str, level: str) -> None:
    """Values derived from restricted values are as restricted as they are: a dataset of
    derived indicators cannot be opened wider than the strictest of its sources."""
    sources = repository.derived_sources_by_dataset(session).get(dataset_id, [])
    stricter = [
        source.id
        for source_id in sources
        if (source := repository.get_dataset(session, source_id)) is not None
        and _stricter(source.access_level, level)
    ]
    if stricter:
        raise Conflict(
            f"dataset {dataset_id!r} publishes values derived from {', '.join(stricter)}, "
            f"which are not {level}: its access level can be no wider than theirs",
            dataset=dataset_id,
            sources=stricter,
        )


def _tighten_derived(session: Session, caller: Caller, source_id: str, level: str) -> None:
    """The datasets that derive values from ``source_id`` become at least as strict as its new
    ``level`` in the same unit of work (else its restricted values could be recomputed from
    theirs), each change in their own history."""
    for derived_id, sources in repository.derived_sources_by_dataset(session).items():
        derived = repository.get_dataset(session, derived_id)
        if source_id in sources and derived is not None and _stricter(level, derived.access_level):
            changes: dict[str, Any] = {"access_level": [derived.access_level, level]}
            derived.access_level = level
            _record(session, caller, derived_id, "metadata", changes)
            _tighten_derived(session, caller, derived_id, level)


# --- roles ---------------------------------------------------------------------------------


def _current_roles(session: Session, dataset_id: str) -> Roles:
    roles = repository.roles_of_dataset(session, dataset_id)
    territories = repository.territories(session, [r.id for r, _ in roles])
    return {
        (org.id, role.role): [u.id for u in territories.get(role.id, [])] for role, org in roles
    }


def _territory_refs(session: Session, dataset_id: str, organisation: str, role: str) -> list[str]:
    """The ``level:code`` units of a role's current territory ([] for the whole dataset)."""
    for held, org in repository.roles_of_dataset(session, dataset_id):
        if org.id == organisation and held.role == role:
            units = repository.territories(session, [held.id]).get(held.id, [])
            return [f"{u.level}:{u.code}" for u in units]
    return []


def _coverage(session: Session, unit_ids: list[int]) -> set[int]:
    """The units and everything inside them."""
    if not unit_ids:
        return set()
    return set(unit_ids) | geo_repository.units_inside(session, unit_ids)


def own_territory(session: Session, caller: Caller, dataset: Dataset, roles: Roles) -> list[int]:
    """Where a co-owner may invite suppliers: its own supplier territory on the dataset, or,
    when it supplies nothing there, its municipality (by NIS code) in the dataset's
    geography version — for a city merged since (Hasselt, 71072 from 2025), the
    municipalities of that version it was made of; nothing for an organisation without
    either."""
    supplied = roles.get((caller.organisation.id, "supplier"))
    if supplied:
        return supplied
    nis = caller.organisation.nis_code
    if not nis:
        return []
    unit = geo_repository.get_unit(session, Level.MUNICIPALITY, nis, dataset.geo_version)
    if unit is not None:
        return [unit.id]
    latest = geo_repository.latest_version(session)
    today = geo_repository.get_unit(session, Level.MUNICIPALITY, nis, latest) if latest else None
    if today is None:
        return []
    made_of = geo_repository.predecessors(session, today.id)
    return sorted(p.id for p in made_of if p.version == dataset.geo_version)


def _resolve_territory(session: Session, dataset: Dataset, refs: list[str]) -> list[int]:
    unit_ids = []
    for ref in refs:
        level, code = parse_unit_ref(ref, "territory")
        unit = geo_repository.get_unit(session, level, code, dataset.geo_version)
        if unit is None:
            raise NotFound(
                f"territory unit {ref} not found in version {dataset.geo_version}", unit=ref
            )
        unit_ids.append(unit.id)
    return sorted(set(unit_ids))


def _lock_roles(session: Session, dataset_id: str) -> None:
    """One writer of a dataset's roles at a time, and none while a submission to it is being
    stored: a role change reads every role and stores them all again, and what it checks
    (the last owner, a supplier's territory) must still hold when it commits. Its history
    entry is then dated after the writes it waited for."""
    stats_repository.lock_dataset(session, dataset_id)


def grant_role(session: Session, caller: Caller, dataset_id: str, grant: RoleGrant) -> RoleResult:
    dataset = _dataset(session, dataset_id)
    _lock_roles(session, dataset_id)
    action = f"granting the {grant.role} role"
    require_role(caller, OWNER_ROLES, action)
    target, role = grant.organisation, grant.role
    own = target == caller.organisation.id
    held = set() if caller.is_admin else held_roles(session, caller, dataset_id)
    publisher = caller.is_admin or "publisher" in held
    if not own and not publisher:
        # Inviting suppliers is the one thing a co-owner does for others (in its territory).
        needed = ("owner", "publisher") if role == "supplier" else ("publisher",)
        if not held.intersection(needed):
            raise Forbidden(
                f"{'|'.join(needed)}:{dataset_id}",
                f"{action} to another organisation is for the dataset's "
                f"{' or '.join(needed)} and site admins; {caller.organisation.id!r} holds "
                f"{', '.join(sorted(held)) or 'no role'} on {dataset_id!r}",
            )
    if (
        role == "supplier"
        and not own
        and not publisher
        and dataset.access_level != "public"
        and not any(
            org == target and held_role in READING_ROLES
            for org, held_role in _current_roles(session, dataset_id)
        )
    ):
        # A supplier reads every value of the dataset: inviting an organisation that does
        # not read them yet (a custodian or an originator reads a closed dataset only with a
        # grant) opens it, which a grant (purpose, end date) or the publisher decides.
        raise Forbidden(
            f"publisher:{dataset_id}",
            f"{dataset_id!r} is {dataset.access_level.replace('_', '-')} and a supplier reads "
            f"all of its values: inviting {target!r}, which does not read them yet, is for "
            "the dataset's publisher and site admins",
        )
    if territory_misfit := _territory_misfit(role, grant.territory):
        raise InvalidParameter("territory", territory_misfit)
    if repository.get_organisation(session, target) is None:
        raise NotFound(f"organisation {target!r} not found", organisation=target)
    units = _resolve_territory(session, dataset, grant.territory)
    current = _current_roles(session, dataset_id)
    before = current.get((target, role))
    if not caller.is_admin:
        if own:
            _require_not_wider(session, dataset_id, target, role, before, units)
        elif not publisher:
            _require_inside_own_territory(session, caller, dataset, current, before, units)
    current[(target, role)] = units
    previous = _territory_refs(session, dataset_id, target, role) if before is not None else None
    if repository.sync_roles(session, dataset_id, current):
        granted: dict[str, Any] = {
            "organisation": target,
            "role": role,
            "territory": grant.territory,
        }
        if previous is not None:
            # A territory narrowed or moved: the history says what it was, as metadata
            # changes say their old value.
            granted["previous_territory"] = previous
        _record(session, caller, dataset_id, "role", {"granted": granted})
    return RoleResult(dataset=dataset_id, organisation=target, role=role, territory=grant.territory)


def _territory_misfit(role: str, territory: list[str]) -> str | None:
    if territory and role != "supplier":
        return "only a supplier role carries a territory"
    if role == "supplier" and not territory:
        return "a supplier needs a territory (level:code units)"
    return None


def _require_not_wider(
    session: Session,
    dataset_id: str,
    organisation_id: str,
    role: str,
    before: list[int] | None,
    units: list[int],
) -> None:
    """Nobody widens their own rights: for its own organisation a caller may only repeat a
    role it holds or narrow its territory."""
    narrower = before is not None and set(units) <= _coverage(session, before)
    if not narrower:
        raise Forbidden(
            "role:admin",
            f"nobody widens their own rights: a new role or a wider territory for "
            f"{organisation_id!r} on {dataset_id!r} is granted by the dataset's publisher or a "
            "site admin, never by the organisation itself",
        )


def _require_inside_own_territory(
    session: Session,
    caller: Caller,
    dataset: Dataset,
    current: Roles,
    before: list[int] | None,
    units: list[int],
) -> None:
    """A co-owner invites suppliers in its own territory only, and takes nothing away."""
    kept = set(before or [])
    added = set(units) - kept
    inside = _coverage(session, own_territory(session, caller, dataset, current))
    if not kept <= set(units) or not added <= inside:
        raise Forbidden(
            f"territory:{dataset.id}",
            f"a co-owner may invite a supplier, or add to a supplier's territory, only inside "
            f"its own territory on {dataset.id!r} and may not take territory away; ask the "
            "dataset's publisher or a site admin",
        )


def revoke_role(
    session: Session, caller: Caller, dataset_id: str, organisation_id: str, role: str
) -> RoleResult:
    _dataset(session, dataset_id)
    _lock_roles(session, dataset_id)
    action = f"removing the {role} role of {organisation_id!r}"
    if organisation_id == caller.organisation.id:
        # Giving up one's own role narrows one's rights: any editor key of the organisation.
        require_role(caller, OWNER_ROLES, action)
    else:
        require_publisher(session, caller, dataset_id, action)
    current = _current_roles(session, dataset_id)
    if (organisation_id, role) not in current:
        raise NotFound(
            f"{organisation_id!r} holds no {role} role on {dataset_id!r}",
            organisation=organisation_id,
        )
    if role == "publisher":
        raise Conflict(
            "a dataset has exactly one publisher: hand it over with "
            f"PUT /api/v1/datasets/{dataset_id}/publisher instead"
        )
    owners = [org for org, r in current if r == "owner"]
    if role == "owner" and owners == [organisation_id]:
        raise Conflict(
            f"{organisation_id!r} is the last owner of {dataset_id!r}; invite another owner "
            "before removing it"
        )
    del current[(organisation_id, role)]
    repository.sync_roles(session, dataset_id, current)
    _record(
        session,
        caller,
        dataset_id,
        "role",
        {"removed": {"organisation": organisation_id, "role": role}},
    )
    return RoleResult(dataset=dataset_id, organisation=organisation_id, role=role, removed=True)


def change_publisher(
    session: Session, caller: Caller, dataset_id: str, change: PublisherChange
) -> PublisherResult:
    _dataset(session, dataset_id)
    _lock_roles(session, dataset_id)
    require_publisher(session, caller, dataset_id, "changing the publisher")
    target = change.organisation
    if repository.get_organisation(session, target) is None:
        raise NotFound(f"organisation {target!r} not found", organisation=target)
    current = _current_roles(session, dataset_id)
    previous = next((org for org, r in current if r == "publisher"), None)
    if previous != target:
        if previous is not None:
            del current[(previous, "publisher")]
        current[(target, "publisher")] = []
        repository.sync_roles(session, dataset_id, current)
        _record(session, caller, dataset_id, "role", {"publisher": [previous, target]})
    return PublisherResult(dataset=dataset_id, publisher=target, previous=previous)


# --- history -------------------------------------------------------------------------------


def history(
    session: Session, caller: Caller | None, dataset_id: str, params: PageParams
) -> tuple[list[HistoryEvent], int]:
    """Metadata and role changes and submissions, newest first. What a submission counts
    (its rows) only for a caller who may read the dataset's values, null for others."""
    _dataset(session, dataset_id)
    counts = may_read_values(session, caller, dataset_id)
    events = [
        HistoryEvent(
            kind=change.kind,
            at=change.created_at,
            organisation=change.organisation_id,
            changes=_json_object(change.changes),
        )
        for change in repository.changes_of(session, dataset_id)
    ]
    events += [
        HistoryEvent(
            kind="submission",
            at=s.created_at,
            organisation=s.organisation_id,
            changes={
                "submission": s.id,
                "revision": s.revision,
                "source": s.source_name,
                "rows_total": s.rows_total if counts else None,
                "rows_added": s.rows_added if counts else None,
                "rows_changed": s.rows_changed if counts else None,
                "rows_unchanged": s.rows_unchanged if counts else None,
                "rows_not_supplied": s.rows_not_supplied if counts else None,
                "withdrawn_by": s.withdrawn_by,
            },
        )
        for s in stats_repository.submissions(session, dataset_id)
    ]
    events.sort(key=lambda e: as_utc(e.at), reverse=True)
    return events[params.offset : params.offset + params.page_size], len(events)


def _json_object(value: object) -> dict[str, JsonValue]:
    # Changes were stored as JSON; anything else (a hand-edited row) still reads.
    return value if isinstance(value, dict) else {"value": str(value)}
