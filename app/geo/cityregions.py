"""City-regions: one per centre city, defined in ``seeds/cityregions.yaml`` as a set of units
(by default the city's referentieregio). Each becomes a ``cityregion`` unit whose members are
every sector and municipality inside the listed units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from app.errors import SourceDataError
from app.geo import repository
from app.geo.levels import Level


def load_city_regions(session: Session, path: Path, organisation_ids: set[str]) -> list[str]:
    """Apply the definitions; returns warnings, raises on a definition that cannot hold."""
    with path.open(encoding="utf-8") as handle:
        entries: list[dict[str, Any]] = yaml.safe_load(handle) or []
    problems: list[str] = []
    warnings: list[str] = []
    for entry in entries:
        where = f"{path.name}: {entry.get('id')}"
        version = str(entry.get("version") or "")
        if not repository.has_units(session, version):
            warnings.append(f"{where}: skipped until the {version} geography is loaded")
            continue
        if entry.get("city") not in organisation_ids:
            problems.append(f"{where}: unknown city organisation {entry.get('city')!r}")
            continue
        members = [str(m) for m in entry.get("members") or []]
        member_ids: list[int] = []
        for member in members:
            level, _, code = member.partition(":")
            unit = repository.get_unit(session, level, code, version)
            if unit is None:
                problems.append(f"{where}: member {member!r} not found in version {version}")
            else:
                member_ids.append(unit.id)
        if not members:
            problems.append(f"{where}: has no members")
        names = entry.get("name") or {}
        name = names.get("nl") or str(entry["id"])
        if not problems:
            repository.save_city_region(
                session,
                (version, Level.CITYREGION, str(entry["id"])),
                (name, names.get("en") or None),
                str(entry["city"]),
                members,
                member_ids,
            )
    if problems:
        raise SourceDataError(problems)
    return warnings
