"""boundaries per unit, wijk level, full-text search index

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-02 03:00:00

* ``geo_boundary_source`` and ``geo_geometry``: the boundary files' credit lines and one GeoJSON
  geometry per unit and version.
* The ``wijk`` level needs no schema change: its units are ordinary ``geo_unit`` rows, added by
  the next ``datapedia seed``.
* Full-text search. PostgreSQL searches the catalogue's own columns with its text search
  (``dutch`` and ``english`` configurations) and needs nothing stored. SQLite has no stemming
  outside FTS5: two FTS5 tables mirror datasets and indicators, kept in step by triggers, so
  every writer (seed, API) keeps them current without knowing about them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Porter stems English; unicode61 with diacritics removed lets "energie" match "énergie".
_TOKENIZE = "porter unicode61 remove_diacritics 2"
_DATASET_ROW = (
    "new.id, new.title_nl || ' ' || new.description_nl, "
    "new.title_en || ' ' || new.description_en, coalesce(new.keywords, '')"
)
_INDICATOR_ROW = (
    "new.id, new.label_nl || ' ' || new.definition_nl || ' ' || coalesce(new.caveats_nl, ''), "
    "new.label_en || ' ' || new.definition_en || ' ' || coalesce(new.caveats_en, ''), ''"
)
SQLITE_SEARCH = [
    f"CREATE VIRTUAL TABLE search_fts_dataset USING fts5(id UNINDEXED, text_nl, text_en, "
    f"keywords, tokenize='{_TOKENIZE}')",
    f"CREATE VIRTUAL TABLE search_fts_indicator USING fts5(id UNINDEXED, text_nl, text_en, "
    f"keywords, tokenize='{_TOKENIZE}')",
]
for _table, _row in (("dataset", _DATASET_ROW), ("indicator", _INDICATOR_ROW)):
    SQLITE_SEARCH += [
        f"CREATE TRIGGER search_fts_{_table}_insert AFTER INSERT ON {_table} BEGIN "
        f"INSERT INTO search_fts_{_table} (id, text_nl, text_en, keywords) VALUES ({_row}); END",
        f"CREATE TRIGGER search_fts_{_table}_update AFTER UPDATE ON {_table} BEGIN "
        f"DELETE FROM search_fts_{_table} WHERE id = old.id; "
        f"INSERT INTO search_fts_{_table} (id, text_nl, text_en, keywords) VALUES ({_row}); END",
        f"CREATE TRIGGER search_fts_{_table}_delete AFTER DELETE ON {_table} BEGIN "
        f"DELETE FROM search_fts_{_table} WHERE id = old.id; END",
        f"INSERT INTO search_fts_{_table} (id, text_nl, text_en, keywords) "
        f"SELECT {_row.replace('new.', '')} FROM {_table}",
    ]


def upgrade() -> None:
    op.create_table(
        "geo_boundary_source",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("credit", sa.Text(), nullable=False),
        sa.Column("licence", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geo_boundary_source")),
    )
    op.create_table(
        "geo_geometry",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("geojson", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["geo_boundary_source.id"],
            name=op.f("fk_geo_geometry_source_id_geo_boundary_source"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["geo_unit.id"],
            name=op.f("fk_geo_geometry_unit_id_geo_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_geo_geometry")),
    )
    op.create_index(op.f("ix_geo_geometry_source_id"), "geo_geometry", ["source_id"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ("dataset", "indicator"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS search_fts_{table}_{event}")
            op.execute(f"DROP TABLE IF EXISTS search_fts_{table}")
    op.drop_index(op.f("ix_geo_geometry_source_id"), table_name="geo_geometry")
    op.drop_table("geo_geometry")
    op.drop_table("geo_boundary_source")
