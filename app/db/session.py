"""Engine and session factory. Created by the app's lifespan or the CLI, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

POOL_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 5
# Connections a server worker keeps open (DATAPEDIA_DB_POOL_SIZE), and how many more it may
# open for a burst. Connections above the pool are closed when they are returned: a pool
# smaller than the usual number of requests in flight opens a new PostgreSQL connection (a
# backend process: fork and start-up) for a good share of requests.
POOL_SIZE = 20
MAX_OVERFLOW = 10


def make_engine(database_url: str, pool_size: int = POOL_SIZE) -> Engine:
    kwargs: dict[str, Any] = {"future": True}
    if database_url.startswith("sqlite"):
        # One file shared by the server's threads; writes are serialised by SQLite itself.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        # A connection that died with a server restart is replaced, not handed to a request;
        # when the server is away a request waits a bounded time (then 503), never forever.
        kwargs["pool_pre_ping"] = True
        kwargs["pool_timeout"] = POOL_TIMEOUT_SECONDS
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = MAX_OVERFLOW
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = create_engine(database_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The one place that commits: everything inside succeeds together or not at all."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_disconnect(exc: BaseException) -> bool:
    """The database server did not answer (down, restarting, out of connections), as opposed
    to a statement it refused."""
    if isinstance(exc, PoolTimeout | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        message = str(exc.orig).lower()
        return "no such table" not in message and "locked" not in message
    return False
