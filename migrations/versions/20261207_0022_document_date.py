"""the dates of documents, shared by all workers

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 09:30:00

``document_date``: since when each document without a date of its own (a page, the RDF of a
thing, a page of the catalogue) has been answered as it is now, as its ``Last-Modified``.
Each worker kept these dates in its memory, so one that never saw a short-lived version of a
document dated the document from before it and answered 304 to a client holding that
version (see app.api.lastmodified). Used on PostgreSQL; SQLite serves one process and keeps
them in memory. Empty at first: every document is dated from its first answer after this.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_date",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=100), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_document_date")),
    )
    op.create_index("ix_document_date_since", "document_date", ["since"])


def downgrade() -> None:
    op.drop_index("ix_document_date_since", table_name="document_date")
    op.drop_table("document_date")
