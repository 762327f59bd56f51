"""The stored download files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, column_property, mapped_column

from app.db.base import Base


class StoredDownload(Base):
    """One download file of one dataset as last written: gzip-compressed, with the size and
    SHA-256 of the uncompressed file (what ``dcat:byteSize`` and ``spdx:checksum`` state).
    ``stamp`` names what it was written from (the dataset's revision and modification);
    a file whose stamp no longer matches is written anew."""

    __tablename__ = "stored_download"

    dataset_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(100))
    media_type: Mapped[str] = mapped_column(String(100))
    byte_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Read in pieces as it is sent (:func:`app.downloads.repository.content_pieces`): a
    # dataset of ten million rows stores a file of hundreds of megabytes. Loaded only when
    # asked for.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # The compressed size, from the stored value's header (neither database reads it).
    gzip_size: Mapped[int] = column_property(func.length(content), deferred=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
