"""Importing value files on a small geography of our own: revisions, idempotency, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session, sessionmaker

from app.catalogue.models import Dataset
from app.catalogue.seed import load_catalogue
from app.config import SEEDS_DIR
from app.db.queries import as_utc
from app.db.session import transaction
from app.errors import SourceDataError
from app.geo.importer import ensure_versions, import_geography
from app.geo.models import GeoUnit
from app.stats.importer import import_values
from app.stats.models import Observation, PublishedValue, Submission
from app.stats.parsers import VALUE_SOURCES
from app.stats.revisions import store_revision
from tests.conftest import session_factory_for
from tests.geo.test_geography_import import write_sources

POPULATION = next(s for s in VALUE_SOURCES if s.dataset == "population-2025")
HEADER = "CD_YEAR,CD_REFNIS,CD_SECTOR,TOTAL,OPPERVLAKKTE IN HM²\n"
ROWS = [
    "2025,11002,11002A00-,1000,200",
    "2025,11002,11007A00-,500,100",
    "2025,11002,11002ZZZZ,7,0",
    "2025,21004,21004A00-,300,50",
    "2025,21004,21004ZZZZ,2,0",
    "2025,62063,62063A00-,900,300",  # Liège: outside this geography
    "2025,11002,11099A00-,5,5",  # unknown code, but the file says it lies in 11002
    "2025,33099,33099A00-,4,4",  # unknown code in an unknown municipality
]


def write_population(root: Path, rows: list[str]) -> None:
    values = root / "values"
    values.mkdir(parents=True, exist_ok=True)
    (values / POPULATION.files[0]).write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture
def factory(empty_db: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine, session_factory = session_factory_for(empty_db)
    with transaction(session_factory) as session:
        ensure_versions(session)
        load_catalogue(session, SEEDS_DIR)
        import_geography(session, write_sources(tmp_path))
    yield session_factory
    engine.dispose()


def published(
    session: Session, level: str, code: str, indicator: str, revision: int | None = None
) -> tuple[float | None, str]:
    """The published value now, or as it was right after ``revision``."""
    from app.geo.models import GeoUnit

    valid = (
        PublishedValue.revision_to.is_(None)
        if revision is None
        else (PublishedValue.revision_from <= revision)
        & (PublishedValue.revision_to.is_(None) | (PublishedValue.revision_to > revision))
    )
    row = session.execute(
        select(PublishedValue.value, PublishedValue.status)
        .join(GeoUnit, GeoUnit.id == PublishedValue.unit_id)
        .where(
            GeoUnit.level == level,
            GeoUnit.code == code,
            PublishedValue.indicator_id == indicator,
            valid,
        )
    ).one()
    return row.value, row.status


def test_import_aggregates_and_reports_unknown_codes(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    write_population(tmp_path, ROWS)
    with transaction(factory) as session:
        report = import_values(session, POPULATION, tmp_path)
    assert report.revision == 1
    assert report.outside_geography == 2  # population and area of the Liège row
    # Population is additive: the unknown 11099A00- counts in Antwerpen's remainder. Area is
    # additive too; the code of an unknown municipality is reported for both.
    assert report.remapped == 2
    assert [line.split(":")[0] for line in report.unknown_codes] == ["9", "9"]
    assert "33099A00-" in report.unknown_codes[0]
    with factory() as session:
        assert published(session, "municipality", "11002", "population") == (1512.0, "normal")
        assert published(session, "sector", "11002ZZZZ", "population") == (12.0, "normal")
        assert published(session, "region", "02000", "population") == (1512.0, "normal")
        assert published(session, "region", "04000", "population") == (302.0, "normal")
        density, status = published(session, "municipality", "11002", "population-density")
        assert density == pytest.approx(1512 / 3.05)  # 305 ha; the ZZZZ rows add no area
        assert status == "normal"
        # A remainder without an area has no density of its own (it still counts above).
        with pytest.raises(NoResultFound):
            published(session, "sector", "21004ZZZZ", "population-density")


def test_reimport_of_the_same_file_changes_nothing(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    write_population(tmp_path, ROWS)
    with transaction(factory) as session:
        import_values(session, POPULATION, tmp_path)
    with transaction(factory) as session:
        report = import_values(session, POPULATION, tmp_path)
    assert report.unchanged
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1


def supply(session: Session, code: str, period: str, value: float) -> None:
    """A supplier's upload of one population value (as the submissions API stores it)."""
    unit = session.scalar(select(GeoUnit.id).where(GeoUnit.code == code, GeoUnit.version == "2025"))
    assert unit is not None
    store_revision(
        session,
        POPULATION.dataset,
        {("population", unit, period): (value, "normal")},
        Submission(
            dataset_id=POPULATION.dataset,
            organisation_id="antwerpen",
            source_name="upload",
            media_type="text/csv",
            sha256="upload",
            rows_total=1,
        ),
        replace_all=False,
        fill_new_periods=True,
    )


def current_population(session: Session) -> dict[tuple[str, str], float | None]:
    rows = session.execute(
        select(Observation.period, GeoUnit.code, Observation.value)
        .join(GeoUnit, GeoUnit.id == Observation.unit_id)
        .where(Observation.revision_to.is_(None), Observation.indicator_id == "population")
    )
    return {(period, code): value for period, code, value in rows}


def test_importing_the_source_again_keeps_what_suppliers_sent_since(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    write_population(tmp_path, ROWS)
    with transaction(factory) as session:
        import_values(session, POPULATION, tmp_path)
        supply(session, "11007A00-", "2025", 510)  # a correction
        supply(session, "11002A00-", "2026", 1010)  # a year of its own
        supplied = current_population(session)
    # Seeding again with the same files (every start of the container does) changes nothing.
    with transaction(factory) as session:
        assert import_values(session, POPULATION, tmp_path).unchanged
        assert current_population(session) == supplied
    # A new release of the source replaces the years it holds; the supplier's year stays.
    write_population(tmp_path, [r.replace(",1000,", ",1001,") for r in ROWS])
    with transaction(factory) as session:
        report = import_values(session, POPULATION, tmp_path)
        values = current_population(session)
    assert (report.rows_changed, report.rows_removed) == (2, 0)  # 11002A00- and 11007A00-
    assert values[("2025", "11007A00-")] == 500
    assert values[("2025", "11002A00-")] == 1001
    assert values[("2026", "11002A00-")] == 1010


def test_a_changed_file_makes_a_new_revision_and_keeps_the_old_one(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    write_population(tmp_path, ROWS)
    with transaction(factory) as session:
        import_values(session, POPULATION, tmp_path)
    changed = [r.replace("2025,11002,11002A00-,1000,", "2025,11002,11002A00-,1100,") for r in ROWS]
    write_population(tmp_path, changed[:4])  # the Brussels remainder and 11099A00- go
    with transaction(factory) as session:
        report = import_values(session, POPULATION, tmp_path)
    assert report.revision == 2
    assert report.rows_changed == 2  # 11002A00-, and the remainder without 11099A00-
    assert report.rows_removed == 2  # 21004ZZZZ's population, the remainder's area
    with factory() as session:
        assert published(session, "municipality", "11002", "population") == (1607.0, "normal")
        # The published values of revision 1 are kept, not derived again.
        assert published(session, "municipality", "11002", "population", 1) == (1512.0, "normal")
        assert published(session, "region", "04000", "population", 1) == (302.0, "normal")
        assert published(session, "region", "04000", "population") == (300.0, "normal")
        history = session.execute(
            select(Observation.value, Observation.revision_from, Observation.revision_to)
            .where(Observation.indicator_id == "population")
            .order_by(Observation.revision_from)
        ).all()
    assert (1000.0, 1, 2) in history
    assert (1100.0, 2, None) in history


def _modified_and_last_revision(session: Session) -> tuple[datetime, datetime]:
    """The dataset's dct:modified, and when its latest revision became readable."""
    dataset = session.get(Dataset, POPULATION.dataset)
    assert dataset is not None
    committed = session.scalar(
        select(func.max(Submission.created_at)).where(
            Submission.dataset_id == POPULATION.dataset, Submission.revision.is_not(None)
        )
    )
    assert committed is not None
    return as_utc(dataset.modified), as_utc(committed)


def test_an_import_that_makes_a_revision_is_a_change_of_the_dataset(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    # A harvester asking modified_since (or reading dct:modified) must see the dataset change
    # when a source's new file makes a revision, as it does after a supplier's upload: the
    # dataset was dated when its metadata was loaded, before its values existed.
    write_population(tmp_path, ROWS)
    with transaction(factory) as session:
        import_values(session, POPULATION, tmp_path)
    with factory() as session:
        modified, committed = _modified_and_last_revision(session)
    assert modified >= committed
    # The same files again: no revision, no change.
    with transaction(factory) as session:
        assert import_values(session, POPULATION, tmp_path).unchanged
    with factory() as session:
        assert _modified_and_last_revision(session) == (modified, committed)
    # A new release of the source: a new revision, and the dataset changed at its commit.
    write_population(tmp_path, [r.replace(",1000,", ",1001,") for r in ROWS])
    with transaction(factory) as session:
        assert import_values(session, POPULATION, tmp_path).revision == 2
    with factory() as session:
        modified_again, committed_again = _modified_and_last_revision(session)
    assert committed_again > committed
    assert modified_again >= committed_again


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("2025,11002,11002A00-,12x,200", "not a number"),
        ("2025,11002,11002A00-,-4,200", "negative"),
        ("2025,11002,1100,4,200", "malformed sector code"),
        ("2025,11002,11002A00-,4,200", "duplicate"),
    ],
)
def test_a_bad_row_refuses_the_file_and_stores_nothing(
    factory: sessionmaker[Session], tmp_path: Path, bad_row: str, reason: str
) -> None:
    write_population(tmp_path, [*ROWS[:5], bad_row])
    with pytest.raises(SourceDataError) as caught, transaction(factory) as session:
        import_values(session, POPULATION, tmp_path)
    assert any(p.startswith(f"{POPULATION.files[0]}:7: {reason}") for p in caught.value.problems)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == 0
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
        assert session.scalar(select(func.count()).select_from(PublishedValue)) == 0


def test_a_missing_file_is_reported_not_fatal(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with transaction(factory) as session:
        report = import_values(session, POPULATION, tmp_path / "nowhere")
    assert report.missing_files
    assert report.revision is None
