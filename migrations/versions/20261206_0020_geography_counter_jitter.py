"""the geography's change counter on SQLite never returns to a rolled-back value

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 23:00:00

0014 bumps the counter to the time in microseconds so that a change rolled back never gives
its value to the next one (a worker may have cached what it read inside that transaction).
SQLite's clock has milliseconds only: a change rolled back and the next one within the same
millisecond got the same value (seen once in CI). SQLite's triggers now add a random number
of microseconds below a second on top; the value still rises at each change, and a repeat
needs the same millisecond and the same of a million draws. PostgreSQL's clock has
microseconds and keeps 0014's trigger.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GEOGRAPHY_TABLES = ("geo_version", "geo_unit", "geo_unit_ancestor", "geo_successor")
EVENTS = ("insert", "update", "delete")
MILLISECOND_BUMP = (
    "UPDATE change_counter SET value = max(value + 1, "
    "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)) WHERE name = 'geography'"
)
JITTERED_BUMP = (
    "UPDATE change_counter SET value = max(value + 1, "
    "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)) "
    "+ abs(random() % 1000000) WHERE name = 'geography'"
)


def _replace_triggers(bump: str) -> None:
    for table in GEOGRAPHY_TABLES:
        for event in EVENTS:
            name = f"{table}_{event}_bumps_geography"
            op.execute(f"DROP TRIGGER {name}")
            op.execute(f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} BEGIN {bump}; END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace_triggers(JITTERED_BUMP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace_triggers(MILLISECOND_BUMP)
