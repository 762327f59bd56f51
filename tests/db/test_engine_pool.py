"""The connection pool of a SQLite file is sized and bounded as PostgreSQL's: SQLAlchemy's own
(5 connections, 30 s to wait for one) was taken whole by a few exports and downloads at once,
and a submission waited 30 s for a connection, then failed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import QueuePool, text

from app.db.session import MAX_OVERFLOW, POOL_TIMEOUT_SECONDS, make_engine


def test_a_sqlite_file_gets_the_configured_pool_and_wait(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=12)
    try:
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.size() == 12
        assert pool.timeout() == POOL_TIMEOUT_SECONDS
        assert pool._max_overflow == MAX_OVERFLOW
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_sqlite_database_in_memory_keeps_its_single_connection() -> None:
    engine = make_engine("sqlite://")
    try:
        assert not isinstance(engine.pool, QueuePool)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
