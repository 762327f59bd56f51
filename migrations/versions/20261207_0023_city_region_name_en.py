"""a city-region's English name

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 10:00:00

``city_region.name_en``: ``seeds/cityregions.yaml`` names each city-region in Dutch and in
English, and only the Dutch name was kept (the unit's ``name``), so English pages showed
"Stadsregio Gent" where the seed says "Ghent city-region". Empty until the next ``datapedia
seed`` fills it from the file (the pages show the Dutch name meanwhile). Plain ``ALTER TABLE``
(see 0016).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("city_region", sa.Column("name_en", sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE city_region DROP COLUMN name_en")
