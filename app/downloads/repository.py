"""Queries of the stored downloads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.session import read_one_state
from app.downloads.models import StoredDownload, StoredDownloadPiece

_LOCK = {"key": "stored_download"}


def get(session: Session, dataset_id: str, name: str) -> StoredDownload | None:
    return session.get(StoredDownload, (dataset_id, name))


# The gzip bytes of a piece as written (the last piece of a file holds the rest): memory
# stays flat whatever the file's size, to write it and to send it.
PIECE_BYTES = 1 << 20


class Replaced(Exception):
    """The stored file was replaced (written anew) while it was being read."""


def content_pieces(session: Session, stored: StoredDownload, start: int = 0) -> Iterator[bytes]:
    """The content of the stored file ``stored`` in pieces, read as they are asked for, from
    byte ``start`` on (the pieces before it are never read: a download resumed near the end
    of a large file reads only its last pieces). Raises :class:`Replaced` when that version
    of the file is gone: a piece of another version never follows (a writer replaces files
    while they are sent)."""
    # Every piece is read in the snapshot of the first, as long as the transaction lasts: a
    # file replaced meanwhile is sent whole as it was. SQLite keeps the state of a read
    # transaction's first read; PostgreSQL does in REPEATABLE READ, which a transaction that
    # begins here (a download's, after its unit of work committed) asks for. Inside a
    # transaction already begun (or on a connection whose transaction someone else holds),
    # each statement may see a later commit: a replaced file's pieces are gone (deleted with
    # its row) before the file's end, and it stops there.
    bind = session.get_bind()
    fresh = isinstance(bind, Engine) and not session.in_transaction()
    if fresh and bind.dialect.name == "postgresql":
        connection = session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        connection = session.connection()
    read_one_state(connection)
    seq, read, skip = _piece_at(connection, stored, start) if start else (0, 0, 0)
    piece = select(StoredDownloadPiece.content).where(
        StoredDownloadPiece.file_id == stored.file_id,
        StoredDownloadPiece.seq == bindparam("seq"),
    )
    while read < stored.gzip_size:
        content = connection.scalar(piece, {"seq": seq})
        if content is None:
            raise Replaced(stored.name)
        yield content[skip:] if skip else content
        skip = 0
        read += len(content)
        seq += 1


def _piece_at(connection: Connection, stored: StoredDownload, start: int) -> tuple[int, int, int]:
    """(seq, offset, skip): the piece that holds byte ``start``, where it begins in the file
    and how many of its bytes come before ``start``; past the end, the offset is the file's
    size. The pieces' lengths are read, not computed from :data:`PIECE_BYTES` (a file keeps
    the pieces it was written in)."""
    lengths = select(StoredDownloadPiece.seq, func.length(StoredDownloadPiece.content)).where(
        StoredDownloadPiece.file_id == stored.file_id
    )
    offset = 0
    rows = connection.execute(lengths.order_by(StoredDownloadPiece.seq)).all()
    if not rows:
        raise Replaced(stored.name)
    for seq, length in rows:
        if start < offset + length:
            return seq, offset, start - offset
        offset += length
    return len(rows), stored.gzip_size, 0


def write_pieces(session: Session, file_id: str, pieces: Iterable[bytes]) -> None:
    """The pieces of the file just stored as ``file_id``, in order, each written as it comes
    (Core statements: the session keeps none of them)."""
    connection = session.connection()
    for seq, content in enumerate(pieces):
        connection.execute(
            insert(StoredDownloadPiece), {"file_id": file_id, "seq": seq, "content": content}
        )


def of_datasets(session: Session, dataset_ids: Sequence[str]) -> list[StoredDownload]:
    """The stored files of the given datasets, without their content (for the catalogue)."""
    if not dataset_ids:
        return []
    stmt = select(StoredDownload).where(StoredDownload.dataset_id.in_(list(dataset_ids)))
    return list(session.scalars(stmt))


def replace(session: Session, row: StoredDownload) -> StoredDownload:
    """Store ``row`` in place of the dataset's file of that name (its pieces follow, see
    :func:`write_pieces`); the old version's pieces go with its row. Two requests writing
    the same file at once both wrote the same bytes: the loser keeps the winner's row."""
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


def last_written(session: Session) -> datetime | None:
    """When a stored file was last written (None: none is)."""
    latest: datetime | None = session.scalar(select(func.max(StoredDownload.created_at)))
    return latest
