"""derived indicators across datasets

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:30:00

A derived indicator (seeds/derived.yaml) reads its parts from other datasets: which dataset
each part comes from, the period rule, the geography version and the dataset that publishes
the result.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The DCAT catalogue cites the source datasets read from this table (dct:source): its changes
# bump the catalogue's change counter like those of the other catalogue tables (0008).
BUMP = "UPDATE change_counter SET value = value + 1 WHERE name = 'catalogue'"


def upgrade() -> None:
    op.create_table(
        "derived_indicator",
        sa.Column("indicator_id", sa.String(length=100), nullable=False),
        sa.Column("dataset_id", sa.String(length=100), nullable=False),
        sa.Column("geo_version", sa.String(length=16), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("periods", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_derived_indicator_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_derived_indicator_indicator_id_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("indicator_id", name=op.f("pk_derived_indicator")),
    )
    op.create_index(
        op.f("ix_derived_indicator_dataset_id"), "derived_indicator", ["dataset_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE CONSTRAINT TRIGGER derived_indicator_bumps_catalogue AFTER INSERT OR UPDATE "
            "OR DELETE ON derived_indicator DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION bump_catalogue_counter()"
        )
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER derived_indicator_{event.lower()}_bumps_catalogue AFTER {event} "
            f"ON derived_indicator BEGIN {BUMP}; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER derived_indicator_bumps_catalogue ON derived_indicator")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER derived_indicator_{event}_bumps_catalogue")
    op.drop_index(op.f("ix_derived_indicator_dataset_id"), table_name="derived_indicator")
    op.drop_table("derived_indicator")
