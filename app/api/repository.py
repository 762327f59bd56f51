"""Queries of the API's shared state: rate-limit windows, the dates of documents and the
schema's revision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.api.models import DocumentDate, RateLimitEvent
from app.db.queries import as_utc


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


def forget_expired_events(session: Session, window: float) -> None:
    """Delete the events of every bucket that have left the ``window``: a bucket whose key or
    address never comes back would keep its rows for good (one per client address, when
    each anonymous post comes from another). Rows another transaction holds are left to the
    next sweep (``SKIP LOCKED``: no waiting, no deadlock with a bucket's own check)."""
    moment = float(
        session.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
    )
    expired = (
        select(RateLimitEvent.id)
        .where(RateLimitEvent.at <= moment - window)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(RateLimitEvent).where(RateLimitEvent.id.in_(expired.scalar_subquery())))


def schema_revision(session: Session) -> str | None:
    """The Alembic revision the database is at; raises if it was never migrated."""
    revision: str | None = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision


class WriteRights(NamedTuple):
    """Whether the database would refuse this user's writes: ``read_only`` (a standby, or
    read-only transactions by default) and ``unwritable``, the first table or sequence of the
    schema it may not write (a role given SELECT alone), or None."""

    read_only: bool
    unwritable: str | None


def write_rights(session: Session) -> WriteRights:
    """PostgreSQL only: what :class:`WriteRights` says, in one statement."""
    read_only, unwritable = session.execute(
        text(
            "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on', "
            "(SELECT c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() "
            # An extension's tables (PostGIS's spatial_ref_sys) are not the service's.
            "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') "
            "AND ("
            # Several privileges in one call ask for any of them, not all.
            "(c.relkind IN ('r', 'p') AND NOT (has_table_privilege(c.oid, 'SELECT') "
            "AND has_table_privilege(c.oid, 'INSERT') AND has_table_privilege(c.oid, 'UPDATE') "
            "AND has_table_privilege(c.oid, 'DELETE'))) "
            "OR (c.relkind = 'S' AND NOT has_sequence_privilege(c.oid, 'USAGE'))) "
            "ORDER BY c.relname LIMIT 1)"
        )
    ).one()
    return WriteRights(bool(read_only), unwritable)


def document_since(session: Session, key: str, fingerprint: str) -> tuple[datetime, bool]:
    """Since when the document ``key`` has been answered with the content ``fingerprint``
    names, and whether this call stored that date: the stored date while the content is the
    same, else now (on the database's clock, one for all workers), stored in its place."""
    found = session.execute(
        select(DocumentDate.fingerprint, DocumentDate.since).where(DocumentDate.key == key)
    ).one_or_none()
    if found is not None and found.fingerprint == fingerprint:
        return as_utc(found.since), False
    postgresql = session.get_bind().dialect.name == "postgresql"
    build = postgresql_insert if postgresql else sqlite_insert
    stored = build(DocumentDate).values(
        key=key,
        fingerprint=fingerprint,
        since=func.clock_timestamp() if postgresql else datetime.now(UTC),
    )
    stored = stored.on_conflict_do_update(
        index_elements=[DocumentDate.key],
        set_={"fingerprint": stored.excluded.fingerprint, "since": stored.excluded.since},
        # Another worker may have stored this very content meanwhile: its date stands.
        where=DocumentDate.fingerprint != stored.excluded.fingerprint,
    )
    since = session.execute(stored.returning(DocumentDate.since)).scalar_one_or_none()
    if since is None:
        since = session.execute(
            select(DocumentDate.since).where(DocumentDate.key == key)
        ).scalar_one()
    return as_utc(since), True


def forget_oldest_document_dates(session: Session, keep: int) -> None:
    """Delete the rows of the documents dated longest ago beyond the newest ``keep``. Safe at
    any time: a document without a row is dated anew (later, never wrong)."""
    count = session.execute(select(func.count()).select_from(DocumentDate)).scalar_one()
    if count > keep:
        oldest = select(DocumentDate.key).order_by(DocumentDate.since).limit(count - keep)
        session.execute(delete(DocumentDate).where(DocumentDate.key.in_(oldest.scalar_subquery())))
