"""a change counter for the geography

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 17:50:00

Every submission publishes with the geography held in memory by each worker; it used to tell
that its copy was stale by counting the units and the containment links (a scan of 170,000
links, 6 ms of a one-row submission on PostgreSQL) — and missed a unit moved to another
parent, which changes no count. The row ``geography`` of ``change_counter`` is bumped by
triggers on the tables the geography is read from, whoever writes them: one indexed read.
PostgreSQL counts once per statement (a geography load inserts its links in a few statements);
SQLite has row triggers only.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GEOGRAPHY_TABLES = ("geo_version", "geo_unit", "geo_unit_ancestor", "geo_successor")
# Not value + 1 alone: a worker may cache what it read inside a transaction that changed the
# geography and was then rolled back; the next committed change must not come back to that
# value. Microseconds since the epoch (or one more than the last value) never do.
BUMP = (
    "UPDATE change_counter SET value = {greatest}(value + 1, {now_us}) WHERE name = 'geography'"
)
PG_BUMP = BUMP.format(
    greatest="greatest", now_us="CAST(extract(epoch FROM clock_timestamp()) * 1000000 AS BIGINT)"
)
SQLITE_BUMP = BUMP.format(
    greatest="max", now_us="CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
)


def upgrade() -> None:
    op.execute("INSERT INTO change_counter (name, value) VALUES ('geography', 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_geography_counter() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {PG_BUMP}; RETURN NULL; END $$"
        )
        for table in GEOGRAPHY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_bumps_geography AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_geography_counter()"
            )
        return
    for table in GEOGRAPHY_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_bumps_geography AFTER {event} "
                f"ON {table} BEGIN {SQLITE_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GEOGRAPHY_TABLES:
            op.execute(f"DROP TRIGGER {table}_bumps_geography ON {table}")
        op.execute("DROP FUNCTION bump_geography_counter()")
    else:
        for table in GEOGRAPHY_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{event}_bumps_geography")
    op.execute("DELETE FROM change_counter WHERE name = 'geography'")
