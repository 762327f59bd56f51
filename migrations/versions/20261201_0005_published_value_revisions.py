"""published values carry revisions; geography versions chain by successor_version

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

A published value becomes valid from the revision that produced it (``revision_from``, the
former ``revision``) until the one that replaced it (``revision_to``). Every existing row was
written by the last publication of its dataset, so every existing row is current: nothing to
backfill but NULL.

``geo_version.successor_version`` says which version follows which (until now the code named
the latest version). Existing databases chain their versions in order of ``valid_from``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("revision_to IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("published_value", schema=None) as batch_op:
        batch_op.drop_index("ix_published_value_lookup")
        batch_op.alter_column(
            "revision", new_column_name="revision_from", existing_type=sa.Integer(),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("revision_to", sa.Integer(), nullable=True))
    # A batch of its own: in the same batch as the rename, SQLite's copy would lose it.
    with op.batch_alter_table("published_value", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_published_value_key",
            ["dataset_id", "indicator_id", "period", "version", "unit_id", "revision_from"],
        )
    # Outside the batch: SQLite's table copy would not carry the partial index's WHERE over.
    op.create_index(
        "ix_published_value_current",
        "published_value",
        ["dataset_id", "indicator_id", "period", "version", "level", "unit_id"],
        unique=False,
        sqlite_where=CURRENT,
        postgresql_where=CURRENT,
    )
    op.create_index(
        "ix_published_value_revision",
        "published_value",
        ["dataset_id", "indicator_id", "period", "version", "level", "revision_from"],
        unique=False,
    )

    if op.get_bind().dialect.name == "sqlite":
        # A batch would copy and drop geo_version, which the foreign keys of geo_unit and
        # dataset forbid; SQLite adds a nullable referencing column in place.
        op.execute(
            "ALTER TABLE geo_version ADD COLUMN successor_version VARCHAR(16) "
            "CONSTRAINT fk_geo_version_successor_version_geo_version "
            "REFERENCES geo_version (id)"
        )
    else:
        op.add_column(
            "geo_version", sa.Column("successor_version", sa.String(length=16), nullable=True)
        )
        op.create_foreign_key(
            "fk_geo_version_successor_version_geo_version",
            "geo_version",
            "geo_version",
            ["successor_version"],
            ["id"],
        )
    versions = sa.table(
        "geo_version",
        sa.column("id", sa.String()),
        sa.column("valid_from", sa.Date()),
        sa.column("successor_version", sa.String()),
    )
    bind = op.get_bind()
    ordered = [
        row.id
        for row in bind.execute(
            sa.select(versions.c.id).order_by(versions.c.valid_from, versions.c.id)
        )
    ]
    for older, newer in zip(ordered, ordered[1:], strict=False):
        bind.execute(
            versions.update().where(versions.c.id == older).values(successor_version=newer)
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE geo_version SET successor_version = NULL")
        op.execute("ALTER TABLE geo_version DROP COLUMN successor_version")
    else:
        op.drop_constraint(
            "fk_geo_version_successor_version_geo_version", "geo_version", type_="foreignkey"
        )
        op.drop_column("geo_version", "successor_version")

    op.drop_index("ix_published_value_revision", table_name="published_value")
    op.drop_index("ix_published_value_current", table_name="published_value")
    # Only the current rows were published before revisions were kept.
    op.execute(sa.text("DELETE FROM published_value WHERE revision_to IS NOT NULL"))
    with op.batch_alter_table("published_value", schema=None) as batch_op:
        batch_op.drop_constraint("uq_published_value_key", type_="unique")
        batch_op.drop_column("revision_to")
        batch_op.alter_column(
            "revision_from", new_column_name="revision", existing_type=sa.Integer(),
            existing_nullable=False,
        )
        batch_op.create_index(
            "ix_published_value_lookup",
            ["dataset_id", "indicator_id", "period", "version", "level"],
            unique=False,
        )
