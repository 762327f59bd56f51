"""A unit of work that filled tables in bulk (an import) leaves fresh planner statistics for
them once it has committed, on PostgreSQL (``app.db.session.analyze_after_commit``): without
them the statements of the next submissions are planned on the row counts of before the load.
A rolled-back unit of work asks for nothing, and SQLite is left alone."""

from __future__ import annotations

from sqlalchemy import Engine, text

from app.db.session import analyze_after_commit, make_engine, make_session_factory, transaction
from tests.dbutil import backend


def _analysed(engine: Engine) -> set[str]:
    """The tables that have planner statistics."""
    with engine.connect() as connection:
        if backend() == "postgresql":
            rows = connection.execute(
                text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
            )
            return {name for (name,) in rows}
        has_stats = connection.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        ).first()
        if has_stats is None:
            return set()
        return {name for (name,) in connection.execute(text("SELECT tbl FROM sqlite_stat1"))}


def test_tables_loaded_in_bulk_are_analysed_after_the_commit(empty_db: str) -> None:
    engine = make_engine(empty_db)
    try:
        assert _analysed(engine) == set()
        with transaction(make_session_factory(engine)) as session:
            session.execute(text("SELECT 1"))
            analyze_after_commit(session, ["observation", "published_value"])
            assert _analysed(engine) == set()  # not before the commit
        expected = {"observation", "published_value"} if backend() == "postgresql" else set()
        assert _analysed(engine) == expected
    finally:
        engine.dispose()


def test_a_rolled_back_load_asks_for_no_statistics(empty_db: str) -> None:
    engine = make_engine(empty_db)
    try:
        with make_session_factory(engine)() as session:
            session.execute(text("SELECT 1"))
            analyze_after_commit(session, ["observation"])
            session.rollback()  # the import failed
            # The session's next unit of work commits without the failed one's request.
            session.execute(text("SELECT 1"))
            session.commit()
        assert _analysed(engine) == set()
    finally:
        engine.dispose()
