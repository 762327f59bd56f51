"""Geography logic: resolving `level:code` references and describing units."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.db import queries
from app.errors import InvalidParameter, NotFound
from app.geo import repository
from app.geo.levels import LEVELS, Level
from app.geo.models import GeoUnit
from app.geo.schemas import LevelOut, UnitDetail, UnitOut, VersionOut

LEVEL_NAMES = {info.level.value for info in LEVELS}
REGIONALISATIONS = {Level.REFERENTIEREGIO, Level.VERVOERREGIO, Level.CITYREGION}
GEMEENTE_URI = "https://data.vlaanderen.be/id/gemeente/{code}"


def unit_out(unit: GeoUnit) -> UnitOut:
    return UnitOut(
        id=f"{unit.level}:{unit.code}",
        code=unit.code,
        level=unit.level,
        version=unit.version,
        name=unit.name,
        not_localisable=unit.not_localisable,
        uri=GEMEENTE_URI.format(code=unit.code) if unit.level == Level.MUNICIPALITY else None,
    )


def check_level(level: str, parameter: str = "level") -> str:
    if level not in LEVEL_NAMES:
        raise InvalidParameter(
            parameter, f"unknown level {level!r}; known levels: {', '.join(sorted(LEVEL_NAMES))}"
        )
    return level


def check_version(session: Session, version: str, parameter: str = "version") -> str:
    known = [v.id for v in repository.list_versions(session)]
    if version not in known:
        raise InvalidParameter(
            parameter, f"unknown geography version {version!r}; known: {', '.join(known)}"
        )
    return version


def parse_unit_ref(ref: str, parameter: str) -> tuple[str, str]:
    level, sep, code = ref.partition(":")
    if not sep or not code:
        raise InvalidParameter(
            parameter, f"{parameter} must be 'level:code', e.g. municipality:44021; got {ref!r}"
        )
    return check_level(level, parameter), code


def resolve_unit(session: Session, ref: str, version: str | None, parameter: str) -> GeoUnit:
    """Find `level:code` in the given version, or in the latest version that has it."""
    level, code = parse_unit_ref(ref, parameter)
    if version is not None:
        unit = repository.get_unit(session, level, code, version)
    else:
        versions = repository.versions_of_unit(session, level, code)
        unit = repository.get_unit(session, level, code, versions[-1]) if versions else None
    if unit is None:
        where = f" in version {version}" if version else ""
        raise NotFound(f"geographic unit {level}:{code} not found{where}", unit=f"{level}:{code}")
    return unit


def list_levels(session: Session) -> list[LevelOut]:
    counts = repository.level_counts(session)
    return [
        LevelOut(
            level=info.level.value,
            name_nl=info.name_nl,
            name_en=info.name_en,
            description=info.description,
            administrative=info.administrative,
            versions=counts.get(info.level.value, {}),
        )
        for info in LEVELS
    ]


def list_versions(session: Session) -> list[VersionOut]:
    return [
        VersionOut(
            id=v.id,
            label=v.label,
            valid_from=v.valid_from,
            valid_to=v.valid_to,
        )
        for v in repository.list_versions(session)
    ]


def describe_unit(session: Session, level: str, code: str, version: str | None) -> UnitDetail:
    if level not in LEVEL_NAMES:
        raise NotFound(
            f"unknown level {level!r}; known levels: {', '.join(sorted(LEVEL_NAMES))}",
            level=level,
        )
    if version is not None:
        check_version(session, version)
    unit = resolve_unit(session, f"{level}:{code}", version, "code")
    parent = session.get(GeoUnit, unit.parent_id) if unit.parent_id else None
    parents = {a.level: unit_out(a) for a in repository.ancestors(session, unit.id)}
    members = None
    definition = None
    if unit.level in REGIONALISATIONS:
        members = [unit_out(m) for m in repository.members(session, unit.id, Level.MUNICIPALITY)]
        city_region = repository.city_region(session, unit.id)
        definition = list(city_region.members) if city_region else None
    return UnitDetail(
        **unit_out(unit).model_dump(),
        parent=unit_out(parent) if parent else None,
        parents=parents,
        children_count=repository.children_count(session, unit.id),
        member_counts=repository.member_counts(session, unit.id),
        members=members,
        definition=definition,
        successors=[unit_out(u) for u in repository.successors(session, unit.id)],
        predecessors=[unit_out(u) for u in repository.predecessors(session, unit.id)],
        versions=repository.versions_of_unit(session, unit.level, unit.code),
    )


def search_units(
    session: Session,
    *,
    level: str | None,
    version: str | None,
    within: str | None,
    q: str | None,
    offset: int,
    limit: int,
) -> tuple[list[UnitOut], int]:
    if level is not None:
        check_level(level)
    if version is not None:
        check_version(session, version)
    within_id = None
    if within is not None:
        container = resolve_unit(session, within, version, "within")
        within_id = container.id
        version = container.version
    stmt = repository.units_query(level=level, version=version, within_id=within_id, q=q)
    total = queries.count(session, stmt)
    return [unit_out(u) for u in queries.page(session, stmt, offset, limit)], total
