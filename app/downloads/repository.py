"""Queries of the stored downloads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from app.downloads.models import StoredDownload

_LOCK = {"key": "stored_download"}


def get(session: Session, dataset_id: str, name: str) -> StoredDownload | None:
    return session.get(StoredDownload, (dataset_id, name))


def content_if_stamped(session: Session, dataset_id: str, name: str, stamp: str) -> bytes | None:
    """The stored file's content when its stamp is ``stamp`` (read only then: it may be
    tens of megabytes)."""
    return session.scalar(
        select(StoredDownload.content).where(
            StoredDownload.dataset_id == dataset_id,
            StoredDownload.name == name,
            StoredDownload.stamp == stamp,
        )
    )


def of_datasets(session: Session, dataset_ids: Sequence[str]) -> list[StoredDownload]:
    """The stored files of the given datasets, without their content (for the catalogue)."""
    if not dataset_ids:
        return []
    stmt = (
        select(StoredDownload)
        .where(StoredDownload.dataset_id.in_(list(dataset_ids)))
        .options(defer(StoredDownload.content))
    )
    return list(session.scalars(stmt))


def replace(session: Session, row: StoredDownload) -> StoredDownload:
    """Store ``row`` in place of the dataset's file of that name. Two requests writing the
    same file at once both wrote the same bytes: the loser keeps the winner's row."""
    if session.get_bind().dialect.name == "postgresql":
        # One writer of stored files at a time (until its commit): a refresh after a write
        # replaces several files in one transaction, and two of them (or one and a download
        # being written) replacing the same rows in another order deadlocked.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), _LOCK)
    try:
        with session.begin_nested():
            session.execute(
                delete(StoredDownload).where(
                    StoredDownload.dataset_id == row.dataset_id, StoredDownload.name == row.name
                )
            )
            session.add(row)
    except IntegrityError:
        stored = get(session, row.dataset_id, row.name)
        if stored is None:
            raise
        return stored
    return row


def written_stamp(session: Session) -> str:
    """Changes whenever a stored file is written or removed: for caches of what states the
    files' sizes (the catalogue), which the catalogue's change counter does not cover."""
    count, latest = session.execute(select(func.count(), func.max(StoredDownload.created_at))).one()
    return f"{count}|{latest}"
