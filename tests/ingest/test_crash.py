"""A submission killed (SIGKILL) in the middle of its import leaves the previous revision
intact and no staging rows anywhere: the staging table is temporary and everything else is
one transaction. The importing process is real (a subprocess on the same database); it is
stopped at a chosen step and killed there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.config import PROJECT_ROOT
from app.geo.models import GeoUnit
from app.stats.models import Submission
from tests.dbutil import backend
from tests.factories import World

DATASET = "population-2025"
# Runs the service the API runs, with one step wrapped: on reaching it the process says so
# and waits to be killed (the test's own hook; the application has none).
CHILD = """
import sys, time
from pathlib import Path
from app.auth.service import authenticate
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest import submissions
from app.stats import repository

url, key, path, step = sys.argv[1:5]
original = getattr(repository, step)

def wrapped(*args, **kwargs):
    result = original(*args, **kwargs)
    print("reached", flush=True)
    time.sleep(600)
    return result

setattr(repository, step, wrapped)
factory = make_session_factory(make_engine(url))
with transaction(factory) as session, Path(path).open("rb") as body:
    caller = authenticate(session, key)
    submissions.submit(session, caller, sys.argv[5], body, "text/csv")
print("committed", flush=True)
"""


def staging_tables(world: World) -> int:
    with world.engine.connect() as conn:
        if backend() == "sqlite":
            return int(
                conn.execute(
                    text("SELECT count(*) FROM sqlite_master WHERE name LIKE 'staging%'")
                ).scalar_one()
            )
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_class WHERE relname = 'staging_observation'")
            ).scalar_one()
        )


@pytest.mark.parametrize("step", ["stage", "copy_sector_cells"])
def test_a_killed_import_leaves_the_previous_revision(
    world_db: World, tmp_path: Path, step: str
) -> None:
    world = world_db
    with world.factory() as session:
        sectors = session.scalars(
            select(GeoUnit.code)
            .where(GeoUnit.version == "2025", GeoUnit.level == "sector")
            .order_by(GeoUnit.code)
        ).all()
        revision = session.scalar(
            select(func.max(Submission.revision)).where(Submission.dataset_id == DATASET)
        )
    upload = tmp_path / "upload.csv"
    with upload.open("w", encoding="utf-8") as handle:
        handle.write("sector,indicator,period,value,status\n")
        for year in ("2025",):
            handle.writelines(
                f"{code},population,{year},{n % 700},\n" for n, code in enumerate(sectors)
            )
    before = world.fingerprint()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, world.url, world.keys["admin"], str(upload), step, DATASET],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "reached"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    # PostgreSQL ends the dead client's session (and drops its temporary table) on its own
    # schedule: wait for it, briefly.
    for _ in range(100):
        if staging_tables(world) == 0:
            break
        time.sleep(0.1)
    assert staging_tables(world) == 0
    assert world.fingerprint() == before
    with world.factory() as session:
        assert (
            session.scalar(
                select(func.max(Submission.revision)).where(Submission.dataset_id == DATASET)
            )
            == revision
        )
    # Nothing is left locked or half-written: the same upload goes through now.
    response = world.client.post(
        f"/api/v1/datasets/{DATASET}/submissions",
        content=upload.read_bytes(),
        headers=world.headers("admin"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["revision"] == (revision or 0) + 1
    assert response.json()["rows_total"] == len(sectors)
