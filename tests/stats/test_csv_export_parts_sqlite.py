"""SQLite's CSV export in parts: connections of their own write the slices at once (SQLite
lets go of the GIL while it runs a statement), all reading one state of the database, taken
while another connection held the write lock; the bytes are those of one connection writing
them all, in the same order. A writer at work, a transaction of the request's own, a filter
of units or a busy pool: the request's connection exports alone."""

from __future__ import annotations

import threading
import time
import types

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db.session import make_engine
from app.stats import repository, service
from app.stats.models import PublishedValue
from tests.dbutil import backend
from tests.factories import World, submit_rows
from tests.stats.exports import REAL_EXPORTS, export, overwrite_a_value, part_threads, wanted

pytestmark = pytest.mark.skipif(
    backend() != "sqlite", reason="the export in parts on one state is SQLite's"
)


GENT_ROWS = [
    f"{sector},{indicator},{period},{n * 100 + 7},"
    for n, sector in enumerate(["44021A00-", "44021A01-", "44021A02-", "44021A03K"])
    for indicator in ("population", "area")
    for period in ("2024", "2025")
]


@pytest.mark.parametrize(("dataset_id", "filters"), REAL_EXPORTS)
def test_an_export_in_parts_is_the_export_of_one_connection_byte_for_byte(
    plain_session: Session, dataset_id: str, filters: dict[str, object]
) -> None:
    asked = wanted(plain_session, dataset_id, **filters)
    connection = plain_session.connection()
    assert repository._may_export_sqlite_in_parts(connection, asked, 2)
    alone = export(plain_session, asked, parts=1)
    assert alone.count(b"\r\n") > 100
    # Two parts (the default): the lock, the reader and two writers beside the session's
    # connection fit the pool of five.
    assert repository._may_export_sqlite_in_parts(plain_session.connection(), asked, 2)
    assert export(plain_session, asked, parts=2) == alone
    assert not part_threads()
    # Every helper connection went back to the pool (and the session's, its export done).
    assert real_engine_checked_out(plain_session) == 0


def real_engine_checked_out(session: Session) -> int:
    pool = session.get_bind().pool
    return pool.checkedout()  # type: ignore[attr-defined,no-any-return]


def test_the_parts_run_at_once_on_connections_of_their_own(plain_session: Session) -> None:
    asked = wanted(plain_session, "energy-fluvius", level="sector")
    seen: set[str] = set()
    chunks = repository.copy_csv(plain_session, asked, service.RECORD_FIELDS, parts=2)
    next(chunks)
    seen.update(t.name for t in part_threads())
    chunks.close()
    assert seen == {"csv-export-part-0", "csv-export-part-1"}
    assert not part_threads()


def test_while_the_stream_waits_the_writers_go_on_into_the_next_period(
    plain_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A period's slices at every level come one after the other, its sector slice a
    thousand times the others: while the stream waits on one slice, the writers take the
    slices after it, past the period's last level (a bound of 4 kept a writer idle while the
    other wrote a sector slice)."""
    written: list[tuple[str, ...]] = []
    text_of = repository._SliceWriter.text

    def counted(writer: repository._SliceWriter, key: tuple[str, ...]) -> str:
        made = text_of(writer, key)
        written.append(key)
        return made

    monkeypatch.setattr(repository._SliceWriter, "text", counted)
    asked = wanted(plain_session, "energy-fluvius")
    reader = plain_session.connection()
    slices = list(repository._sqlite_slices(reader, asked))
    first_period = [key for key in slices if key[:2] == slices[0][:2]]
    assert len(first_period) >= 5
    writers = repository._same_state_connections(reader.engine, 2)
    assert writers is not None
    texts = repository._sqlite_slice_texts(reader, asked, writers)
    try:
        next(texts)
        deadline = time.monotonic() + 30
        while len(written) <= len(first_period):
            assert time.monotonic() < deadline, written
            time.sleep(0.05)
    finally:
        texts.close()
        for writer in writers:
            writer.close()
    assert not part_threads()


def test_what_is_committed_during_an_export_in_parts_is_not_in_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parts read the state of the moment the export began, like one connection's read
    transaction would: a value published meanwhile is in the next export, not half in this."""
    submit_rows(world, "population-2025", "gent", *GENT_ROWS)
    # A chunk a slice: the first is sent while most slices are still to be written.
    monkeypatch.setattr(repository, "CSV_CHUNK_BYTES", 1)
    engine = world.engine
    with Session(engine) as session:
        asked = wanted(session, "population-2025")
        before = export(session, asked, parts=1)
        assert before.count(b"\r\n") > 20
        assert repository._may_export_sqlite_in_parts(session.connection(), asked, 2)
        chunks = repository.copy_csv(session, asked, service.RECORD_FIELDS, parts=2)
        head = next(chunks)  # the parts are reading
        assert head.count(b"\r\n") < before.count(b"\r\n") // 2
        with engine.begin() as writer:
            writer.execute(
                update(PublishedValue)
                .where(PublishedValue.dataset_id == "population-2025")
                .values(value=987654321)
            )
        during = head + b"".join(chunks)
        after = export(session, asked, parts=2)
    assert during == before
    assert b",987654321," not in during
    assert b",987654321," in after


def test_while_a_writer_holds_the_lock_the_export_is_made_alone_without_waiting(
    world: World,
) -> None:
    submit_rows(world, "population-2025", "gent", *GENT_ROWS)
    engine = world.engine
    with engine.connect() as writer, Session(engine) as session:
        asked = wanted(session, "population-2025")
        alone = export(session, asked, parts=1)
        assert alone.count(b"\r\n") > 20
        writer.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            assert repository._same_state_connections(engine, 3) is None
            # (SQLite's busy timeout is 30 s: a wait for the lock would show as a hang.)
            assert export(session, asked, parts=2) == alone
        finally:
            writer.rollback()
        assert engine.pool.checkedout() == 1  # the writer: no helper was kept
        pinned = repository._same_state_connections(engine, 3)
        assert pinned is not None and len(pinned) == 3
        for connection in pinned:
            connection.close()


def test_a_transaction_that_has_written_exports_its_own_writes_alone(world: World) -> None:
    submit_rows(world, "population-2025", "gent", *GENT_ROWS)
    with Session(world.engine) as session:
        asked = wanted(session, "population-2025")
        overwrite_a_value(session, "population-2025")
        assert not repository._may_export_sqlite_in_parts(session.connection(), asked, 2)
        assert b",987654321," in export(session, asked, parts=2)


def test_small_exports_and_a_busy_pool_are_made_alone(real_db: str) -> None:
    engine = make_engine(real_db)
    try:
        with Session(engine) as session:
            connection = session.connection()
            one_slice = wanted(
                session,
                "income",
                indicators=["income-median-declaration"],
                periods=["2021"],
                level="sector",
            )
            assert not repository._may_export_sqlite_in_parts(connection, one_slice, 2)
            within = wanted(session, "income", within="municipality:44021")
            assert not repository._may_export_sqlite_in_parts(connection, within, 2)
            whole = wanted(session, "income")
            assert repository._may_export_sqlite_in_parts(connection, whole, 2)
            # All but two of the pool's connections: too few left for two parts and their lock.
            taken = [engine.connect() for _ in range(engine.pool.size() - 2)]  # type: ignore[attr-defined]
            try:
                assert not repository._may_export_sqlite_in_parts(connection, whole, 2)
                assert export(session, whole, parts=2) == export(session, whole, parts=1)
                assert not part_threads()
            finally:
                for other in taken:
                    other.close()
    finally:
        engine.dispose()


def test_a_stream_closed_early_ends_its_parts(plain_session: Session) -> None:
    asked = wanted(plain_session, "energy-fluvius")
    chunks = repository.copy_csv(plain_session, asked, service.RECORD_FIELDS, parts=2)
    assert isinstance(chunks, types.GeneratorType)
    assert next(chunks).startswith(b"indicator,")
    chunks.close()
    assert not part_threads()
    assert real_engine_checked_out(plain_session) == 1
    assert export(plain_session, asked, parts=2).count(b"\r\n") > 100


def test_the_connections_read_one_state_while_a_writer_commits_on_and_on(world: World) -> None:
    """Begun one after the other, the connections would read different states while commits
    follow each other; begun under the write lock, never."""
    engine = world.engine
    with engine.begin() as setup:
        setup.exec_driver_sql("CREATE TABLE tick (n INTEGER)")
    stop = threading.Event()
    commits = 0

    def write() -> None:
        nonlocal commits
        with engine.connect() as writer:
            while not stop.is_set():
                writer.exec_driver_sql("INSERT INTO tick VALUES (1)")
                writer.commit()
                commits += 1

    thread = threading.Thread(target=write)
    thread.start()
    states: list[set[int]] = []
    try:
        while len(states) < 30:
            time.sleep(0.005)  # the writer's turn
            pinned = repository._same_state_connections(engine, 3)
            if pinned is None:  # the writer held the lock: tried again
                continue
            try:
                states.append(
                    {c.exec_driver_sql("SELECT count(*) FROM tick").scalar_one() for c in pinned}
                )
            finally:
                for connection in pinned:
                    connection.close()
    finally:
        stop.set()
        thread.join()
    assert all(len(seen) == 1 for seen in states), states
    assert len({next(iter(seen)) for seen in states}) > 5, commits  # the writer went on


def test_a_database_in_memory_is_exported_alone() -> None:
    """Its one connection is the only one that sees it: no other could write a part."""
    engine = make_engine("sqlite://")
    try:
        with engine.connect() as connection:
            whole = repository.PublishedFilter("any", ["a", "b"], [], "2025", None, None, [])
            assert not repository._may_export_sqlite_in_parts(connection, whole, 2)
    finally:
        engine.dispose()
