"""Queries of the unit sets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import Organisation
from app.geo.models import CityRegion, GeoUnit, GeoUnitAncestor


def centre_cities(session: Session, version: str) -> list[GeoUnit]:
    """The municipalities of the cities that define a city-region, in ``version``, by name:
    a city-region names its city (an organisation with its NIS code). Only the version the
    city-regions are defined in: a NIS code need not mean the same municipality in another."""
    codes = set(
        session.scalars(
            select(Organisation.nis_code)
            .join(CityRegion, CityRegion.organisation_id == Organisation.id)
            .join(GeoUnit, GeoUnit.id == CityRegion.unit_id)
            .where(GeoUnit.version == version, Organisation.nis_code.is_not(None))
        )
    )
    if not codes:
        return []
    stmt = (
        select(GeoUnit)
        .where(GeoUnit.level == "municipality", GeoUnit.version == version)
        .where(GeoUnit.code.in_(sorted(c for c in codes if c)))
        .order_by(GeoUnit.name, GeoUnit.code)
    )
    return list(session.scalars(stmt))


def centre_city_regions(session: Session, version: str) -> list[tuple[GeoUnit, GeoUnit]]:
    """(municipality, city-region) of every centre city in ``version``, by the city's name."""
    regions = session.execute(
        select(GeoUnit, Organisation.nis_code)
        .join(CityRegion, CityRegion.unit_id == GeoUnit.id)
        .join(Organisation, Organisation.id == CityRegion.organisation_id)
        .where(GeoUnit.version == version)
    ).all()
    by_code = {code: region for region, code in regions if code}
    return [(city, by_code[city.code]) for city in centre_cities(session, version)]


def city_region_versions(session: Session) -> list[str]:
    stmt = (
        select(GeoUnit.version)
        .join(CityRegion, CityRegion.unit_id == GeoUnit.id)
        .distinct()
        .order_by(GeoUnit.version)
    )
    return list(session.scalars(stmt))


def units_of_level(
    session: Session, level: str, version: str, within_id: int | None
) -> list[GeoUnit]:
    """Every unit of ``level`` in ``version`` (inside ``within_id`` if given), by name."""
    stmt = select(GeoUnit).where(GeoUnit.level == level, GeoUnit.version == version)
    if within_id is not None:
        inside = select(GeoUnitAncestor.unit_id).where(GeoUnitAncestor.ancestor_id == within_id)
        stmt = stmt.where(GeoUnit.id.in_(inside))
    return list(session.scalars(stmt.order_by(GeoUnit.name, GeoUnit.code)))
