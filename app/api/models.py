"""Tables of the API's own state shared by all workers: rate-limit events, the dates of
documents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class RateLimitEvent(Base):
    """One counted request of a limited kind (a sliding window per bucket). Rows older than
    the window are deleted by the next check of the same bucket, and those of every bucket
    by a sweep every few hundred checks (app.api.ratelimit)."""

    __tablename__ = "rate_limit_event"
    __table_args__ = (Index("ix_rate_limit_event_bucket_at", "bucket", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(300))
    # Seconds since the epoch on the database server's clock: every worker counts on one clock.
    at: Mapped[float] = mapped_column(Float)


class DocumentDate(Base):
    """Since when a document (a URL in one form and language) has been answered as it is now,
    by any worker: its ``Last-Modified`` where nothing cheaper dates it (app.api.lastmodified).
    A row is replaced when the document changes; one removed dates its document anew."""

    __tablename__ = "document_date"
    __table_args__ = (Index("ix_document_date_since", "since"),)

    # The first 32 hex digits of the SHA-256 of the URL and its form: a URL may be kilobytes.
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The ETag of the document as it was answered since then.
    fingerprint: Mapped[str] = mapped_column(String(100))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
