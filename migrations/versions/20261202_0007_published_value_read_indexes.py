"""indexes of published values in the order reads walk them

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 03:00:00

Reads of observations walk published values in the order (indicator, period, level, unit)
and page through them by a keyset position in that order. The indexes of 0005 put the
version between period and level: SQLite then sorts every page instead of walking the index,
and neither database can seek to a position. Version follows from the unit, so it moves to
the end of the current rows' index (still filtered in the index); ``revision_to`` joins it
there so that SQLite counts a query's current rows on the index alone. The index of earlier
revisions gets the same order, with ``revision_from`` last.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("revision_to IS NULL")


def _replace(current: list[str], earlier: list[str]) -> None:
    op.drop_index("ix_published_value_current", table_name="published_value")
    op.drop_index("ix_published_value_revision", table_name="published_value")
    op.create_index(
        "ix_published_value_current",
        "published_value",
        current,
        unique=False,
        sqlite_where=CURRENT,
        postgresql_where=CURRENT,
    )
    op.create_index("ix_published_value_revision", "published_value", earlier, unique=False)


def upgrade() -> None:
    _replace(
        ["dataset_id", "indicator_id", "period", "level", "unit_id", "version", "revision_to"],
        ["dataset_id", "indicator_id", "period", "level", "unit_id", "revision_from"],
    )


def downgrade() -> None:
    _replace(
        ["dataset_id", "indicator_id", "period", "version", "level", "unit_id"],
        ["dataset_id", "indicator_id", "period", "version", "level", "revision_from"],
    )
