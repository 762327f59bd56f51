"""current published rows counted per slice, version and level

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 11:30:00

The total on the first page of an observation listing is the sum of a few tally rows instead
of a count over every published row the listing covers. Filled from the current rows here;
kept by publication from then on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_tally",
        sa.Column("dataset_id", sa.String(length=100), nullable=False),
        sa.Column("indicator_id", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_published_tally_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_published_tally_indicator_id_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "dataset_id",
            "indicator_id",
            "period",
            "version",
            "level",
            name=op.f("pk_published_tally"),
        ),
    )
    op.create_index(
        op.f("ix_published_tally_indicator_id"), "published_tally", ["indicator_id"], unique=False
    )
    op.execute(
        "INSERT INTO published_tally (dataset_id, indicator_id, period, version, level, rows) "
        "SELECT dataset_id, indicator_id, period, version, level, count(*) FROM published_value "
        "WHERE revision_to IS NULL GROUP BY dataset_id, indicator_id, period, version, level"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_published_tally_indicator_id"), table_name="published_tally")
    op.drop_table("published_tally")
