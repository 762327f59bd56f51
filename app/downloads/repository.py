"""Queries of the stored downloads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

from sqlalchemy import LargeBinary, delete, func, literal_column, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from app.db.session import read_one_state
from app.downloads.models import StoredDownload

_LOCK = {"key": "stored_download"}


def get(session: Session, dataset_id: str, name: str) -> StoredDownload | None:
    return session.get(StoredDownload, (dataset_id, name))


# The stored bytes read (and sent) at a time: memory stays flat whatever the file's size.
PIECE_BYTES = 1 << 20


class Replaced(Exception):
    """The stored file was replaced (written anew) while it was being read."""


def content_pieces(session: Session, stored: StoredDownload) -> Iterator[bytes]:
    """The content of the stored file ``stored`` (whose content is not loaded) in pieces, read
    as they are asked for. Raises :class:`Replaced` when that version of the file is gone:
    a piece of another version never follows (a writer replaces files while they are sent)."""
    connection = session.connection()
    version = (
        StoredDownload.dataset_id == stored.dataset_id,
        StoredDownload.name == stored.name,
        StoredDownload.created_at == stored.created_at,
        StoredDownload.sha256 == stored.sha256,
    )
    if connection.dialect.name == "sqlite":
        # The snapshot of the first read is kept until the session ends; SQLite's incremental
        # blob I/O reads the pieces in it (a piece by substr() would read the whole value).
        read_one_state(connection)
        row = connection.scalar(select(literal_column("rowid")).where(*version))
        driver = connection.connection.dbapi_connection
        if row is None or not isinstance(driver, sqlite3.Connection):
            raise Replaced(stored.name)
        with driver.blobopen(StoredDownload.__tablename__, "content", row, readonly=True) as blob:
            while piece := blob.read(PIECE_BYTES):
                yield piece
        return
    # PostgreSQL reads a slice of the value from its TOAST chunks (stored uncompressed: gzip
    # bytes do not compress); each statement sees the latest commit, hence the version check.
    offset = 0
    while True:
        piece = connection.scalar(
            select(
                func.substr(StoredDownload.content, offset + 1, PIECE_BYTES, type_=LargeBinary)
            ).where(*version)
        )
        if piece is None:
            raise Replaced(stored.name)
        if not piece:
            return
        yield piece
        offset += len(piece)


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
