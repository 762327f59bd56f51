"""All queries on observations, submissions and published values."""

from __future__ import annotations

import itertools
import queue
import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.catalogue.models import ChangeCounter, Dataset, Indicator
from app.db.bulk import bulk_insert
from app.db.session import read_one_state
from app.geo.models import GeoSuccessor, GeoUnit, GeoUnitAncestor
from app.stats.aggregate import Cell
from app.stats.formats import COVERAGE_DECIMALS, FORMULA_TRIGGERS
from app.stats.models import Observation, PublishedTally, PublishedValue, Submission

# A select of any number of columns.
AnySelect = Select[*tuple[Any, ...]]
T = TypeVar("T")


class StoredObservation(NamedTuple):
    id: int
    indicator_id: str
    unit_id: int
    period: str
    value: float | None
    status: str


_OBSERVATION_COLUMNS = (
    Observation.id,
    Observation.indicator_id,
    Observation.unit_id,
    Observation.period,
    Observation.value,
    Observation.status,
)


def current_observations(
    session: Session,
    dataset_id: str,
    *,
    indicators: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
    unit_ids: Sequence[int] | None = None,
) -> list[StoredObservation]:
    """The current observations of the dataset, or of some indicators, periods and units
    (each ``None``: all)."""
    stmt = select(*_OBSERVATION_COLUMNS).where(
        Observation.dataset_id == dataset_id, Observation.revision_to.is_(None)
    )
    if indicators is not None:
        stmt = stmt.where(Observation.indicator_id.in_(list(indicators)))
    if periods is not None:
        stmt = stmt.where(Observation.period.in_(list(periods)))
    if unit_ids is not None:
        stmt = stmt.where(Observation.unit_id.in_(list(unit_ids)))
    # Core, not the ORM: plain column rows need none of its per-row work (a slice has tens
    # of thousands of them); what the session still holds is flushed first. The driver's
    # own rows, all at once: iterating a result fetches row by row (psycopg's fetchone costs
    # several times its fetchall per row) and builds a Row for each; these columns need no
    # conversion by SQLAlchemy on either database.
    session.flush()
    result = session.connection().execute(stmt)
    try:
        return list(map(StoredObservation._make, result.cursor.fetchall()))
    finally:
        result.close()


def observation_periods(session: Session, dataset_id: str, indicator_id: str) -> list[str]:
    """The periods with current observations of one indicator of a dataset, in order. One
    index seek per period (each the first current row after the last period found), not a
    read of every observation of the indicator: a submission's derived refresh asks this of
    every part, and an indicator has tens of thousands of rows in a handful of periods."""
    following = (
        "SELECT o.period FROM observation o WHERE o.dataset_id = :dataset AND o.indicator_id "
        "= :indicator AND o.revision_to IS NULL{after} ORDER BY o.period LIMIT 1"
    )
    stmt = text(
        f"WITH RECURSIVE found(period) AS (SELECT ({following.format(after='')}) UNION ALL "
        f"SELECT ({following.format(after=' AND o.period > found.period')}) FROM found "
        "WHERE found.period IS NOT NULL) SELECT period FROM found WHERE period IS NOT NULL"
    )
    return list(session.scalars(stmt, {"dataset": dataset_id, "indicator": indicator_id}))


def observation_slices(session: Session, dataset_id: str) -> set[tuple[str, str]]:
    """The (indicator, period) pairs with current observations in a dataset. On PostgreSQL
    one index seek per pair (the first current row after the last pair found), like
    :func:`observation_periods`, not a read of the dataset (every submission to a source
    asks this of its derived datasets); SQLite seeks on the pair's row value more slowly
    than it reads the dataset's index entries (measured: 100 against 40 ms for
    climate-energy-monitor), so it reads them."""
    if session.get_bind().dialect.name == "sqlite":
        distinct = (
            select(Observation.indicator_id, Observation.period)
            .where(Observation.dataset_id == dataset_id, Observation.revision_to.is_(None))
            .distinct()
        )
        return {(indicator, period) for indicator, period in session.execute(distinct)}
    following = (
        "(SELECT o.{column} FROM observation o WHERE o.dataset_id = :dataset AND "
        "o.revision_to IS NULL{after} ORDER BY o.indicator_id, o.period LIMIT 1)"
    )
    after = " AND (o.indicator_id, o.period) > (found.indicator_id, found.period)"
    stmt = text(
        "WITH RECURSIVE found(indicator_id, period) AS (SELECT "
        f"{following.format(column='indicator_id', after='')}, "
        f"{following.format(column='period', after='')} UNION ALL SELECT "
        f"{following.format(column='indicator_id', after=after)}, "
        f"{following.format(column='period', after=after)} FROM found WHERE "
        "found.indicator_id IS NOT NULL) SELECT indicator_id, period FROM found WHERE "
        "indicator_id IS NOT NULL"
    )
    rows = session.execute(stmt, {"dataset": dataset_id})
    return {(indicator, period) for indicator, period in rows}


def revision_made_at(session: Session, dataset_id: str, revision: int) -> datetime | None:
    return session.scalar(
        select(Submission.created_at).where(
            Submission.dataset_id == dataset_id, Submission.revision == revision
        )
    )


def revision_as_of(session: Session, dataset_id: str, moment: datetime) -> int | None:
    return session.scalar(
        select(func.max(Submission.revision)).where(
            Submission.dataset_id == dataset_id,
            Submission.state == "accepted",
            Submission.created_at <= moment,
        )
    )


def unit_labels(session: Session, unit_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    labels: dict[int, tuple[str, str]] = {}
    ids = list(unit_ids)
    for start in range(0, len(ids), 5000):
        stmt = select(GeoUnit.id, GeoUnit.code, GeoUnit.name).where(
            GeoUnit.id.in_(ids[start : start + 5000])
        )
        labels.update({unit: (code, name) for unit, code, name in session.execute(stmt)})
    return labels


def provenance(
    session: Session, dataset_id: str, unit_ids: Sequence[int], revision: int | None = None
) -> dict[tuple[str, int, str], tuple[str | None, int, int]]:
    """(indicator, unit, period) → (supplier organisation, submission id, revision) of the
    observations of these units, current or as they were right after ``revision``; no
    supplier for a row still awaited (stored by the submission that opened its period)."""
    stmt = (
        select(
            Observation.indicator_id,
            Observation.unit_id,
            Observation.period,
            case((Observation.awaited, None), else_=Submission.organisation_id),
            Submission.id,
            Observation.revision_from,
        )
        .join(Submission, Submission.id == Observation.submission_id)
        .where(
            Observation.dataset_id == dataset_id,
            _valid(Observation.revision_from, Observation.revision_to, revision),
            Observation.unit_id.in_(list(unit_ids)),
        )
    )
    return {(i, u, p): (org, sub, rev) for i, u, p, org, sub, rev in session.execute(stmt)}


def _valid(
    revision_from: InstrumentedAttribute[int],
    revision_to: InstrumentedAttribute[int | None],
    revision: int | None,
) -> ColumnElement[bool]:
    """Rows current (``revision`` None) or valid right after ``revision``."""
    if revision is None:
        return revision_to.is_(None)
    return and_(revision_from <= revision, or_(revision_to.is_(None), revision_to > revision))


def close_observations(session: Session, ids: Sequence[int], revision: int) -> None:
    for start in range(0, len(ids), 5000):
        chunk = list(ids[start : start + 5000])
        session.execute(
            update(Observation).where(Observation.id.in_(chunk)).values(revision_to=revision)
        )


def insert_observations(
    session: Session,
    dataset_id: str,
    submission_id: int,
    revision: int,
    rows: Sequence[tuple[str, int, str, float | None, str]],
) -> int:
    columns = (
        "dataset_id",
        "indicator_id",
        "unit_id",
        "period",
        "value",
        "status",
        "submission_id",
        "revision_from",
    )
    return bulk_insert(
        session,
        Observation.__table__,  # type: ignore[arg-type]
        columns,
        (
            (dataset_id, indicator, unit, period, value, status, submission_id, revision)
            for indicator, unit, period, value, status in rows
        ),
    )


def latest_revision(session: Session, dataset_id: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(Submission.revision), 0)).where(
                Submission.dataset_id == dataset_id
            )
        )
        or 0
    )


def latest_revisions(session: Session, dataset_ids: Sequence[str]) -> dict[str, int]:
    """:func:`latest_revision` of many datasets in one query (absent: no submission yet)."""
    if not dataset_ids:
        return {}
    stmt = (
        select(Submission.dataset_id, func.max(Submission.revision))
        .where(Submission.dataset_id.in_(list(dataset_ids)))
        .group_by(Submission.dataset_id)
    )
    return {dataset_id: revision or 0 for dataset_id, revision in session.execute(stmt)}


def latest_accepted(
    session: Session, dataset_id: str, source_name: str | None = None
) -> Submission | None:
    """The dataset's newest accepted submission (of this source, when given)."""
    stmt = select(Submission).where(
        Submission.dataset_id == dataset_id, Submission.state == "accepted"
    )
    if source_name is not None:
        stmt = stmt.where(Submission.source_name == source_name)
    return session.scalar(
        stmt
        # The newest, also when it changed nothing (no revision): its file is the latest.
        .order_by(Submission.id.desc()).limit(1)
    )


def add_submission(session: Session, submission: Submission) -> Submission:
    session.add(submission)
    session.flush()
    return submission


@dataclass
class VersionGeography:
    """The units of one geography version and what contains what."""

    level: dict[int, str]
    version: dict[int, str]
    parent: dict[int, int | None]
    ancestors: dict[int, list[int]]
    by_code: dict[tuple[str, str], int]  # (level, code) → id, of the first version
    # A unit of a later version → the unit of the first version with its level and code.
    namesakes: dict[int, int] = field(default_factory=dict)


_GEOGRAPHY_CACHE: dict[tuple[object, ...], object] = {}
_GEOGRAPHY_LOCK = threading.Lock()


# session.info key of the geography read once per unit of work (see geography_fixed).
_FIXED_GEOGRAPHY = "datapedia.fixed_geography"


@contextmanager
def geography_fixed(session: Session) -> Iterator[None]:
    """Within: the geography does not change (a submission or an import of values never
    writes it), so what :func:`load_geography` and :func:`successor_links` read of it is read
    once, not again by every dataset and publication of the unit of work (a one-row
    submission loads the geography three times)."""
    if _FIXED_GEOGRAPHY in session.info:  # an enclosing scope already holds it
        yield
        return
    session.info[_FIXED_GEOGRAPHY] = {}
    try:
        yield
    finally:
        del session.info[_FIXED_GEOGRAPHY]


def _fixed(session: Session, key: tuple[object, ...], read: Callable[[], T]) -> T:
    """``read()``, once per key inside :func:`geography_fixed`; every time outside it."""
    memo: dict[tuple[object, ...], Any] | None = session.info.get(_FIXED_GEOGRAPHY)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return cast(T, memo[key])


def geography_stamp(session: Session) -> int:
    """The geography's change counter (kept by triggers on its tables, migration 0014): read
    once per unit of work inside :func:`geography_fixed`."""
    return _fixed(
        session,
        ("stamp",),
        lambda: int(
            session.scalar(select(ChangeCounter.value).where(ChangeCounter.name == "geography"))
            or 0
        ),
    )


def _until_geography_changes(
    session: Session, kind: str, versions: Sequence[str], read: Callable[[], T]
) -> T:
    """``read()``, cached per database and versions until the geography's change counter
    moves (shared by the threads of a worker; a few entries, for the databases of tests)."""
    key = (kind, str(session.get_bind().engine.url), tuple(versions), geography_stamp(session))
    with _GEOGRAPHY_LOCK:
        if key in _GEOGRAPHY_CACHE:
            return cast(T, _GEOGRAPHY_CACHE[key])
    value = read()
    with _GEOGRAPHY_LOCK:
        if len(_GEOGRAPHY_CACHE) >= 16:
            _GEOGRAPHY_CACHE.clear()
        _GEOGRAPHY_CACHE[key] = value
    return value


def load_geography(session: Session, versions: Sequence[str]) -> VersionGeography:
    """The units and containment of these versions, read again only when the geography
    changed: every submission and publication needs them."""
    return _until_geography_changes(
        session, "units", versions, lambda: _read_geography(session, versions)
    )


def _read_geography(session: Session, versions: Sequence[str]) -> VersionGeography:
    geo = VersionGeography({}, {}, {}, defaultdict(list), {})
    later: list[tuple[int, str, str]] = []
    units = select(GeoUnit.id, GeoUnit.level, GeoUnit.code, GeoUnit.version, GeoUnit.parent_id)
    connection = session.connection()  # Core rows: tens of thousands of units
    for unit_id, level, code, version, parent_id in connection.execute(
        units.where(GeoUnit.version.in_(list(versions)))
    ):
        geo.level[unit_id] = level
        geo.version[unit_id] = version
        geo.parent[unit_id] = parent_id
        if version == versions[0]:
            geo.by_code[(level, code)] = unit_id
        else:
            later.append((unit_id, level, code))
    for unit_id, level, code in later:
        first = geo.by_code.get((level, code))
        if first is not None:
            geo.namesakes[unit_id] = first
    links = (
        select(GeoUnitAncestor.unit_id, GeoUnitAncestor.ancestor_id)
        .join(GeoUnit, GeoUnit.id == GeoUnitAncestor.unit_id)
        .where(GeoUnit.version.in_(list(versions)))
    )
    for unit_id, ancestor_id in connection.execute(links):
        geo.ancestors[unit_id].append(ancestor_id)
    return geo


def successor_links(session: Session, versions: Sequence[str]) -> dict[int, int]:
    """Municipality → the municipality of the next version containing it, for every pair of
    consecutive versions in ``versions``."""

    def read() -> dict[int, int]:
        old, new = aliased(GeoUnit), aliased(GeoUnit)
        links: dict[int, int] = {}
        for older, newer in itertools.pairwise(versions):
            stmt = (
                select(GeoSuccessor.predecessor_id, GeoSuccessor.successor_id)
                .join(old, old.id == GeoSuccessor.predecessor_id)
                .join(new, new.id == GeoSuccessor.successor_id)
                .where(old.version == older, new.version == newer)
            )
            links.update(dict(session.execute(stmt).all()))
        return links

    # A copy: callers own their answer.
    return dict(_until_geography_changes(session, "successors", versions, read))


class StoredPublished(Protocol):
    """A current published row as :func:`current_published` reads it."""

    @property
    def id(self) -> int: ...
    @property
    def value(self) -> float | None: ...
    @property
    def status(self) -> str: ...
    @property
    def coverage(self) -> float | None: ...
    @property
    def revision_from(self) -> int: ...


def current_published(
    session: Session,
    dataset_id: str,
    indicators: Sequence[str],
    periods: Sequence[str],
    *,
    without_sectors_of: Sequence[str] = (),
    units: Mapping[int, str] | None = None,
    or_confidential: bool = False,
) -> dict[tuple[str, str, int], StoredPublished]:
    """(indicator, period, unit) → the current published row, for these slices (leaving out
    the sector rows of ``without_sectors_of``; only at ``units`` (id → level) when given, and
    with ``or_confidential`` also wherever the row is confidential). The rows are the
    driver's own (no record built per row: a slice has tens of thousands)."""
    stmt = select(
        PublishedValue.indicator_id,
        PublishedValue.period,
        PublishedValue.unit_id,
        PublishedValue.id,
        PublishedValue.value,
        PublishedValue.status,
        PublishedValue.coverage,
        PublishedValue.revision_from,
    ).where(
        PublishedValue.dataset_id == dataset_id,
        PublishedValue.revision_to.is_(None),
        PublishedValue.indicator_id.in_(list(indicators)),
        PublishedValue.period.in_(list(periods)),
    )
    if without_sectors_of:
        stmt = stmt.where(
            or_(
                PublishedValue.level != "sector",
                PublishedValue.indicator_id.not_in(list(without_sectors_of)),
            )
        )
    if units is not None:
        # The level too: it comes before the unit in the indexes (see tally_at).
        at_units = and_(
            PublishedValue.level.in_(sorted(set(units.values()))),
            PublishedValue.unit_id.in_(sorted(units)),
        )
        stmt = stmt.where(
            or_(at_units, PublishedValue.status == "confidential") if or_confidential else at_units
        )
    session.flush()
    # All rows at once (see current_observations: psycopg's fetchone per row is slow).
    rows = session.connection().execute(stmt).all()
    return {(row[0], row[1], row[2]): row for row in rows}


def published_slices(session: Session, dataset_id: str) -> set[tuple[str, str]]:
    stmt = (
        select(PublishedValue.indicator_id, PublishedValue.period)
        .where(PublishedValue.dataset_id == dataset_id, PublishedValue.revision_to.is_(None))
        .distinct()
    )
    return {(indicator, period) for indicator, period in session.execute(stmt)}


def count_published(session: Session, dataset_id: str) -> int:
    """The dataset's current published values."""
    return (
        session.scalar(
            select(func.count())
            .select_from(PublishedValue)
            .where(PublishedValue.dataset_id == dataset_id, PublishedValue.revision_to.is_(None))
        )
        or 0
    )


def close_published(session: Session, ids: Sequence[int], revision: int) -> None:
    for start in range(0, len(ids), 5000):
        session.execute(
            update(PublishedValue)
            .where(PublishedValue.id.in_(list(ids[start : start + 5000])))
            .values(revision_to=revision)
        )


def delete_published(session: Session, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 5000):
        session.execute(
            delete(PublishedValue).where(PublishedValue.id.in_(list(ids[start : start + 5000])))
        )


def correct_published(session: Session, rows: Sequence[tuple[int, Cell]]) -> None:
    """Overwrite rows written in the revision being published (a full recomputation)."""
    if not rows:
        return
    table = cast("Table", PublishedValue.__table__)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(
            value=bindparam("new_value"),
            status=bindparam("new_status"),
            coverage=bindparam("new_coverage"),
        )
    )
    session.connection().execute(
        stmt,
        [
            {
                "row_id": row_id,
                "new_value": cell.value,
                "new_status": cell.status,
                "new_coverage": cell.coverage,
            }
            for row_id, cell in rows
        ],
    )


def insert_published(
    session: Session,
    dataset_id: str,
    revision: int,
    rows: Sequence[tuple[str, str, str, str, int, float | None, str, float | None]],
) -> int:
    """Insert (indicator, period, version, level, unit_id, value, status, coverage) rows,
    valid from ``revision``."""
    columns = (
        "dataset_id",
        "indicator_id",
        "period",
        "version",
        "level",
        "unit_id",
        "value",
        "status",
        "coverage",
        "revision_from",
    )
    return bulk_insert(
        session,
        PublishedValue.__table__,  # type: ignore[arg-type]
        columns,
        ((dataset_id, *row, revision) for row in rows),
    )


def submissions_query(
    dataset_id: str,
    state: str | None = None,
    *,
    refused_of: str | None = None,
    every_refused: bool = False,
) -> Select[Submission]:
    """The dataset's submissions, newest first (of ``state`` only, when given). Of the
    rejected ones, those sent by the organisation ``refused_of``, or all with
    ``every_refused``; none otherwise."""
    stmt = select(Submission).where(Submission.dataset_id == dataset_id)
    if state is not None:
        stmt = stmt.where(Submission.state == state)
    if not every_refused:
        refused_shown = (
            Submission.organisation_id == refused_of if refused_of is not None else false()
        )
        stmt = stmt.where(or_(Submission.state == "accepted", refused_shown))
    return stmt.order_by(Submission.created_at.desc(), Submission.id.desc())


def submissions(session: Session, dataset_id: str) -> list[Submission]:
    """The dataset's accepted submissions (its revisions, and the uploads that changed
    nothing), newest first."""
    return list(session.scalars(submissions_query(dataset_id, "accepted")))


def get_submission(session: Session, dataset_id: str, submission_id: int) -> Submission | None:
    submission = session.get(Submission, submission_id)
    return submission if submission is not None and submission.dataset_id == dataset_id else None


def current_slices_of_submission(
    session: Session, dataset_id: str, submission_id: int
) -> set[tuple[str, str]]:
    """The (indicator, period) slices in which rows of the submission are still current."""
    rows = session.execute(
        select(Observation.indicator_id, Observation.period)
        .where(
            Observation.dataset_id == dataset_id,
            Observation.submission_id == submission_id,
            Observation.revision_to.is_(None),
        )
        .distinct()
    )
    return {(indicator, period) for indicator, period in rows}


def withdraw_rows(
    session: Session, dataset_id: str, submission_id: int, revision: int
) -> tuple[int, int]:
    """As of ``revision``: the rows of the submission that are still current are closed, and
    each is replaced by the latest earlier row of its key that no withdrawn submission
    supplied (a copy, with its own submission: who supplied it stays true), found by
    walking back the rows each one replaced. A key the submission added, or that only
    withdrawn submissions supplied since, is gone. The submission must be marked withdrawn
    already. Returns (rows withdrawn, rows restored)."""
    params = {"dataset": dataset_id, "submission": submission_id, "revision": revision}
    # Each step: the row the current one replaced, made in the revision that closed it.
    replaced = (
        "JOIN observation p ON p.dataset_id = :dataset AND p.indicator_id = {c}.indicator_id "
        "AND p.unit_id = {c}.unit_id AND p.period = {c}.period "
        "AND p.revision_to = {c}.revision_from JOIN submission ps ON ps.id = p.submission_id"
    )
    restored = session.execute(
        text(
            # INSERT first: SQLite counts the rows of a statement that starts with it only.
            "INSERT INTO observation (dataset_id, indicator_id, unit_id, period, value, status, "
            "submission_id, revision_from, awaited) "
            "WITH RECURSIVE earlier (id, indicator_id, unit_id, period, revision_from, "
            "withdrawn) AS (SELECT p.id, p.indicator_id, p.unit_id, p.period, "
            "p.revision_from, ps.withdrawn_by IS NOT NULL FROM observation c "
            f"{replaced.format(c='c')} WHERE c.dataset_id = :dataset "
            "AND c.submission_id = :submission AND c.revision_to IS NULL "
            "UNION ALL SELECT p.id, p.indicator_id, p.unit_id, p.period, p.revision_from, "
            f"ps.withdrawn_by IS NOT NULL FROM earlier e {replaced.format(c='e')} "
            "WHERE e.withdrawn) SELECT p.dataset_id, p.indicator_id, "
            "p.unit_id, p.period, p.value, p.status, p.submission_id, :revision, p.awaited "
            "FROM earlier e JOIN observation p ON p.id = e.id WHERE NOT e.withdrawn"
        ),
        params,
    )
    withdrawn = session.execute(
        text(
            "UPDATE observation SET revision_to = :revision WHERE dataset_id = :dataset "
            "AND submission_id = :submission AND revision_to IS NULL"
        ),
        params,
    )
    return _rowcount(withdrawn), _rowcount(restored)


def close_awaited_slice(
    session: Session, dataset_id: str, slice_: tuple[str, str], revision: int
) -> int:
    """A slice whose current rows all wait for data (nobody's supplied row is left in it,
    after a withdrawal) is not held any more: its rows are closed as of ``revision``.
    Returns the rows closed."""
    indicator, period = slice_
    result = session.execute(
        text(
            "UPDATE observation SET revision_to = :revision WHERE dataset_id = :dataset "
            "AND indicator_id = :indicator AND period = :period AND revision_to IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM observation s WHERE s.dataset_id = :dataset "
            "AND s.indicator_id = :indicator AND s.period = :period "
            "AND s.revision_to IS NULL AND NOT s.awaited)"
        ),
        {"dataset": dataset_id, "indicator": indicator, "period": period, "revision": revision},
    )
    return _rowcount(result)


def await_missing(
    session: Session, dataset_id: str, slice_: tuple[str, str], submission_id: int, revision: int
) -> int:
    """For a slice that still holds current rows: an awaited row without a value, as of
    ``revision``, for every unit that reports the indicator in another period but has no
    current row in this one (as :func:`stage_not_supplied` for a new slice). Returns the
    rows stored."""
    indicator, period = slice_
    if not indicators_in_period(session, dataset_id, [indicator], period):
        return 0
    result = session.execute(
        text(
            "INSERT INTO observation (dataset_id, indicator_id, unit_id, period, value, status, "
            "submission_id, revision_from, awaited) SELECT CAST(:dataset AS VARCHAR), "
            "CAST(:indicator AS VARCHAR), o.unit_id, CAST(:period AS VARCHAR), NULL, "
            f"{_waiting_status('o')}, :submission, :revision, TRUE "
            "FROM observation o WHERE o.dataset_id = :dataset AND o.indicator_id = :indicator "
            "AND o.revision_to IS NULL AND NOT EXISTS (SELECT 1 FROM observation c "
            "WHERE c.dataset_id = :dataset AND c.indicator_id = :indicator "
            "AND c.unit_id = o.unit_id AND c.period = :period AND c.revision_to IS NULL) "
            "GROUP BY o.unit_id"
        ),
        {
            "dataset": dataset_id,
            "indicator": indicator,
            "period": period,
            "submission": submission_id,
            "revision": revision,
        },
    )
    return _rowcount(result)


class Position(NamedTuple):
    """Where a page of records ended, in the records' order (the geography version is one
    per query and sits between period and level as in the index)."""

    indicator: str
    period: str
    level: str
    unit_id: int


class _Rounded(FunctionElement[float]):
    """A number read at 15 significant digits, then rounded half away from zero to
    ``decimals`` places, the same on both databases and in Python
    (:func:`app.stats.formats.rounded`). PostgreSQL reads a double as numeric at 15 digits;
    so must SQLite: the sources hold float artefacts (Fluvius writes 124640.49999999999 for
    124640.5) and a sum of doubles may land a hair below a half, which SQLite's round()
    would round down where PostgreSQL rounds up."""

    type = Float()
    name = "rounded"
    inherit_cache = True


def _rounded_sqlite_text(value: str, decimals: str) -> str:
    # The 15-digit value, pushed 5e-16 of itself away from zero: more than the error of
    # its double and of round()'s own addition of a half (a half read at 15 digits goes
    # up), less than a unit of the 15th digit (nothing below a half does). A value whose
    # 15 digits have no more than ``decimals`` places is that already: round() would
    # round it again at 16 digits. + 0.0 turns -0.0 (a small negative) into 0.0.
    fifteen = f"CAST(printf('%.15g', {value}) AS REAL)"
    return (
        f"(CASE WHEN {value} IS NULL THEN NULL "
        f"WHEN abs({value}) >= CAST('1e' || (14 - {decimals}) AS REAL) THEN {fifteen} "
        f"ELSE round({fifteen} * (1 + 5e-16), {decimals}) END + 0.0)"
    )


@compiles(_Rounded)
def _rounded_sqlite(element: _Rounded, compiler: SQLCompiler, **kw: Any) -> str:
    value, decimals = (compiler.process(c, **kw) for c in element.clauses)
    return _rounded_sqlite_text(value, decimals)


@compiles(_Rounded, "postgresql")
def _rounded_postgresql(element: _Rounded, compiler: SQLCompiler, **kw: Any) -> str:
    value, decimals = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round(CAST({value} AS NUMERIC), {decimals}) AS DOUBLE PRECISION)"


class _DecimalText(FunctionElement[str]):
    """A number as CSV text, rounded like :class:`_Rounded`, without trailing zeros
    (``91741539.86``, ``3``), and NULL for no value; formatted by the database (SQLite gives
    a whole number as an integer, whose text is the same)."""

    type = String()
    name = "decimal_text"
    inherit_cache = True


@compiles(_DecimalText)
def _decimal_text_sqlite(element: _DecimalText, compiler: SQLCompiler, **kw: Any) -> str:
    value, decimals = (compiler.process(c, **kw) for c in element.clauses)
    rounded = _rounded_sqlite_text(value, decimals)
    # A whole number below 10^15 as an integer: the same digits as printf's (exact up to 15
    # digits) at a fraction of its cost; SQLite writes it as text when it is concatenated.
    # Whole values first, whatever the decimals: rounding leaves them as they are, and most
    # aggregates' coverage is 1 (a quarter less time for the rows above the sectors).
    # Below 10^15 the rounded value is too (once: each mention is computed again).
    return (
        f"CASE WHEN {value} IS NULL THEN NULL "
        f"WHEN abs({value}) < 1e15 AND {value} = CAST({value} AS INTEGER) "
        f"THEN CAST({value} AS INTEGER) "
        f"WHEN {decimals} = 0 "
        f"THEN CASE WHEN abs({value}) < 1e15 THEN CAST({rounded} AS INTEGER) "
        f"ELSE printf('%.0f', {rounded}) END "
        f"ELSE rtrim(rtrim(printf('%.*f', {decimals}, {rounded}), '0'), '.') END"
    )


@compiles(_DecimalText, "postgresql")
def _decimal_text_postgresql(element: _DecimalText, compiler: SQLCompiler, **kw: Any) -> str:
    value, decimals = (compiler.process(c, **kw) for c in element.clauses)
    # A whole number below 10^15 (every count) as a bigint's text: the same digits, without
    # the conversion to NUMERIC (a text round trip), its rounding and its output (an eighth
    # of an export's time).
    return (
        f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 1e15 "
        f"THEN CAST(CAST({value} AS BIGINT) AS TEXT) "
        f"ELSE CAST(trim_scale(round(CAST({value} AS NUMERIC), {decimals})) AS TEXT) END"
    )


def _neutralised(text: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    return case((func.substr(text, 1, 1).in_(FORMULA_TRIGGERS), literal("'") + text), else_=text)


# The records' columns: values rounded to the indicator's declared decimals in the
# database, so that JSON, CSV and JSON-stat say the same on both databases.
_RECORD_COLUMNS = (
    PublishedValue.indicator_id,
    PublishedValue.period,
    PublishedValue.level,
    PublishedValue.version,
    GeoUnit.code,
    GeoUnit.name,
    _Rounded(PublishedValue.value, Indicator.decimals),
    PublishedValue.status,
    _Rounded(PublishedValue.coverage, literal_column(str(COVERAGE_DECIMALS))),
    PublishedValue.unit_id,
)


@dataclass(frozen=True)
class PublishedFilter:
    """Which published rows a query asks for: current ones (``revision`` None) or those
    valid right after ``revision``, stored rows either way (nothing is derived again)."""

    dataset_id: str
    indicators: Sequence[str]
    periods: Sequence[str]
    version: str
    level: str | None
    within_id: int | None
    unit_ids: Sequence[int]
    revision: int | None = None

    def _pinned(self) -> int:
        """How many of (indicator, period, level) lead with one value each: the index
        seeks on them, and the order and a keyset position need only the columns after."""
        single = [len(self.indicators) == 1, len(self.periods) == 1, self.level is not None]
        return next((n for n, one in enumerate(single) if not one), len(single))

    def where(self, stmt: AnySelect) -> AnySelect:
        stmt = stmt.where(
            PublishedValue.dataset_id == self.dataset_id,
            PublishedValue.version == self.version,
            _valid(PublishedValue.revision_from, PublishedValue.revision_to, self.revision),
        )
        pinned = self._pinned()
        wanted = (list(self.indicators), list(self.periods), [self.level] if self.level else [])
        for position, (column, values) in enumerate(zip(_KEY, wanted, strict=False)):
            if len(values) == 1:
                # One value behind a column that is not pinned: SQLite would sort the
                # result, not walk the index in order, if it saw an equality it can seek on.
                target = column if position < pinned else _Unindexed(column)
                stmt = stmt.where(target == values[0])
            elif values:
                stmt = stmt.where(column.in_(values))
        return self.where_units(stmt)

    def where_units(self, stmt: AnySelect) -> AnySelect:
        """Only the units asked for (inside ``within``, among ``unit_ids``)."""
        if self.within_id is not None:
            stmt = stmt.where(
                PublishedValue.unit_id.in_(
                    select(GeoUnitAncestor.unit_id).where(
                        GeoUnitAncestor.ancestor_id == self.within_id
                    )
                )
            )
        if self.unit_ids:
            stmt = stmt.where(PublishedValue.unit_id.in_(list(self.unit_ids)))
        return stmt

    def order(self, stmt: AnySelect, after: Position | None) -> AnySelect:
        """In the order of the indexes on published values (indicator, period, level, unit;
        a query has one version): both databases read a page in index order, and seek to a
        keyset position however deep it lies."""
        pinned = self._pinned()
        key = _KEY[pinned:]
        if after is not None:
            values: tuple[object, ...] = tuple(after)[pinned:]
            stmt = stmt.where(tuple_(*key) > tuple_(*(literal(v) for v in values)))
        return stmt.order_by(*key)


# The records' order, as the indexes of migration 0007 lay the rows out.
_KEY: tuple[InstrumentedAttribute[Any], ...] = (
    PublishedValue.indicator_id,
    PublishedValue.period,
    PublishedValue.level,
    PublishedValue.unit_id,
)


class _Unindexed(FunctionElement[str]):
    """A column SQLite filters on without seeking on its index for it (``+column``)."""

    type = String()
    name = "unindexed"
    inherit_cache = True


@compiles(_Unindexed)
def _unindexed_default(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(_Unindexed, "sqlite")
def _unindexed_sqlite(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's unary + returns its operand unchanged, but hides the column from the planner.
    return "+" + compiler.process(next(iter(element.clauses)), **kw)


def published_query(wanted: PublishedFilter, *, after: Position | None = None) -> AnySelect:
    """The published rows asked for, in the records' order. ``after`` starts behind a
    position (keyset paging)."""
    stmt = wanted.where(
        select(*_RECORD_COLUMNS)
        .join(GeoUnit, GeoUnit.id == PublishedValue.unit_id)
        .join(Indicator, Indicator.id == PublishedValue.indicator_id)
    )
    return wanted.order(stmt, after)


def count_published_rows(session: Session, wanted: PublishedFilter) -> int:
    """How many rows :func:`published_query` gives. Current rows of whole slices (no unit
    filter) are summed from the tally publication keeps; other queries are counted on the
    index alone (no join: every published row has its unit and indicator)."""
    if wanted.revision is None and wanted.within_id is None and not wanted.unit_ids:
        return _tallied_rows(session, wanted)
    stmt = wanted.where(select(func.count()).select_from(PublishedValue))
    return session.scalar(stmt) or 0


def _tallied_rows(session: Session, wanted: PublishedFilter) -> int:
    stmt = select(func.coalesce(func.sum(PublishedTally.rows), 0)).where(
        PublishedTally.dataset_id == wanted.dataset_id,
        PublishedTally.version == wanted.version,
    )
    if wanted.indicators:
        stmt = stmt.where(PublishedTally.indicator_id.in_(list(wanted.indicators)))
    if wanted.periods:
        stmt = stmt.where(PublishedTally.period.in_(list(wanted.periods)))
    if wanted.level is not None:
        stmt = stmt.where(PublishedTally.level == wanted.level)
    return int(session.scalar(stmt) or 0)


TallyKey = tuple[str, str, str]  # (indicator, version, level)


def tally_at(
    session: Session,
    dataset_id: str,
    period: str,
    indicators: Sequence[str],
    units: Mapping[int, str],
) -> dict[TallyKey, int]:
    """The current published rows of these slices at these units (id → level), per tally
    key."""
    if not indicators or not units:
        return {}
    rows = session.execute(
        select(
            PublishedValue.indicator_id,
            PublishedValue.version,
            PublishedValue.level,
            func.count(),
        )
        .where(
            PublishedValue.dataset_id == dataset_id,
            PublishedValue.indicator_id.in_(list(indicators)),
            PublishedValue.period == period,
            # The level comes before the unit in the indexes: without it PostgreSQL reads
            # the whole slice's entries (80 ms for nine units of population-2025).
            PublishedValue.level.in_(sorted(set(units.values()))),
            PublishedValue.unit_id.in_(sorted(units)),
            PublishedValue.revision_to.is_(None),
        )
        .group_by(PublishedValue.indicator_id, PublishedValue.version, PublishedValue.level)
    )
    return {(indicator, version, level): count for indicator, version, level, count in rows}


def adjust_tally(
    session: Session,
    dataset_id: str,
    period: str,
    before: Mapping[TallyKey, int],
    after: Mapping[TallyKey, int],
) -> None:
    """Move the tally by what publication changed at a few units (``before`` and ``after``
    are :func:`tally_at` of the same units), instead of counting whole slices again."""
    for key in before.keys() | after.keys():
        change = after.get(key, 0) - before.get(key, 0)
        if not change:
            continue
        indicator, version, level = key
        where = (
            PublishedTally.dataset_id == dataset_id,
            PublishedTally.indicator_id == indicator,
            PublishedTally.period == period,
            PublishedTally.version == version,
            PublishedTally.level == level,
        )
        rows = session.scalar(select(PublishedTally.rows).where(*where)) or 0
        session.execute(delete(PublishedTally).where(*where))
        if rows + change:
            session.add(
                PublishedTally(
                    dataset_id=dataset_id,
                    indicator_id=indicator,
                    period=period,
                    version=version,
                    level=level,
                    rows=rows + change,
                )
            )
    session.flush()


def recount_published(
    session: Session, dataset_id: str, period: str, indicators: Sequence[str]
) -> None:
    """Count again the current rows of these slices into the tally, after publication
    changed them (in the same transaction, so the tally never disagrees with the rows)."""
    if not indicators:
        return
    ids = list(indicators)
    session.execute(
        delete(PublishedTally).where(
            PublishedTally.dataset_id == dataset_id,
            PublishedTally.period == period,
            PublishedTally.indicator_id.in_(ids),
        )
    )
    slice_key = (
        PublishedValue.dataset_id,
        PublishedValue.indicator_id,
        PublishedValue.period,
        PublishedValue.version,
        PublishedValue.level,
    )
    counted = (
        select(*slice_key, func.count())
        .where(
            PublishedValue.dataset_id == dataset_id,
            PublishedValue.period == period,
            PublishedValue.indicator_id.in_(ids),
            PublishedValue.revision_to.is_(None),
        )
        .group_by(*slice_key)
    )
    session.execute(
        insert(PublishedTally).from_select(
            ["dataset_id", "indicator_id", "period", "version", "level", "rows"], counted
        )
    )


def copy_csv(
    session: Session, wanted: PublishedFilter, header: Sequence[str], *, parts: int | None = None
) -> Iterator[bytes]:
    """The published rows asked for as CSV bytes (RFC 4180: CRLF) with a header line, in
    chunks. The database writes the lines, a slice (indicator, period, level) as one text:
    PostgreSQL in one query (:func:`postgresql_csv_query`) per part (``parts`` backends at
    once, EXPORT_PARTS unless given), SQLite a slice at a time (:func:`sqlite_csv_text_query`)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        yield from _copy_csv_postgresql(connection, wanted, header, parts or EXPORT_PARTS)
    else:
        yield from _copy_csv_sqlite(connection, wanted, header, parts or EXPORT_PARTS)


# The least CSV sent at once: each chunk costs a hop to the event loop's thread and back, a
# megabyte's worth of lines is milliseconds (a slice of a coarse level has a few hundred).
CSV_CHUNK_BYTES = 1 << 20
CRLF = "\r\n"


def _sql_text(text: str) -> ColumnElement[str]:
    """A constant SQL expression, written into the statement (not a bound parameter)."""
    return literal_column(text, type_=String)


_EMPTY = _sql_text("''")


def _or_empty(value: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[str]:
    return func.coalesce(value, _EMPTY, type_=String)


def sqlite_csv_slice_query(wanted: PublishedFilter) -> AnySelect:
    """The rows asked for of one slice (indicator, period and level bound as
    ``slice_indicator``, ``slice_period`` and ``slice_level``) in unit order, as the unit id
    and the cells SQLite makes: the value rounded to ``slice_decimals`` places, the status
    and the coverage ('' for no value). Every other cell is the same for the whole slice."""
    value = _DecimalText(PublishedValue.value, bindparam("slice_decimals", type_=Integer))
    coverage = _DecimalText(PublishedValue.coverage, literal_column(str(COVERAGE_DECIMALS)))
    stmt = select(
        PublishedValue.unit_id,
        _or_empty(value).label("value"),
        PublishedValue.status,
        _or_empty(coverage).label("coverage"),
    ).where(
        PublishedValue.dataset_id == wanted.dataset_id,
        PublishedValue.indicator_id == bindparam("slice_indicator", type_=String),
        PublishedValue.period == bindparam("slice_period", type_=String),
        PublishedValue.level == bindparam("slice_level", type_=String),
        PublishedValue.version == wanted.version,
        _valid(PublishedValue.revision_from, PublishedValue.revision_to, wanted.revision),
    )
    return wanted.where_units(stmt).order_by(PublishedValue.unit_id)


def sqlite_slice_key_queries(wanted: PublishedFilter, depth: int) -> tuple[AnySelect, AnySelect]:
    """The first value of the ``depth``-th column of a slice's key (indicator, period, level)
    among the dataset's rows whose key columns before it are bound (``key0``, ``key1``), and
    the first value after ``after``: one index seek each, however many rows there are.
    Current reads look among the current rows; reads of an earlier revision among all
    (a value without a row valid then gives an empty slice, not a wrong line)."""
    column = _KEY[depth]
    stmt = select(column).where(
        PublishedValue.dataset_id == wanted.dataset_id,
        *(_KEY[n] == bindparam(f"key{n}", type_=String) for n in range(depth)),
    )
    if wanted.revision is None:
        stmt = stmt.where(PublishedValue.revision_to.is_(None))
    stmt = stmt.order_by(column).limit(1)
    return stmt, stmt.where(column > bindparam("after", type_=String))


def _sqlite_slices(connection: Connection, wanted: PublishedFilter) -> Iterator[tuple[str, ...]]:
    """The slices (indicator, period, level) the rows asked for may lie in, in the records'
    order: those of the filter, or else the dataset's, found by index seeks."""
    given = (
        sorted(set(wanted.indicators)),
        sorted(set(wanted.periods)),
        [] if wanted.level is None else [wanted.level],
    )
    seeks = [sqlite_slice_key_queries(wanted, depth) for depth in range(len(given))]

    def values(depth: int, *before: str) -> Iterator[str]:
        if given[depth]:
            yield from given[depth]
            return
        first, following = seeks[depth]
        bound = {f"key{n}": value for n, value in enumerate(before)}
        value = connection.scalar(first, bound)
        while value is not None:
            yield value
            value = connection.scalar(following, {**bound, "after": value})

    for indicator in values(0):
        for period in values(1, indicator):
            for level in values(2, indicator, period):
                yield indicator, period, level


def _csv_cell(
    value: ColumnElement[Any] | InstrumentedAttribute[Any], *, neutralise: bool
) -> ColumnElement[str]:
    """:func:`csv_text_cell` in SQL (PostgreSQL)."""
    cell = _neutralised(value) if neutralise else value
    special = or_(
        *(func.strpos(cell, _sql_text(c)) > 0 for c in ("','", "'\"'", "E'\\r'", "E'\\n'"))
    )
    quoted = (
        _sql_text("'\"'")
        + func.replace(cell, _sql_text("'\"'"), _sql_text("'\"\"'"))
        + _sql_text("'\"'")
    )
    return _or_empty(case((special, quoted), else_=cell))


def postgresql_csv_query(wanted: PublishedFilter, periods: PeriodRange | None = None) -> AnySelect:
    """The CSV lines of the rows asked for, one row per slice (indicator, period, level) in
    the records' order: the slice's lines as one text, joined by CRLF (none after the last).
    The cells of a unit (code, name) and those the same for a whole slice are made in
    subqueries PostgreSQL memoizes (once per unit, once per slice), a line is a few
    concatenations; one row per slice spares the driver a message per line (COPY's).
    With ``periods`` (a part's range of periods): only the slices of those periods, each row
    with its key (indicator, period, level) after the lines. A range, as the level, is
    checked on the index's entries, before the table's row is read (a list of periods, or an
    expression, would be checked on the row: every row read by every part)."""
    value = PublishedValue
    comma = _sql_text("','")
    units = (
        select(
            (
                _csv_cell(GeoUnit.code, neutralise=True)
                + comma
                + _csv_cell(GeoUnit.name, neutralise=True)
                + comma
            ).label("cells")
        )
        .where(GeoUnit.id == value.unit_id)
        # OFFSET 0 keeps the subquery whole, so that the cached row holds the cells made.
        .offset(0)
        .lateral("unit_cells")
    )
    # The period read once in a subquery of its own: PostgreSQL hashes every reference to an
    # outer column into the memo's key (the period's cell names it nine times; 20 % of the
    # query's time).
    period = select(value.period.label("period")).correlate(value).offset(0).lateral("slice_period")
    head = (
        value.indicator_id
        + comma
        + _csv_cell(period.c.period, neutralise=True)
        + comma
        + value.level
        + comma
        + value.version
        + comma
    )
    slices = (
        select(
            head.label("head"),
            (comma + _csv_cell(Indicator.unit_of_measure, neutralise=False) + comma).label(
                "middle"
            ),
            Indicator.decimals,
        )
        .select_from(Indicator)
        .join(period, true())
        .where(Indicator.id == value.indicator_id)
        .offset(0)
        .lateral("slice_cells")
    )
    line = (
        slices.c.head
        + units.c.cells
        + _or_empty(_DecimalText(value.value, slices.c.decimals))
        + slices.c.middle
        + value.status
        + comma
        + _or_empty(_DecimalText(value.coverage, literal_column(str(COVERAGE_DECIMALS))))
    )
    lines = func.string_agg(line, aggregate_order_by(_sql_text("E'\\r\\n'"), value.unit_id))
    stmt = wanted.where(select(lines).select_from(value).join(units, true()).join(slices, true()))
    key = _KEY[:3]
    if periods is not None:
        stmt = stmt.add_columns(*key)
        if periods.first is not None:
            stmt = stmt.where(value.period >= periods.first)
        if periods.before is not None:
            stmt = stmt.where(value.period < periods.before)
    return stmt.group_by(*key).order_by(*key)


class PeriodRange(NamedTuple):
    """The periods from ``first`` (None: any) up to ``before`` (None: any), in the
    database's order."""

    first: str | None
    before: str | None


# The periods of a dataset's published rows (of any revision: at least those of the rows asked
# for), in the database's order: a seek on the index per (indicator, period), not a scan.
_DATASET_PERIODS = text(
    "WITH RECURSIVE pairs (indicator_id, period) AS ("
    " (SELECT indicator_id, period FROM published_value WHERE dataset_id = :dataset"
    "  ORDER BY indicator_id, period LIMIT 1)"
    " UNION ALL"
    " SELECT following.indicator_id, following.period FROM pairs CROSS JOIN LATERAL"
    " (SELECT indicator_id, period FROM published_value WHERE dataset_id = :dataset"
    "  AND (indicator_id, period) > (pairs.indicator_id, pairs.period)"
    "  ORDER BY indicator_id, period LIMIT 1) AS following"
    ") SELECT period FROM pairs GROUP BY period ORDER BY period"
)


# Backends that make a PostgreSQL export's lines at once, each the slices of its periods, on
# one snapshot: making the lines (scan, joins, number formatting) costs the database 2.5-6
# CPU-s per million rows, on one core when one backend makes them all (benchmarks/RESULTS.md,
# "PostgreSQL streamed CSV export in parts").
EXPORT_PARTS = 2
# The lines a part's backend may have made ahead of the stream. The records run by indicator:
# an indicator's slices of the first part's periods, then those of the next part, which makes
# its own meanwhile and holds them until the stream reaches them: half an indicator, all its
# levels (6 MB at 10 periods of the 2025 sectors). A bound counted in slices instead (8 of a
# whole dataset's 45 per indicator and part) had each part wait for the other: a whole dataset
# in two parts took as long as in one (benchmarks/RESULTS.md).
_PART_AHEAD_CHARACTERS = 32 << 20
_SNAPSHOT_NAME = re.compile(r"[0-9A-Fa-f-]+")


def _copy_csv_postgresql(
    connection: Connection, wanted: PublishedFilter, header: Sequence[str], parts: int
) -> Iterator[bytes]:
    ranges = _period_ranges(connection, wanted, parts) if parts > 1 else []
    if len(ranges) > 1:
        yield from _in_chunks(
            header, (lines + CRLF for lines in _lines_in_parts(connection, wanted, ranges))
        )
        return
    settings = connection.execute(
        text("SELECT current_setting('enable_sort'), current_setting('jit')")
    ).one()
    _export_settings(connection)
    # A cursor on the server, a slice a row: the first slice is sent before the last is made.
    # (Options of the statement: those of the connection would stay for its next ones.)
    result = connection.execute(
        postgresql_csv_query(wanted).execution_options(stream_results=True, yield_per=4)
    )
    try:
        yield from _in_chunks(header, (lines + CRLF for (lines,) in result))
    finally:
        result.close()
    connection.execute(
        text("SELECT set_config('enable_sort', :sort, true), set_config('jit', :jit, true)"),
        {"sort": settings[0], "jit": settings[1]},
    )


def _export_settings(connection: Connection) -> None:
    """For a whole dataset the planner would join by hashing and sort everything before
    the first line (seconds, and a sort spilled to disk). Walking the index in the records'
    order streams from the first slice. And no JIT: past a few million rows the statement's
    cost makes PostgreSQL compile it with inlining and optimisation, 1.5-3 s before the
    first row for no measured gain after it. For this transaction only."""
    connection.execute(
        text("SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true)")
    )


def _may_export_in_parts(connection: Connection, wanted: PublishedFilter, parts: int) -> bool:
    """Whether other backends can read what this transaction sees: a snapshot cannot be
    exported from a savepoint, and one exported after writes would not show them. And
    whether the pool has connections to spare: when most are taken, the cores are busy
    anyway, and a part would wait for a connection (up to the pool's timeout)."""
    if len(wanted.periods) == 1 or connection.in_nested_transaction():
        return False
    pool = connection.engine.pool
    if isinstance(pool, QueuePool) and pool.checkedout() + parts > pool.size():
        return False
    return bool(connection.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NULL")))


def _period_ranges(
    connection: Connection, wanted: PublishedFilter, parts: int
) -> list[PeriodRange]:
    """The parts' ranges of periods, each with about as many of the dataset's periods, and
    together every period (one that came in since they were read is in the first or last
    range); none when the export cannot be made in parts."""
    if not _may_export_in_parts(connection, wanted, parts):
        return []
    periods = list(connection.scalars(_DATASET_PERIODS, {"dataset": wanted.dataset_id}))
    if wanted.periods:
        asked = set(wanted.periods)
        periods = [p for p in periods if p in asked]
    if len(periods) < 2:
        return []
    runs = [
        periods[n * len(periods) // parts : (n + 1) * len(periods) // parts] for n in range(parts)
    ]
    bounds: list[str | None] = [None, *(run[0] for run in runs[1:] if run), None]
    return [PeriodRange(first, before) for first, before in itertools.pairwise(bounds)]


class _PartEnd:
    """The end of a part's slices."""


def _lines_in_parts(
    connection: Connection, wanted: PublishedFilter, ranges: Sequence[PeriodRange]
) -> Iterator[str]:
    """The lines of :func:`postgresql_csv_query`, each slice as one text, made by backends of
    their own (one per range of periods) at once, all reading the snapshot of this
    transaction, and put back in the records' order."""
    snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
    if not isinstance(snapshot, str) or not _SNAPSHOT_NAME.fullmatch(snapshot):
        raise RuntimeError(f"unexpected snapshot name {snapshot!r}")
    received = [_PartRows(_PART_AHEAD_CHARACTERS) for _ in ranges]
    threads = [
        threading.Thread(
            target=_export_part,
            args=(connection.engine, snapshot, postgresql_csv_query(wanted, periods), out),
            name=f"csv-export-part-{n}",
            daemon=True,
        )
        for n, (periods, out) in enumerate(zip(ranges, received, strict=True))
    ]
    for thread in threads:
        thread.start()
    try:
        yield from _in_order(connection, [iter(out) for out in received])
    finally:
        for out in received:
            out.close()
        for thread in threads:
            thread.join()


def _export_part(engine: Engine, snapshot: str, stmt: AnySelect, out: _PartRows) -> None:
    """One part's rows into ``out`` (a thread of its own, with a connection of its own, on
    the exported snapshot), then its end, or the error that stopped it."""
    try:
        with engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as helper:
            # The first statement of the transaction; the name was checked to be one.
            helper.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            _export_settings(helper)
            result = helper.execute(stmt.execution_options(stream_results=True, yield_per=1))
            try:
                for row in result:
                    if not out.put(tuple(row), len(row[0])):
                        return
            finally:
                result.close()
        out.put(_PartEnd(), 0)
    except Exception as error:  # handed to the stream, which raises it
        out.put(error, 0)


class _PartRows:
    """A part's rows (lines, indicator, period, level) on their way from its thread to the
    stream, at most ``limit`` characters of lines ahead (always one row, however long),
    then its end or its error; closed when the stream stops."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._closed = False
        self._items: deque[tuple[object, int]] = deque()
        self._held = 0
        self._changed = threading.Condition()

    def put(self, item: object, size: int) -> bool:
        """Hand ``item`` on once there is room, unless the stream stopped first (False)."""
        with self._changed:
            while self._held and self._held + size > self._limit and not self._closed:
                self._changed.wait()
            if self._closed:
                return False
            self._items.append((item, size))
            self._held += size
            self._changed.notify_all()
            return True

    def close(self) -> None:
        """The stream stopped: its part's thread hands nothing more on."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def __iter__(self) -> Iterator[tuple[str, str, str, str]]:
        while True:
            with self._changed:
                while not self._items:
                    self._changed.wait()
                item, size = self._items.popleft()
                self._held -= size
                self._changed.notify_all()
            if isinstance(item, _PartEnd):
                return
            if isinstance(item, Exception):
                raise item
            yield cast(tuple[str, str, str, str], item)


def _in_order(
    connection: Connection, streams: Sequence[Iterator[tuple[str, str, str, str]]]
) -> Iterator[str]:
    """The slices' lines of the parts' rows (lines, indicator, period, level), each part in
    the records' order, merged into that order. The database compares keys that differ (its
    collation orders them, not Python's); a part's periods are its own, so two parts' heads
    differ in their indicator or their period, and few pairs come up (cached)."""
    earlier: dict[tuple[str, str], bool] = {}

    def precedes(a: str, b: str) -> bool:
        if (a, b) not in earlier:
            earlier[(a, b)] = bool(
                connection.scalar(
                    text("SELECT CAST(:a AS VARCHAR) < CAST(:b AS VARCHAR)"), {"a": a, "b": b}
                )
            )
        return earlier[(a, b)]

    def before(row: tuple[str, ...], other: tuple[str, ...]) -> bool:
        for a, b in zip(row[1:], other[1:], strict=True):
            if a != b:
                return precedes(a, b)
        return False

    heads = [next(stream, None) for stream in streams]
    while True:
        first: int | None = None
        for n, head in enumerate(heads):
            if head is not None and (first is None or before(head, heads[first])):  # type: ignore[arg-type]
                first = n
        if first is None:
            return
        yield heads[first][0]  # type: ignore[index]
        heads[first] = next(streams[first], None)


def _in_chunks(header: Sequence[str], texts: Iterable[str]) -> Iterator[bytes]:
    """The header line and then the texts, sent in chunks of at least CSV_CHUNK_BYTES (the
    last one may be smaller): each chunk costs a hop to the event loop and back."""
    pending: list[str] = [",".join(header) + CRLF]
    size = 0
    for piece in texts:
        pending.append(piece)
        size += len(piece)
        if size >= CSV_CHUNK_BYTES:
            yield "".join(pending).encode()
            pending.clear()
            size = 0
    yield "".join(pending).encode()


# The CSV cells (code and name) of the units an export may give, by unit id: a temporary
# table of the export's connection, filled once per export, so that SQLite writes whole lines.
_UNIT_CELLS = Table(
    "csv_unit_cells",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("cells", String, nullable=False),
    prefixes=["TEMPORARY"],
)
_DROP_UNIT_CELLS = text("DROP TABLE IF EXISTS temp.csv_unit_cells")


def sqlite_csv_text_query(wanted: PublishedFilter) -> AnySelect:
    """The CSV lines of one slice (bound as for :func:`sqlite_csv_slice_query`) as one text,
    written by SQLite, with the slice's rows and those of them whose unit has no cells in
    ``csv_unit_cells`` (their lines are wrong: read the units, then again). ``slice_format``
    is the line as a printf format: the slice's constant cells written in, %s for the unit's
    cells, the value, the status and the coverage."""
    rows = sqlite_csv_slice_query(wanted).subquery("slice_rows")
    line = func.printf(
        bindparam("slice_format", type_=String),
        _UNIT_CELLS.c.cells,
        rows.c.value,
        rows.c.status,
        rows.c.coverage,
    )
    # group_concat takes the rows in the subquery's order (unit ids, walking the index).
    return select(
        func.group_concat(line, _EMPTY), func.count(), func.count(_UNIT_CELLS.c.id)
    ).select_from(rows.outerjoin(_UNIT_CELLS, _UNIT_CELLS.c.id == rows.c.unit_id))


def _copy_csv_sqlite(
    connection: Connection, wanted: PublishedFilter, header: Sequence[str], parts: int
) -> Iterator[bytes]:
    # SQLite walks the index one slice (indicator, period, level) at a time and writes the
    # slice's lines as one text: a row of the driver per slice, not per line (the driver's
    # rows and the lines made of them in Python were half the time of an export). The cells
    # the same for the whole slice (indicator, period, level, version, unit of measure) are
    # written into the line's format here, those of a unit (code, name) read from a
    # temporary table filled once. SQLite lets go of the GIL while it runs a statement: a
    # large export is written by ``parts`` connections of its own at once (the slices in
    # turn), all reading one state of the database (:func:`_same_state_connections`).
    pinned = (
        _same_state_connections(connection.engine, parts + 1)
        if parts > 1 and _may_export_sqlite_in_parts(connection, wanted, parts)
        else None
    )
    if pinned is None:
        read_one_state(connection)
        yield from _in_chunks(header, _sqlite_slice_texts(connection, wanted, []))
        return
    try:
        yield from _in_chunks(header, _sqlite_slice_texts(pinned[0], wanted, pinned[1:]))
    finally:
        for helper in pinned:
            helper.close()


def _may_export_sqlite_in_parts(
    connection: Connection, wanted: PublishedFilter, parts: int
) -> bool:
    """Whether an export is large enough to be made in parts (no filter of units, more than
    one slice), may be (a transaction that has begun, perhaps written, exports alone: its own
    state is the one to export) and can be (a database file with connections to spare)."""
    # One indicator, one period and one level (every key column but the unit): one slice.
    one_slice = wanted._pinned() == len(_KEY) - 1
    if wanted.unit_ids or wanted.within_id is not None or one_slice:
        return False
    if getattr(connection.connection.dbapi_connection, "in_transaction", True):
        return False
    # A database file has a queue of connections (app.db.session.make_engine); one in
    # memory has one connection, which no other could read beside.
    pool = connection.engine.pool
    return isinstance(pool, QueuePool) and pool.checkedout() + parts + 2 <= pool.size()


def _same_state_connections(engine: Engine, count: int) -> list[Connection] | None:
    """``count`` connections of their own, each in a read transaction of the same state of
    the database: its first read made while another connection holds the write lock, so
    that nothing is committed between the first and the last (SQLite has no snapshot to hand
    on). The connections are taken from the pool before the lock (a writer never waits on a
    pool that is short). None when a writer holds the lock now: the export is then made by
    one connection, not kept waiting on a submission."""
    opened = [engine.connect() for _ in range(count + 1)]
    lock, helpers = opened[0], opened[1:]
    try:
        waits = lock.exec_driver_sql("PRAGMA busy_timeout").scalar()
        for helper in helpers:
            read_one_state(helper)  # BEGIN: the state is taken at the first read
        lock.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            lock.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError:  # database is locked: a writer is at work
            return None
        finally:
            lock.exec_driver_sql(f"PRAGMA busy_timeout = {int(waits or 0)}")
        try:
            for helper in helpers:
                helper.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
        finally:
            lock.rollback()
        pinned, opened = helpers, [lock]
        return pinned
    finally:
        for connection in opened:
            connection.close()


def _sqlite_slice_texts(
    reader: Connection, wanted: PublishedFilter, writers: Sequence[Connection]
) -> Iterator[str]:
    """The slices' lines in the records' order: the units, indicators and slices read by
    ``reader``, the lines written by it too, or by ``writers`` at once (threads of their
    own), the slices handed out in turn and their texts put back in order."""
    units = _UnitCells(reader)
    # The units the filter can give, read at once (a small export reads few of them).
    if wanted.unit_ids:
        units.read(GeoUnit.id.in_(list(wanted.unit_ids)))
    elif wanted.within_id is not None:
        units.read(
            GeoUnit.id.in_(
                select(GeoUnitAncestor.unit_id).where(
                    GeoUnitAncestor.ancestor_id == wanted.within_id
                )
            )
        )
    elif wanted.level is not None:
        units.read(and_(GeoUnit.version == wanted.version, GeoUnit.level == wanted.level))
    else:
        units.read(GeoUnit.version == wanted.version)
    indicators = select(Indicator.id, Indicator.decimals, Indicator.unit_of_measure)
    if wanted.indicators:
        indicators = indicators.where(Indicator.id.in_(list(wanted.indicators)))
    measures = {
        indicator: (decimals, csv_text_cell(measure, neutralise=False))
        for indicator, decimals, measure in reader.execute(indicators)
    }
    slices = _sqlite_slices(reader, wanted)
    if writers:
        yield from _texts_in_parts(writers, wanted, units.cells, measures, slices)
        return
    writer = _SliceWriter(units, wanted, measures)
    units.create()
    try:
        for key in slices:
            lines = writer.text(key)
            if lines:
                yield lines
    finally:
        # Here, not around the chunker: the table is gone once the last slice is read,
        # before the last chunk waits on a client that may never take it.
        units.drop()


class _SliceWriter:
    """The CSV lines of one slice as one text, written by SQLite on the connection of
    ``units`` (whose temporary table holds the units' cells)."""

    def __init__(
        self,
        units: _UnitCells,
        wanted: PublishedFilter,
        measures: Mapping[str, tuple[int, str]],
    ) -> None:
        self.units = units
        self.wanted = wanted
        self.measures = measures
        self.stmt = sqlite_csv_text_query(wanted)

    def text(self, key: tuple[str, ...]) -> str:
        indicator, period, level = key
        connection = self.units.connection
        decimals, measure = self.measures[indicator]
        head = f"{indicator},{csv_text_cell(period, neutralise=True)},{level},"
        head += f"{self.wanted.version},"
        bound = {
            "slice_indicator": indicator,
            "slice_period": period,
            "slice_level": level,
            "slice_decimals": decimals,
            "slice_format": f"{_printf_text(head)}%s,%s,{_printf_text(measure)},%s,%s\r\n",
        }
        lines, count, covered = connection.execute(self.stmt, bound).one()
        if covered < count:
            # A unit the first read did not cover (rare: an earlier revision's, or a filter
            # the read above could not foresee): read those, then again.
            slice_units = connection.scalars(sqlite_csv_slice_query(self.wanted), bound)
            self.units.read_missing(set(slice_units))
            lines, count, covered = connection.execute(self.stmt, bound).one()
        return str(lines) if count else ""


# Slices handed out ahead of the one the stream waits for: more than a period's slices at
# every level (9 in the 2025 geography), so that while one connection writes a period's sector
# slice (a thousand times a province's, about 1 MB at the 2025 sectors) the other writes the
# next period's, not the few small ones up to the bound and then waits (with 4, a whole
# dataset in two parts took 0.9 of the time of one; with 16, 0.7: benchmarks/RESULTS.md).
_SLICES_AHEAD = 16


def _texts_in_parts(
    writers: Sequence[Connection],
    wanted: PublishedFilter,
    cells: Mapping[int, str],
    measures: Mapping[str, tuple[int, str]],
    slices: Iterator[tuple[str, ...]],
) -> Iterator[str]:
    """The slices' texts, written by ``writers`` at once (a thread each), in the slices'
    order. Any writer takes the next slice when it is free (a sector slice is a thousand
    times a province's), at most _SLICES_AHEAD beyond the one the stream waits for."""
    jobs: queue.Queue[tuple[int, tuple[str, ...]] | None] = queue.Queue()
    written: dict[int, str | BaseException] = {}
    failed: list[BaseException] = []  # a writer that could not begin
    ready = threading.Condition()

    def write(connection: Connection) -> None:
        units = _UnitCells(connection, dict(cells))
        writer = _SliceWriter(units, wanted, measures)
        try:
            try:
                units.create()
            except Exception as error:
                with ready:
                    failed.append(error)
                    ready.notify_all()
                return
            while (job := jobs.get()) is not None:
                number, key = job
                try:
                    text_: str | BaseException = writer.text(key)
                except Exception as error:  # handed to the stream, which raises it
                    text_ = error
                with ready:
                    written[number] = text_
                    ready.notify_all()
        finally:
            units.drop()

    threads = [
        threading.Thread(target=write, args=(c,), name=f"csv-export-part-{n}", daemon=True)
        for n, c in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    try:
        handed = waited = 0
        for key in itertools.chain(slices, [None]):
            if key is not None:
                jobs.put((handed, key))
                handed += 1
            while waited < handed and (key is None or handed - waited > _SLICES_AHEAD):
                with ready:
                    while waited not in written and not failed:
                        ready.wait()
                    text_ = written.pop(waited) if waited in written else failed[0]
                waited += 1
                if isinstance(text_, BaseException):
                    raise text_
                if text_:
                    yield text_
    finally:
        # Each writer ends after its slice: the queue's jobs are dropped.
        while not jobs.empty():
            jobs.get_nowait()
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()


def _printf_text(text: str) -> str:
    return text.replace("%", "%%")


def csv_text_cell(text: str | None, *, neutralise: bool) -> str:
    """One CSV cell of free text as the csv module writes it (RFC 4180: quoted when it holds
    a comma, a quote or a line break), neutralised against spreadsheet formulas when asked;
    '' for NULL."""
    if text is None:
        return ""
    if neutralise and text.startswith(FORMULA_TRIGGERS):
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class _UnitCells:
    """The code and name of units as two CSV cells (neutralised), by unit id: read into a
    dict first, then into the temporary table ``csv_unit_cells`` of the connection."""

    def __init__(self, connection: Connection, cells: dict[int, str] | None = None) -> None:
        self.connection = connection
        self.cells: dict[int, str] = {} if cells is None else cells
        self.created = False

    def read(self, condition: ColumnElement[bool]) -> None:
        stmt = select(GeoUnit.id, GeoUnit.code, GeoUnit.name).where(condition)
        added = {
            unit: f"{csv_text_cell(code, neutralise=True)},{csv_text_cell(name, neutralise=True)}"
            for unit, code, name in self.connection.execute(stmt)
            if unit not in self.cells
        }
        self.cells.update(added)
        if self.created and added:
            self._insert(added)

    def read_missing(self, units: set[int]) -> None:
        """Read those of ``units`` not read yet (none, when the first read covered them)."""
        missing = units - self.cells.keys()
        if missing:
            self.read(GeoUnit.id.in_(sorted(missing)))

    def create(self) -> None:
        # One left by an export that ended without its generator closed would be stale.
        self.connection.execute(_DROP_UNIT_CELLS)
        _UNIT_CELLS.create(self.connection)
        self.created = True
        self._insert(self.cells)

    def drop(self) -> None:
        # A generator closed after its connection was (a client that went away) has
        # nothing to drop here; create() drops a stale table on the pooled connection.
        if self.created and not self.connection.closed:
            self.connection.execute(_DROP_UNIT_CELLS)
            self.created = False

    def _insert(self, cells: dict[int, str]) -> None:
        if cells:
            self.connection.execute(
                insert(_UNIT_CELLS), [{"id": unit, "cells": text} for unit, text in cells.items()]
            )


def published_summary(session: Session, indicator_id: str) -> list[tuple[str, str, str, str]]:
    """(dataset, version, level, period) combinations available for an indicator."""
    stmt = (
        select(
            PublishedValue.dataset_id,
            PublishedValue.version,
            PublishedValue.level,
            PublishedValue.period,
        )
        .where(PublishedValue.indicator_id == indicator_id, PublishedValue.revision_to.is_(None))
        .distinct()
    )
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def periods_of_dataset(session: Session, dataset_id: str, revision: int | None = None) -> list[str]:
    """The periods of the dataset's observations, current or valid right after ``revision``."""
    stmt = (
        select(Observation.period)
        .where(
            Observation.dataset_id == dataset_id,
            _valid(Observation.revision_from, Observation.revision_to, revision),
        )
        .distinct()
        .order_by(Observation.period)
    )
    return list(session.scalars(stmt))


def published_periods(
    session: Session, dataset_id: str, indicators: Sequence[str], revision: int | None = None
) -> list[str]:
    """The periods any of the indicators is published for, now or right after ``revision``
    (those :func:`has_period` finds)."""
    stmt = (
        select(PublishedValue.period)
        .where(
            PublishedValue.dataset_id == dataset_id,
            PublishedValue.indicator_id.in_(list(indicators)),
            _valid(PublishedValue.revision_from, PublishedValue.revision_to, revision),
        )
        .distinct()
        .order_by(PublishedValue.period)
    )
    return list(session.scalars(stmt))


def has_period(
    session: Session,
    dataset_id: str,
    indicators: Sequence[str],
    period: str,
    revision: int | None = None,
) -> bool:
    """Whether any of the indicators is published for the period, now or right after
    ``revision`` (one index probe)."""
    stmt = (
        select(PublishedValue.id)
        .where(
            PublishedValue.dataset_id == dataset_id,
            PublishedValue.indicator_id.in_(list(indicators)),
            PublishedValue.period == period,
            _valid(PublishedValue.revision_from, PublishedValue.revision_to, revision),
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def stream(session: Session, stmt: AnySelect) -> Iterator[Any]:
    """Rows in batches: memory does not grow with the size of the result."""
    result = session.execute(stmt.execution_options(stream_results=True, yield_per=5000))
    yield from result


# Ids per IN list: far below SQLite's limit of bound variables per statement.
IN_LIST_CHUNK = 5000


def published_cells(
    session: Session,
    dataset_id: str,
    indicators: Sequence[str],
    periods: Sequence[str],
    version: str,
    unit_ids: Sequence[int],
) -> dict[tuple[str, str], dict[int, Cell]]:
    stmt = select(
        PublishedValue.indicator_id,
        PublishedValue.period,
        PublishedValue.unit_id,
        PublishedValue.value,
        PublishedValue.status,
        PublishedValue.coverage,
    ).where(
        PublishedValue.dataset_id == dataset_id,
        PublishedValue.version == version,
        PublishedValue.indicator_id.in_(list(indicators)),
        PublishedValue.revision_to.is_(None),
    )
    if periods:
        stmt = stmt.where(PublishedValue.period.in_(list(periods)))
    cells: dict[tuple[str, str], dict[int, Cell]] = defaultdict(dict)
    ids = list(unit_ids)
    # The sectors of a large area are thousands: a bounded IN list per statement.
    for start in range(0, max(len(ids), 1), IN_LIST_CHUNK):
        chunk = stmt.where(PublishedValue.unit_id.in_(ids[start : start + IN_LIST_CHUNK]))
        for indicator, period, unit, value, status, coverage in session.execute(chunk):
            cells[(indicator, period)][unit] = Cell(value, status, coverage)
    return cells


def lock_dataset(session: Session, dataset_id: str) -> None:
    """Serialise writers of one dataset: revisions stay strictly increasing. PostgreSQL locks
    the dataset's row; SQLite has one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Dataset.id).where(Dataset.id == dataset_id).with_for_update())


# Rows of an import or submission on their way in: a temporary table, private to the
# importing connection and gone with it (a crash leaves nothing behind), compared with the
# current revision inside the database. PostgreSQL drops it at the end of the transaction.
STAGING = Table(
    "staging_observation",
    MetaData(),
    Column("indicator_id", String(100), nullable=False),
    Column("unit_id", Integer, nullable=False),
    Column("period", String(20), nullable=False),
    Column("value", Float, nullable=True),
    Column("status", String(20), nullable=False),
    Column("line", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
# Not Table.drop(checkfirst=True): that asks the catalogue first, a query more per submission.
_DROP_STAGING = text(f"DROP TABLE IF EXISTS {STAGING.name}")
STAGING_COLUMNS = ("indicator_id", "unit_id", "period", "value", "status", "line")
StagedRow = tuple[str, int, str, float | None, str, int]  # … and the row's line number


def start_staging(session: Session) -> None:
    """An empty staging table for this transaction."""
    session.execute(_DROP_STAGING)
    STAGING.create(session.connection())


STAGE_CHUNK = 10_000


def stage(session: Session, rows: Iterable[StagedRow]) -> int:
    """Append rows to the staging table (COPY on PostgreSQL, batched inserts on SQLite), a
    chunk at a time: producing the rows may query the database (a validation looking a code
    up), which it cannot do on a connection in the middle of a COPY."""
    count = 0
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, STAGE_CHUNK)):
        count += bulk_insert(session, STAGING, STAGING_COLUMNS, chunk)
    return count


def last_staged_line(session: Session) -> int:
    """The highest row number staged so far (0: none)."""
    return session.scalar(select(func.coalesce(func.max(STAGING.c.line), 0))) or 0


def index_staging(session: Session) -> int:
    """After loading: the key index, and on PostgreSQL fresh statistics (temporary tables
    are never analysed automatically; without them a one-row submission could scan the
    dataset's observations instead of looking its row up). Returns the staged rows."""
    # Made already (unique) when the keys were checked for duplicates.
    session.execute(text(f"CREATE INDEX IF NOT EXISTS {_STAGING_KEY_INDEX}"))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE staging_observation"))
    return int(session.execute(text("SELECT count(*) FROM staging_observation")).scalar_one())


@contextmanager
def hash_joins(session: Session, wanted: bool = True) -> Iterator[None]:
    """On PostgreSQL, bulk statements over tables filled in this very transaction without
    nested loops: their statistics are stale (autovacuum cannot see uncommitted rows), and a
    nested loop that scans a table it believes empty once per row is quadratic. Hash joins
    are linear whatever the estimates."""
    if not wanted or session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(text("SET LOCAL enable_nestloop = off"))
    yield
    # Not on an error: the transaction is then rolled back, and the setting with it.
    session.execute(text("SET LOCAL enable_nestloop = on"))


def end_staging(session: Session) -> None:
    session.execute(_DROP_STAGING)


_STAGING_KEY_INDEX = "ix_staging_key ON staging_observation (indicator_id, unit_id, period)"


def staged_duplicates(
    session: Session, limit: int
) -> tuple[list[tuple[int, int, str, int, str]], int]:
    """Staged rows whose key (indicator, unit, period) an earlier row already had: (line,
    first line, indicator, unit, period) in line order, the first ``limit``, and their
    total. The usual answer, none, is proved by building the key's index (which
    :func:`index_staging` needs anyway) as a unique one; only when that fails are the rows
    compared."""
    try:
        with session.begin_nested():
            session.execute(text(f"CREATE UNIQUE INDEX {_STAGING_KEY_INDEX}"))
        return [], 0
    except IntegrityError:
        pass
    firsts = (
        "SELECT indicator_id, unit_id, period, min(line) AS first FROM staging_observation "
        "GROUP BY indicator_id, unit_id, period HAVING count(*) > 1"
    )
    joined = (
        f"FROM staging_observation s JOIN ({firsts}) d ON d.indicator_id = s.indicator_id "
        "AND d.unit_id = s.unit_id AND d.period = s.period WHERE s.line > d.first"
    )
    total = session.execute(text(f"SELECT count(*) {joined}")).scalar_one()
    if not total:
        return [], 0
    rows = session.execute(
        text(
            f"SELECT s.line, d.first, s.indicator_id, s.unit_id, s.period {joined} "
            "ORDER BY s.line LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows], total


def _undecidable(shielded: str) -> str:
    """SQL over one (unit, period)'s rows of a rule's protected indicators (``shielded``,
    a parameter list) and its reference (``:reference``): a protected value without a
    reference value, or one other than 0 beside a reference of 0 (the ratio is undefined
    there, and nothing hides the value it protects)."""
    protected = f"indicator_id IN ({shielded}) AND value IS NOT NULL"
    reference = "indicator_id = :reference AND value IS NOT NULL"
    return (
        f"(sum(CASE WHEN {protected} THEN 1 ELSE 0 END) > 0 "
        f"AND sum(CASE WHEN {reference} THEN 1 ELSE 0 END) = 0) "
        f"OR (sum(CASE WHEN {protected} AND value <> 0 THEN 1 ELSE 0 END) > 0 "
        f"AND sum(CASE WHEN {reference} AND value <> 0 THEN 1 ELSE 0 END) = 0)"
    )


def without_reference(
    session: Session,
    dataset_id: str,
    protected: Sequence[str],
    reference: str,
    limit: int,
    *,
    staged: bool,
    periods: Sequence[str] = (),
) -> tuple[list[tuple[int | None, int, str]], int]:
    """The (unit, period) pairs where a disclosure rule cannot decide (see
    :func:`_undecidable`): (first staged line, unit, period) in line order, the first
    ``limit``, and their total. With ``staged``: once the staged rows are stored, at the
    pairs they touch (a current row counts where no staged row replaces it); else in the
    current rows of ``periods``."""
    names = [*protected, reference]
    params: dict[str, Any] = {"dataset": dataset_id, "reference": reference, "limit": limit}
    params.update({f"i{n}": name for n, name in enumerate(names)})
    params.update({f"p{n}": period for n, period in enumerate(periods)})
    listed = ", ".join(f":i{n}" for n in range(len(names)))
    shielded = ", ".join(f":i{n}" for n in range(len(protected)))

    def current(source: str, condition: str) -> str:
        return (
            f"SELECT o.indicator_id, o.unit_id, o.period, o.value, NULL AS line FROM {source} "
            "WHERE o.dataset_id = :dataset AND o.revision_to IS NULL "
            f"AND o.indicator_id IN ({listed}) AND {condition}"
        )

    if staged:
        touched = "touched t JOIN observation o ON o.unit_id = t.unit_id AND o.period = t.period"
        replaced = (
            "NOT EXISTS (SELECT 1 FROM staging_observation s WHERE s.indicator_id = "
            "o.indicator_id AND s.unit_id = o.unit_id AND s.period = o.period)"
        )
        rows = (
            "WITH touched AS (SELECT DISTINCT unit_id, period FROM staging_observation "
            f"WHERE indicator_id IN ({listed})), effective AS ("
            "SELECT s.indicator_id, s.unit_id, s.period, s.value, s.line "
            f"FROM staging_observation s WHERE s.indicator_id IN ({listed}) "
            f"UNION ALL {current(touched, replaced)}) "
        )
    else:
        if not periods:
            return [], 0
        within = ", ".join(f":p{n}" for n in range(len(periods)))
        rows = f"WITH effective AS ({current('observation o', f'o.period IN ({within})')}) "
    pairs = (
        rows + "SELECT min(line) AS line, unit_id, period FROM effective "
        f"GROUP BY unit_id, period HAVING {_undecidable(shielded)}"
    )
    total = session.execute(text(f"SELECT count(*) FROM ({pairs}) AS found"), params).scalar_one()
    if not total:
        return [], 0
    rows_found = session.execute(
        text(f"{pairs} ORDER BY min(line), period, unit_id LIMIT :limit"), params
    )
    return [(r[0], r[1], r[2]) for r in rows_found], total


def _same(session: Session, left: str, right: str) -> str:
    """SQL: two rows hold the same value and status (two missing values are the same)."""
    same_value = "IS" if session.get_bind().dialect.name == "sqlite" else "IS NOT DISTINCT FROM"
    return f"{left}.value {same_value} {right}.value AND {left}.status = {right}.status"


_CURRENT_MATCH = (
    "o.dataset_id = :dataset AND o.indicator_id = s.indicator_id AND o.unit_id = s.unit_id "
    "AND o.period = s.period AND o.revision_to IS NULL"
)


@dataclass
class StagedComparison:
    """How the staged rows compare with the dataset's current observations."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    touched: set[tuple[str, str]] = field(default_factory=set)  # (indicator, period)
    # Slices in which every staged row is new: perhaps slices the dataset did not hold yet.
    all_added: set[tuple[str, str]] = field(default_factory=set)
    # Of a correction (no row added or removed, at most CORRECTED_UNITS rows changed): the
    # units whose rows changed, per period. Publication then recomputes only the cells they
    # reach (app.stats.publish); None otherwise.
    corrected_units: dict[str, set[int]] | None = None


# The most changed rows a submission may have for its publication to look at the cells they
# reach only (a correction of a few sectors); more, and every touched slice is recomputed whole.
CORRECTED_UNITS = 1_000


# With ``replace_all`` and ``staged_periods_only``: only the periods the staged rows hold are
# replaced (a source's import leaves a year that suppliers alone supplied as it is).
_STAGED_PERIOD = " AND o.period IN (SELECT DISTINCT s2.period FROM staging_observation s2)"


def compare_staged(
    session: Session, dataset_id: str, *, replace_all: bool, staged_periods_only: bool = False
) -> StagedComparison:
    """Rows added, changed and unchanged by the staged rows, per slice; with ``replace_all``
    also the current rows the staged ones no longer hold; of a small correction, the units
    it changes."""
    result = StagedComparison()
    rows = session.execute(
        text(
            "SELECT s.indicator_id, s.period, "
            "sum(CASE WHEN o.id IS NULL THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN o.id IS NOT NULL AND NOT ({_same(session, 'o', 's')}) "
            "THEN 1 ELSE 0 END), count(*) "
            f"FROM staging_observation s LEFT JOIN observation o ON {_CURRENT_MATCH} "
            "GROUP BY s.indicator_id, s.period"
        ),
        {"dataset": dataset_id},
    )
    for indicator, period, added, changed, total in rows:
        result.added += added
        result.changed += changed
        result.unchanged += total - added - changed
        if added or changed:
            result.touched.add((indicator, period))
        if added == total:
            result.all_added.add((indicator, period))
    if replace_all:
        removed = session.execute(
            text(
                "SELECT o.indicator_id, o.period, count(*) FROM observation o "
                "WHERE o.dataset_id = :dataset AND o.revision_to IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM staging_observation s WHERE s.indicator_id = o.indicator_id "
                "AND s.unit_id = o.unit_id AND s.period = o.period)"
                + (_STAGED_PERIOD if staged_periods_only else "")
                + " GROUP BY o.indicator_id, o.period"
            ),
            {"dataset": dataset_id},
        )
        for indicator, period, count in removed:
            result.removed += count
            result.touched.add((indicator, period))
    if not (replace_all or result.added) and 0 < result.changed <= CORRECTED_UNITS:
        result.corrected_units = _changed_units(session, dataset_id)
    return result


# The line of a staged row that nobody supplied (stage_not_supplied): stored as awaited.
AWAITED_LINE = -1


def _waiting_status(alias: str) -> str:
    """SQL, over a unit's rows of an indicator grouped: the status of the row it waits with
    in a period it lacks — ``not_applicable`` where every row is, else ``missing``."""
    return (
        f"CASE WHEN sum(CASE WHEN {alias}.status = 'not_applicable' THEN 0 ELSE 1 END) = 0 "
        "THEN 'not_applicable' ELSE 'missing' END"
    )


def stage_not_supplied(
    session: Session, dataset_id: str, slices: Collection[tuple[str, str]]
) -> int:
    """Stage, in each of these slices that the dataset does not hold yet, a row without a
    value for every unit that reports the indicator in another period (stored, or staged)
    but is not staged in this one: ``not_applicable`` where all of that unit's rows are,
    ``missing`` otherwise. Returns the rows staged.

    One statement per indicator for all its new periods: an import opens every period of
    every indicator at once, and a statement per slice read the indicator's rows again for
    each (9 of a 1M-row import's 60 seconds)."""
    periods_of: dict[str, list[str]] = defaultdict(list)
    for indicator, period in sorted(slices):
        if not indicators_in_period(session, dataset_id, [indicator], period):
            periods_of[indicator].append(period)
    staged = 0
    for indicator, periods in periods_of.items():
        params: dict[str, str] = {"dataset": dataset_id, "indicator": indicator}
        params.update({f"p{i}": period for i, period in enumerate(periods)})
        new_periods = " UNION ALL ".join(
            f"SELECT CAST(:p{i} AS VARCHAR) AS period" for i in range(len(periods))
        )
        # A staged row of a new period counts towards its unit's status like any other:
        # the unit is staged there already, so it gets no row in that period anyway.
        result = session.execute(
            text(
                "INSERT INTO staging_observation "
                "(indicator_id, unit_id, period, value, status, line) "
                "SELECT CAST(:indicator AS VARCHAR), u.unit_id, p.period, NULL, u.status, "
                f"{AWAITED_LINE} FROM (SELECT r.unit_id, {_waiting_status('r')} AS status "
                "FROM (SELECT o.unit_id, o.status FROM observation o "
                "WHERE o.dataset_id = :dataset AND o.indicator_id = :indicator "
                "AND o.revision_to IS NULL UNION ALL SELECT s.unit_id, s.status "
                "FROM staging_observation s WHERE s.indicator_id = :indicator) AS r "
                f"GROUP BY r.unit_id) AS u CROSS JOIN ({new_periods}) AS p "
                "WHERE NOT EXISTS (SELECT 1 FROM staging_observation s WHERE "
                "s.indicator_id = :indicator AND s.unit_id = u.unit_id AND s.period = p.period)"
            ),
            params,
        )
        staged += _rowcount(result)
    return staged


def _changed_units(session: Session, dataset_id: str) -> dict[str, set[int]]:
    """Per period, the units of the staged rows that differ from their current row."""
    # The staged rows in the outer loop on SQLite too (see store_staged).
    join = "CROSS JOIN" if session.get_bind().dialect.name == "sqlite" else "JOIN"
    rows = session.execute(
        text(
            f"SELECT s.period, s.unit_id FROM staging_observation s {join} observation o ON "
            f"{_CURRENT_MATCH} WHERE NOT ({_same(session, 'o', 's')})"
        ),
        {"dataset": dataset_id},
    )
    units: dict[str, set[int]] = {}
    for period, unit in rows:
        units.setdefault(period, set()).add(unit)
    return units


def store_staged(
    session: Session,
    dataset_id: str,
    submission_id: int,
    revision: int,
    compared: StagedComparison,
    *,
    replace_all: bool,
    staged_periods_only: bool = False,
) -> None:
    """Close the current rows the staged ones replace (with ``replace_all`` also those they
    no longer hold) and insert the staged rows that differ, as of ``revision``. ``compared``
    is :func:`compare_staged`'s answer for the same staged rows, under the same lock."""
    params = {"dataset": dataset_id, "revision": revision, "submission": submission_id}
    insert = (
        "INSERT INTO observation (dataset_id, indicator_id, unit_id, period, value, status, "
        "submission_id, revision_from, awaited) SELECT CAST(:dataset AS VARCHAR), "
        "s.indicator_id, s.unit_id, s.period, s.value, s.status, :submission, :revision, "
        f"s.line = {AWAITED_LINE} FROM staging_observation s"
    )
    only_new = f"{insert} WHERE NOT EXISTS (SELECT 1 FROM observation o WHERE {_CURRENT_MATCH})"
    if not (compared.changed or compared.removed):
        # Nothing to close, and no staged row has a current twin unless it is unchanged:
        # new data (the bulk case) is inserted without joining each staged row with the
        # observations twice more.
        session.execute(text(only_new if compared.unchanged else insert), params)
        return
    if replace_all:
        # An alias in UPDATE: PostgreSQL and SQLite (3.33+) both read ``UPDATE t AS o``.
        closed = (
            "UPDATE observation AS o SET revision_to = :revision WHERE o.dataset_id = :dataset "
            "AND o.revision_to IS NULL AND NOT EXISTS (SELECT 1 FROM staging_observation s "
            "WHERE s.indicator_id = o.indicator_id AND s.unit_id = o.unit_id AND s.period = "
            f"o.period AND {_same(session, 'o', 's')})"
        ) + (_STAGED_PERIOD if staged_periods_only else "")
    else:
        # A submission's replaced rows are found from the staged rows (an index probe each),
        # by id alone, not by testing every current row of the dataset (that made a one-row
        # submission cost a scan of the dataset): its cost follows the submission.
        # SQLite's planner would start from the dataset's observations (the staging table has
        # no statistics); its CROSS JOIN keeps the staged rows in the outer loop.
        join = "CROSS JOIN" if session.get_bind().dialect.name == "sqlite" else "JOIN"
        closed = (
            "UPDATE observation SET revision_to = :revision WHERE id IN (SELECT o.id FROM "
            f"staging_observation s {join} observation o ON {_CURRENT_MATCH} WHERE NOT "
            f"({_same(session, 'o', 's')}))"
        )
    session.execute(text(closed), params)
    session.execute(text(only_new), params)


def part_copy_changes(
    session: Session,
    dataset_id: str,
    source: str,
    indicator: str,
    source_period: str,
    period: str,
    units: Collection[int] | None = None,
    coverage: Sequence[int] | None = None,
) -> tuple[list[tuple[int, float | None, str]], bool]:
    """For a part that a dataset of derived indicators copies (``indicator`` of the
    ``source`` dataset in ``source_period``, held under ``period``): the source's current
    rows whose copy is missing or holds another value or status, as (unit, value, status),
    and whether the copy holds a unit the source no longer has. Both sides are one slice,
    joined in the database; what comes back follows the change. ``units`` (the units a
    correction of the source changed; it removed no row) limits the comparison to them;
    ``coverage`` (the units of the derived dataset's spatial coverage) to the rows inside."""
    params: dict[str, Any] = {
        "dataset": dataset_id,
        "source": source,
        "indicator": indicator,
        "source_period": source_period,
        "period": period,
    }
    copy = (
        "d.dataset_id = :dataset AND d.indicator_id = :indicator AND d.unit_id = s.unit_id "
        "AND d.period = :period AND d.revision_to IS NULL"
    )
    expanding: list[BindParameter[Any]] = []
    within = ""
    if coverage is not None:
        params["coverage"] = sorted(coverage)
        expanding.append(bindparam("coverage", expanding=True))
        within = (
            " AND EXISTS (SELECT 1 FROM geo_unit_ancestor c WHERE c.unit_id = s.unit_id "
            "AND c.ancestor_id IN :coverage)"
        )
    if units is not None:
        # A few units: an index probe each on both sides, and no row can have left.
        params["units"] = sorted(units)
        expanding.append(bindparam("units", expanding=True))
        within += " AND s.unit_id IN :units"
        return _part_copy_changes(session, copy, params, within, expanding), False
    with hash_joins(session):  # two whole slices: one hash each, not a probe per row
        return (
            _part_copy_changes(session, copy, params, within, expanding),
            _part_copy_left(session, params),
        )


def _part_copy_changes(
    session: Session,
    copy: str,
    params: dict[str, Any],
    within: str,
    expanding: Sequence[BindParameter[Any]],
) -> list[tuple[int, float | None, str]]:
    stmt = text(
        "SELECT s.unit_id, s.value, s.status FROM observation s WHERE s.dataset_id = "
        ":source AND s.indicator_id = :indicator AND s.period = :source_period AND "
        f"s.revision_to IS NULL{within} AND NOT EXISTS (SELECT 1 FROM observation d WHERE "
        f"{copy} AND {_same(session, 'd', 's')})"
    ).bindparams(*expanding)
    changed = session.execute(stmt, params).all()
    return [(unit, value, status) for unit, value, status in changed]


def _part_copy_left(session: Session, params: dict[str, Any]) -> bool:
    """Whether the copy holds a unit the source no longer has."""
    left = session.execute(
        text(
            "SELECT 1 FROM observation d WHERE d.dataset_id = :dataset AND d.indicator_id = "
            ":indicator AND d.period = :period AND d.revision_to IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM observation s WHERE s.dataset_id = :source AND s.indicator_id = "
            ":indicator AND s.unit_id = d.unit_id AND s.period = :source_period AND "
            "s.revision_to IS NULL) LIMIT 1"
        ),
        params,
    ).first()
    return left is not None


def copy_sector_cells(
    session: Session,
    dataset_id: str,
    indicators: Sequence[str],
    period: str,
    revision: int,
    units: Collection[int] | None = None,
    *,
    first: bool = False,
) -> tuple[int, int]:
    """Publish the sector cells of these slices as copies of the current observations, inside
    the database (for additive indicators without disclosure control a sector's published
    value is its observation): close (or, when made in ``revision``, delete) the sector rows
    that no longer match, insert the missing ones; only at ``units`` when given (a
    correction's reach). ``first``: the slices have no current sector row, so every copy is
    inserted without a look at the stored ones. Returns (inserted, closed)."""
    if not indicators:
        return 0, 0
    params: dict[str, Any] = {
        "dataset": dataset_id,
        "indicators": list(indicators),
        "period": period,
        "revision": revision,
        "sector": "sector",
    }
    expanding: list[BindParameter[Any]] = [bindparam("indicators", expanding=True)]
    within = ""
    if units is not None:
        within = " AND {}.unit_id IN :units"
        params["units"] = sorted(units)
        expanding.append(bindparam("units", expanding=True))
    stale = (
        "pv.dataset_id = :dataset AND pv.indicator_id IN :indicators AND pv.period = :period "
        "AND pv.level = :sector AND pv.revision_to IS NULL AND NOT EXISTS (SELECT 1 FROM "
        "observation o WHERE o.dataset_id = :dataset AND o.indicator_id = pv.indicator_id AND "
        "o.unit_id = pv.unit_id AND o.period = pv.period AND o.revision_to IS NULL AND "
        f"{_same(session, 'o', 'pv')} AND pv.coverage IS NULL){within.format('pv')}"
    )
    if first and units is None:
        inserted = session.execute(text(_INSERT_SECTOR_COPIES).bindparams(*expanding), params)
        return _rowcount(inserted), 0
    # Both sides are one slice of sectors: linear is right (a few units: index probes).
    with hash_joins(session, units is None):
        return _copy_sector_cells(session, stale, within.format("o"), expanding, params)


def _retire(
    session: Session,
    stale: str,
    expanding: Sequence[BindParameter[Any]],
    params: dict[str, Any],
) -> int:
    """Take the ``stale`` current rows out of the published set: rows written by this very
    revision are deleted, older ones closed at it (their history stays)."""
    deleted = session.execute(
        text(
            f"DELETE FROM published_value AS pv WHERE {stale} AND pv.revision_from = :revision"
        ).bindparams(*expanding),
        params,
    )
    closed = session.execute(
        text(
            "UPDATE published_value AS pv SET revision_to = :revision WHERE "
            f"{stale} AND pv.revision_from < :revision"
        ).bindparams(*expanding),
        params,
    )
    return _rowcount(deleted) + _rowcount(closed)


def _copy_sector_cells(
    session: Session,
    stale: str,
    within: str,
    expanding: Sequence[BindParameter[Any]],
    params: dict[str, Any],
) -> tuple[int, int]:
    retired = _retire(session, stale, expanding, params)
    inserted = session.execute(
        text(
            f"{_INSERT_SECTOR_COPIES} AND NOT EXISTS (SELECT 1 FROM published_value pv WHERE "
            "pv.dataset_id = :dataset AND pv.indicator_id = o.indicator_id AND pv.period = "
            "o.period AND pv.version = g.version AND pv.level = g.level AND pv.unit_id = "
            f"o.unit_id AND pv.revision_to IS NULL){within}"
        ).bindparams(*expanding),
        params,
    )
    return _rowcount(inserted), retired


_INSERT_SECTOR_COPIES = (
    "INSERT INTO published_value (dataset_id, indicator_id, period, version, level, unit_id, "
    "value, status, coverage, revision_from) SELECT CAST(:dataset AS VARCHAR), o.indicator_id, "
    "o.period, g.version, g.level, o.unit_id, o.value, o.status, NULL, :revision "
    "FROM observation o JOIN geo_unit g ON g.id = o.unit_id WHERE o.dataset_id = :dataset "
    "AND o.indicator_id IN :indicators AND o.period = :period AND o.revision_to IS NULL "
    "AND g.level = :sector"
)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0))


# The aggregates of additive indicators, computed in the database for one period: a table
# private to the transaction, compared with the current published rows like the sector copies.
STAGING_PUBLISHED = Table(
    "staging_published",
    MetaData(),
    Column("indicator_id", String(100), nullable=False),
    Column("unit_id", Integer, nullable=False),
    Column("version", String(20), nullable=False),
    Column("level", String(30), nullable=False),
    Column("value", Float, nullable=True),
    Column("status", String(20), nullable=False),
    Column("coverage", Float, nullable=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_DROP_STAGING_PUBLISHED = text(f"DROP TABLE IF EXISTS {STAGING_PUBLISHED.name}")

# Per target unit, the running sums of app.stats.aggregate.Accumulator over its members'
# observations: members (not "not applicable"), members with a value, confidential members
# without one, the worst quality rank and the sum of the values. Over every (observation,
# ancestor) pair: on PostgreSQL the fastest form (a nested loop on the ancestor index into a
# hash aggregate: 160 ms for a period of 10,898 sectors, against 260-320 ms for the bottom-up
# form below, whose anti-join the planner turns into two scans of the whole closure).
_SUM_AGGREGATES = (
    "SELECT o.indicator_id, a.ancestor_id AS unit_id, "
    "sum(CASE WHEN o.status <> 'not_applicable' THEN 1 ELSE 0 END) AS members, "
    "sum(CASE WHEN o.status <> 'not_applicable' AND o.value IS NOT NULL THEN 1 ELSE 0 END) "
    "AS with_value, "
    "sum(CASE WHEN o.status = 'confidential' AND o.value IS NULL THEN 1 ELSE 0 END) "
    "AS confidential, "
    "max(CASE WHEN o.status = 'not_applicable' OR o.value IS NULL THEN 0 "
    "WHEN o.status = 'estimated' THEN 1 WHEN o.status = 'provisional' THEN 2 ELSE 0 END) "
    "AS quality, "
    "sum(CASE WHEN o.status <> 'not_applicable' AND o.value IS NOT NULL THEN o.value "
    "ELSE 0.0 END) AS total "
    "FROM observation o JOIN geo_unit_ancestor a ON a.unit_id = o.unit_id "
    "WHERE o.dataset_id = :dataset AND o.indicator_id IN :indicators AND o.period = :period "
    "AND o.revision_to IS NULL{within} "
    "GROUP BY o.indicator_id, a.ancestor_id"
)
# The same sums on SQLite, where the cost is the GROUP BY's sort of every (observation,
# ancestor) pair (seven per 2025 sector), not the join. Sums, counts and the maximum compose,
# so they are built bottom-up: each observation's flags once (``member``); the observations of
# one parent (a sector's municipality) summed once (``child``), and those sums added into the
# parent and every unit that contains the parent; each observation added directly only into
# the units that contain it but not its parent (its wijk, a city-region of sectors).
# ``geo_unit_ancestor`` is a closure (a unit's parent is one of its ancestors, and so are the
# parent's ancestors), so every (observation, ancestor) pair still counts exactly once; the
# sorts see about two rows per observation instead of seven (a period of 10,898 sectors:
# 130 instead of 200 ms).
_SUM_AGGREGATES_BOTTOM_UP = (
    "WITH member AS (SELECT o.indicator_id, o.unit_id, g.parent_id, "
    "CASE WHEN o.status <> 'not_applicable' THEN 1 ELSE 0 END AS members, "
    "CASE WHEN o.status <> 'not_applicable' AND o.value IS NOT NULL THEN 1 ELSE 0 END "
    "AS with_value, "
    "CASE WHEN o.status = 'confidential' AND o.value IS NULL THEN 1 ELSE 0 END "
    "AS confidential, "
    "CASE WHEN o.status = 'not_applicable' OR o.value IS NULL THEN 0 "
    "WHEN o.status = 'estimated' THEN 1 WHEN o.status = 'provisional' THEN 2 ELSE 0 END "
    "AS quality, "
    "CASE WHEN o.status <> 'not_applicable' AND o.value IS NOT NULL THEN o.value "
    "ELSE 0.0 END AS total "
    "FROM observation o JOIN geo_unit g ON g.id = o.unit_id "
    "WHERE o.dataset_id = :dataset AND o.indicator_id IN :indicators AND o.period = :period "
    "AND o.revision_to IS NULL), "
    "child AS (SELECT indicator_id, parent_id, sum(members) AS members, "
    "sum(with_value) AS with_value, sum(confidential) AS confidential, "
    "max(quality) AS quality, sum(total) AS total FROM member "
    "WHERE parent_id IS NOT NULL GROUP BY indicator_id, parent_id), "
    "part AS (SELECT indicator_id, parent_id AS unit_id, members, with_value, confidential, "
    "quality, total FROM child "
    "UNION ALL SELECT c.indicator_id, p.ancestor_id, c.members, c.with_value, "
    "c.confidential, c.quality, c.total "
    "FROM child c JOIN geo_unit_ancestor p ON p.unit_id = c.parent_id "
    "UNION ALL SELECT m.indicator_id, a.ancestor_id, m.members, m.with_value, "
    "m.confidential, m.quality, m.total "
    "FROM member m JOIN geo_unit_ancestor a ON a.unit_id = m.unit_id "
    "WHERE (m.parent_id IS NULL OR a.ancestor_id <> m.parent_id) AND NOT EXISTS "
    "(SELECT 1 FROM geo_unit_ancestor pa WHERE pa.unit_id = m.parent_id "
    "AND pa.ancestor_id = a.ancestor_id)) "
    "SELECT indicator_id, unit_id, sum(members) AS members, sum(with_value) AS with_value, "
    "sum(confidential) AS confidential, max(quality) AS quality, sum(total) AS total "
    "FROM part GROUP BY indicator_id, unit_id"
)
# Accumulator.status() and sum_cell() in SQL.
_SUM_CELLS = (
    "INSERT INTO staging_published (indicator_id, unit_id, version, level, value, status, "
    "coverage) SELECT agg.indicator_id, agg.unit_id, g.version, g.level, "
    "CASE WHEN members > 0 AND with_value > 0 THEN total END, "
    "CASE WHEN members = 0 THEN 'not_applicable' WHEN with_value = 0 THEN "
    "(CASE WHEN confidential > 0 THEN 'confidential' ELSE 'missing' END) "
    "WHEN with_value < members THEN 'incomplete' WHEN quality = 1 THEN 'estimated' "
    "WHEN quality = 2 THEN 'provisional' ELSE 'normal' END, "
    "CASE WHEN members = 0 THEN NULL WHEN with_value = 0 THEN 0.0 "
    "ELSE CAST(with_value AS FLOAT) / members END "
    "FROM ({aggregates}) AS agg JOIN geo_unit g ON g.id = agg.unit_id"
)


_INSERT_PUBLISHED_SUMS = (
    "INSERT INTO published_value (dataset_id, indicator_id, period, version, level, unit_id, "
    "value, status, coverage, revision_from) SELECT CAST(:dataset AS VARCHAR), s.indicator_id, "
    "CAST(:period AS VARCHAR), s.version, s.level, s.unit_id, s.value, s.status, s.coverage, "
    ":revision FROM staging_published s"
)


def _close_sql(session: Session, left: str, right: str) -> str:
    """SQL: two nullable floats are the same published value (app.stats.publish.same: equal
    up to the order of a sum)."""
    greatest = "max" if session.get_bind().dialect.name == "sqlite" else "greatest"
    return (
        f"(({left} IS NULL AND {right} IS NULL) OR abs({left} - {right}) <= "
        f"{greatest}(1e-12 * {greatest}(abs({left}), abs({right})), 1e-12))"
    )


def unpublished_indicators(
    session: Session, dataset_id: str, indicators: Sequence[str], period: str
) -> set[str]:
    """Those of the indicators without a current published row in the period (a slice
    published for the first time): one index seek each."""
    exists = (
        select(PublishedValue.id)
        .where(
            PublishedValue.dataset_id == dataset_id,
            PublishedValue.indicator_id == bindparam("indicator", type_=String),
            PublishedValue.period == period,
            PublishedValue.revision_to.is_(None),
        )
        .limit(1)
    )
    return {i for i in indicators if session.scalar(exists, {"indicator": i}) is None}


def publish_sums(
    session: Session,
    dataset_id: str,
    indicators: Sequence[str],
    period: str,
    revision: int,
    units: Collection[int] | None = None,
    *,
    first: bool = False,
) -> tuple[int, int, int]:
    """Publish the aggregates (every unit above the sectors) of additive indicators without
    disclosure control for one period, computed in the database from the current
    observations and the geography's containment (``geo_unit_ancestor``): only cells whose
    value, status or coverage changed get a new row; the old one is closed (or, when made in
    ``revision``, deleted; rows made in ``revision`` are corrected in place). The sector
    cells are :func:`copy_sector_cells`'. Only for a dataset whose geography version has no
    successor (its targets are its ancestors). ``units`` (a correction's reach, see
    :func:`app.stats.publish.publish_slices`) limits the work to the aggregates at those
    units. ``first``: the slices have no current aggregate row (see
    :func:`unpublished_indicators`), so there is nothing to correct, close or look up
    before inserting. Returns (inserted, closed, corrected)."""
    if not indicators:
        return 0, 0, 0
    connection = session.connection()
    session.execute(_DROP_STAGING_PUBLISHED)
    STAGING_PUBLISHED.create(connection)
    # The indicators' list, then (for a correction) the units'.
    expanding: list[BindParameter[Any]] = [bindparam("indicators", expanding=True)]
    params: dict[str, Any] = {
        "dataset": dataset_id,
        "indicators": list(indicators),
        "period": period,
        "revision": revision,
        "sector": "sector",
    }
    sqlite = session.get_bind().dialect.name == "sqlite"
    if units is not None:
        # A few units: the members of each, found from the unit (its index), on both
        # databases; the bottom-up form pays off over whole slices only.
        aggregates = _SUM_AGGREGATES.format(within=" AND a.ancestor_id IN :units")
        expanding.append(bindparam("units", expanding=True))
        params["units"] = sorted(units)
    elif sqlite:
        aggregates = _SUM_AGGREGATES_BOTTOM_UP
    else:
        aggregates = _SUM_AGGREGATES.format(within="")
    # A correction's few units still sum every sector of their region: joined by hashing
    # (16 against 24 ms on PostgreSQL for population-2025, whose slice the planner takes
    # for a few dozen rows: a nested loop of 10,865 index probes).
    with hash_joins(session, units is not None):
        session.execute(
            text(_SUM_CELLS.format(aggregates=aggregates)).bindparams(*expanding), params
        )
    if first and units is None:
        inserted = session.execute(text(_INSERT_PUBLISHED_SUMS), params)
        session.execute(_DROP_STAGING_PUBLISHED)
        return _rowcount(inserted), 0, 0
    if units is None:  # a correction's reach is a few rows: read whole, not indexed
        session.execute(
            text("CREATE INDEX ix_staging_published ON staging_published (indicator_id, unit_id)")
        )
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE staging_published"))
    same = (
        "s.indicator_id = pv.indicator_id AND s.unit_id = pv.unit_id AND s.status = pv.status "
        f"AND {_close_sql(session, 's.value', 'pv.value')} "
        f"AND {_close_sql(session, 's.coverage', 'pv.coverage')}"
    )
    stale = (
        "pv.dataset_id = :dataset AND pv.indicator_id IN :indicators AND pv.period = :period "
        "AND pv.level <> :sector AND pv.revision_to IS NULL AND NOT EXISTS (SELECT 1 FROM "
        f"staging_published s WHERE {same})"
    ) + (" AND pv.unit_id IN :units" if units is not None else "")
    with hash_joins(session, units is None):
        # Rows of the revision being published (a full recomputation) are corrected in
        # place: no other revision ever showed them.
        corrected = session.execute(
            text(
                "UPDATE published_value AS pv SET value = s.value, status = s.status, "
                "coverage = s.coverage FROM staging_published s WHERE pv.dataset_id = :dataset "
                "AND pv.indicator_id = s.indicator_id AND pv.period = :period AND pv.level = "
                "s.level AND pv.unit_id = s.unit_id AND pv.revision_to IS NULL AND "
                f"pv.revision_from = :revision AND NOT ({same}) "
                # Said again as constants: SQLite then seeks these slices (and a correction's
                # units) instead of reading the dataset's rows (160 ms of a one-row
                # submission to a dataset of a million rows).
                "AND pv.indicator_id IN :indicators"
                + (" AND pv.unit_id IN :units" if units is not None else "")
            ).bindparams(*expanding),
            params,
        )
        retired = _retire(session, stale, expanding, params)
        inserted = session.execute(
            text(
                f"{_INSERT_PUBLISHED_SUMS} WHERE NOT EXISTS (SELECT 1 FROM published_value pv "
                "WHERE pv.dataset_id = :dataset AND pv.indicator_id = s.indicator_id AND "
                "pv.period = :period AND pv.version = s.version AND pv.level = s.level AND "
                "pv.unit_id = s.unit_id AND pv.revision_to IS NULL "
                # Said again as constants: PostgreSQL then reads these slices' aggregates
                # only, not every indicator of the period with its sectors (42,019 rows
                # sorted for 3,415 on population-2025: 110-150 ms of a one-row submission).
                "AND pv.indicator_id IN :indicators AND pv.level <> :sector)"
            ).bindparams(expanding[0]),
            params,
        )
    session.execute(_DROP_STAGING_PUBLISHED)
    return _rowcount(inserted), retired, _rowcount(corrected)


def periods_held(session: Session, dataset_id: str) -> tuple[str | None, str | None]:
    """The first and last period with current published rows (from the tallies: a few rows)."""
    first, last = session.execute(
        select(func.min(PublishedTally.period), func.max(PublishedTally.period)).where(
            PublishedTally.dataset_id == dataset_id, PublishedTally.rows > 0
        )
    ).one()
    return first, last


def indicators_in_period(
    session: Session, dataset_id: str, indicators: Sequence[str], period: str
) -> set[str]:
    """Which of these indicators have a current observation in the period (an index probe
    each)."""
    found: set[str] = set()
    for indicator in indicators:
        stmt = (
            select(Observation.id)
            .where(
                Observation.dataset_id == dataset_id,
                Observation.indicator_id == indicator,
                Observation.period == period,
                Observation.revision_to.is_(None),
            )
            .limit(1)
        )
        if session.scalar(stmt) is not None:
            found.add(indicator)
    return found


def hidden_units(
    session: Session, slices: Sequence[tuple[str, str, str]], revision: int | None = None
) -> dict[tuple[str, str, str], set[int]]:
    """Per (dataset, indicator, period), the units where the dataset's current published cell
    (of ``revision``, when given) is confidential (slices without one are left out)."""
    hidden: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    if not slices:
        return hidden
    stmt = hidden_units_query(slices, revision)
    for dataset, indicator, period, unit in session.execute(stmt):
        hidden[(dataset, indicator, period)].add(unit)
    return hidden


def hidden_units_query(
    slices: Sequence[tuple[str, str, str]], revision: int | None = None
) -> AnySelect:
    return select(
        PublishedValue.dataset_id,
        PublishedValue.indicator_id,
        PublishedValue.period,
        PublishedValue.unit_id,
    ).where(
        # Slice by slice, not a row value IN a list: SQLite reads the whole table for that
        # (0.8 s against 5 ms on the seeded database), and seeks each AND in the index.
        or_(
            *(
                and_(
                    PublishedValue.dataset_id == dataset,
                    PublishedValue.indicator_id == indicator,
                    PublishedValue.period == period,
                )
                for dataset, indicator, period in slices
            )
        ),
        _valid(PublishedValue.revision_from, PublishedValue.revision_to, revision),
        PublishedValue.status == "confidential",
    )
