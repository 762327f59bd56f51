"""indicators that count things take whole numbers only; the rows a submission left waiting
are marked and counted

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 02:00:00

``indicator.whole_numbers``: a count (inhabitants, households, cars, connections) is refused
with a fraction in a submission. False for every indicator here; ``datapedia seed`` sets it
from ``seeds/indicators.yaml``. ``submission.rows_not_supplied``: the sectors a submission
that opened a period stored as missing (0 for the submissions before), each marked
``observation.awaited`` (nobody supplied it). Plain ``ALTER TABLE``
on both databases: SQLite's batch mode would copy the tables and lose the delete triggers of
migration 0012.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "indicator",
        sa.Column("whole_numbers", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "submission",
        sa.Column("rows_not_supplied", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "observation",
        sa.Column("awaited", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # SQLite (3.35+) and PostgreSQL both drop a column in place.
    op.execute("ALTER TABLE observation DROP COLUMN awaited")
    op.execute("ALTER TABLE submission DROP COLUMN rows_not_supplied")
    op.execute("ALTER TABLE indicator DROP COLUMN whole_numbers")
