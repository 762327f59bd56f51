"""Queries of the API's shared state: rate-limit windows and the schema's revision."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from app.api.models import RateLimitEvent


def count_event(session: Session, bucket: str, limit: int, window: float) -> float | None:
    """Record one event in ``bucket`` unless it already holds ``limit`` events of the last
    ``window`` seconds; then return the seconds until the oldest leaves the window.

    PostgreSQL only: a transaction-scoped advisory lock per bucket makes the count and the
    insert one step for all workers (two workers must not both see "one left")."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:bucket, 0))"), {"bucket": bucket}
    )
    now = session.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
    moment = float(now)
    session.execute(
        delete(RateLimitEvent).where(
            RateLimitEvent.bucket == bucket, RateLimitEvent.at <= moment - window
        )
    )
    count, oldest = session.execute(
        select(func.count(), func.min(RateLimitEvent.at)).where(RateLimitEvent.bucket == bucket)
    ).one()
    if count >= limit:
        return float(oldest) + window - moment
    session.execute(insert(RateLimitEvent).values(bucket=bucket, at=moment))
    return None


def schema_revision(session: Session) -> str | None:
    """The Alembic revision the database is at; raises if it was never migrated."""
    revision: str | None = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision
