"""a dataset remembers the seed entry last applied to it

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 11:40:00

``dataset.seed_applied``: the metadata, indicators and roles of the dataset's entry in
``seeds/datasets/`` as the seed last applied them. A later seed changes only what the entry
itself changed since (a new release's correction), never what the owners changed through
the API meanwhile (a dataset they restricted was made public again at the next start).
Null for the datasets seeded before: their next seed takes the entry as applied and changes
nothing. Plain ``ALTER TABLE`` (see 0016).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # 0017 updated every dataset in this same transaction: the deferred triggers of those
        # updates (the catalogue's change counter) fire now, since PostgreSQL alters no table
        # with trigger events pending.
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
    op.add_column("dataset", sa.Column("seed_applied", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE dataset DROP COLUMN seed_applied")
