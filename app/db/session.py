"""Engine and session factory. Created by the app's lifespan or the CLI, never at import."""

from __future__ import annotations

import _sqlite3
import ctypes
import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from app.errors import first_line

logger = logging.getLogger(__name__)

T = TypeVar("T")

POOL_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 5
# Connections a server worker keeps open (DATAPEDIA_DB_POOL_SIZE), and how many more it may
# open for a burst. Connections above the pool are closed when they are returned: a pool
# smaller than the usual number of requests in flight opens a new PostgreSQL connection (a
# backend process: fork and start-up) for a good share of requests.
POOL_SIZE = 20
MAX_OVERFLOW = 10


def connect_args(database_url: str) -> dict[str, Any]:
    """The driver's arguments of every connection, the migrations' included: SQLite's file
    is shared by threads (writes are serialised by SQLite itself); a PostgreSQL server that
    does not answer is given up on after CONNECT_TIMEOUT_SECONDS, never waited for."""
    if database_url.startswith("sqlite"):
        return {"check_same_thread": False, "timeout": 30}
    return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}


def make_engine(database_url: str, pool_size: int = POOL_SIZE) -> Engine:
    kwargs: dict[str, Any] = {"future": True, "connect_args": connect_args(database_url)}
    if not database_url.startswith("sqlite"):
        # A connection that died with a server restart is replaced, not handed to a request.
        kwargs["pool_pre_ping"] = True
    if not _in_memory_sqlite(database_url):
        # A request waits a bounded time for a connection (then 503), never forever; a SQLite
        # file too (SQLAlchemy's own pool there is 5 connections and a 30 s wait: a few
        # exports and stored downloads at once took them all, and a submission waited 30 s
        # for one, then got a 503).
        kwargs["pool_timeout"] = POOL_TIMEOUT_SECONDS
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = MAX_OVERFLOW
    engine = create_engine(database_url, **kwargs)
    if engine.dialect.name == "sqlite":
        sqlite_memory_statistics_off()
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


# sqlite3_config's option, and sqlite3_memory_used's answer when SQLite holds no memory.
_SQLITE_CONFIG_MEMSTATUS = 9
_SQLITE_OK = 0


@functools.cache
def sqlite_memory_statistics_off() -> bool:
    """Stop SQLite counting the memory it allocates, in this process; True when done. Every
    allocation is counted under one mutex of the whole process, so threads that query at once
    wait on each other there: SQLite's CSV export in parts (two connections in two threads)
    took as long as one connection alone, and twice its CPU (benchmarks/RESULTS.md). SQLite
    recommends building without the count (SQLITE_DEFAULT_MEMSTATUS=0); Debian's library
    counts, and Python's sqlite3 module initialises it on import, after which sqlite3_config
    refuses the option until a sqlite3_shutdown. That is safe only while nothing of SQLite is
    open: done only when SQLite holds no memory at all (no connection, no statement), once,
    at the process's first engine; else left as it is (nothing is wrong, only slower).
    Nothing here reads the count (it serves sqlite3_memory_used and heap limits)."""
    library = _sqlite_library()
    if library is None:
        return False
    library.sqlite3_compileoption_used.argtypes = [ctypes.c_char_p]
    if library.sqlite3_compileoption_used(b"DEFAULT_MEMSTATUS=0"):
        return True  # never counted (and sqlite3_memory_used always 0, no guard below)
    library.sqlite3_memory_used.restype = ctypes.c_int64
    if library.sqlite3_memory_used() != 0:
        return False
    library.sqlite3_shutdown()
    library.sqlite3_config.argtypes = [ctypes.c_int, ctypes.c_int]
    library.sqlite3_config.restype = ctypes.c_int
    done = bool(library.sqlite3_config(_SQLITE_CONFIG_MEMSTATUS, 0) == _SQLITE_OK)
    library.sqlite3_initialize()
    return done


def _sqlite_library() -> ctypes.CDLL | None:
    """The SQLite library of Python's sqlite3 module: the symbols its extension module
    resolves (the library it links, never a second copy), or None where they cannot be
    reached (an interpreter with SQLite built in and not exported; no dlopen: Windows)."""
    already_loaded = getattr(os, "RTLD_NOLOAD", None)
    if already_loaded is None:
        return None
    try:
        library = ctypes.CDLL(_sqlite3.__file__, mode=already_loaded)
        library.sqlite3_config  # noqa: B018  (exported, or AttributeError)
    except (AttributeError, OSError):
        return None
    return library


def _in_memory_sqlite(database_url: str) -> bool:
    """A SQLite database in memory: one connection (SQLAlchemy's own pool for it), no queue."""
    if not database_url.startswith("sqlite"):
        return False
    database = make_url(database_url).database
    return database in (None, "", ":memory:") or "mode=memory" in database_url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return with_unit_of_work_events(
        sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    )


def with_unit_of_work_events(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The factory, its sessions stamping commit times and analysing bulk loads (see
    :func:`stamp_at_commit`, :func:`analyze_after_commit`)."""
    event.listen(factory, "before_commit", _stamp_commit_time)
    event.listen(factory, "after_commit", _analyze_bulk_loaded)
    event.listen(factory, "after_rollback", _forget_pending)
    return factory


# session.info key: the attributes to set to the moment of the commit (see stamp_at_commit).
_STAMPS = "datapedia.stamp_at_commit"


def stamp_at_commit(session: Session, entity: object, attribute: str) -> None:
    """Set ``entity.attribute`` to the moment this unit of work commits (just before it),
    not to when the work began: a revision stamped when a long submission started would
    answer ``as_of`` (and ``modified_since``) for moments at which nobody could read it yet.
    A datetime column is expected."""
    session.info.setdefault(_STAMPS, []).append((entity, attribute))


def _stamp_commit_time(session: Session) -> None:
    # Only the outermost commit (a SAVEPOINT released inside is not the commit readers see).
    # Its transaction may be a SAVEPOINT itself: a session joined to an outer transaction.
    if session.get_nested_transaction() not in (None, session.get_transaction()):
        return
    stamps: list[tuple[object, str]] | None = session.info.pop(_STAMPS, None)
    if not stamps:
        return
    now = datetime.now(UTC)
    for entity, attribute in stamps:
        setattr(entity, attribute, now)
    session.flush()


# session.info key: the tables a unit of work filled in bulk (see analyze_after_commit).
_BULK_LOADED = "datapedia.bulk_loaded"


def analyze_after_commit(session: Session, tables: Iterable[str]) -> None:
    """Fresh PostgreSQL planner statistics for these tables once this unit of work has
    committed: it wrote many of their rows (an import). Without them the planner works from
    the statistics of before the load, or none: autovacuum may be off, or not yet come round
    (it cannot see the rows before the commit), and every later statement on those tables
    is planned on a wrong row count (a one-row submission's statements read whole slices
    through the wrong index, several times slower). After the commit, in a transaction of
    its own: ANALYZE holds a lock that two concurrent ones wait for until their transactions
    end, which inside an import could deadlock with the row locks of another import.
    Nothing on SQLite (its planner needs no statistics for these tables' queries)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.info.setdefault(_BULK_LOADED, set()).update(tables)


def _analyze_bulk_loaded(session: Session) -> None:
    if session.in_nested_transaction():
        # A SAVEPOINT was released: the unit of work, and the rows it loaded, are not
        # committed yet. ANALYZE now would see them as another transaction's and take the
        # tables for empty (statistics worse than none).
        return
    tables: set[str] | None = session.info.pop(_BULK_LOADED, None)
    if not tables:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    try:
        with engine.connect() as connection:
            connection.execute(text(f"ANALYZE {', '.join(sorted(tables))}"))
            connection.commit()
    except SQLAlchemyError as exc:
        # The unit of work is committed; stale statistics only make later reads slower
        # until autovacuum runs, so this is not the caller's error.
        logger.warning("ANALYZE after a bulk load failed: %s", first_line(exc))


def _forget_pending(session: Session) -> None:
    if not session.in_nested_transaction():  # a SAVEPOINT rolled back: the rest goes on
        session.info.pop(_BULK_LOADED, None)
        session.info.pop(_STAMPS, None)


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


# PostgreSQL's SQLSTATEs for a transaction that lost to a concurrent one: serialization
# failure and deadlock.
_CONFLICT_STATES = ("40001", "40P01")


def is_write_conflict(exc: BaseException) -> bool:
    """A concurrent transaction's commit got in the way, and the same work may succeed when
    done again: SQLite's single writer ("database is locked": its lock held past the busy
    timeout, or a read snapshot taken before another connection's commit that can no longer
    write), PostgreSQL's serialization failure or deadlock."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _CONFLICT_STATES:
        return True
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower()


def again_after_conflict(session: Session, work: Callable[[], T], attempts: int = 3) -> T:
    """``work()``, done again from the start in a new transaction when a concurrent commit
    got in the way (:func:`is_write_conflict`). For a read that writes on its way (a stored
    file written by its first request): another request writing the same file at the same
    moment is no reason to refuse the read, and by the next attempt that file is usually
    stored. The rollback undoes the whole unit of work so far: ``work`` must redo all of it
    (the audit entry of a read of restricted data as well)."""
    for _ in range(attempts - 1):
        try:
            return work()
        except DBAPIError as exc:
            if not is_write_conflict(exc):
                raise
            session.rollback()
    return work()


# PostgreSQL's SQLSTATEs for a statement refused to this user or session whatever the data:
# insufficient privilege (a read-only role) and a read-only transaction (a standby, or
# ``default_transaction_read_only`` set for the role).
_REFUSED_STATES = ("42501", "25006")


def is_refused_write(exc: BaseException) -> bool:
    """The database refused the statement to this user or session (a read-only role, a
    standby): nothing a retry or another input changes, an operator has to give the rights."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _REFUSED_STATES


# What an operator should do about a file that is no SQLite database (the CLI and /ready say it).
NOT_A_DATABASE_HINT = (
    "DATAPEDIA_DATABASE_URL names a file that is not a SQLite database (check the path) or a "
    "damaged one (restore a backup)"
)


def is_not_a_database(exc: BaseException) -> bool:
    """SQLite opened a file that holds no SQLite database (a DATAPEDIA_DATABASE_URL naming
    another file) or a damaged one: no retry helps, the operator has to fix the path."""
    code = getattr(exc.orig, "sqlite_errorcode", None) if isinstance(exc, DBAPIError) else None
    return code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


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


def read_one_state(connection: Connection) -> None:
    """On SQLite: outside a transaction the driver reads each statement at the latest
    commit, so a read in several statements (the slices of an export, the pieces of a stored
    file) could see two states; a deferred transaction keeps the state of its first read (WAL:
    writers go on meanwhile) until the session ends. PostgreSQL's driver is always in one."""
    driver = connection.connection.dbapi_connection
    if driver is not None and not getattr(driver, "in_transaction", True):
        connection.exec_driver_sql("BEGIN")
