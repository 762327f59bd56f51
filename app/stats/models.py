"""Tables of observations and submissions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

# SDMX-like observation status flags.
STATUSES = ("normal", "provisional", "estimated", "confidential", "not_applicable", "missing")


# An upload refused for its content or form is recorded too (state "rejected", no revision),
# with the first of its errors: enough for a steward to see what was wrong.
SUBMISSION_STATES = ("accepted", "rejected")


class Submission(Base):
    """One delivery of data for one dataset: an upload by a supplier or an import from the
    original source. An accepted submission creates a new revision of the dataset; a
    rejected one changed nothing and is kept with its errors."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("dataset_id", "revision"),
        CheckConstraint("state IN ('accepted', 'rejected')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    media_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_added: Mapped[int] = mapped_column(Integer, default=0)
    rows_changed: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    # Sectors stored as missing because the submission opened a period without them.
    rows_not_supplied: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The withdrawal (a submission itself) that undid this upload, if one did.
    withdrawn_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Of a rejected submission: its first errors (row, column, value, reason, line: as the
    # refusal listed them) and how many it had in all.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Observation(Base):
    """A value at the finest level supplied. Revisions are kept: a row is valid from the
    revision that delivered it until the revision that replaced it (``revision_to``)."""

    __tablename__ = "observation"
    __table_args__ = (
        UniqueConstraint("dataset_id", "indicator_id", "unit_id", "period", "revision_from"),
        Index("ix_observation_current", "dataset_id", "indicator_id", "period", "revision_to"),
        CheckConstraint(
            "status IN ('normal', 'provisional', 'estimated', 'confidential', "
            "'not_applicable', 'missing')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    indicator_id: Mapped[str] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("geo_unit.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="normal")
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    revision_from: Mapped[int] = mapped_column(Integer)
    revision_to: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Stored as missing by a submission that opened the period without this sector: nobody
    # supplied it (app.stats.repository.stage_not_supplied).
    awaited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# A derived value whose members were not all available: the sum of the available ones,
# published with its coverage (never a silent understatement).
PUBLISHED_STATUSES = (*STATUSES, "incomplete")


class PublishedValue(Base):
    """A value as published at one unit of any level and version, computed when data arrives:
    supplied values, aggregates by the indicator's rule, derived ratios, and the 2024 data
    expressed on 2025 municipalities; disclosure control already applied.

    Revisions are kept like those of observations: a row is valid from the revision that
    produced it until the one that replaced it (``revision_to``; current rows have none), and
    a revision only writes the cells whose value, status or coverage changed."""

    __tablename__ = "published_value"
    __table_args__ = (
        # Current reads (nearly all of them), in the order reads walk and page them
        # (version follows from the unit; revision_to lets SQLite count on the index alone),
        # and publication's diff of a slice.
        Index(
            "ix_published_value_current",
            "dataset_id",
            "indicator_id",
            "period",
            "level",
            "unit_id",
            "version",
            "revision_to",
            sqlite_where=text("revision_to IS NULL"),
            postgresql_where=text("revision_to IS NULL"),
        ),
        # Reads of an earlier revision (revision_from <= r < revision_to), in the same order;
        # also the key (a unit has one version and one level).
        Index(
            "ix_published_value_revision",
            "dataset_id",
            "indicator_id",
            "period",
            "level",
            "unit_id",
            "revision_from",
            unique=True,
        ),
        CheckConstraint(
            "status IN ('normal', 'provisional', 'estimated', 'confidential', "
            "'not_applicable', 'missing', 'incomplete')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # No foreign keys (migration 0012): the publication code writes these ids from rows
    # whose own foreign keys hold them, and checking them again per published row cost most
    # of an import's publication on PostgreSQL. Deleting a dataset, indicator or unit
    # still removes its published values: triggers do the cascade.
    dataset_id: Mapped[str] = mapped_column(String(100))
    indicator_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(20))
    version: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(Integer, index=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    # Share of the members that had a value (aggregates only).
    coverage: Mapped[float | None] = mapped_column(Float, nullable=True)
    revision_from: Mapped[int] = mapped_column(Integer)
    revision_to: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PublishedTally(Base):
    """How many current published rows each slice has per geography version and level, kept
    by publication in the same transaction as the rows. The first page of a listing states
    the total: summing these is a few rows, counting the rows themselves walks an index
    entry per row (a third of a second for 300,000 sectors on SQLite, and it grows with the
    dataset)."""

    __tablename__ = "published_tally"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    indicator_id: Mapped[str] = mapped_column(
        ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[str] = mapped_column(String(32), primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
