"""Published values have no foreign keys (migration 0012): triggers keep the cascade that the
foreign keys gave. Deleting a dataset, an indicator or a geographic unit removes exactly its
published values, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.catalogue.models import Dataset, Indicator
from app.db.session import transaction
from app.geo.models import GeoUnit
from app.stats.models import PublishedValue
from tests.factories import World

DATASET = "population-2025"


def _publish(session: Session, indicator: str, units: list[GeoUnit], period: str) -> None:
    for unit in units:
        session.add(
            PublishedValue(
                dataset_id=DATASET,
                indicator_id=indicator,
                period=period,
                version=unit.version,
                level=unit.level,
                unit_id=unit.id,
                value=1.0,
                status="normal",
                revision_from=1,
            )
        )
    session.flush()


def _count(session: Session, *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(PublishedValue).where(*where)))  # type: ignore[arg-type]


def _sectors(session: Session, count: int) -> list[GeoUnit]:
    return list(
        session.scalars(
            select(GeoUnit)
            .where(GeoUnit.version == "2025", GeoUnit.level == "sector")
            .order_by(GeoUnit.code)
            .limit(count)
        )
    )


def test_deleting_a_unit_removes_its_published_values_only(world: World) -> None:
    with transaction(world.factory) as session:
        first, second = _sectors(session, 2)
        _publish(session, "population", [first, second], "2024")
        _publish(session, "population", [first, second], "2023")
        first_id = first.id
        session.execute(delete(GeoUnit).where(GeoUnit.id == first_id))
        assert _count(session, PublishedValue.unit_id == first_id) == 0
        assert _count(session, PublishedValue.unit_id == second.id) == 2


def test_deleting_an_indicator_removes_its_published_values_only(world: World) -> None:
    with transaction(world.factory) as session:
        units = _sectors(session, 3)
        indicators = list(session.scalars(select(Indicator.id).order_by(Indicator.id).limit(2)))
        for indicator in indicators:
            _publish(session, indicator, units, "2024")
        session.execute(delete(Indicator).where(Indicator.id == indicators[0]))
        assert _count(session, PublishedValue.indicator_id == indicators[0]) == 0
        assert _count(session, PublishedValue.indicator_id == indicators[1]) == 3


def test_deleting_a_dataset_removes_its_published_values_only(world: World) -> None:
    with transaction(world.factory) as session:
        units = _sectors(session, 3)
        _publish(session, "population", units, "2024")
        other = session.scalar(select(Dataset.id).where(Dataset.id != DATASET).limit(1))
        assert other is not None
        session.add(
            PublishedValue(
                dataset_id=other,
                indicator_id="population",
                period="2024",
                version=units[0].version,
                level=units[0].level,
                unit_id=units[0].id,
                value=2.0,
                status="normal",
                revision_from=1,
            )
        )
        session.flush()
        session.execute(delete(Dataset).where(Dataset.id == DATASET))
        assert _count(session, PublishedValue.dataset_id == DATASET) == 0
        assert _count(session, PublishedValue.dataset_id == other) == 1
