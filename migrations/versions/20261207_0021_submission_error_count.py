"""a refused submission is recorded with the number of its errors

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 09:00:00

``submission.error_count``: how many errors an upload refused for its content had (state
``rejected``). ``submission.errors`` keeps the first ones only (a file of a million bad rows
must not make a row of megabytes), so the total needs a column of its own; 0 for every
submission so far (all accepted). Plain ``ALTER TABLE`` (see 0016).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "submission",
        sa.Column("error_count", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE submission DROP COLUMN error_count")
