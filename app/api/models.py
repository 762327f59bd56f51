"""Tables of the API's own state shared by all workers: rate-limit events."""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class RateLimitEvent(Base):
    """One counted request of a limited kind (a sliding window per bucket). Rows older than
    the window are deleted by the next check of the same bucket."""

    __tablename__ = "rate_limit_event"
    __table_args__ = (Index("ix_rate_limit_event_bucket_at", "bucket", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(300))
    # Seconds since the epoch on the database server's clock: every worker counts on one clock.
    at: Mapped[float] = mapped_column(Float)
