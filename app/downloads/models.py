"""The stored download files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class StoredDownload(Base):
    """One download file of one dataset as last written: gzip-compressed, with the size and
    SHA-256 of the uncompressed file (what ``dcat:byteSize`` and ``spdx:checksum`` state).
    ``stamp`` names what it was written from (the dataset's revision and modification);
    a file whose stamp no longer matches is written anew. Its bytes are the
    :class:`StoredDownloadPiece` rows of ``file_id``."""

    __tablename__ = "stored_download"

    dataset_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    # Names this version of the file: written anew, a file gets a new one (a reader of the
    # old version never gets a piece of the new one).
    file_id: Mapped[str] = mapped_column(String(32), unique=True)
    stamp: Mapped[str] = mapped_column(String(100))
    media_type: Mapped[str] = mapped_column(String(100))
    byte_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    gzip_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StoredDownloadPiece(Base):
    """A piece of a stored file's gzip bytes, in order (``seq``). A file is written and read
    a piece at a time: a dataset of ten million rows stores a file of hundreds of megabytes,
    which neither the writer nor a download ever holds whole."""

    __tablename__ = "stored_download_piece"

    file_id: Mapped[str] = mapped_column(
        ForeignKey("stored_download.file_id", ondelete="CASCADE"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
