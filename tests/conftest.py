"""Shared fixtures. The database is real (SQLite, or PostgreSQL when
DATAPEDIA_TEST_DATABASE_URL names a server); the real source files are imported once per
test run into one database (each xdist worker reads a copy) that the read-only tests share."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import app.models  # noqa: F401  (every table mapped before the first session)
from app.config import Settings, get_settings
from app.db.session import make_engine, make_session_factory
from app.main import create_app
from tests.dbutil import (
    backend,
    copy_database,
    drop_database,
    drop_shared,
    run_dir,
    shared_database,
    start_background_build,
    wait_background_build,
)
from tests.factories import seed

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


def one_municipality(tmp_path: Path, municipality: str = "44021") -> Path:
    """The real geography and every real value file cut down to the rows that mention one
    municipality's code (Gent by default): every dataset still gets values, in a fraction
    of the time a full seed takes. For tests of the seed itself, not of the full data."""
    source = geography_only(tmp_path)
    values = source / "values"
    values.mkdir()
    for path in sorted((real_source_dir() / "values").iterdir()):
        with path.open(encoding="utf-8", newline="") as full:
            lines = [next(full), *(line for line in full if municipality in line)]
        (values / path.name).write_text("".join(lines), encoding="utf-8", newline="")
    return source


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest.fixture
def empty_db(session_tmp: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database without data, of its own, dropped afterwards: a copy of the one
    database the run migrates (``shared_database`` runs ``upgrade`` on it), because running
    every migration again costs more than a copy (a file copy on SQLite, ``CREATE DATABASE
    … TEMPLATE`` on PostgreSQL). ``tests/db/test_migrations.py`` checks what the migrations
    built in that database; the command-line tests run ``db upgrade`` on new databases."""
    migrated, _ = shared_database(tmp_path_factory, "migrated", lambda url: {})
    url = copy_database(migrated, session_tmp)
    yield url
    drop_database(url)


def seed_real(url: str) -> dict[str, str]:
    # With the stored files (the Data Cube dumps above all), once for every worker's copy.
    seed(url, real_source_dir())
    return {}


@pytest.fixture(scope="session")
def real_db(session_tmp: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real geography, the seeded catalogue and all real values: seeded once per test
    run (shared by the xdist workers), a copy of its own per worker."""
    shared, _ = shared_database(tmp_path_factory, "real", seed_real)
    url = copy_database(shared, session_tmp)
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
    # The shared real database is read only: no stored-files writer.
    app = create_app(Settings(database_url=real_db, write_stored_files=False))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# The shared databases in the order the tests meet them: a test needing the real data sorts
# after every test that needs only the world, which sorts after every test needing neither.
SHARED = (("world", "world_template"), ("real", "real_db"))
_BACKGROUND: list[subprocess.Popen[bytes]] = []


@pytest.hookimpl(trylast=True)  # after pytest-random-order has shuffled the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Seeding the shared databases takes minutes of CPU (the real data above all), and a
    worker that needs one waits until it is built. So the builds start now, in processes of
    their own, and the tests are ordered by the database they need: the tests needing neither
    (then those on the world) run while the builds run. The order inside each group stays
    random, and each group's databases are shared read-only or copied per test, so the
    grouping hides no order dependence (any ``--random-order-seed`` still passes)."""

    def needs(item: pytest.Item) -> int:
        names = getattr(item, "fixturenames", ())
        return max((rank for rank, (_, f) in enumerate(SHARED, 1) if f in names), default=0)

    deselect_other_backends(config, items)
    # Stable: the shuffled order within each group is kept, except that the tests marked
    # ``costly`` start first in their group, the costliest first (see ``cost``).
    items.sort(key=lambda item: (needs(item), -cost(item)))
    if config.option.collectonly:
        return
    root = run_dir(config._tmp_path_factory)  # type: ignore[attr-defined]
    for name, fixture in SHARED:
        if any(fixture in getattr(item, "fixturenames", ()) for item in items):
            started = start_background_build(root, name)
            if started is not None:
                _BACKGROUND.append(started)


def cost(item: pytest.Item) -> float:
    """``@pytest.mark.costly(seconds)``: about the test's CPU seconds on a quiet machine (the
    rest count 0). xdist hands out the tests in their order; a long test dealt last kept one
    worker busy alone at the end of the run (the whole energy-fluvius cube: most of a minute),
    so the long ones are dealt first and the short ones fill the gaps."""
    marker = item.get_closest_marker("costly")
    return float(marker.args[0]) if marker is not None else 0.0


def deselect_other_backends(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``only_on(backend)`` runs in that backend's suite and is deselected in
    the other (CI runs both): a costly check whose answer does not depend on the test
    database. Either it uses none (the real value files parsed, a command given a database
    URL of its own), or a test proves that both databases give the same (the whole Data
    Cube of the real data, minutes of CPU: ``tests/ingest/test_seed_backends.py``, itself
    ``only_on("postgresql")``, proves the same seed writes the same cube on both)."""
    kept, other = [], []
    for item in items:
        marker = item.get_closest_marker("only_on")
        if marker is not None and marker.args[0] not in ("sqlite", "postgresql"):
            raise pytest.UsageError(f"{item.nodeid}: only_on({marker.args[0]!r})")
        (other if marker is not None and marker.args[0] != backend() else kept).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    for process in _BACKGROUND:
        wait_background_build(process, interrupted=interrupted)
    # The controlling process (not an xdist worker) drops what the workers shared.
    if not hasattr(session.config, "workerinput"):
        drop_shared(session.config)


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
