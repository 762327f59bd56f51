"""Tables of the catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

ROLES = ("owner", "publisher", "supplier", "custodian", "originator")
# The roles whose organisation reads every value of the dataset, whatever its access level
# (a custodian or an originator reads a closed dataset only with a grant).
READING_ROLES = frozenset({"owner", "publisher", "supplier"})
ACCESS_LEVELS = ("public", "restricted", "non_public")
AGGREGATION_RULES = ("sum", "ratio", "weighted_mean", "none")


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name_nl: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(50))
    nis_code: Mapped[str | None] = mapped_column(String(5), nullable=True)
    ovo_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    homepage: Mapped[str | None] = mapped_column(String(500), nullable=True)
    email: Mapped[str | None] = mapped_column(String(300), nullable=True)


class Licence(Base):
    __tablename__ = "licence"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title_nl: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    uri: Mapped[str] = mapped_column(String(500), unique=True)
    description_nl: Mapped[str | None] = mapped_column(Text, nullable=True)
    description_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    attribution_required: Mapped[bool] = mapped_column(Boolean, default=True)


class Dataset(Base):
    __tablename__ = "dataset"
    __table_args__ = (
        CheckConstraint(
            "access_level IN ('public', 'restricted', 'non_public')", name="access_level"
        ),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title_nl: Mapped[str] = mapped_column(String(500))
    title_en: Mapped[str] = mapped_column(String(500))
    description_nl: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    keywords: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    licence_id: Mapped[str] = mapped_column(ForeignKey("licence.id"))
    access_level: Mapped[str] = mapped_column(String(20), default="public")
    frequency: Mapped[str | None] = mapped_column(String(50), nullable=True)
    geo_version: Mapped[str] = mapped_column(ForeignKey("geo_version.id"))
    temporal_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    temporal_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The first and last period the dataset holds values for (publication keeps them): the
    # temporal coverage published is the declared one widened to these (temporal_coverage).
    periods_first: Mapped[str | None] = mapped_column(String(20), nullable=True)
    periods_last: Mapped[str | None] = mapped_column(String(20), nullable=True)
    spatial: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(300), nullable=True)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    issued: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    modified: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The seeds/ entry as the seed last applied it (app.catalogue.seed): a later seed
    # changes only what the entry changed since, not what owners changed through the API.
    seed_applied: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    @property
    def temporal_coverage(self) -> tuple[date | None, date | None]:
        """The declared temporal coverage widened to the years the dataset holds: a year
        beyond it moves the start or end date to that year, on the same day (1 January for a
        stock counted on a reference date, 31 December for a year's flow)."""
        first, last = _year(self.periods_first), _year(self.periods_last)
        start, end = self.temporal_start, self.temporal_end
        if first is not None and (start is None or start.year > first):
            start = _in_year(start, first) if start else date(first, 1, 1)
        if last is not None and (end is None or end.year < last):
            end = _in_year(end, last) if end else date(last, 12, 31)
        return start, end


class DatasetRole(Base):
    """An organisation's role on a dataset; a supplier role carries a territory."""

    __tablename__ = "dataset_role"
    __table_args__ = (
        UniqueConstraint("dataset_id", "organisation_id", "role"),
        CheckConstraint(
            "role IN ('owner', 'publisher', 'supplier', 'custodian', 'originator')", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))


class RoleTerritory(Base):
    """The geographic units a supplier may submit data for (and everything inside them)."""

    __tablename__ = "role_territory"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_role.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("geo_unit.id", ondelete="CASCADE"), primary_key=True
    )


class Indicator(Base):
    """A Datapedia entry: what a number means and how it aggregates."""

    __tablename__ = "indicator"
    __table_args__ = (
        CheckConstraint(
            "aggregation IN ('sum', 'ratio', 'weighted_mean', 'none')", name="aggregation"
        ),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    label_nl: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    definition_nl: Mapped[str] = mapped_column(Text)
    definition_en: Mapped[str] = mapped_column(Text)
    unit_of_measure: Mapped[str] = mapped_column(String(100))
    formula: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"), nullable=True)
    source_column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    caveats_nl: Mapped[str | None] = mapped_column(Text, nullable=True)
    caveats_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    decimals: Mapped[int] = mapped_column(Integer, default=0)
    # A count of things (inhabitants, cars): a submitted value must be a whole number.
    whole_numbers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    aggregation: Mapped[str] = mapped_column(String(20))
    # ratio: Σnumerator / Σdenominator × scale; each a list of indicator ids.
    numerator: Mapped[list[str]] = mapped_column(JSON, default=list)
    denominator: Mapped[list[str]] = mapped_column(JSON, default=list)
    scale: Mapped[float] = mapped_column(default=1.0)
    weight_id: Mapped[str | None] = mapped_column(ForeignKey("indicator.id"), nullable=True)
    # Disclosure control: a cell is confidential below min_count (on its own value) or
    # below disclosure_min of the reference indicator.
    disclosure_min_count: Mapped[float | None] = mapped_column(nullable=True)
    disclosure_reference_id: Mapped[str | None] = mapped_column(
        ForeignKey("indicator.id"), nullable=True
    )
    disclosure_min: Mapped[float | None] = mapped_column(nullable=True)


class DatasetIndicator(Base):
    __tablename__ = "dataset_indicator"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    indicator_id: Mapped[str] = mapped_column(
        ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class DatasetChange(Base):
    """A change to a dataset's metadata or roles: who, when, what (for its history)."""

    __tablename__ = "dataset_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))  # metadata | role
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChangeCounter(Base):
    """How often a family of tables changed, counted by database triggers (migration 0008), so
    that every worker, whatever wrote the change (a request, the seed, SQL by hand), can tell
    that a cached rendering of the catalogue is stale with one indexed read."""

    __tablename__ = "change_counter"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class DerivedIndicator(Base):
    """A derived indicator across datasets (seeds/derived.yaml): its formula over indicators
    of other datasets, the period rule and the geography version. The indicator row itself
    holds the Datapedia fields and the aggregation (a ratio of sums of the parts); this row
    says which dataset each part is read from and which period of it, and in which dataset
    the result is published."""

    __tablename__ = "derived_indicator"

    indicator_id: Mapped[str] = mapped_column(
        ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True
    )
    # The dataset that publishes it (e.g. climate-energy-monitor).
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    geo_version: Mapped[str] = mapped_column(String(16))
    # [{"indicator": …, "dataset": …, "role": "numerator" | "denominator" | "reference"}]
    parts: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # {"rule": "same"} or {"rule": "map", "map": {derived period: {part: source period}}}
    periods: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Organisation ids of the parts' sources.
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)


def _year(period: str | None) -> int | None:
    return int(period) if period is not None and len(period) == 4 and period.isdigit() else None


def _in_year(day: date, year: int) -> date:
    """The same day in another year (29 February becomes the 28th)."""
    return (
        day.replace(year=year, day=28)
        if (day.month, day.day) == (2, 29)
        else day.replace(year=year)
    )
