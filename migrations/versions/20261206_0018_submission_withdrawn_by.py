"""a withdrawn submission names the withdrawal that undid it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 05:30:00

``submission.withdrawn_by``: the id of the withdrawal (itself a submission) that undid the
upload. A withdrawal restores, for each of its rows, the latest earlier value that no
withdrawn submission supplied, so it must know which ones are; the list of submissions shows
which uploads are in effect. Filled here from the withdrawals made so far (their source names
the submission they undid). Plain ``ALTER TABLE`` (see 0016).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("submission", sa.Column("withdrawn_by", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE submission SET withdrawn_by = (SELECT max(w.id) FROM submission w "
        "WHERE w.dataset_id = submission.dataset_id "
        "AND w.source_name = 'withdrawal of submission ' || CAST(submission.id AS VARCHAR))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE submission DROP COLUMN withdrawn_by")
