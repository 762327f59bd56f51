"""All queries on grants and the audit log."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from app.access.models import AccessGrant
from app.audit.models import AuditEvent


def lock_grants(session: Session, dataset_id: str, organisation_id: str) -> None:
    """One grant to an organisation on a dataset at a time, until the transaction ends: two
    owners granting it at the same moment would each find none held and both store one.
    PostgreSQL: a transaction advisory lock; SQLite has one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"grant:{dataset_id}:{organisation_id}"},
        )


def active_grant(
    session: Session, dataset_id: str, organisation_id: str, today: date
) -> AccessGrant | None:
    return session.scalar(
        select(AccessGrant)
        .where(
            AccessGrant.dataset_id == dataset_id,
            AccessGrant.organisation_id == organisation_id,
            AccessGrant.revoked_at.is_(None),
            AccessGrant.valid_until >= today,
        )
        .order_by(AccessGrant.valid_until.desc())
        .limit(1)
    )


def active_grants(session: Session, dataset_id: str, today: date) -> list[AccessGrant]:
    """The grants on the dataset that still open it (not revoked, not expired)."""
    return list(
        session.scalars(
            select(AccessGrant)
            .where(
                AccessGrant.dataset_id == dataset_id,
                AccessGrant.revoked_at.is_(None),
                AccessGrant.valid_until >= today,
            )
            .order_by(AccessGrant.id)
        )
    )


def grants_query(dataset_id: str) -> Select[AccessGrant]:
    return select(AccessGrant).where(AccessGrant.dataset_id == dataset_id).order_by(AccessGrant.id)


def held_grants_query(organisation_id: str) -> Select[AccessGrant]:
    return (
        select(AccessGrant)
        .where(AccessGrant.organisation_id == organisation_id)
        .order_by(AccessGrant.id.desc())
    )


def get_grant(session: Session, grant_id: int) -> AccessGrant | None:
    return session.get(AccessGrant, grant_id)


def events_query(dataset_id: str | None) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if dataset_id is not None:
        stmt = stmt.where(AuditEvent.dataset_id == dataset_id)
    return stmt.order_by(AuditEvent.id.desc())
