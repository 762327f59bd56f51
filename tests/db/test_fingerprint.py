"""The tests' ``World.fingerprint()`` (row counts of every table in one query), which the
refusal tests rely on to prove that nothing changed: it must count every table, count right
and see a change."""

from __future__ import annotations

from sqlalchemy import inspect, text

from app.db.session import transaction
from tests.factories import REFUSAL_TRACES, UNCOUNTED_TABLES, World


def test_the_fingerprint_counts_every_table_and_sees_a_change(world: World) -> None:
    before = world.fingerprint()
    with world.factory() as session:
        tables = set(inspect(session.connection()).get_table_names())
        # Every table but the two that a refused request may write (key use, rate limits).
        assert set(before) == tables - UNCOUNTED_TABLES
        assert "alembic_version" in before and "geo_unit" in before
        for name in sorted(before):
            # A refused upload's record and audit event are not counted (not data).
            where = REFUSAL_TRACES.get(name, "1 = 1")
            counted = session.scalar(text(f'SELECT count(*) FROM "{name}" WHERE {where}'))
            assert before[name] == counted, name
    assert before["geo_unit"] > 10_000 and before["dataset"] >= 6

    with transaction(world.factory) as session:
        removed = session.execute(
            text(
                "DELETE FROM role_territory WHERE role_id = (SELECT min(role_id) FROM role_territory)"
            )
        ).rowcount
    assert removed > 0
    after = world.fingerprint()
    assert after["role_territory"] == before["role_territory"] - removed
    assert {k: v for k, v in after.items() if k != "role_territory"} == {
        k: v for k, v in before.items() if k != "role_territory"
    }
