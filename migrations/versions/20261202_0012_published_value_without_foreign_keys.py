"""published values without foreign keys: the cascade by triggers, one unique index fewer

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 11:10:00

``published_value`` is a materialisation that only the publication code writes, from the
current observations (whose own foreign keys guarantee dataset, indicator and sector) and
the geography's containment (``geo_unit_ancestor``, whose foreign keys guarantee every
ancestor unit). Its three foreign keys checked again what was already guaranteed, once per
published row: on PostgreSQL their triggers took about two thirds of the time of writing the
published rows of an import (issue #10).

What the foreign keys did that nothing else does is the ``ON DELETE CASCADE``: removing a
dataset, an indicator or a geographic unit removes its published values. Triggers on those
three tables keep exactly that behaviour (they fire for cascaded deletes as well).

The unique constraint ``uq_published_value_key`` (dataset, indicator, period, version,
unit, revision_from) and the index ``ix_published_value_revision`` (dataset, indicator,
period, level, unit, revision_from) held the same key (a unit has one version and one
level): the index becomes unique and the constraint goes, one B-tree fewer per row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("revision_to IS NULL")
# (parent table, published_value's column that references it)
PARENTS = (("dataset", "dataset_id"), ("indicator", "indicator_id"), ("geo_unit", "unit_id"))
FOREIGN_KEYS = {
    "dataset": "fk_published_value_dataset_id_dataset",
    "indicator": "fk_published_value_indicator_id_indicator",
    "geo_unit": "fk_published_value_unit_id_geo_unit",
}
CURRENT_COLUMNS = ["dataset_id", "indicator_id", "period", "level", "unit_id", "version"]
REVISION_COLUMNS = ["dataset_id", "indicator_id", "period", "level", "unit_id", "revision_from"]
KEY_COLUMNS = ["dataset_id", "indicator_id", "period", "version", "unit_id", "revision_from"]


def _create_current_index() -> None:
    op.create_index(
        "ix_published_value_current",
        "published_value",
        [*CURRENT_COLUMNS, "revision_to"],
        unique=False,
        sqlite_where=CURRENT,
        postgresql_where=CURRENT,
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_published_value_revision", table_name="published_value")
    if sqlite:
        # SQLite drops a constraint by copying the table, and the copy would lose the
        # partial index's WHERE: drop it first, create it again after.
        op.drop_index("ix_published_value_current", table_name="published_value")
    with op.batch_alter_table("published_value", schema=None) as batch_op:
        batch_op.drop_constraint("uq_published_value_key", type_="unique")
        for name in FOREIGN_KEYS.values():
            batch_op.drop_constraint(name, type_="foreignkey")
    if sqlite:
        _create_current_index()
    op.create_index("ix_published_value_revision", "published_value", REVISION_COLUMNS, unique=True)
    for parent, column in PARENTS:
        if sqlite:
            op.execute(
                f"CREATE TRIGGER {parent}_delete_cascades_published AFTER DELETE ON {parent} "
                f"BEGIN DELETE FROM published_value WHERE {column} = OLD.id; END"
            )
            continue
        op.execute(
            f"CREATE FUNCTION {parent}_delete_cascades_published() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN DELETE FROM published_value WHERE {column} = "
            "OLD.id; RETURN OLD; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {parent}_delete_cascades_published AFTER DELETE ON {parent} "
            f"FOR EACH ROW EXECUTE FUNCTION {parent}_delete_cascades_published()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for parent, _column in PARENTS:
        if sqlite:
            op.execute(f"DROP TRIGGER {parent}_delete_cascades_published")
        else:
            op.execute(f"DROP TRIGGER {parent}_delete_cascades_published ON {parent}")
            op.execute(f"DROP FUNCTION {parent}_delete_cascades_published()")
    op.drop_index("ix_published_value_revision", table_name="published_value")
    if sqlite:
        op.drop_index("ix_published_value_current", table_name="published_value")
    # Rows whose parent went while there was no foreign key cannot exist (the triggers
    # removed them), so the constraints can come back as they were.
    with op.batch_alter_table("published_value", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_published_value_key", KEY_COLUMNS)
        for parent, column in PARENTS:
            batch_op.create_foreign_key(
                FOREIGN_KEYS[parent], parent, [column], ["id"], ondelete="CASCADE"
            )
    if sqlite:
        _create_current_index()
    op.create_index(
        "ix_published_value_revision", "published_value", REVISION_COLUMNS, unique=False
    )
