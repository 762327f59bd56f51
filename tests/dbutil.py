"""Creating, copying and dropping throw-away databases for the tests, on SQLite or PostgreSQL,
and the databases built once per test run and shared by every xdist worker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade

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


def copy_database(template_url: str, tmp: Path) -> str:
    """A new database with the content of ``template_url`` (nobody may be connected to the
    template on PostgreSQL)."""
    if backend() == "sqlite":
        url = create_database(tmp)
        target = make_url(url).database
        assert target is not None
        shutil.copyfile(str(make_url(template_url).database), target)
        return url
    name = f"datapedia_test_{uuid.uuid4().hex[:12]}"
    parsed = make_url(template_url)
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
    server.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if backend() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(make_url(url).database + suffix).unlink(missing_ok=True)  # type: ignore[operator]
        return
    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


# --------------------------------------------------------------------------------------------
# Built once per run, shared by the xdist workers
# --------------------------------------------------------------------------------------------

SHARED_SUFFIX = ".shared.json"


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of the whole run: the parent of the workers' folders under
    xdist, the session's own folder without it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_database(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    build: Callable[[str], dict[str, str]],
) -> tuple[str, dict[str, str]]:
    """The migrated database ``name`` built by ``build(url)`` once per test run: the first
    process that asks builds it under a file lock (a worker, or the background build started
    by :func:`start_background_build`), the others wait for it and reuse it.
    Returns its URL and what ``build`` returned (JSON: for example API keys). Treat it as
    read-only and never connect to it on PostgreSQL (it is a template there): take a copy
    with :func:`copy_database`. It is dropped when the run ends (:func:`drop_shared`)."""
    return build_shared(run_dir(tmp_path_factory), name, build)


def build_shared(
    root: Path, name: str, build: Callable[[str], dict[str, str]]
) -> tuple[str, dict[str, str]]:
    """:func:`shared_database` in the run folder ``root``."""
    record = root / f"{name}{SHARED_SUFFIX}"
    with FileLock(str(root / f"{name}.lock")):
        if not record.exists():
            url = create_database(root)
            # Recorded before building: a failed build is still dropped at the end.
            record.write_text(json.dumps({"url": url, "extra": None}), encoding="utf-8")
            upgrade(url)
            extra = build(url)
            record.write_text(json.dumps({"url": url, "extra": extra}), encoding="utf-8")
    stored = json.loads(record.read_text(encoding="utf-8"))
    if stored["extra"] is None:
        log = root / f"{name}{BACKGROUND_LOG}"
        where = f" (its log: {log})" if log.exists() else ""
        pytest.fail(f"building the shared test database {name!r} failed in another process{where}")
    return stored["url"], stored["extra"]


# A shared database that the tests of a run will need is started at collection time in a
# process of its own (``python -m tests.prebuild``), so that the seed of the real data (the
# largest single cost of the suite: minutes of CPU) runs while the workers run the tests that
# do not need it, instead of both workers waiting for it on the file lock. The tests that need
# it are ordered last (``pytest_collection_modifyitems`` in conftest).
BACKGROUND_LOG = ".build.log"


def start_background_build(root: Path, name: str) -> subprocess.Popen[bytes] | None:
    """Start building the shared database ``name`` in the background, once per run: the
    process that creates the marker file starts it (and must wait for it, see
    :func:`wait_background_build`); every other caller gets ``None``."""
    try:
        marker = os.open(root / f"{name}.background", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None
    os.close(marker)
    log = (root / f"{name}{BACKGROUND_LOG}").open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.prebuild", str(root), name],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def wait_background_build(process: subprocess.Popen[bytes] | None, *, interrupted: bool) -> None:
    """At the end of the session of the process that started a background build: it finishes
    (another worker may still be waiting for it), or stops when the run was interrupted; then
    the controlling process can drop what it built."""
    if process is None:
        return
    if interrupted and process.poll() is None:
        process.terminate()
    process.wait()


def drop_shared(config: pytest.Config) -> None:
    """Drop the shared databases of this run (called once, by the controlling process)."""
    factory: pytest.TempPathFactory | None = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        return
    root = factory.getbasetemp()
    for record in root.glob(f"*{SHARED_SUFFIX}"):
        drop_database(json.loads(record.read_text(encoding="utf-8"))["url"])
        record.unlink()
