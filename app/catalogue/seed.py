"""Load the authored catalogue from ``seeds/``: licences, organisations, indicators, datasets
with their roles and territories. Idempotent: entries are matched on their id, and a second
run changes nothing (``modified`` only moves when a dataset's metadata really changed). A
dataset's entry is applied as far as it changed since the seed last applied it: what its
owners changed through the API meanwhile (access level, metadata, roles) is kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from app.catalogue import derived, repository
from app.catalogue.models import (
    ACCESS_LEVELS,
    AGGREGATION_RULES,
    ROLES,
    Dataset,
    Indicator,
    Licence,
    Organisation,
)
from app.db.session import stamp_at_commit
from app.errors import SourceDataError
from app.geo import repository as geo_repository


@dataclass
class SeedReport:
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def count(self, kind: str, outcome: str | None) -> None:
        if outcome == "inserted":
            self.inserted[kind] = self.inserted.get(kind, 0) + 1
        elif outcome == "updated":
            self.updated[kind] = self.updated.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


def _load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise SourceDataError([f"{path}: {exc}"]) from exc


def _text(entry: dict[str, Any], key: str, where: str, problems: list[str]) -> tuple[str, str]:
    value = entry.get(key)
    if not isinstance(value, dict) or not value.get("nl") or not value.get("en"):
        problems.append(f"{where}: '{key}' needs both 'nl' and 'en'")
        return ("", "")
    return (str(value["nl"]).strip(), str(value["en"]).strip())


def _optional_text(entry: dict[str, Any], key: str) -> tuple[str | None, str | None]:
    value = entry.get(key)
    if not isinstance(value, dict):
        return (None, None)
    nl, en = value.get("nl"), value.get("en")
    return (str(nl).strip() if nl else None, str(en).strip() if en else None)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def load_catalogue(session: Session, seeds_dir: Path) -> SeedReport:
    """Apply the seeds; raise :class:`SourceDataError` listing every problem found."""
    report = SeedReport()
    problems: list[str] = []

    licences = _load_yaml(seeds_dir / "licences.yaml") or []
    for entry in licences:
        where = f"licences.yaml: {entry.get('id')}"
        title_nl, title_en = _text(entry, "title", where, problems)
        description_nl, description_en = _optional_text(entry, "description")
        report.count(
            "licences",
            repository.upsert(
                session,
                Licence,
                entry["id"],
                {
                    "title_nl": title_nl,
                    "title_en": title_en,
                    "uri": entry["uri"],
                    "description_nl": description_nl,
                    "description_en": description_en,
                    "attribution_required": bool(entry.get("attribution_required", True)),
                },
            ),
        )

    organisations = _load_yaml(seeds_dir / "organisations.yaml") or []
    for entry in organisations:
        where = f"organisations.yaml: {entry.get('id')}"
        name_nl, name_en = _text(entry, "name", where, problems)
        report.count(
            "organisations",
            repository.upsert(
                session,
                Organisation,
                entry["id"],
                {
                    "name_nl": name_nl,
                    "name_en": name_en,
                    "kind": entry["kind"],
                    "nis_code": entry.get("nis_code"),
                    "ovo_code": entry.get("ovo_code"),
                    "homepage": entry.get("homepage"),
                    "email": entry.get("email"),
                },
            ),
        )
    session.flush()
    org_ids = {str(e["id"]) for e in organisations}

    indicators = _load_yaml(seeds_dir / "indicators.yaml") or []
    indicator_ids = {str(e["id"]) for e in indicators}
    # References between indicators (ratio parts, weights) need every row present first.
    for entry in indicators:
        where = f"indicators.yaml: {entry.get('id')}"
        report.count(
            "indicators",
            _upsert_indicator(
                session, entry, where, problems, indicator_ids, org_ids, first_pass=True
            ),
        )
    session.flush()
    for entry in indicators:
        where = f"indicators.yaml: {entry.get('id')}"
        _upsert_indicator(session, entry, where, problems, indicator_ids, org_ids, first_pass=False)

    # Derived indicators across datasets: their Datapedia entries first (datasets list
    # them), their parts checked once the datasets are loaded.
    derived_entries = derived.read_entries(seeds_dir / derived.DERIVED_FILE)
    for entry in derived_entries:
        where = f"{derived.DERIVED_FILE}:{entry.line}: {entry.id}"
        report.count("indicators", _upsert_derived_indicator(session, entry, where, problems))
    all_indicator_ids = indicator_ids | {e.id for e in derived_entries}

    licence_ids = {str(e["id"]) for e in licences}
    for path in sorted((seeds_dir / "datasets").glob("*.yaml")):
        entry = _load_yaml(path)
        _upsert_dataset(
            session, entry, path.name, problems, report, licence_ids, org_ids, all_indicator_ids
        )

    if not problems:
        session.flush()
        problems.extend(
            derived.check(session, derived_entries, derived.DERIVED_FILE, indicator_ids, org_ids)
        )
    if not problems:
        changed = derived.store(session, derived_entries)
        if changed:
            report.updated["derived indicators"] = changed

    if problems:
        raise SourceDataError(problems)
    session.flush()
    return report


def _upsert_indicator(
    session: Session,
    entry: dict[str, Any],
    where: str,
    problems: list[str],
    indicator_ids: set[str],
    org_ids: set[str],
    *,
    first_pass: bool,
) -> str | None:
    label_nl, label_en = _text(entry, "label", where, problems)
    definition_nl, definition_en = _text(entry, "definition", where, problems)
    caveats_nl, caveats_en = _optional_text(entry, "caveats")
    aggregation = entry.get("aggregation") or {}
    rule = aggregation.get("rule")
    if rule not in AGGREGATION_RULES:
        problems.append(f"{where}: aggregation rule {rule!r} is not one of {AGGREGATION_RULES}")
    numerator = [str(i) for i in aggregation.get("numerator") or []]
    denominator = [str(i) for i in aggregation.get("denominator") or []]
    weight = aggregation.get("weight")
    if rule == "ratio" and (not numerator or not denominator):
        problems.append(f"{where}: a ratio needs a numerator and a denominator")
    if rule == "weighted_mean" and not weight:
        problems.append(f"{where}: a weighted mean needs a weight indicator")
    disclosure = entry.get("disclosure") or {}
    reference = disclosure.get("reference")
    for ref in [*numerator, *denominator, weight, reference]:
        if ref is not None and ref not in indicator_ids:
            problems.append(f"{where}: refers to unknown indicator {ref!r}")
    source = entry.get("source")
    if source is not None and source not in org_ids:
        problems.append(f"{where}: unknown source organisation {source!r}")
    values: dict[str, Any] = {
        "label_nl": label_nl,
        "label_en": label_en,
        "definition_nl": definition_nl,
        "definition_en": definition_en,
        "unit_of_measure": str(entry.get("unit") or ""),
        "formula": entry.get("formula"),
        "source_id": source,
        "source_column": entry.get("source_column"),
        "caveats_nl": caveats_nl,
        "caveats_en": caveats_en,
        "decimals": int(entry.get("decimals") or 0),
        "whole_numbers": entry.get("whole_numbers") is True,
        "aggregation": rule,
        "numerator": numerator,
        "denominator": denominator,
        "scale": float(aggregation.get("scale") or 1),
        "disclosure_min_count": disclosure.get("min_count"),
        "disclosure_min": disclosure.get("min"),
    }
    if first_pass:
        values |= {"weight_id": None, "disclosure_reference_id": None}
        existing = session.get(Indicator, entry["id"])
        if existing is not None:
            # Keep the stored references so that an unchanged seed is a no-op.
            values |= {
                "weight_id": existing.weight_id,
                "disclosure_reference_id": existing.disclosure_reference_id,
            }
    else:
        values |= {"weight_id": weight, "disclosure_reference_id": reference}
    return repository.upsert(session, Indicator, entry["id"], values)


def _upsert_derived_indicator(
    session: Session, entry: derived.DerivedEntry, where: str, problems: list[str]
) -> str | None:
    raw = entry.raw
    label_nl, label_en = _text(raw, "label", where, problems)
    definition_nl, definition_en = _text(raw, "definition", where, problems)
    caveats_nl, caveats_en = _optional_text(raw, "caveats")
    disclosure = raw.get("disclosure") or {}
    reference = disclosure.get("reference")
    values: dict[str, Any] = {
        "label_nl": label_nl,
        "label_en": label_en,
        "definition_nl": definition_nl,
        "definition_en": definition_en,
        "caveats_nl": caveats_nl,
        "caveats_en": caveats_en,
        "weight_id": None,
        # Checked with the parts (derived.check); an unknown one must not reach the row.
        "disclosure_reference_id": str(reference)
        if reference and session.get(Indicator, str(reference)) is not None
        else None,
        **derived.indicator_values(entry),
    }
    return repository.upsert(session, Indicator, entry.id, values)


def _upsert_dataset(
    session: Session,
    entry: dict[str, Any],
    where: str,
    problems: list[str],
    report: SeedReport,
    licence_ids: set[str],
    org_ids: set[str],
    indicator_ids: set[str],
) -> None:
    dataset_id = str(entry.get("id") or "")
    title_nl, title_en = _text(entry, "title", where, problems)
    description_nl, description_en = _text(entry, "description", where, problems)
    if entry.get("licence") not in licence_ids:
        problems.append(f"{where}: unknown licence {entry.get('licence')!r}")
    access_level = entry.get("access_level", "public")
    if access_level not in ACCESS_LEVELS:
        problems.append(f"{where}: access_level {access_level!r} is not one of {ACCESS_LEVELS}")
    geo_version = str(entry.get("geo_version") or "")
    if not any(v.id == geo_version for v in geo_repository.list_versions(session)):
        problems.append(f"{where}: unknown geography version {geo_version!r}")
    temporal = entry.get("temporal") or {}
    contact = entry.get("contact") or {}
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "title_nl": title_nl,
        "title_en": title_en,
        "description_nl": description_nl,
        "description_en": description_en,
        "keywords": entry.get("keywords") or {},
        "themes": list(entry.get("themes") or []),
        "licence_id": entry.get("licence"),
        "access_level": access_level,
        "frequency": entry.get("frequency"),
        "geo_version": geo_version,
        "temporal_start": _as_date(temporal.get("start")),
        "temporal_end": _as_date(temporal.get("end")),
        "spatial": list(entry.get("spatial") or []),
        "contact_name": contact.get("name"),
        "contact_email": contact.get("email"),
        "source": entry.get("source") or {},
        "version": str(entry["version"]) if entry.get("version") is not None else None,
    }
    if problems:
        return
    existing = session.get(Dataset, dataset_id)
    # Seeded before (migration 0019) without a record of what: the entry counts as applied.
    last = None if existing is None else existing.seed_applied or {}
    if last is None:
        wanted = values | {"issued": now, "modified": now}
    else:
        before = last.get("values", {})
        wanted = {n: v for n, v in values.items() if _plain(v) != before.get(n, _plain(v))}
    outcome = repository.upsert(session, Dataset, dataset_id, wanted)
    session.flush()

    indicators = [str(i) for i in entry.get("indicators") or []]
    for indicator in indicators:
        if indicator not in indicator_ids:
            problems.append(f"{where}: unknown indicator {indicator!r}")
    roles: list[tuple[str, str, list[str]]] = []
    publishers = 0
    for role in entry.get("roles") or []:
        organisation, name = role.get("organisation"), role.get("role")
        if organisation not in org_ids:
            problems.append(f"{where}: unknown organisation {organisation!r}")
        if name not in ROLES:
            problems.append(f"{where}: role {name!r} is not one of {ROLES}")
        publishers += name == "publisher"
        roles.append((str(organisation), str(name), [str(t) for t in role.get("territory") or []]))
    if publishers != 1:
        problems.append(f"{where}: needs exactly one publisher, has {publishers}")
    if problems:
        return

    geography_loaded = geo_repository.has_units(session, geo_version)
    territories: dict[tuple[str, str], list[int]] = {}
    # The territories as applied: the units found (an entry applied before its geography was
    # loaded has its territory set once it is).
    placed: dict[str, list[str]] = {}
    for organisation, name, territory in roles:
        unit_ids = []
        found = []
        for ref in territory:
            level, _, code = ref.partition(":")
            unit = geo_repository.get_unit(session, level, code, geo_version)
            if unit is not None:
                unit_ids.append(unit.id)
                found.append(ref)
            elif geography_loaded:
                problems.append(f"{where}: territory unit {ref!r} not in version {geo_version}")
            else:
                report.warnings.append(
                    f"{where}: territory {ref} of {organisation} left empty until the "
                    f"{geo_version} geography is loaded"
                )
        territories[(organisation, name)] = unit_ids
        placed[f"{organisation} {name}"] = sorted(found)
    if problems:
        return

    # What the entry changed since it was last applied (all of it for a new dataset): the
    # owners' changes through the API in between are kept.
    applied = {
        "values": {n: _plain(v) for n, v in values.items()},
        "indicators": indicators,
        "roles": placed,
    }
    if last is None:
        links_changed = repository.sync_dataset_indicators(session, dataset_id, indicators)
        roles_changed = repository.sync_roles(session, dataset_id, territories)
    else:
        links_changed = indicators != last.get("indicators", indicators) and (
            repository.sync_dataset_indicators(session, dataset_id, indicators)
        )
        placed_before: dict[str, list[str]] = last.get("roles", placed)
        roles_changed = repository.sync_roles(
            session,
            dataset_id,
            {
                key: units
                for key, units in territories.items()
                if placed_before.get(f"{key[0]} {key[1]}") != placed[f"{key[0]} {key[1]}"]
            },
            removed={
                (organisation, name)
                for organisation, _, name in (key.partition(" ") for key in placed_before)
                if f"{organisation} {name}" not in placed
            },
        )
    if outcome is None and (links_changed or roles_changed):
        outcome = "updated"
    dataset = session.get(Dataset, dataset_id)
    assert dataset is not None
    if dataset.seed_applied != applied:
        dataset.seed_applied = applied
    if outcome is not None:
        # Dated when readers can see it: at the commit of the seed, which goes on for minutes
        # with the values (a harvester asking modified_since meanwhile saw nothing of it).
        dataset.modified = now
        stamp_at_commit(session, dataset, "modified")
        if last is None:
            stamp_at_commit(session, dataset, "issued")
    report.count("datasets", outcome)


def _plain(value: Any) -> Any:
    """A seed value as JSON stores it (dates as ISO text), to compare with the last applied."""
    return value.isoformat() if isinstance(value, date) else value
