"""All queries on the geography tables."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, aliased

from app.db.bulk import bulk_insert
from app.db.queries import LIKE_ESCAPE, contains_pattern, prefix_pattern
from app.geo.levels import Level
from app.geo.models import (
    BoundarySource,
    CityRegion,
    GeoGeometry,
    GeoSuccessor,
    GeoUnit,
    GeoUnitAncestor,
    GeoVersion,
)

UnitKey = tuple[str, str, str]


def upsert_version(
    session: Session,
    version: str,
    label: str,
    valid_from: date,
    valid_to: date | None,
    successor_version: str | None = None,
) -> None:
    row = session.get(GeoVersion, version)
    wanted = (label, valid_from, valid_to, successor_version)
    if row is None:
        session.add(
            GeoVersion(
                id=version,
                label=label,
                valid_from=valid_from,
                valid_to=valid_to,
                successor_version=successor_version,
            )
        )
    elif (row.label, row.valid_from, row.valid_to, row.successor_version) != wanted:
        row.label, row.valid_from, row.valid_to, row.successor_version = wanted
    session.flush()


def list_versions(session: Session) -> Sequence[GeoVersion]:
    return session.scalars(select(GeoVersion).order_by(GeoVersion.id)).all()


def latest_version(session: Session) -> str | None:
    """The version no other version succeeds (the most recent one if several end a chain)."""
    return session.scalar(
        select(GeoVersion.id)
        .where(GeoVersion.successor_version.is_(None))
        .order_by(GeoVersion.valid_from.desc(), GeoVersion.id.desc())
        .limit(1)
    )


def version_chain(session: Session, version: str) -> list[str]:
    """``version`` and every version that succeeds it, in order (the last is the latest)."""
    successor_of = dict(session.execute(select(GeoVersion.id, GeoVersion.successor_version)).all())
    chain = [version]
    while (following := successor_of.get(chain[-1])) is not None and following not in chain:
        chain.append(following)
    return chain


def unit_index(session: Session, versions: Iterable[str]) -> dict[UnitKey, GeoUnit]:
    rows = session.scalars(select(GeoUnit).where(GeoUnit.version.in_(list(versions))))
    return {(u.version, u.level, u.code): u for u in rows}


def add_unit(
    session: Session, key: UnitKey, name: str, parent_id: int | None, not_localisable: bool
) -> GeoUnit:
    unit = GeoUnit(
        version=key[0],
        level=key[1],
        code=key[2],
        name=name,
        parent_id=parent_id,
        not_localisable=not_localisable,
    )
    session.add(unit)
    return unit


def sync_ancestors(
    session: Session, scope: set[int], wanted: set[tuple[int, int]]
) -> tuple[int, int]:
    """Make the ancestor links among ``scope`` units exactly ``wanted``.

    Returns (added, deleted).
    """
    existing = {
        (a.unit_id, a.ancestor_id)
        for a in session.execute(select(GeoUnitAncestor.unit_id, GeoUnitAncestor.ancestor_id))
        if a.unit_id in scope and a.ancestor_id in scope
    }
    return _sync_pairs(session, GeoUnitAncestor, "unit_id", "ancestor_id", existing, wanted)


def sync_successors(
    session: Session, scope: set[int], wanted: set[tuple[int, int]]
) -> tuple[int, int]:
    existing = {
        (s.predecessor_id, s.successor_id)
        for s in session.execute(select(GeoSuccessor.predecessor_id, GeoSuccessor.successor_id))
        if s.predecessor_id in scope
    }
    return _sync_pairs(session, GeoSuccessor, "predecessor_id", "successor_id", existing, wanted)


PAIRS_PER_STATEMENT = 500


def _sync_pairs(
    session: Session,
    model: type[GeoUnitAncestor] | type[GeoSuccessor],
    left: str,
    right: str,
    existing: set[tuple[int, int]],
    wanted: set[tuple[int, int]],
) -> tuple[int, int]:
    to_add = sorted(wanted - existing)
    to_delete = sorted(existing - wanted)
    # A few statements, not one per link: a geography holds 170,000 of them, and on
    # PostgreSQL every statement on these tables also bumps the geography's change counter
    # (migration 0014): one row updated 170,000 times in one transaction, whose earlier
    # versions no update can prune before the commit (a real load took 549 s, not 14).
    table = model.__table__
    assert isinstance(table, Table)
    bulk_insert(session, table, (left, right), to_add)
    pair = tuple_(getattr(model, left), getattr(model, right))
    for start in range(0, len(to_delete), PAIRS_PER_STATEMENT):
        session.execute(
            delete(model).where(pair.in_(to_delete[start : start + PAIRS_PER_STATEMENT]))
        )
    return len(to_add), len(to_delete)


def get_unit(session: Session, level: str, code: str, version: str) -> GeoUnit | None:
    return session.scalar(
        select(GeoUnit).where(
            GeoUnit.level == level, GeoUnit.code == code, GeoUnit.version == version
        )
    )


def versions_of_unit(session: Session, level: str, code: str) -> list[str]:
    """The versions that have ``level:code``, oldest first (by validity, not by name)."""
    return list(
        session.scalars(
            select(GeoUnit.version)
            .join(GeoVersion, GeoVersion.id == GeoUnit.version)
            .where(GeoUnit.level == level, GeoUnit.code == code)
            .order_by(GeoVersion.valid_from, GeoVersion.id)
        )
    )


def code_in_other_case(session: Session, level: str, code: str) -> str | None:
    """The code of a ``level`` unit written as ``code`` is in another case (``46021a001`` for
    ``46021A001``), in any version; None when there is none."""
    return session.scalar(
        select(GeoUnit.code)
        .where(GeoUnit.level == level, func.upper(GeoUnit.code) == code.upper())
        .limit(1)
    )


def units_query(
    *,
    level: str | None,
    version: str | None,
    within_id: int | None,
    q: str | None,
    names: Sequence[str] = (),
) -> Select[GeoUnit]:
    """The units asked for, in order; ``q`` a part of the name (lower case) or code, taken
    literally, or one of ``names`` a part of the name as :func:`_spaced_name` writes it."""
    stmt = select(GeoUnit)
    if level:
        stmt = stmt.where(GeoUnit.level == level)
    if version:
        stmt = stmt.where(GeoUnit.version == version)
    if within_id is not None:
        stmt = stmt.where(
            GeoUnit.id.in_(
                select(GeoUnitAncestor.unit_id).where(GeoUnitAncestor.ancestor_id == within_id)
            )
        )
    if q:
        stmt = stmt.where(
            or_(
                func.lower(GeoUnit.name).like(contains_pattern(q), escape=LIKE_ESCAPE),
                func.lower(GeoUnit.code).like(contains_pattern(q), escape=LIKE_ESCAPE),
                *(_spaced_name().like(contains_pattern(n), escape=LIKE_ESCAPE) for n in names),
            )
        )
    return stmt.order_by(GeoUnit.version, GeoUnit.level, GeoUnit.code)


def _spaced_name() -> ColumnElement[str]:
    """The unit's name lower-cased with its hyphens as spaces, one space between words:
    "Brugse Poort - Rooigem" as "brugse poort rooigem" (see app.geo.names.spaced)."""
    return func.replace(
        func.replace(func.replace(func.lower(GeoUnit.name), "-", " "), "   ", " "), "  ", " "
    )


def ancestors(session: Session, unit_id: int) -> list[GeoUnit]:
    stmt = (
        select(GeoUnit)
        .join(GeoUnitAncestor, GeoUnitAncestor.ancestor_id == GeoUnit.id)
        .where(GeoUnitAncestor.unit_id == unit_id)
        .order_by(GeoUnit.level, GeoUnit.code)
    )
    return list(session.scalars(stmt))


def not_localisable_codes(session: Session, level: str, version: str) -> set[str]:
    """The codes of the units of a level that have no place on a map (the "…ZZZZ" sectors)."""
    stmt = select(GeoUnit.code).where(
        GeoUnit.level == level, GeoUnit.version == version, GeoUnit.not_localisable.is_(True)
    )
    return set(session.scalars(stmt))


def region_containing(session: Session, unit_id: int) -> GeoUnit | None:
    """The region a unit lies in, by its sectors: a regionalisation (a city-region) has no
    region among its own ancestors."""
    inside = aliased(GeoUnitAncestor)
    up = aliased(GeoUnitAncestor)
    stmt = (
        select(GeoUnit)
        .join(up, up.ancestor_id == GeoUnit.id)
        .join(inside, inside.unit_id == up.unit_id)
        .where(inside.ancestor_id == unit_id, GeoUnit.level == Level.REGION)
        .limit(1)
    )
    return session.scalars(stmt).first()


def children_count(session: Session, unit_id: int) -> int:
    return session.scalar(select(func.count()).where(GeoUnit.parent_id == unit_id)) or 0


def member_counts(session: Session, unit_id: int) -> dict[str, int]:
    """How many units of each level lie inside this unit."""
    stmt = (
        select(GeoUnit.level, func.count())
        .join(GeoUnitAncestor, GeoUnitAncestor.unit_id == GeoUnit.id)
        .where(GeoUnitAncestor.ancestor_id == unit_id)
        .group_by(GeoUnit.level)
    )
    return dict(session.execute(stmt).all())


def members(session: Session, unit_id: int, level: str) -> list[GeoUnit]:
    stmt = (
        select(GeoUnit)
        .join(GeoUnitAncestor, GeoUnitAncestor.unit_id == GeoUnit.id)
        .where(GeoUnitAncestor.ancestor_id == unit_id, GeoUnit.level == level)
        .order_by(GeoUnit.code)
    )
    return list(session.scalars(stmt))


def successors(session: Session, unit_id: int) -> list[GeoUnit]:
    stmt = (
        select(GeoUnit)
        .join(GeoSuccessor, GeoSuccessor.successor_id == GeoUnit.id)
        .where(GeoSuccessor.predecessor_id == unit_id)
        .order_by(GeoUnit.version, GeoUnit.code)
    )
    return list(session.scalars(stmt))


def predecessors(session: Session, unit_id: int) -> list[GeoUnit]:
    stmt = (
        select(GeoUnit)
        .join(GeoSuccessor, GeoSuccessor.predecessor_id == GeoUnit.id)
        .where(GeoSuccessor.successor_id == unit_id)
        .order_by(GeoUnit.version, GeoUnit.code)
    )
    return list(session.scalars(stmt))


def city_region(session: Session, unit_id: int) -> CityRegion | None:
    return session.get(CityRegion, unit_id)


def units_inside(session: Session, unit_ids: Sequence[int]) -> set[int]:
    """Ids of every unit that lies inside any of ``unit_ids`` (not the units themselves)."""
    anc = aliased(GeoUnitAncestor)
    stmt = select(anc.unit_id).where(anc.ancestor_id.in_(list(unit_ids)))
    return set(session.scalars(stmt))


def has_units_inside(session: Session, ancestor_id: int, level: str, version: str) -> bool:
    """Whether any unit of ``level`` in ``version`` lies inside the unit ``ancestor_id``."""
    stmt = (
        select(GeoUnitAncestor.unit_id)
        .join(GeoUnit, GeoUnit.id == GeoUnitAncestor.unit_id)
        .where(
            GeoUnitAncestor.ancestor_id == ancestor_id,
            GeoUnit.level == level,
            GeoUnit.version == version,
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def units_sharing_sectors(session: Session, unit_ids: Sequence[int]) -> set[int]:
    """Ids of the units of ``unit_ids`` that have a sector in common with another of them:
    units that overlap without one lying inside the other, such as two city-regions made of
    one referentieregio, or a province and a vervoerregio. Two units share a sector exactly
    when they share any unit below them (or one is below the other): the pairs (unit below,
    listed unit) are read by the ancestor index alone and compared here (a join to the
    units' levels, or grouping in SQLite, took seconds for 100 municipalities)."""
    ids = list(unit_ids)
    below = select(GeoUnitAncestor.unit_id, GeoUnitAncestor.ancestor_id).where(
        GeoUnitAncestor.ancestor_id.in_(ids)
    )
    pairs = [(unit, unit) for unit in ids]
    pairs += [(inside, unit) for inside, unit in session.execute(below)]
    first_unit: dict[int, int] = {}
    sharing: set[int] = set()
    for inside, unit in pairs:
        seen = first_unit.setdefault(inside, unit)
        if seen != unit:
            sharing.update((seen, unit))
    return sharing


def save_city_region(
    session: Session,
    key: UnitKey,
    names: tuple[str, str | None],
    organisation_id: str,
    members: list[str],
    member_ids: list[int],
) -> bool:
    """Create or update a city-region unit (``names``: Dutch, English) and its membership;
    returns whether anything changed."""
    name, name_en = names
    unit = get_unit(session, key[1], key[2], key[0])
    changed = False
    if unit is None:
        unit = add_unit(session, key, name, None, False)
        session.flush()
        changed = True
    elif unit.name != name:
        unit.name = name
        changed = True
    definition = session.get(CityRegion, unit.id)
    if definition is None:
        session.add(
            CityRegion(
                unit_id=unit.id, organisation_id=organisation_id, members=members, name_en=name_en
            )
        )
        changed = True
    elif (definition.organisation_id, definition.members, definition.name_en) != (
        organisation_id,
        members,
        name_en,
    ):
        definition.organisation_id, definition.members = organisation_id, members
        definition.name_en = name_en
        changed = True
    inside = units_inside(session, member_ids) | set(member_ids)
    wanted = {(u, unit.id) for u in inside}
    existing = {
        (unit_id, unit.id)
        for unit_id in session.scalars(
            select(GeoUnitAncestor.unit_id).where(GeoUnitAncestor.ancestor_id == unit.id)
        )
    }
    added, deleted = _sync_pairs(
        session, GeoUnitAncestor, "unit_id", "ancestor_id", existing, wanted
    )
    session.flush()
    return changed or bool(added or deleted)


def has_units(session: Session, version: str) -> bool:
    return session.scalar(select(GeoUnit.id).where(GeoUnit.version == version).limit(1)) is not None


def has_level(session: Session, level: str, version: str) -> bool:
    stmt = select(GeoUnit.id).where(GeoUnit.level == level, GeoUnit.version == version).limit(1)
    return session.scalar(stmt) is not None


def level_counts(session: Session) -> dict[str, dict[str, int]]:
    stmt = select(GeoUnit.level, GeoUnit.version, func.count()).group_by(
        GeoUnit.level, GeoUnit.version
    )
    result: dict[str, dict[str, int]] = {}
    for level, version, n in session.execute(stmt):
        result.setdefault(level, {})[version] = n
    return result


def units_by_code(
    session: Session, version: str, levels: Sequence[str]
) -> dict[tuple[str, str], GeoUnit]:
    stmt = select(GeoUnit).where(GeoUnit.version == version, GeoUnit.level.in_(list(levels)))
    return {(u.level, u.code): u for u in session.scalars(stmt)}


def upsert_boundary_source(
    session: Session, source_id: str, credit: str, licence: str, digest: str
) -> None:
    row = session.get(BoundarySource, source_id)
    if row is None:
        session.add(BoundarySource(id=source_id, credit=credit, licence=licence, digest=digest))
        session.flush()
    elif (row.credit, row.licence, row.digest) != (credit, licence, digest):
        row.credit, row.licence, row.digest = credit, licence, digest


def geometries_of_source(session: Session, source_id: str) -> dict[int, str]:
    stmt = select(GeoGeometry.unit_id, GeoGeometry.geojson).where(
        GeoGeometry.source_id == source_id
    )
    return {row.unit_id: row.geojson for row in session.execute(stmt)}


def add_geometries(session: Session, source_id: str, rows: Sequence[tuple[int, str]]) -> None:
    if rows:
        session.execute(
            insert(GeoGeometry),
            [{"unit_id": u, "source_id": source_id, "geojson": g} for u, g in rows],
        )


def geometry_stamp(session: Session) -> tuple[object, ...]:
    """Changes whenever the stored shapes do (the digests of the files they came from, and
    their number): cheap enough to ask on every request, so a cached answer is never stale."""
    digests = session.execute(
        select(BoundarySource.id, BoundarySource.digest).order_by(BoundarySource.id)
    ).all()
    shapes = session.scalar(select(func.count()).select_from(GeoGeometry)) or 0
    return (*(f"{source}:{digest}" for source, digest in digests), shapes)


def update_geometry(session: Session, unit_id: int, source_id: str, geojson: str) -> None:
    session.execute(
        update(GeoGeometry)
        .where(GeoGeometry.unit_id == unit_id)
        .values(source_id=source_id, geojson=geojson)
    )


def geometry_rows(
    session: Session, *, level: str, version: str, within_id: int | None, code: str | None
) -> list[tuple[GeoUnit, str | None, str | None]]:
    """Units of ``level`` in ``version`` (optionally inside ``within_id``, or only the one with
    ``code``) with their geometry and its source, if any; not-localisable units left out."""
    stmt = (
        select(GeoUnit, GeoGeometry.geojson, GeoGeometry.source_id)
        .outerjoin(GeoGeometry, GeoGeometry.unit_id == GeoUnit.id)
        .where(GeoUnit.level == level, GeoUnit.version == version)
        .where(GeoUnit.not_localisable.is_(False))
    )
    if code is not None:
        stmt = stmt.where(GeoUnit.code == code)
    if within_id is not None:
        stmt = stmt.where(
            GeoUnit.id.in_(
                select(GeoUnitAncestor.unit_id).where(GeoUnitAncestor.ancestor_id == within_id)
            )
        )
    return [(u, g, s) for u, g, s in session.execute(stmt.order_by(GeoUnit.code))]


def boundary_sources(session: Session, source_ids: Iterable[str]) -> list[BoundarySource]:
    stmt = select(BoundarySource).where(BoundarySource.id.in_(sorted(set(source_ids))))
    return list(session.scalars(stmt.order_by(BoundarySource.id)))


def geometry_versions(session: Session, level: str) -> list[str]:
    """Versions that have geometry for ``level``, oldest first."""
    stmt = (
        select(GeoUnit.version)
        .join(GeoGeometry, GeoGeometry.unit_id == GeoUnit.id)
        .join(GeoVersion, GeoVersion.id == GeoUnit.version)
        .where(GeoUnit.level == level)
        .group_by(GeoUnit.version, GeoVersion.valid_from)
        .order_by(GeoVersion.valid_from)
    )
    return list(session.scalars(stmt))


def sector_counts(session: Session, unit_ids: Sequence[int]) -> dict[int, float]:
    """How many sectors each unit stands for: those it contains, or 1 for a sector."""
    return {
        unit: float(len(inside) or 1) for unit, inside in sectors_within(session, unit_ids).items()
    }


def sectors_within(session: Session, unit_ids: Sequence[int]) -> dict[int, list[int]]:
    """The sectors each unit contains (of its own version)."""
    sector = aliased(GeoUnit)
    inside: dict[int, list[int]] = {unit: [] for unit in unit_ids}
    rows = session.execute(
        select(GeoUnitAncestor.ancestor_id, GeoUnitAncestor.unit_id)
        .join(sector, sector.id == GeoUnitAncestor.unit_id)
        .where(GeoUnitAncestor.ancestor_id.in_(list(unit_ids)), sector.level == Level.SECTOR)
        .order_by(GeoUnitAncestor.ancestor_id, GeoUnitAncestor.unit_id)
    )
    for unit, sector_id in rows:
        inside[unit].append(sector_id)
    return inside


def places_by_name(
    session: Session,
    names: Sequence[str],
    code: str,
    version: str,
    levels: Sequence[str],
    limit: int,
    preferred: Collection[str] = (),
) -> list[GeoUnit]:
    """The first ``limit`` units of ``levels`` in ``version`` whose name, lower-cased with its
    hyphens as spaces, holds one of ``names`` (literally), or whose code starts with
    ``code``; localisable only. Within a level, the names that start with what was typed
    come first, then the units whose code is ``preferred``, then by name."""
    spaced_name = _spaced_name()
    # The best first, before the limit: by level in the order given, and in a level the
    # names that start with what was typed (or the code).
    starts = or_(
        func.lower(GeoUnit.code).like(prefix_pattern(code), escape=LIKE_ESCAPE),
        *(spaced_name.like(prefix_pattern(n), escape=LIKE_ESCAPE) for n in names),
    )
    level_order = case({level: rank for rank, level in enumerate(levels)}, value=GeoUnit.level)
    stmt = select(GeoUnit).where(
        GeoUnit.version == version,
        GeoUnit.level.in_(list(levels)),
        GeoUnit.not_localisable.is_(False),
        or_(
            func.lower(GeoUnit.code).like(prefix_pattern(code), escape=LIKE_ESCAPE),
            *(spaced_name.like(contains_pattern(n), escape=LIKE_ESCAPE) for n in names),
        ),
    )
    ordered = stmt.order_by(
        level_order,
        case((starts, 0), else_=1),
        case((GeoUnit.code.in_(sorted(preferred)), 0), else_=1),
        GeoUnit.name,
    )
    return list(session.scalars(ordered.limit(limit)))
