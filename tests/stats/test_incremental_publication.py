"""Incremental publication gives exactly what a full recomputation gives.

Random sequences of submissions (random sectors, values around the disclosure thresholds,
every status) are stored one revision at a time, as suppliers' submissions do; after each one
the current published set must equal the values derived from scratch from all current
observations (:func:`app.stats.publish.derive`), and a full recomputation
(:func:`app.stats.publish.publish_all`) must find nothing to write. The rows of every earlier
revision must equal what was derived from the observations of that revision. On a small
geography of our own (many sequences) and on the real data (secondary suppression moving).
"""

from __future__ import annotations

import gc
import math
import random
import shutil
import threading
from collections import defaultdict
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import and_, event, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.catalogue.models import Indicator
from app.catalogue.repository import get_dataset, indicators_of_dataset
from app.catalogue.seed import load_catalogue
from app.config import SEEDS_DIR
from app.db.session import transaction
from app.geo.importer import ensure_versions, import_geography
from app.geo.models import GeoUnit
from app.stats import publish, repository
from app.stats.aggregate import Cell
from app.stats.derived import dependants
from app.stats.models import Observation, PublishedTally, PublishedValue, Submission
from app.stats.publish import affected_slices, derive, publish_all
from app.stats.revisions import store_revision
from tests.conftest import session_factory_for
from tests.factories import World
from tests.geo.test_geography_import import write_sources

Key = tuple[str, str, int]  # (indicator, period, unit)
NO_VALUE = ("confidential", "missing", "not_applicable")
STATUSES = ("normal", "normal", "normal", "provisional", "estimated", *NO_VALUE)


# --------------------------------------------------------------------------------------------
# What is stored, what a full recomputation gives
# --------------------------------------------------------------------------------------------


def _valid(revision: int | None) -> object:
    if revision is None:
        return PublishedValue.revision_to.is_(None)
    return and_(
        PublishedValue.revision_from <= revision,
        or_(PublishedValue.revision_to.is_(None), PublishedValue.revision_to > revision),
    )


def stored_cells(session: Session, dataset: str, revision: int | None = None) -> dict[Key, Cell]:
    stmt = select(
        PublishedValue.indicator_id,
        PublishedValue.period,
        PublishedValue.unit_id,
        PublishedValue.value,
        PublishedValue.status,
        PublishedValue.coverage,
    ).where(PublishedValue.dataset_id == dataset, _valid(revision))  # type: ignore[arg-type]
    cells: dict[Key, Cell] = {}
    for indicator, period, unit, value, status, coverage in session.execute(stmt):
        assert (indicator, period, unit) not in cells, "two valid rows for one cell"
        cells[(indicator, period, unit)] = Cell(value, status, coverage)
    return cells


def observations_at(
    session: Session, dataset: str, revision: int
) -> list[repository.StoredObservation]:
    stmt = select(
        Observation.id,
        Observation.indicator_id,
        Observation.unit_id,
        Observation.period,
        Observation.value,
        Observation.status,
    ).where(
        Observation.dataset_id == dataset,
        Observation.revision_from <= revision,
        or_(Observation.revision_to.is_(None), Observation.revision_to > revision),
    )
    return [repository.StoredObservation(*row) for row in session.execute(stmt)]


def derived_cells(
    session: Session,
    dataset: str,
    observations: list[repository.StoredObservation],
    revision: int | None = None,
) -> dict[Key, Cell]:
    """The full computation from ``observations`` (those of ``revision``, with the cells
    its published rows hide as the cells hidden before: suppression keeps what it hid while
    its primary cells stay, and a closed pattern is its own fixpoint)."""
    derived = derive(session, dataset, observations, revision)
    return {
        (indicator, period, unit): cell
        for (indicator, period), cells in derived.cells.items()
        for unit, cell in cells.items()
    }


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def sectors_2024(session: Session) -> dict[str, int]:
    """Sector code → unit id, of the 2024 version."""
    stmt = select(GeoUnit.code, GeoUnit.id).where(
        GeoUnit.version == "2024", GeoUnit.level == "sector"
    )
    return dict(session.execute(stmt).all())


def assert_same_cells(stored: dict[Key, Cell], expected: dict[Key, Cell]) -> None:
    assert stored.keys() == expected.keys(), (
        f"only stored: {sorted(stored.keys() - expected.keys())[:5]}; "
        f"only derived: {sorted(expected.keys() - stored.keys())[:5]}"
    )
    differ = [
        (key, stored[key], cell)
        for key, cell in expected.items()
        if stored[key].status != cell.status
        or not _close(stored[key].value, cell.value)
        or not _close(stored[key].coverage, cell.coverage)
    ]
    assert not differ, differ[:5]


def assert_incremental_equals_full(session: Session, dataset: str) -> None:
    current = repository.current_observations(session, dataset)
    assert_same_cells(stored_cells(session, dataset), derived_cells(session, dataset, current))
    before = session.scalar(select(func.count()).select_from(PublishedValue))
    outcome = publish_all(session, dataset)
    assert (outcome.inserted, outcome.closed, outcome.corrected) == (0, 0, 0)
    assert session.scalar(select(func.count()).select_from(PublishedValue)) == before
    assert_tally_counts_the_current_rows(session, dataset)


def assert_tally_counts_the_current_rows(session: Session, dataset: str) -> None:
    """The tally the listings' totals are summed from is the count of the current rows."""
    slice_key = (
        PublishedValue.indicator_id,
        PublishedValue.period,
        PublishedValue.version,
        PublishedValue.level,
    )
    counted = session.execute(
        select(*slice_key, func.count())
        .where(PublishedValue.dataset_id == dataset, PublishedValue.revision_to.is_(None))
        .group_by(*slice_key)
    ).all()
    tallied = session.execute(
        select(
            PublishedTally.indicator_id,
            PublishedTally.period,
            PublishedTally.version,
            PublishedTally.level,
            PublishedTally.rows,
        ).where(PublishedTally.dataset_id == dataset)
    ).all()
    assert counted, "nothing published"
    assert sorted(map(tuple, tallied)) == sorted(map(tuple, counted))


# --------------------------------------------------------------------------------------------
# Random submissions
# --------------------------------------------------------------------------------------------


def supplied(session: Session, dataset: str) -> list[str]:
    return [i.id for i in indicators_of_dataset(session, dataset) if i.aggregation != "ratio"]


def sectors_of(session: Session, dataset: str) -> list[tuple[int, int | None]]:
    """(sector id, municipality id) of the dataset's geography version."""
    found = get_dataset(session, dataset)
    assert found is not None
    stmt = (
        select(GeoUnit.id, GeoUnit.parent_id)
        .where(GeoUnit.version == found.geo_version, GeoUnit.level == "sector")
        .order_by(GeoUnit.id)
    )
    return [(unit, parent) for unit, parent in session.execute(stmt)]


def random_value(rng: random.Random) -> tuple[float | None, str]:
    status = rng.choice(STATUSES)
    if status in NO_VALUE:
        return None, status
    # Mostly small counts, so that the disclosure thresholds (5 households, 10 connections)
    # are crossed back and forth; now and then a large or fractional one.
    roll = rng.random()
    if roll < 0.7:
        return float(rng.randint(0, 14)), status
    if roll < 0.9:
        return float(rng.randint(15, 5000)), status
    return round(rng.uniform(0, 100), 3), status


def random_submission(
    rng: random.Random,
    indicators: list[str],
    sectors: list[tuple[int, int | None]],
    periods: list[str],
    size: int,
) -> dict[tuple[str, int, str], tuple[float | None, str]]:
    # Rows of one or two municipalities: several siblings change together, so secondary
    # suppression has to move within their groups.
    municipalities = sorted({m for _, m in sectors if m is not None})
    chosen = set(rng.sample(municipalities, min(len(municipalities), rng.randint(1, 2))))
    pool = [s for s, m in sectors if m in chosen] or [s for s, _ in sectors]
    return {
        (rng.choice(indicators), rng.choice(pool), rng.choice(periods)): random_value(rng)
        for _ in range(size)
    }


def submit(
    session: Session,
    dataset: str,
    wanted: dict[tuple[str, int, str], tuple[float | None, str]],
    *,
    replace_all: bool = False,
) -> int:
    stored = store_revision(
        session,
        dataset,
        wanted,
        Submission(
            dataset_id=dataset,
            organisation_id="kenniscentrum-vlaamse-steden",
            source_name="test",
            media_type="text/csv",
            sha256=f"{len(wanted)}",
            rows_total=len(wanted),
        ),
        replace_all=replace_all,
        # As a supplier's submission does: a new period waits for the sectors it lacks.
        fill_new_periods=not replace_all,
    )
    session.flush()
    return stored.revision


# --------------------------------------------------------------------------------------------
# A small geography of our own: many sequences
# --------------------------------------------------------------------------------------------


@pytest.fixture
def small(empty_db: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine, factory = session_factory_for(empty_db)
    with transaction(factory) as session:
        ensure_versions(session)
        load_catalogue(session, SEEDS_DIR)
        import_geography(session, write_sources(tmp_path))
    yield factory
    engine.dispose()


SYNTHETIC = {
    # dataset → periods: a 2025 dataset with a ratio, 2024 datasets published on the 2025
    # municipalities too, one with a two-part denominator, one with a disclosure rule.
    "population-2025": ["2024", "2025"],
    "cars-households-2019": ["2019", "2020"],
    "age-census-2021": ["2021"],
    "energy-fluvius": ["2020", "2021"],
}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.costly(5)
def test_incremental_equals_full_on_random_sequences(
    small: sessionmaker[Session], seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    filled: list[int] = []
    fill = repository.stage_not_supplied

    def counting(session: Session, dataset_id: str, slices: set[tuple[str, str]]) -> int:
        filled.append(fill(session, dataset_id, slices))
        return filled[-1]

    monkeypatch.setattr(repository, "stage_not_supplied", counting)
    derived_seen: set[Key] = set()
    with transaction(small) as session:
        for dataset, periods in SYNTHETIC.items():
            indicators = supplied(session, dataset)
            sectors = sectors_of(session, dataset)
            for step in range(12):
                wanted = random_submission(rng, indicators, sectors, periods, rng.randint(1, 8))
                # Now and then a full import: what it leaves out is removed.
                submit(session, dataset, wanted, replace_all=step % 5 == 4)
                assert_incremental_equals_full(session, dataset)
                # The derived datasets that follow it too (their ratios are hidden where the
                # numerator's source hides it, which the submission may have moved).
                for dependant in dependants(session, dataset):
                    current = repository.current_observations(session, dependant)
                    expected = derived_cells(session, dependant, current)
                    assert_same_cells(stored_cells(session, dependant), expected)
                    derived_seen |= expected.keys()
            # Every earlier revision is kept as it was published.
            for revision in range(1, repository.latest_revision(session, dataset) + 1):
                assert_same_cells(
                    stored_cells(session, dataset, revision),
                    derived_cells(
                        session, dataset, observations_at(session, dataset, revision), revision
                    ),
                )
    # Some submissions opened a period whose other sectors then waited as missing rows.
    assert any(filled)
    assert derived_seen, "no derived cell: the derived datasets were not exercised"


@pytest.mark.parametrize("seed", range(4))
def test_incremental_equals_full_after_corrections(
    small: sessionmaker[Session], seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Submissions that only change existing rows are published by comparing the cells the
    changed units reach, not whole slices (app.stats.publish.publish_slices): the result is
    still exactly the full recomputation, disclosure groups and 2024 → 2025 included."""
    rng = random.Random(seed)
    reached: list[str] = []
    compare = repository.compare_staged

    def spying(
        session: Session, dataset_id: str, *, replace_all: bool, staged_periods_only: bool = False
    ) -> repository.StagedComparison:
        compared = compare(
            session, dataset_id, replace_all=replace_all, staged_periods_only=staged_periods_only
        )
        if compared.corrected_units is not None and dataset_id in SYNTHETIC:
            reached.append(dataset_id)
        return compared

    monkeypatch.setattr(repository, "compare_staged", spying)
    # Slices without disclosure control are computed at the correction's reach only.
    computed_at: list[Collection[int] | None] = []
    compute = publish.compute_slices

    def computing(*args: Any, **kwargs: Any) -> dict[publish.Slice, dict[int, Cell]]:
        computed_at.append(args[3] if len(args) > 3 else kwargs.get("only"))
        return compute(*args, **kwargs)

    monkeypatch.setattr(publish, "compute_slices", computing)
    with transaction(small) as session:
        for dataset, periods in SYNTHETIC.items():
            indicators = supplied(session, dataset)
            sectors = sectors_of(session, dataset)
            everything = {
                (indicator, sector, period): random_value(rng)
                for indicator in indicators
                for sector, _ in sectors
                for period in periods
            }
            submit(session, dataset, everything)
            keys = sorted(everything)
            for _ in range(8):
                corrected = {}
                for key in rng.sample(keys, rng.randint(1, 6)):
                    value = random_value(rng)
                    while value == everything[key]:
                        value = random_value(rng)
                    corrected[key] = everything[key] = value
                submit(session, dataset, corrected)
                assert_incremental_equals_full(session, dataset)
    # Every correction took the narrow path (the derived datasets that follow them too).
    assert sorted(reached) == sorted(dataset for dataset in SYNTHETIC for _ in range(8))
    assert any(only is not None and len(only) < 100 for only in computed_at)


def test_an_unchanged_submission_writes_nothing(small: sessionmaker[Session]) -> None:
    with transaction(small) as session:
        sectors = sectors_of(session, "cars-households-2019")
        wanted = {
            ("households", sectors[0][0], "2019"): (3.0, "normal"),
            ("cars", sectors[0][0], "2019"): (2.0, "normal"),
        }
        first = submit(session, "cars-households-2019", wanted)
        rows = session.scalar(select(func.count()).select_from(PublishedValue))
        # No new revision: the answer names the current one, the submission none.
        assert submit(session, "cars-households-2019", wanted) == first
        assert session.scalar(select(func.count()).select_from(PublishedValue)) == rows
        assert session.scalar(select(func.max(Submission.revision))) == first
        assert session.scalar(select(func.count()).where(Submission.revision.is_(None))) == 1
        assert (
            session.scalar(
                select(func.count())
                .select_from(PublishedValue)
                .where(
                    or_(
                        PublishedValue.revision_from > first,
                        PublishedValue.revision_to > first,
                    )
                )
            )
            == 0
        )


def test_a_part_changes_its_ratio_and_the_ratio_only_where_it_changes(
    small: sessionmaker[Session],
) -> None:
    with transaction(small) as session:
        sectors = [s for s, _ in sectors_of(session, "population-2025")]
        indicators = indicators_of_dataset(session, "population-2025")
        # The slices a change of the area reaches: area and the density that divides by it.
        assert affected_slices(indicators, {("area", "2025")}) == {
            ("area", "2025"),
            ("population-density", "2025"),
        }
        first = {("population", s, "2025"): (100.0, "normal") for s in sectors}
        first |= {("area", s, "2025"): (10.0, "normal") for s in sectors}
        submit(session, "population-2025", first)
        revision = submit(
            session, "population-2025", {("area", sectors[0], "2025"): (20.0, "normal")}
        )
        written = session.execute(
            select(PublishedValue.indicator_id, func.count())
            .where(PublishedValue.revision_from == revision)
            .group_by(PublishedValue.indicator_id)
        ).all()
        # The population did not change: none of its rows is written again.
        assert {indicator for indicator, _ in written} == {"area", "population-density"}
        assert_incremental_equals_full(session, "population-2025")


def test_full_recomputation_corrects_rows_of_its_own_revision(
    small: sessionmaker[Session],
) -> None:
    with transaction(small) as session:
        sectors = [s for s, _ in sectors_of(session, "population-2025")]
        submit(session, "population-2025", {("population", sectors[0], "2025"): (5.0, "normal")})
        # Damage the current rows as an earlier version of the code might have left them.
        session.execute(
            PublishedValue.__table__.update()  # type: ignore[attr-defined]
            .where(PublishedValue.level == "region")
            .values(value=-1.0)
        )
        outcome = publish_all(session, "population-2025")
        assert outcome.corrected >= 1 and outcome.inserted == outcome.closed == 0
        assert_incremental_equals_full(session, "population-2025")


def test_the_reported_count_is_what_is_published(small: sessionmaker[Session]) -> None:
    with transaction(small) as session:
        sectors = [s for s, _ in sectors_of(session, "population-2025")]
        stored = store_revision(
            session,
            "population-2025",
            {("population", s, "2025"): (float(n), "normal") for n, s in enumerate(sectors)},
            Submission(
                dataset_id="population-2025",
                organisation_id="kenniscentrum-vlaamse-steden",
                sha256="x",
            ),
            replace_all=True,
        )
        current = session.scalar(
            select(func.count())
            .select_from(PublishedValue)
            .where(
                PublishedValue.dataset_id == "population-2025",
                PublishedValue.revision_to.is_(None),
            )
        )
        written = session.scalar(
            select(func.count())
            .select_from(PublishedValue)
            .where(PublishedValue.revision_from == stored.revision)
        )
        assert stored.published == current and current > len(sectors)
        assert stored.published_written == written


def test_a_correction_moves_secondary_suppression_outside_its_reach(
    small: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A correction under a disclosure rule is compared at the cells it reaches and where
    suppression is or was, not over its whole slices: when it hides a sector, the sibling that
    secondary suppression picks (outside the reach) becomes confidential, and when it shows
    the sector again, the sibling is shown again."""
    ratio = "electricity-per-residential-connection"  # disclosure: < 10 connections
    consumption = "electricity-consumption-residential"  # its numerator: hidden with it
    read_at: list[object] = []
    current_published = repository.current_published
    # Where each indicator's cells were computed (None: over the whole slice).
    computed_at: dict[str, list[Collection[int] | None]] = defaultdict(list)
    compute_cells = publish.compute_cells

    def computing(
        indicators: list[Indicator], *args: Any, **kwargs: Any
    ) -> dict[tuple[str, str], dict[int, Cell]]:
        for indicator in indicators:
            computed_at[indicator.id].append(args[2] if len(args) > 2 else kwargs.get("only"))
        return compute_cells(indicators, *args, **kwargs)

    monkeypatch.setattr(publish, "compute_cells", computing)

    def spying(
        session: Session, dataset_id: str, indicators: list[str], *args: object, **kw: object
    ) -> dict[tuple[str, str, int], repository.StoredPublished]:
        if ratio in indicators:
            read_at.append(kw.get("units"))
        return current_published(session, dataset_id, indicators, *args, **kw)

    with transaction(small) as session:
        unit = sectors_2024(session)
        sector, sibling = unit["11002A00-"], unit["11002ZZZZ"]  # Antwerpen's two sectors
        everything = {
            (indicator, s, "2021"): (value, "normal")
            for s in (sector, sibling, unit["11007A00-"], unit["11007ZZZZ"])
            for indicator, value in (
                ("electricity-connections-residential", 100.0),
                ("electricity-consumption-residential", 1000.0),
            )
        }
        submit(session, "energy-fluvius", everything)
        monkeypatch.setattr(repository, "current_published", spying)

        def status_of(unit_id: int, indicator: str = ratio) -> str | None:
            return session.scalar(
                select(PublishedValue.status).where(
                    PublishedValue.dataset_id == "energy-fluvius",
                    PublishedValue.indicator_id == indicator,
                    PublishedValue.period == "2021",
                    PublishedValue.unit_id == unit_id,
                    PublishedValue.revision_to.is_(None),
                )
            )

        assert status_of(sibling) == "normal"
        for connections, expected in ((3.0, "confidential"), (100.0, "normal")):
            read_at.clear()
            computed_at.clear()
            submit(
                session,
                "energy-fluvius",
                {("electricity-connections-residential", sector, "2021"): (connections, "normal")},
            )
            # The sibling is outside the correction's reach (the sector and the units
            # containing it), yet its published cell follows the suppression.
            assert status_of(sector) == expected and status_of(sibling) == expected
            # The consumption is hidden with its ratio (or the ratio would be consumption ÷
            # connections), yet computed only where its cells can change: the reach, and
            # where it is or was hidden; the ratio over the whole slice.
            for unit_id in (sector, sibling):
                assert status_of(unit_id, consumption) == expected
            assert computed_at[ratio] == [None]
            (at,) = computed_at[consumption]
            assert at is not None and {sector, sibling} <= set(at)
            # Not in the other municipality, which it neither reaches nor hides.
            assert not {unit["11007A00-"], unit["11007ZZZZ"]} & set(at)
            # The stored rows of the ratio were read at some units, not the whole slice.
            assert read_at and all(units is not None for units in read_at)
            monkeypatch.setattr(repository, "current_published", current_published)
            assert_incremental_equals_full(session, "energy-fluvius")
            monkeypatch.setattr(repository, "current_published", spying)


# --------------------------------------------------------------------------------------------
# The real data
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "periods"),
    [("population-2025", ["2025"]), ("cars-households-2019", ["2019"])],
)
@pytest.mark.costly(12)
def test_incremental_equals_full_on_the_real_data(
    real_session: Session, dataset: str, periods: list[str]
) -> None:
    session = real_session
    # What the seed published is what a full recomputation gives.
    assert_incremental_equals_full(session, dataset)
    rng = random.Random(dataset)
    indicators = supplied(session, dataset)
    sectors = sectors_of(session, dataset)
    first = repository.latest_revision(session, dataset) + 1
    for _ in range(5):
        submit(session, dataset, random_submission(rng, indicators, sectors, periods, 25))
        assert_incremental_equals_full(session, dataset)
    # The revisions in between are kept as published.
    revision = first + 2
    assert_same_cells(
        stored_cells(session, dataset, revision),
        derived_cells(session, dataset, observations_at(session, dataset, revision), revision),
    )
    if dataset == "cars-households-2019":
        # Secondary suppression moved: cells of sectors nobody submitted for became (or
        # stopped being) confidential.
        moved = session.scalar(
            select(func.count())
            .select_from(PublishedValue)
            .where(
                PublishedValue.dataset_id == dataset,
                PublishedValue.indicator_id == "cars-per-household",
                PublishedValue.status == "confidential",
                or_(PublishedValue.revision_from >= first, PublishedValue.revision_to >= first),
            )
        )
        assert moved


# --------------------------------------------------------------------------------------------
# revision= reads stored rows
# --------------------------------------------------------------------------------------------


def test_an_earlier_revision_is_read_from_stored_rows(world: World) -> None:
    submit_url = "/api/v1/datasets/population-2025/submissions"
    header = "sector,indicator,period,value,status\n"
    first = world.client.post(
        submit_url,
        content=(header + "44021A00-,population,2025,1000,\n44021A01-,population,2025,7,\n"),
        headers=world.headers("gent"),
    )
    assert first.status_code == 201, first.text
    second = world.client.post(
        submit_url,
        content=(header + "44021A00-,population,2025,1100,\n").encode(),
        headers=world.headers("gent"),
    )
    assert second.status_code == 201, second.text
    app_engine = world.client.app.state.datapedia.session_factory.kw["bind"]  # type: ignore[attr-defined]
    statements: list[str] = []

    def remember(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.lower())

    event.listen(app_engine, "before_cursor_execute", remember)
    try:
        response = world.client.get(
            "/api/v1/datasets/population-2025/observations",
            params={"unit": "municipality:44021", "revision": first.json()["revision"]},
        )
    finally:
        event.remove(app_engine, "before_cursor_execute", remember)
    assert response.status_code == 200, response.text
    values = {item["indicator"]: item["value"] for item in response.json()["items"]}
    assert values["population"] == 1007  # as published then, not 1107
    assert any("published_value" in s for s in statements)
    # Nothing is derived again: the observations are not read at all.
    assert not [s for s in statements if "from observation" in s or "join observation" in s]


def test_comparing_revisions_gives_no_hidden_value_back(world: World) -> None:
    """A supplier's ordinary correction made another sector of Turnhout primary; computed
    afresh, the sector hidden beside the protected one in revision 1 was published in
    revision 2, and revision 1's hidden sum minus it was the protected consumption (found
    by an outsider, to the kWh). What a revision hid stays hidden while the cell it
    protects is still primary; once none is, the pattern is released."""
    dataset = "energy-fluvius"
    url = f"/api/v1/datasets/{dataset}"
    listed = world.client.get(
        "/api/v1/geo/units",
        params={"level": "sector", "within": "municipality:44021", "version": "2024",
                "page_size": 20},
    )  # fmt: skip
    codes = sorted(u["code"] for u in listed.json()["items"] if not u["code"].endswith("ZZZZ"))
    a, b, c, *others = codes[:8]
    connections = {a: 3, b: 50, c: 60, **{code: 70 + 10 * n for n, code in enumerate(others)}}

    def send(changes: dict[str, int], consumption: bool = False) -> int:
        rows = "".join(
            f"{code},electricity-connections-residential,2021,{n},\n"
            + (f"{code},electricity-consumption-residential,2021,{n * 1000 + 7},\n"
               if consumption else "")
            for code, n in changes.items()
        )  # fmt: skip
        sent = world.client.post(
            f"{url}/submissions",
            content="sector,indicator,period,value,status\n" + rows,
            headers=world.headers("gent"),
        )
        assert sent.status_code == 201, sent.text
        return int(sent.json()["revision"])

    def hidden(revision: int | None = None) -> set[str]:
        params: dict[str, Any] = {
            "indicator": "electricity-consumption-residential", "period": "2021",
            "within": "municipality:44021", "level": "sector", "page_size": 1000,
        }  # fmt: skip
        if revision is not None:
            params["revision"] = revision
        read = world.client.get(f"{url}/observations", params=params)
        assert read.status_code == 200, read.text
        return {i["code"] for i in read.json()["items"] if i["status"] == "confidential"}

    first = send(connections, consumption=True)
    before = hidden()
    assert a in before and len(before & set(codes[:8])) >= 2
    send({c: 4})  # c is primary now too
    after = hidden()
    assert before | {c} <= after, (before, after)
    assert hidden(first) == before  # revision 1 as it was published
    send({a: 100, c: 100})  # no primary cell left: everything is shown
    assert hidden() == set()


def test_a_publication_runs_without_the_cycle_collector(
    small: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    collecting: list[bool] = []
    original = publish.publish_slices

    def spying(*args: Any, **kwargs: Any) -> publish.PublishOutcome:
        collecting.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(publish, "publish_slices", spying)
    assert gc.isenabled()
    with transaction(small) as session:
        sectors = [s for s, _ in sectors_of(session, "population-2025")]
        submit(session, "population-2025", {("population", sectors[0], "2025"): (5.0, "normal")})
        publish_all(session, "population-2025")
    assert collecting == [False, False]
    assert gc.isenabled()


def failing_publication() -> None:
    with publish.collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("a publication that fails")


def test_the_collector_is_on_again_when_the_last_publication_ends() -> None:
    entered, leave = threading.Event(), threading.Event()

    def other_publication() -> None:
        with publish.collector_paused():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=other_publication)
    thread.start()
    try:
        assert entered.wait(10)
        with pytest.raises(RuntimeError, match="fails"):
            failing_publication()
        assert not gc.isenabled()  # the other one still runs
    finally:
        leave.set()
        thread.join(10)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_operator_stays_off() -> None:
    gc.disable()
    try:
        with publish.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


# --------------------------------------------------------------------------------------------
# A derived ratio follows what its numerator's source hides
# --------------------------------------------------------------------------------------------


def test_a_derived_ratio_follows_its_sources_hidden_cells_without_a_rule_of_its_own(
    empty_db: str, tmp_path: Path
) -> None:
    """Electricity per inhabitant without its rule on the connections (a steward's own
    derived indicator): it is still hidden wherever energy-fluvius hides the consumption,
    else ratio × inhabitants gives the consumption back. A correction of the connections
    moves those cells and changes no copied part: the derived dataset follows it in a new
    revision all the same, and a correction that hides nothing new makes no revision."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    derived_yaml = seeds / "derived.yaml"
    rule = "  disclosure: {reference: electricity-connections-residential, dataset: energy-fluvius, min: 10}\n"
    assert rule in derived_yaml.read_text()
    derived_yaml.write_text(derived_yaml.read_text().replace(rule, "", 1))
    engine, factory = session_factory_for(empty_db)
    ratio, consumption = (
        "electricity-residential-per-inhabitant",
        "electricity-consumption-residential",
    )
    try:
        with transaction(factory) as session:
            ensure_versions(session)
            load_catalogue(session, seeds)
            import_geography(session, write_sources(tmp_path))
            unit = sectors_2024(session)
            sector, sibling = unit["11002A00-"], unit["11002ZZZZ"]  # Antwerpen's two sectors
            others = (unit["11007A00-"], unit["11007ZZZZ"])
            everything = (sector, sibling, *others)
            submit(
                session,
                "age-census-2021",
                {
                    (part, s, "2021"): (50.0, "normal")
                    for s in everything
                    for part in ("population-65plus", "population-under-65")
                },
            )
            submit(
                session,
                "energy-fluvius",
                {
                    (indicator, s, "2021"): (value, "normal")
                    for s in everything
                    for indicator, value in (
                        ("electricity-connections-residential", 100.0),
                        (consumption, 1000.0),
                    )
                },
            )
            (derived,) = dependants(session, "energy-fluvius")
            shown = stored_cells(session, derived)
            assert shown[(ratio, "2021", sector)].status == "normal"

            def follows() -> None:
                current = repository.current_observations(session, derived)
                assert_same_cells(
                    stored_cells(session, derived), derived_cells(session, derived, current)
                )

            # Fewer than 10 connections: energy-fluvius hides the consumption of the sector
            # (and of its sibling, or the municipality minus one would give it back).
            before = repository.latest_revision(session, derived)
            submit(
                session,
                "energy-fluvius",
                {("electricity-connections-residential", sector, "2021"): (3.0, "normal")},
            )
            hidden = stored_cells(session, "energy-fluvius")
            assert hidden[(consumption, "2021", sector)].status == "confidential"
            assert repository.latest_revision(session, derived) == before + 1
            cells = stored_cells(session, derived)
            assert cells[(ratio, "2021", sector)].status == "confidential"
            assert cells[(ratio, "2021", sibling)].status == "confidential"
            follows()
            # Still fewer than 10: nothing moves, and no derived revision is made.
            submit(
                session,
                "energy-fluvius",
                {("electricity-connections-residential", sector, "2021"): (4.0, "normal")},
            )
            assert repository.latest_revision(session, derived) == before + 1
            # Shown again with the consumption.
            submit(
                session,
                "energy-fluvius",
                {("electricity-connections-residential", sector, "2021"): (100.0, "normal")},
            )
            assert repository.latest_revision(session, derived) == before + 2
            assert stored_cells(session, derived)[(ratio, "2021", sector)].status == "normal"
            follows()
    finally:
        engine.dispose()


def test_a_confidential_municipality_is_not_the_difference_of_an_arrondissement_across_versions(
    world: World,
) -> None:
    """2024 data is published on the 2025 units too. Kortessem left the arrondissement of
    Tongeren for Hasselt in 2025, so Tongeren (2024) minus Tongeren (2025) was Kortessem's
    value, confidential or not (found by an outsider). Both versions of an arrondissement
    and the municipalities they differ by are one disclosure group now."""
    url = "/api/v1/datasets/cars-households-2019"

    def sectors(municipality: str, count: int) -> list[str]:
        listed = world.client.get(
            "/api/v1/geo/units",
            params={"level": "sector", "within": f"municipality:{municipality}",
                    "version": "2024", "page_size": 50},
        )  # fmt: skip
        return sorted(u["code"] for u in listed.json()["items"])[:count]

    rows = [f"{code},households,2019,1,\n{code},cars,2019,1,\n" for code in sectors("73040", 3)]
    rows += [
        f"{code},households,2019,{40 + n},\n{code},cars,2019,{30 + n},\n"
        for municipality in ("73083", "71022")
        for n, code in enumerate(sectors(municipality, 3))
    ]
    sent = world.client.post(
        f"{url}/submissions",
        content="sector,indicator,period,value,status\n" + "".join(rows),
        headers=world.headers("admin"),
    )
    assert sent.status_code == 201, sent.text

    def cell(level: str, code: str, version: str) -> tuple[float | None, str]:
        read = world.client.get(
            f"{url}/observations",
            params={"indicator": "cars", "unit": f"{level}:{code}", "version": version},
        )
        assert read.status_code == 200, read.text
        (item,) = read.json()["items"]
        return item["value"], item["status"]

    kortessem = cell("municipality", "73040", "2024")
    assert kortessem == (None, "confidential")  # 3 households
    for arrondissement in ("73000", "71000"):
        both = [cell("arrondissement", arrondissement, v) for v in ("2024", "2025")]
        # Never both published: their difference would be Kortessem's three cars.
        assert any(value is None for value, _ in both), (arrondissement, both)
