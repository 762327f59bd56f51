"""Geography logic: resolving `level:code` references and describing units."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy.orm import Session

from app.db import queries
from app.errors import InvalidParameter, NotFound
from app.geo import repository
from app.geo.levels import LEVELS, Level
from app.geo.models import GeoUnit
from app.geo.names import spaced, without_accents
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


def version_hint(versions: Sequence[str]) -> str:
    """Where to ask instead: "; it exists in version … (add version=…)", or "" for nowhere."""
    return f"; it exists in version {', '.join(versions)} (add version=…)" if versions else ""


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
        hint = ""
        if version:
            held = repository.versions_of_unit(session, level, code)
            hint = version_hint(held) + successor_hint(session, level, code, version, held)
        raise NotFound(
            f"geographic unit {level}:{code} not found{where}{hint}", unit=f"{level}:{code}"
        )
    return unit


def successor_hint(
    session: Session, level: str, code: str, version: str, held: Sequence[str]
) -> str:
    """What the unit of an earlier version became in ``version`` (a municipality merged in
    2025 continues in its successor), or "" when nothing; ``held``: the versions that have
    the unit (``repository.versions_of_unit``)."""
    versions = [v for v in held if v != version]
    older = repository.get_unit(session, level, code, versions[-1]) if versions else None
    became = [
        f"{u.level}:{u.code}"
        for u in (repository.successors(session, older.id) if older is not None else [])
        if u.version == version
    ]
    return f" (in version {version} it is part of {', '.join(became)})" if became else ""


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


_LEVEL_RANK = {info.level.value: rank for rank, info in enumerate(LEVELS)}


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
    # From the smallest to the largest, then the regionalisations (the order of LEVELS): a
    # place page listed them alphabetically by code (arrondissement, stadsregio, gemeente…).
    ancestors = sorted(
        repository.ancestors(session, unit.id),
        key=lambda a: (_LEVEL_RANK.get(a.level, len(_LEVEL_RANK)), a.code),
    )
    parents = {a.level: unit_out(a) for a in ancestors}
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
    # "sint niklaas" and "Gënt" find Sint-Niklaas and Gent, as in the search box.
    names = sorted({spaced(q), spaced(without_accents(q))} - {""}) if q else []
    stmt = repository.units_query(
        level=level, version=version, within_id=within_id, q=q, names=names
    )
    total = queries.count(session, stmt)
    return [unit_out(u) for u in queries.page(session, stmt, offset, limit)], total


@dataclass(frozen=True)
class GeoJsonDocument:
    """A GeoJSON answer ready to send (also gzip-compressed), with the validator that
    identifies its content."""

    body: bytes
    etag: str
    gzipped: bytes


# Built answers per database, request and geometry stamp: drawing all sectors costs seconds,
# and maps ask for the same few layers again and again (and revalidate with If-None-Match).
_DOCUMENTS: dict[tuple[object, ...], GeoJsonDocument] = {}
_DOCUMENTS_LOCK = threading.Lock()
_MAX_DOCUMENTS = 64


def _cached(
    session: Session, key: tuple[object, ...], build: Callable[[], GeoJsonDocument]
) -> GeoJsonDocument:
    full_key = (str(session.get_bind().engine.url), *key, *repository.geometry_stamp(session))
    with _DOCUMENTS_LOCK:
        found = _DOCUMENTS.get(full_key)
    if found is not None:
        return found
    document = build()
    with _DOCUMENTS_LOCK:
        if len(_DOCUMENTS) >= _MAX_DOCUMENTS:
            _DOCUMENTS.clear()
        _DOCUMENTS[full_key] = document
    return document


def _feature(unit: GeoUnit, geojson: str) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": f"{unit.level}:{unit.code}",
        "properties": {
            "code": unit.code,
            "name": unit.name,
            "level": unit.level,
            "version": unit.version,
        },
        # Stored as GeoJSON text: written out as is, never parsed again.
        "geometry": orjson.Fragment(geojson),
    }


def _document(content: dict[str, object]) -> GeoJsonDocument:
    body = orjson.dumps(content)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return GeoJsonDocument(body, etag, gzip.compress(body, compresslevel=6, mtime=0))


def _attribution(session: Session, source_ids: set[str]) -> list[dict[str, str]]:
    return [
        {"source": s.id, "credit": s.credit, "licence": s.licence}
        for s in repository.boundary_sources(session, source_ids)
    ]


def unit_geometry(session: Session, level: str, code: str, version: str | None) -> GeoJsonDocument:
    """One unit's boundary as a GeoJSON Feature (RFC 7946), with its credit line. Without a
    version: the latest version in which the unit has a shape."""
    if level not in LEVEL_NAMES:
        raise NotFound(f"unknown level {level!r}", level=level)
    if version is not None:
        check_version(session, version)
    unit = resolve_unit(session, f"{level}:{code}", version, "code")
    candidates = [version] if version else repository.versions_of_unit(session, level, code)[::-1]
    for candidate in candidates:
        rows = repository.geometry_rows(
            session, level=level, version=candidate, within_id=None, code=code
        )
        if rows and rows[0][1] is not None and rows[0][2] is not None:
            found, geojson, source = rows[0][0], rows[0][1], rows[0][2]
            return _document(
                {**_feature(found, geojson), "attribution": _attribution(session, {source})}
            )
    raise NotFound(
        f"{level}:{code} has no geometry in version {version or unit.version}: the boundary "
        "files have no shape for it (see the README, 'Boundaries')",
        unit=f"{level}:{code}",
    )


def boundaries(
    session: Session, *, level: str, version: str | None, within: str | None
) -> GeoJsonDocument:
    """Every unit of a level (in a version, optionally inside ``within``) as a GeoJSON
    FeatureCollection; units without a shape are listed in ``without_geometry``."""
    return _cached(
        session,
        ("boundaries", level, version, within),
        lambda: _boundaries(session, level=level, version=version, within=within),
    )


def _boundaries(
    session: Session, *, level: str, version: str | None, within: str | None
) -> GeoJsonDocument:
    check_level(level)
    if version is not None:
        check_version(session, version)
    if version is None:
        # The latest version that has shapes for this level (2025 sectors have none) and, with
        # `within`, has that unit too; else the unit's own latest version.
        drawn = repository.geometry_versions(session, level)
        if within is not None:
            within_level, within_code = parse_unit_ref(within, "within")
            have = set(repository.versions_of_unit(session, within_level, within_code))
            drawn = [v for v in drawn if v in have]
        version = drawn[-1] if drawn else None
    within_id = None
    if within is not None:
        container = resolve_unit(session, within, version, "within")
        within_id, version = container.id, container.version
    version = version or repository.latest_version(session)
    rows = repository.geometry_rows(
        session, level=level, version=version or "", within_id=within_id, code=None
    )
    features = [_feature(unit, geojson) for unit, geojson, _ in rows if geojson is not None]
    sources = {source for _, _, source in rows if source is not None}
    missing = [{"code": unit.code, "name": unit.name} for unit, geojson, _ in rows if not geojson]
    return _document(
        {
            "type": "FeatureCollection",
            "level": level,
            "version": version,
            "attribution": _attribution(session, sources),
            "without_geometry": missing,
            "features": features,
        }
    )
