"""Replicas starting at once against one PostgreSQL: ``datapedia db upgrade`` takes an advisory
lock around the Alembic upgrade, so two processes started together both exit 0, one creates
the schema and the other waits and then finds it current (no duplicate-object errors)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.db.migrate import SCHEMA_LOCK_KEY, head_revision
from tests.dbutil import backend, create_database, drop_database

pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="the advisory lock exists on PostgreSQL only"
)


@pytest.fixture
def empty_postgres(tmp_path: Path) -> Iterator[str]:
    url = create_database(tmp_path)
    try:
        yield url
    finally:
        drop_database(url)


def start_upgrade(url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAPEDIA_")}
    env["DATAPEDIA_DATABASE_URL"] = url
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "db", "upgrade"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_upgrades_at_once_on_an_empty_database(empty_postgres: str) -> None:
    engine = create_engine(empty_postgres, poolclass=NullPool)
    try:
        with engine.connect() as holder:
            # Hold the lock ourselves until both processes wait for it: then they race for it
            # at the same instant (without the lock both would create the same tables).
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            holder.commit()
            processes = [start_upgrade(empty_postgres) for _ in range(2)]
            deadline = time.monotonic() + 120
            waiting = 0
            while waiting < 2 and time.monotonic() < deadline:
                assert all(p.poll() is None for p in processes), [
                    p.communicate() for p in processes
                ]
                time.sleep(0.2)
                waiting = holder.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar_one()
                holder.commit()
            assert waiting == 2, "the upgrades did not wait for the schema lock"
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
            holder.commit()
        outputs = [p.communicate(timeout=300) for p in processes]
        for process, (_stdout, stderr) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, stderr
            assert "Traceback" not in stderr
            assert "already exists" not in stderr
        said = sorted(stdout for stdout, _ in outputs)
        assert said[0].startswith("database already at the latest revision"), said
        assert said[1].startswith("new database: created the schema"), said
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            # This database's only: other tests' databases hold advisory locks of their own
            # (stored-file writers, rate limits) on the same server meanwhile.
            locks_left = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar_one()
        assert [v for (v,) in versions] == [head_revision()]
        assert locks_left == 0
    finally:
        engine.dispose()
