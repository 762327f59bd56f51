"""Tables of the versioned geography."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class GeoVersion(Base):
    """A version of the geography, e.g. ``2025`` (sector version of 1 January 2025).

    Versions form a chain through ``successor_version``: the latest is the one that has no
    successor, so a new sector version is added by loading it, not by changing code."""

    __tablename__ = "geo_version"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    successor_version: Mapped[str | None] = mapped_column(
        ForeignKey("geo_version.id"), nullable=True
    )


class GeoUnit(Base):
    """One unit of one level in one version. ``parent_id`` follows the administrative tree
    (sector → municipality → arrondissement → province → region)."""

    __tablename__ = "geo_unit"
    __table_args__ = (
        UniqueConstraint("version", "level", "code"),
        Index("ix_geo_unit_level_version", "level", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(ForeignKey("geo_version.id"))
    level: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("geo_unit.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # A "…ZZZZ" sector: residents or volumes that could not be placed in a real sector.
    # It counts in the municipality's totals and never appears on a map.
    not_localisable: Mapped[bool] = mapped_column(Boolean, default=False)


class GeoUnitAncestor(Base):
    """Closure of membership: every unit that contains ``unit_id`` (all levels, all
    regionalisations). Makes ``within`` filters and aggregations one join."""

    __tablename__ = "geo_unit_ancestor"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("geo_unit.id", ondelete="CASCADE"), primary_key=True
    )
    ancestor_id: Mapped[int] = mapped_column(
        ForeignKey("geo_unit.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class GeoSuccessor(Base):
    """A municipality of one version and the municipality of a later version that contains
    it (identity links included, so conversion is uniform)."""

    __tablename__ = "geo_successor"

    predecessor_id: Mapped[int] = mapped_column(
        ForeignKey("geo_unit.id", ondelete="CASCADE"), primary_key=True
    )
    successor_id: Mapped[int] = mapped_column(
        ForeignKey("geo_unit.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CityRegion(Base):
    """The definition of a city-region (its members as ``level:code``), kept as data so it
    can be redefined without code. The region itself is a ``cityregion`` geo unit."""

    __tablename__ = "city_region"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("geo_unit.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Its name in English (the unit's ``name`` is the Dutch one), shown on English pages.
    name_en: Mapped[str | None] = mapped_column(String(300), nullable=True)


class BoundarySource(Base):
    """A boundary file as ``seeds/boundaries.yaml`` describes it, with the credit line its
    licence asks for (shown with every piece of geometry taken from it)."""

    __tablename__ = "geo_boundary_source"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the file name
    credit: Mapped[str] = mapped_column(Text)
    licence: Mapped[str] = mapped_column(String(500))
    # SHA-256 of the file as loaded: answers built from its shapes are cached under it.
    digest: Mapped[str] = mapped_column(String(64))


class GeoGeometry(Base):
    """The boundary of one unit (of one version) as an RFC 7946 GeoJSON geometry, stored as
    text: it is only ever served whole, so it is kept ready to write out."""

    __tablename__ = "geo_geometry"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("geo_unit.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[str] = mapped_column(
        ForeignKey("geo_boundary_source.id", ondelete="CASCADE"), index=True
    )
    geojson: Mapped[str] = mapped_column(Text)
