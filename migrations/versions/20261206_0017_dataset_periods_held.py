"""the first and last period a dataset holds values for, kept by publication

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 05:00:00

``dataset.periods_first`` and ``dataset.periods_last``: the DCAT temporal coverage
(``dct:temporal``) is the declared one widened to the periods the dataset holds, so that a
supplier's new year is found by a harvester's time-based search, and a withdrawn one no longer
is. Filled here from the published tallies (the current rows per slice); publication keeps them
from then on. Plain ``ALTER TABLE`` (see 0016).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("dataset", sa.Column("periods_first", sa.String(20), nullable=True))
    op.add_column("dataset", sa.Column("periods_last", sa.String(20), nullable=True))
    op.execute(
        "UPDATE dataset SET "
        "periods_first = (SELECT min(t.period) FROM published_tally t "
        "WHERE t.dataset_id = dataset.id AND t.rows > 0), "
        "periods_last = (SELECT max(t.period) FROM published_tally t "
        "WHERE t.dataset_id = dataset.id AND t.rows > 0)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE dataset DROP COLUMN periods_last")
    op.execute("ALTER TABLE dataset DROP COLUMN periods_first")
