"""Creating and dropping throw-away databases for the tests, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Unset: SQLite files in a temporary folder. Set to a PostgreSQL server URL (any database
# name): each test database is created on that server and dropped afterwards.
TEST_SERVER_URL = os.environ.get("DATAPEDIA_TEST_DATABASE_URL", "")


def backend() -> str:
    return "postgresql" if TEST_SERVER_URL.startswith("postgres") else "sqlite"


def create_database(tmp_dir: Path) -> str:
    name = f"datapedia_test_{uuid.uuid4().hex[:12]}"
    if backend() == "sqlite":
        return f"sqlite:///{tmp_dir / (name + '.sqlite3')}"
    server = make_url(TEST_SERVER_URL).set(drivername="postgresql+psycopg")
    engine = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if backend() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(make_url(url).database + suffix).unlink(missing_ok=True)  # type: ignore[operator]
        return
    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()
