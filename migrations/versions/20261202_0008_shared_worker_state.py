"""state shared by all workers: a catalogue change counter and rate-limit events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:40:00

Several workers (or replicas) serve one database, so what they must agree on lives in it:

* ``change_counter``: the row ``catalogue`` counts changes to the tables the DCAT catalogue is
  rendered from. Triggers bump it, whoever writes (a request, the seed, SQL by hand); a
  worker's cached DCAT page or dump is keyed on the value it read.
* ``rate_limit_event``: the sliding windows of the per-key limits (used on PostgreSQL; SQLite
  serves one process and counts in memory).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the catalogue's RDF and pages are rendered from (a submission changes a dataset's
# distributions and dates).
CATALOGUE_TABLES = (
    "organisation",
    "licence",
    "dataset",
    "dataset_role",
    "role_territory",
    "indicator",
    "dataset_indicator",
    "dataset_change",
    "submission",
)
BUMP = "UPDATE change_counter SET value = value + 1 WHERE name = 'catalogue'"


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_counter")),
    )
    op.execute("INSERT INTO change_counter (name, value) VALUES ('catalogue', 1)")
    op.create_table(
        "rate_limit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=300), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_event")),
    )
    op.create_index("ix_rate_limit_event_bucket_at", "rate_limit_event", ["bucket", "at"])
    if op.get_bind().dialect.name == "postgresql":
        # Deferred to the commit: the counter's row lock is taken last and held for an instant,
        # so two writers can never wait for each other through it (a lock taken at the first
        # write could deadlock with a writer holding a dataset row), and the new value becomes
        # visible together with the change it counts.
        op.execute(
            "CREATE FUNCTION bump_catalogue_counter() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in CATALOGUE_TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_bumps_catalogue AFTER INSERT OR UPDATE OR "
                f"DELETE ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION bump_catalogue_counter()"
            )
        return
    # SQLite has row triggers only.
    for table in CATALOGUE_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_bumps_catalogue AFTER {event} ON {table} "
                f"BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CATALOGUE_TABLES:
            op.execute(f"DROP TRIGGER {table}_bumps_catalogue ON {table}")
        op.execute("DROP FUNCTION bump_catalogue_counter()")
    else:
        for table in CATALOGUE_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{event}_bumps_catalogue")
    op.drop_index("ix_rate_limit_event_bucket_at", table_name="rate_limit_event")
    op.drop_table("rate_limit_event")
    op.drop_table("change_counter")
