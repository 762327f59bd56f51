"""Shared fixtures. The database is real (SQLite, or PostgreSQL when
DATAPEDIA_TEST_DATABASE_URL names a server); the real source files are imported once per
test session into one database that the read-only tests share."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import app.models  # noqa: F401  (every table mapped before the first session)
from app.config import SEEDS_DIR, Settings, get_settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.seed import seed_all
from app.main import create_app
from tests.dbutil import create_database, drop_database

FIXTURES = Path(__file__).parent / "fixtures"


def real_source_dir() -> Path:
    source = get_settings().source_dir
    if not (source / "geo").is_dir():
        pytest.fail(
            f"the real source files are missing: {source}/geo not found; set "
            "DATAPEDIA_SOURCE_DIR to the folder holding geo/ and values/"
        )
    return source


def geography_only(tmp_path: Path) -> Path:
    """The real geography without the value files, for tests about something else."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "geo").symlink_to(real_source_dir() / "geo")
    return source


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest.fixture
def empty_db(session_tmp: Path) -> Iterator[str]:
    """A freshly created and migrated database of its own, dropped afterwards."""
    url = create_database(session_tmp)
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def real_db(session_tmp: Path) -> Iterator[str]:
    """One database per test session with the real geography and the seeded catalogue."""
    url = create_database(session_tmp)
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        seed_all(session, real_source_dir(), SEEDS_DIR)
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def real_engine(real_db: str) -> Iterator[Engine]:
    engine = make_engine(real_db)
    yield engine
    engine.dispose()


@pytest.fixture
def real_session(real_engine: Engine) -> Iterator[Session]:
    """A session on the shared real database; whatever a test does is rolled back."""
    with real_engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture(scope="session")
def client(real_db: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=real_db))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def session_factory_for(url: str) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(url)
    return engine, make_session_factory(engine)


class _ServerErrors(logging.Handler):
    """Collects what the app logs as an unhandled error (it answered 500)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """No input in the suite may make the service answer 500: every test fails if the app
    logged an unhandled error, unless it is marked ``server_error`` (it provokes one)."""
    handler = _ServerErrors()
    logger = logging.getLogger("datapedia")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.records and request.node.get_closest_marker("server_error") is None:
        first = handler.records[0]
        pytest.fail(f"the app answered 500: {first.getMessage()} ({first.exc_info!r})")


# The shared world factory (a fresh seeded database per test, from a session template).
from tests.factories import world, world_db, world_template  # noqa: E402, F401
