"""PostgreSQL's CSV export in parts: backends of their own make the slices of ranges of
periods at once on the snapshot of the exporting transaction; the bytes are those of one
backend making them all, in the same order, and a transaction that has written (or a
savepoint) exports alone, so that its own writes are in the export."""

from __future__ import annotations

import time
import types

import pytest
from sqlalchemy.orm import Session

from app.db.session import make_engine
from app.stats import repository, service
from tests.dbutil import backend
from tests.stats.exports import REAL_EXPORTS, export, overwrite_a_value, part_threads, wanted

pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="the export in parts is PostgreSQL's (snapshots)"
)


@pytest.mark.parametrize(("dataset_id", "filters"), REAL_EXPORTS)
def test_an_export_in_parts_is_the_export_of_one_backend_byte_for_byte(
    plain_session: Session, dataset_id: str, filters: dict[str, object]
) -> None:
    asked = wanted(plain_session, dataset_id, **filters)
    if dataset_id == "energy-fluvius":  # four years: two parts
        assert len(repository._period_ranges(plain_session.connection(), asked, 2)) == 2
    alone = export(plain_session, asked, parts=1)
    assert alone.count(b"\r\n") > 100
    for parts in (2, 3):
        assert export(plain_session, asked, parts=parts) == alone
    assert not part_threads()


def test_the_parts_split_the_periods_and_each_keeps_the_records_order(
    plain_session: Session,
) -> None:
    asked = wanted(plain_session, "energy-fluvius")
    connection = plain_session.connection()
    ranges = repository._period_ranges(connection, asked, 2)
    # Open at both ends: a period that came in since the ranges were read is in one of them.
    assert ranges[0].first is None and ranges[-1].before is None
    assert ranges[0].before == ranges[1].first
    rows = [list(connection.execute(repository.postgresql_csv_query(asked, r))) for r in ranges]
    periods = [{row[2] for row in part} for part in rows]
    assert periods == [{"2018", "2019"}, {"2020", "2021"}]
    # Each part in the records' order, and together the slices of the whole query.
    for part in rows:
        keys = [tuple(row[1:]) for row in part]
        assert keys == sorted(keys)
    whole = [lines for (lines,) in connection.execute(repository.postgresql_csv_query(asked))]
    assert sorted(row[0] for part in rows for row in part) == sorted(whole)


class _CountedRows(repository._PartRows):
    """A part's rows, counting the rows its thread handed on; the parts in their order."""

    parts: list[_CountedRows]

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.made = 0
        self.parts.append(self)

    def put(self, item: object, size: int) -> bool:
        handed = super().put(item, size)
        self.made += handed and isinstance(item, tuple)
        return handed


def test_each_part_makes_its_slices_while_the_stream_waits_on_another(
    plain_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records run by indicator, each over the periods of every part: while the stream
    sends the first part's slices, the second makes its own of the same indicator, at every
    level (more slices than a bound counted in slices let it make: the parts took turns)."""
    monkeypatch.setattr(_CountedRows, "parts", [], raising=False)
    monkeypatch.setattr(repository, "_PartRows", _CountedRows)
    asked = wanted(plain_session, "energy-fluvius")
    connection = plain_session.connection()
    ranges = repository._period_ranges(connection, asked, 2)
    second = list(connection.execute(repository.postgresql_csv_query(asked, ranges[1])))
    ahead = sum(1 for row in second if row[1] == second[0][1])
    assert ahead >= 10
    lines = repository._lines_in_parts(connection, asked, ranges)
    try:
        next(lines)  # the first part's first slice; the stream then waits
        deadline = time.monotonic() + 30
        while _CountedRows.parts[1].made < ahead:
            assert time.monotonic() < deadline, [part.made for part in _CountedRows.parts]
            time.sleep(0.05)
    finally:
        lines.close()
    assert not part_threads()


def test_a_part_holds_at_least_one_row_however_small_its_bound(
    plain_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = wanted(plain_session, "energy-fluvius")
    alone = export(plain_session, asked, parts=1)
    monkeypatch.setattr(repository, "_PART_AHEAD_CHARACTERS", 1)
    assert export(plain_session, asked, parts=2) == alone
    assert not part_threads()


def test_a_transaction_that_has_written_exports_its_own_writes(plain_session: Session) -> None:
    asked = wanted(plain_session, "energy-fluvius", level="sector")
    before = export(plain_session, asked, parts=2)
    overwrite_a_value(plain_session, "energy-fluvius")
    assert not repository._may_export_in_parts(plain_session.connection(), asked, 2)
    after = export(plain_session, asked, parts=2)
    assert b",987654321," in after
    assert b",987654321," not in before
    assert after.count(b"\r\n") == before.count(b"\r\n")


def test_a_stream_closed_early_ends_its_parts(plain_session: Session) -> None:
    asked = wanted(plain_session, "energy-fluvius")
    chunks = repository.copy_csv(plain_session, asked, service.RECORD_FIELDS, parts=2)
    assert isinstance(chunks, types.GeneratorType)
    assert next(chunks).startswith(b"indicator,")
    chunks.close()
    assert not part_threads()
    # The session's connection is still usable after the parts were stopped.
    assert export(plain_session, asked, parts=1).count(b"\r\n") > 100


def test_an_export_takes_no_connection_a_busy_pool_lacks(real_db: str) -> None:
    """With most of the pool taken the export is made by the request's connection alone."""
    engine = make_engine(real_db, pool_size=2)
    try:
        with Session(engine) as session:
            asked = wanted(session, "energy-fluvius", level="sector")
            connection = session.connection()
            assert not repository._may_export_in_parts(connection, asked, 2)
            assert repository._may_export_in_parts(connection, asked, 1)
            assert export(session, asked, parts=2) == export(session, asked, parts=1)
            assert not part_threads()
    finally:
        engine.dispose()
