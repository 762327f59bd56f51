"""stored downloads written and read in pieces

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 03:45:00

A stored file's gzip bytes were one value of ``stored_download``: the writer held the whole
compressed file in memory until it stored it (a few hundred MB for a dataset of ten million
rows). They are now rows of ``stored_download_piece`` (a megabyte each), compressed into a
spool (a temporary file beyond a few megabytes), written a piece at a time and read as they
are sent. Each written version of a file has its own ``file_id``,
and its pieces go with its row. The files stored so far are cut into pieces too;
going back drops the stored files (they are written again when asked for).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PIECE_BYTES = 1 << 20  # as app.downloads.repository.PIECE_BYTES when this was written


def _random_id() -> str:
    """SQL: 32 random hexadecimal digits, for the files stored so far."""
    if op.get_bind().dialect.name == "postgresql":
        return "md5(random()::text || clock_timestamp()::text || dataset_id || name)"
    return "lower(hex(randomblob(16)))"


def upgrade() -> None:
    with op.batch_alter_table("stored_download") as batch:
        batch.add_column(sa.Column("file_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("gzip_size", sa.BigInteger(), nullable=True))
    op.execute(
        f"UPDATE stored_download SET file_id = {_random_id()}, gzip_size = length(content)"
    )
    op.create_table(
        "stored_download_piece",
        sa.Column("file_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("file_id", "seq", name=op.f("pk_stored_download_piece")),
    )
    # Cut into pieces of a megabyte, as new files are: a download reads a piece at a time.
    op.execute(
        f"WITH RECURSIVE piece(seq) AS (SELECT 0 UNION ALL SELECT seq + 1 FROM piece "
        f"WHERE seq < (SELECT max((length(content) - 1) / {PIECE_BYTES}) FROM stored_download)) "
        "INSERT INTO stored_download_piece (file_id, seq, content) "
        f"SELECT d.file_id, p.seq, substr(d.content, p.seq * {PIECE_BYTES} + 1, {PIECE_BYTES}) "
        f"FROM stored_download d JOIN piece p ON p.seq <= (length(d.content) - 1) / {PIECE_BYTES}"
    )
    with op.batch_alter_table("stored_download") as batch:
        batch.alter_column("file_id", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("gzip_size", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint(op.f("uq_stored_download_file_id"), ["file_id"])
        batch.drop_column("content")
    with op.batch_alter_table("stored_download_piece") as batch:
        batch.create_foreign_key(
            op.f("fk_stored_download_piece_file_id_stored_download"),
            "stored_download",
            ["file_id"],
            ["file_id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    # Stored files are written from the published values whenever they are missing: going
    # back drops them (one value each again would need every file joined from its pieces).
    op.drop_table("stored_download_piece")
    op.execute("DELETE FROM stored_download")
    with op.batch_alter_table("stored_download") as batch:
        batch.add_column(sa.Column("content", sa.LargeBinary(), nullable=False))
        batch.drop_constraint(op.f("uq_stored_download_file_id"), type_="unique")
        batch.drop_column("gzip_size")
        batch.drop_column("file_id")
