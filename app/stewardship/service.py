"""Owners at work: editing a dataset's metadata, inviting or removing co-owners and suppliers,
setting territories. Every change is recorded (who, when, what) for the dataset's history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.service import Caller, require_owner
from app.catalogue import repository
from app.catalogue.models import ACCESS_LEVELS, ROLES, Dataset, DatasetChange
from app.db.queries import as_utc
from app.errors import Conflict, InvalidParameter, NotFound
from app.geo import repository as geo_repository
from app.geo.service import parse_unit_ref
from app.stats import repository as stats_repository

# Text fields an owner may edit, as stored; bilingual ones are given as {nl, en}.
BILINGUAL = {"title": ("title_nl", "title_en"), "description": ("description_nl", "description_en")}
PLAIN = (
    "keywords",
    "themes",
    "frequency",
    "contact_name",
    "contact_email",
    "version",
    "access_level",
)


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


def edit_metadata(
    session: Session, caller: Caller, dataset_id: str, patch: dict[str, Any]
) -> dict[str, Any]:
    dataset = _dataset(session, dataset_id)
    require_owner(session, caller, dataset_id, "editing dataset metadata")
    unknown = sorted(set(patch) - set(BILINGUAL) - set(PLAIN))
    if unknown:
        raise InvalidParameter(
            unknown[0],
            f"cannot edit {', '.join(unknown)}; editable: {', '.join([*BILINGUAL, *PLAIN])}",
        )
    changes: dict[str, Any] = {}
    for name, value in patch.items():
        if name in BILINGUAL:
            if not isinstance(value, dict) or not {"nl", "en"} >= set(value) or not value:
                raise InvalidParameter(name, f"{name} is given as {{'nl': …, 'en': …}}")
            for lang, column in zip(("nl", "en"), BILINGUAL[name], strict=True):
                text = value.get(lang)
                if text is None:
                    continue
                if not isinstance(text, str) or not text.strip() or len(text) > 10_000:
                    raise InvalidParameter(name, f"{name}.{lang} must be 1 to 10,000 characters")
                if getattr(dataset, column) != text:
                    changes[column] = [getattr(dataset, column), text]
                    setattr(dataset, column, text)
        elif name == "access_level" and value not in ACCESS_LEVELS:
            raise InvalidParameter(name, f"access_level must be one of {', '.join(ACCESS_LEVELS)}")
        elif getattr(dataset, name) != value:
            changes[name] = [getattr(dataset, name), value]
            setattr(dataset, name, value)
    if changes:
        _record(session, caller, dataset_id, "metadata", changes)
    return {"dataset": dataset_id, "changed": sorted(changes)}


def grant_role(
    session: Session,
    caller: Caller,
    dataset_id: str,
    organisation_id: str,
    role: str,
    territory: list[str],
) -> dict[str, Any]:
    dataset = _dataset(session, dataset_id)
    require_owner(session, caller, dataset_id, "inviting co-owners and suppliers")
    if role not in ROLES or role == "publisher":
        raise InvalidParameter("role", "role must be one of owner, supplier, custodian, originator")
    if repository.get_organisation(session, organisation_id) is None:
        raise NotFound(f"organisation {organisation_id!r} not found", organisation=organisation_id)
    if territory and role != "supplier":
        raise InvalidParameter("territory", "only a supplier role carries a territory")
    if role == "supplier" and not territory:
        raise InvalidParameter("territory", "a supplier needs a territory (level:code units)")
    unit_ids = []
    for ref in territory:
        level, code = parse_unit_ref(ref, "territory")
        unit = geo_repository.get_unit(session, level, code, dataset.geo_version)
        if unit is None:
            raise NotFound(
                f"territory unit {ref} not found in version {dataset.geo_version}", unit=ref
            )
        unit_ids.append(unit.id)
    current = _current_roles(session, dataset_id)
    current[(organisation_id, role)] = unit_ids
    repository.sync_roles(session, dataset_id, current)
    _record(
        session,
        caller,
        dataset_id,
        "role",
        {"granted": {"organisation": organisation_id, "role": role, "territory": territory}},
    )
    return {
        "dataset": dataset_id,
        "organisation": organisation_id,
        "role": role,
        "territory": territory,
    }


def revoke_role(
    session: Session, caller: Caller, dataset_id: str, organisation_id: str, role: str
) -> dict[str, Any]:
    _dataset(session, dataset_id)
    require_owner(session, caller, dataset_id, "removing co-owners and suppliers")
    current = _current_roles(session, dataset_id)
    if (organisation_id, role) not in current:
        raise NotFound(
            f"{organisation_id!r} holds no {role} role on {dataset_id!r}",
            organisation=organisation_id,
        )
    if role == "publisher":
        raise Conflict("the publisher cannot be removed; a dataset has exactly one publisher")
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
    return {"dataset": dataset_id, "organisation": organisation_id, "role": role, "removed": True}


def _current_roles(session: Session, dataset_id: str) -> dict[tuple[str, str], list[int]]:
    roles = repository.roles_of_dataset(session, dataset_id)
    territories = repository.territories(session, [r.id for r, _ in roles])
    return {
        (org.id, role.role): [u.id for u in territories.get(role.id, [])] for role, org in roles
    }


def history(session: Session, dataset_id: str) -> list[dict[str, Any]]:
    """Metadata and role changes and submissions, newest first."""
    _dataset(session, dataset_id)
    events: list[dict[str, Any]] = [
        {
            "kind": change.kind,
            "at": change.created_at,
            "organisation": change.organisation_id,
            "changes": change.changes,
        }
        for change in repository.changes_of(session, dataset_id)
    ]
    events += [
        {
            "kind": "submission",
            "at": s.created_at,
            "organisation": s.organisation_id,
            "changes": {
                "submission": s.id,
                "revision": s.revision,
                "source": s.source_name,
                "rows_total": s.rows_total,
                "rows_added": s.rows_added,
                "rows_changed": s.rows_changed,
                "rows_unchanged": s.rows_unchanged,
            },
        }
        for s in stats_repository.submissions(session, dataset_id)
    ]
    events.sort(key=lambda e: as_utc(e["at"]), reverse=True)
    return events
