"""A submission larger than the importing process may hold in memory is still validated
completely before anything becomes visible (issue 10, "Bad input").

The importing process is real (a subprocess running the service the API runs, on the same
database), with its address space limited (``RLIMIT_AS``) to what it had after start-up plus
a headroom that is smaller than the submission's rows held as Python objects (measured here
with the application's own CSV reader). An invalid row at the very end of the file is found
(422 naming that row; the previous revision unchanged, no staging rows left), and a valid
file of the same size is accepted under the same limit."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.config import PROJECT_ROOT
from app.geo.models import GeoUnit
from app.ingest import upload
from app.stats.models import Observation, PublishedValue, Submission
from tests.factories import World
from tests.ingest.test_crash import staging_tables

DATASET = "population-2025"
# Address space the import may take beyond the process's size after start-up (with the
# geography loaded, as a running server holds it). Validation and staging fit in 16 MB; the
# publication of one period (every aggregate of its slices) takes a little more.
HEADROOM_MB = 24
ROWS = 100_000

CHILD = """
import json, resource, sys
from pathlib import Path
from app.auth.service import authenticate
from app.db.session import make_engine, make_session_factory, transaction
from app.errors import DatapediaError
from app.ingest import submissions
from app.stats import publish

url, key, path, dataset, headroom_mb = sys.argv[1:6]
factory = make_session_factory(make_engine(url))
with transaction(factory) as session:
    publish.dataset_context(session, dataset)  # the geography, cached as a server holds it

def size_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1])
    raise RuntimeError("no VmSize")

limit = (size_kb() + int(headroom_mb) * 1024) * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    with transaction(factory) as session, Path(path).open("rb") as body:
        caller = authenticate(session, key)
        result = submissions.submit(session, caller, dataset, body, "text/csv")
    print(json.dumps({"status": 201, "body": result.model_dump()}))
except DatapediaError as error:
    print(json.dumps({"status": error.status, "body": error.to_problem()}, default=str))
"""


def write_upload(path: Path, sectors: list[str], rows: int, last: str | None) -> None:
    """``rows`` rows (sector by sector, year by year), the last one replaced by ``last``."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write("sector,indicator,period,value,status\n")
        year, written = 2025, 0
        while written < rows:
            for n, code in enumerate(sectors):
                if written == rows - 1 and last is not None:
                    handle.write(last)
                else:
                    handle.write(f"{code},population,{year},{100 + n % 900},\n")
                written += 1
                if written == rows:
                    break
            year -= 1


def python_size_mb(path: Path) -> float:
    """The file's rows held as Python objects, as the application's reader yields them
    (measured on the first 20,000 rows and scaled to the file)."""
    sample = 20_000
    with path.open("rb") as handle:
        head = b"".join(handle.readline() for _ in range(sample + 1))
    tracemalloc.start()
    try:
        held = list(upload.read_csv(io.BytesIO(head), upload.UploadResult()))
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(held) == sample
    return size / sample * ROWS / 1e6


def run_limited(world: World, path: Path) -> dict[str, Any]:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            world.url,
            world.keys["admin"],
            str(path),
            DATASET,
            str(HEADROOM_MB),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # One thread (and so one malloc arena): the limit is on address space, and every
        # extra thread would reserve tens of MB of it without using them.
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "1",
        },
    )
    assert child.returncode == 0, child.stderr[-3000:]
    answer: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return answer


def current_state(world: World) -> tuple[int | None, int, int]:
    """The dataset's revision and its current observations and published values."""
    with world.factory() as session:
        revision = session.scalar(
            select(func.max(Submission.revision)).where(Submission.dataset_id == DATASET)
        )
        observations = session.scalar(
            select(func.count())
            .select_from(Observation)
            .where(Observation.dataset_id == DATASET, Observation.revision_to.is_(None))
        )
        published = session.scalar(
            select(func.count())
            .select_from(PublishedValue)
            .where(PublishedValue.dataset_id == DATASET, PublishedValue.revision_to.is_(None))
        )
    return revision, observations or 0, published or 0


@pytest.mark.costly(7)
def test_a_submission_larger_than_memory_is_validated_completely(
    world_db: World, tmp_path: Path
) -> None:
    world = world_db
    with world.factory() as session:
        sectors = list(
            session.scalars(
                select(GeoUnit.code)
                .where(GeoUnit.version == "2025", GeoUnit.level == "sector")
                .order_by(GeoUnit.code)
            )
        )
    bad = tmp_path / "bad.csv"
    write_upload(bad, sectors, ROWS, last=f"{sectors[0]},population,2025,many,\n")
    # The limit could not hold the submission's rows: only a streaming import passes.
    assert python_size_mb(bad) > 1.5 * HEADROOM_MB

    before, revision = world.fingerprint(), current_state(world)
    answer = run_limited(world, bad)
    assert answer["status"] == 422, answer
    problem = answer["body"]
    assert problem["error_count"] == 1
    assert [(e["row"], e["column"], e["value"]) for e in problem["errors"]] == [
        (ROWS, "value", "many")  # rows are counted after the header
    ]
    assert world.fingerprint() == before
    assert current_state(world) == revision
    assert staging_tables(world) == 0

    good = tmp_path / "good.csv"
    write_upload(good, sectors, ROWS, last=None)
    answer = run_limited(world, good)
    assert answer["status"] == 201, answer
    assert answer["body"]["rows_total"] == ROWS
    assert answer["body"]["rows_added"] == ROWS
    new_revision, observations, published = current_state(world)
    assert new_revision == (revision[0] or 0) + 1
    # The file's last year is partial: its other sectors wait as missing rows.
    waiting = len(sectors) - ROWS % len(sectors)
    assert answer["body"]["rows_not_supplied"] == waiting
    assert observations == revision[1] + ROWS + waiting
    assert published > revision[2] + ROWS  # the sectors and every aggregate above them
    assert staging_tables(world) == 0
