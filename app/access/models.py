"""Tables of access grants and of the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class AccessGrant(Base):
    """An owner lets an organisation read a restricted dataset, for a purpose, until a date."""

    __tablename__ = "access_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[date] = mapped_column(Date)
    granted_by: Mapped[str] = mapped_column(ForeignKey("organisation.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEvent(Base):
    """One line of the append-only audit log: who did what, when, and why."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisation.id"), nullable=True
    )
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(300), nullable=True)  # anonymous name
    action: Mapped[str] = mapped_column(String(50))
    dataset_id: Mapped[str | None] = mapped_column(String(100), index=True, nullable=True)
    target: Mapped[str | None] = mapped_column(String(300), nullable=True)
    purpose: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
