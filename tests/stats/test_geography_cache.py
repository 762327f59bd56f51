"""Each worker keeps the geography in memory for its publications and knows it is stale by
the geography's change counter (migration 0014), which triggers bump whoever writes the
geography tables: a unit moved to another parent is seen at the next read (counting units and
links, as before, did not see it), and a change rolled back never gives its value to the next
one (a worker may have cached what it read inside that transaction)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.session import transaction
from app.geo.models import GeoSuccessor, GeoUnit, GeoUnitAncestor, GeoVersion
from app.stats import repository
from tests.factories import World


def _unit(session: Session, level: str, code: str) -> GeoUnit:
    unit = session.scalars(
        select(GeoUnit).where(
            GeoUnit.version == "2025", GeoUnit.level == level, GeoUnit.code == code
        )
    ).one()
    return unit


def test_a_unit_moved_to_another_parent_is_seen_at_the_next_read(world: World) -> None:
    with world.factory() as session:
        sector = _unit(session, "sector", "44021A00-")
        other = _unit(session, "municipality", "11002")
        before = repository.load_geography(session, ["2025"])
        assert before.parent[sector.id] != other.id
        assert repository.load_geography(session, ["2025"]) is before  # cached
        sector_id, other_id = sector.id, other.id
    with transaction(world.factory) as session:
        session.execute(update(GeoUnit).where(GeoUnit.id == sector_id).values(parent_id=other_id))
    with world.factory() as session:
        after = repository.load_geography(session, ["2025"])
        assert after is not before
        assert after.parent[sector_id] == other_id


def test_every_geography_table_bumps_the_counter(world: World) -> None:
    with transaction(world.factory) as session:
        stamps = [repository.geography_stamp(session)]
        sector = _unit(session, "sector", "44021A00-")
        region = _unit(session, "region", "02000")
        version = session.get(GeoVersion, "2025")
        assert version is not None
        version.label = version.label + " "
        session.flush()
        stamps.append(repository.geography_stamp(session))
        session.execute(
            update(GeoUnit).where(GeoUnit.id == sector.id).values(name=sector.name + " ")
        )
        stamps.append(repository.geography_stamp(session))
        session.execute(
            update(GeoUnitAncestor)
            .where(GeoUnitAncestor.unit_id == sector.id, GeoUnitAncestor.ancestor_id == region.id)
            .values(ancestor_id=region.id)
        )
        stamps.append(repository.geography_stamp(session))
        session.execute(update(GeoSuccessor).values(successor_id=GeoSuccessor.successor_id))
        stamps.append(repository.geography_stamp(session))
    assert stamps == sorted(set(stamps)), stamps  # five different values, rising


def test_a_rolled_back_change_does_not_give_its_value_to_the_next(world: World) -> None:
    # Many times over: SQLite's clock has milliseconds, and a rollback and the next change
    # within the same one once came to the same value (migration 0020).
    rolled_back: set[int] = set()
    committed: set[int] = set()
    for _ in range(50):
        with world.factory() as session:
            session.execute(update(GeoUnit).where(GeoUnit.level == "region").values(name="Gewest"))
            rolled_back.add(repository.geography_stamp(session))
            session.rollback()
        with transaction(world.factory) as session:
            session.execute(update(GeoUnit).where(GeoUnit.level == "region").values(name="Gewest"))
            committed.add(repository.geography_stamp(session))
    assert not rolled_back & committed
