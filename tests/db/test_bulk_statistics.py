"""A unit of work that filled tables in bulk (an import) leaves fresh planner statistics for
them once it has committed, on PostgreSQL (``app.db.session.analyze_after_commit``): without
them the statements of the next submissions are planned on the row counts of before the load.
Statistics taken before the commit would be worse than none (the rows of a transaction still
open are invisible to ANALYZE: the table looks empty), so a released SAVEPOINT is not the
commit. A rolled-back unit of work asks for nothing, and SQLite is left alone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.db.session import analyze_after_commit, make_engine, make_session_factory, transaction
from app.geo.importer import ensure_versions, import_geography
from tests.dbutil import backend
from tests.geo.test_geography_import import write_sources

ROWS = 50


def _analysed(engine: Engine) -> dict[str, float]:
    """The tables that have planner statistics, with the row count they hold."""
    with engine.connect() as connection:
        if backend() == "postgresql":
            rows = connection.execute(
                text(
                    "SELECT s.relname, c.reltuples FROM pg_stat_user_tables s JOIN pg_class c "
                    "ON c.oid = s.relid WHERE s.last_analyze IS NOT NULL"
                )
            )
            return {name: float(count) for name, count in rows}
        has_stats = connection.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        ).first()
        if has_stats is None:
            return {}
        return {name: 0.0 for (name,) in connection.execute(text("SELECT tbl FROM sqlite_stat1"))}


def _load(session: Session) -> None:
    """Rows in a table nothing else writes, inside a SAVEPOINT as parts of the seed do."""
    with session.begin_nested():
        for n in range(ROWS):
            session.execute(
                text("INSERT INTO rate_limit_event (bucket, at) VALUES ('bulk', :at)"), {"at": n}
            )
        analyze_after_commit(session, ["rate_limit_event"])


def test_tables_loaded_in_bulk_are_analysed_after_the_commit(empty_db: str) -> None:
    engine = make_engine(empty_db)
    try:
        assert _analysed(engine) == {}
        with transaction(make_session_factory(engine)) as session:
            _load(session)
            assert _analysed(engine) == {}  # the SAVEPOINT is released, nothing committed
        expected = {"rate_limit_event": float(ROWS)} if backend() == "postgresql" else {}
        assert _analysed(engine) == expected
    finally:
        engine.dispose()


def test_a_rolled_back_load_asks_for_no_statistics(empty_db: str) -> None:
    engine = make_engine(empty_db)
    try:
        with make_session_factory(engine)() as session:
            _load(session)
            session.rollback()  # the import failed
            # The session's next unit of work commits without the failed one's request.
            session.execute(text("SELECT 1"))
            session.commit()
        assert _analysed(engine) == {}
    finally:
        engine.dispose()


def test_a_loaded_geography_is_analysed_after_the_commit(empty_db: str, tmp_path: Path) -> None:
    """Every publication joins the units and their containment: planned on no statistics,
    a one-row submission read every sector through a nested loop."""
    engine = make_engine(empty_db)
    try:
        with transaction(make_session_factory(engine)) as session:
            ensure_versions(session)
            import_geography(session, write_sources(tmp_path))
        analysed = _analysed(engine)
        if backend() == "postgresql":
            assert analysed["geo_unit"] > 0 and analysed["geo_unit_ancestor"] > 0
        else:
            assert analysed == {}
    finally:
        engine.dispose()
