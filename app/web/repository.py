"""The queries of the HTML pages that no domain answers: the centre cities with their
city-regions (and which of them cover the same area), and the newest datasets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.catalogue.models import Dataset, DerivedIndicator, Indicator, Licence, Organisation
from app.geo.levels import Level
from app.geo.models import CityRegion, GeoUnit, GeoUnitAncestor


def centre_cities(session: Session) -> list[tuple[GeoUnit, GeoUnit]]:
    """(municipality, city-region) of every centre city: the cities are the organisations
    that define a city-region (seeds/cityregions.yaml), found by their NIS code in the
    city-region's geography version. Two plain queries: a join on the code makes SQLite
    scan every unit."""
    regions = session.execute(
        select(GeoUnit, Organisation.nis_code)
        .join(CityRegion, CityRegion.unit_id == GeoUnit.id)
        .join(Organisation, Organisation.id == CityRegion.organisation_id)
    ).all()
    by_key = {(r.version, code): r for r, code in regions if code}
    cities = session.scalars(
        select(GeoUnit).where(
            GeoUnit.level == Level.MUNICIPALITY,
            GeoUnit.version.in_({version for version, _ in by_key}),
            GeoUnit.code.in_({code for _, code in by_key}),
        )
    )
    pairs = [(c, by_key[(c.version, c.code)]) for c in cities if (c.version, c.code) in by_key]
    return sorted(pairs, key=lambda pair: pair[0].name)


def same_extent(session: Session, units: list[GeoUnit]) -> list[list[GeoUnit]]:
    """Groups of two or more of ``units`` that contain exactly the same municipalities (two
    city-regions defined as one referentieregio), in the order given."""
    members: dict[int, set[int]] = {unit.id: set() for unit in units}
    rows = session.execute(
        select(GeoUnitAncestor.ancestor_id, GeoUnitAncestor.unit_id)
        .join(GeoUnit, GeoUnit.id == GeoUnitAncestor.unit_id)
        .where(
            GeoUnitAncestor.ancestor_id.in_(list(members)),
            GeoUnit.level == Level.MUNICIPALITY,
        )
    )
    for ancestor, member in rows:
        members[ancestor].add(member)
    groups: dict[frozenset[int], list[GeoUnit]] = {}
    for unit in units:
        if members[unit.id]:
            groups.setdefault(frozenset(members[unit.id]), []).append(unit)
    return [group for group in groups.values() if len(group) > 1]


def place_names(session: Session) -> dict[str, tuple[str, str]]:
    """The places with a name in both languages in the database (the city-regions), as
    ``level:code`` → (Dutch, English)."""
    rows = session.execute(
        select(GeoUnit.level, GeoUnit.code, GeoUnit.name, CityRegion.name_en)
        .join(CityRegion, CityRegion.unit_id == GeoUnit.id)
        .where(CityRegion.name_en.is_not(None))
    )
    return {f"{level}:{code}": (name, name_en or name) for level, code, name, name_en in rows}


def newest_datasets(session: Session, limit: int) -> list[Dataset]:
    stmt = select(Dataset).order_by(Dataset.modified.desc(), Dataset.id).limit(limit)
    return list(session.scalars(stmt))


def derived_from(session: Session, dataset_id: str) -> list[str]:
    """The datasets whose indicators ``dataset_id``'s derived indicators are computed from
    (none: the dataset is not derived)."""
    parts = session.scalars(
        select(DerivedIndicator.parts).where(DerivedIndicator.dataset_id == dataset_id)
    )
    return sorted({p["dataset"] for row in parts for p in row if p.get("role") != "reference"})


def dataset_titles(session: Session) -> dict[str, tuple[str, str]]:
    rows = session.execute(select(Dataset.id, Dataset.title_nl, Dataset.title_en))
    return {id_: (nl, en) for id_, nl, en in rows}


def indicator_labels(session: Session) -> dict[str, tuple[str, str]]:
    rows = session.execute(select(Indicator.id, Indicator.label_nl, Indicator.label_en))
    return {id_: (nl, en) for id_, nl, en in rows}


def organisation_names(session: Session) -> dict[str, tuple[str, str]]:
    rows = session.execute(select(Organisation.id, Organisation.name_nl, Organisation.name_en))
    return {id_: (nl, en) for id_, nl, en in rows}


def licence_titles(session: Session) -> dict[str, tuple[str, str]]:
    rows = session.execute(select(Licence.id, Licence.title_nl, Licence.title_en))
    return {id_: (nl, en) for id_, nl, en in rows}


def flemish_municipalities(session: Session, version: str, region: str) -> list[GeoUnit]:
    """The municipalities inside ``region`` in ``version``, by name (a chooser's options)."""
    container = select(GeoUnit.id).where(
        GeoUnit.level == Level.REGION, GeoUnit.code == region, GeoUnit.version == version
    )
    inside = select(GeoUnitAncestor.unit_id).where(
        GeoUnitAncestor.ancestor_id == container.scalar_subquery()
    )
    stmt = (
        select(GeoUnit)
        .where(GeoUnit.level == Level.MUNICIPALITY, GeoUnit.version == version)
        .where(GeoUnit.id.in_(inside))
        .order_by(GeoUnit.name)
    )
    return list(session.scalars(stmt))


def municipalities_of_sectors(session: Session, version: str, codes: list[str]) -> dict[str, str]:
    """The name of the municipality of each sector of ``codes`` in ``version`` (its parent
    in the administrative tree): 17 sectors are called "Station"."""
    if not codes:
        return {}
    municipality = aliased(GeoUnit)
    rows = session.execute(
        select(GeoUnit.code, municipality.name)
        .join(municipality, municipality.id == GeoUnit.parent_id)
        .where(
            GeoUnit.level == Level.SECTOR,
            GeoUnit.version == version,
            GeoUnit.code.in_(codes),
            municipality.level == Level.MUNICIPALITY,
        )
    ).all()
    return dict(rows)
