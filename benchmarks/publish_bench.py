"""Publication benchmark (issue 10: incremental publication, revisioned published values), on
SQLite and PostgreSQL.

The real value files of ``population-2025`` and ``energy-fluvius`` are imported into a
throwaway database (the full import of each is timed) and the stored files written, as
``datapedia seed`` leaves them, then through the HTTP API (a real uvicorn server with its
stored-files writer on, an admin key):

(a) one-row submissions (CSV) to each dataset, alternating the value so every one changes a
    cell: the median time. Budgets: energy-fluvius ≤ 1.5× population-2025 (cost follows the
    change, not the dataset), and far below the dataset's full import time.
(b) the observations of one indicator and period at municipality level, at the current
    revision and at ``revision=1`` (stored rows, not derived again): median latency. Budget:
    ``revision=1`` ≤ 2× current.

Run: ``python -m benchmarks.publish_bench [--backends sqlite,postgresql]``; figures are
appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from app.auth.keys import create_key
from app.config import PROJECT_ROOT, SEEDS_DIR, get_settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.geo.models import GeoUnit
from app.ingest.seed import seed_all
from app.rdf import cubefiles
from app.rdf.dcat import Uris
from app.stats.importer import import_values
from app.stats.parsers import VALUE_SOURCES
from benchmarks.common import PG_SERVER, served

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
SUBMISSIONS = 7
READS = 30
SUBMISSION_BUDGET = 1.5
REVISION_BUDGET = 2.0


@dataclass(frozen=True)
class Case:
    dataset: str
    indicator: str
    period: str
    version: str


CASES = (
    Case("population-2025", "population", "2025", "2025"),
    # A part of a ratio with a disclosure rule: the ratio's slice is published again too.
    Case("energy-fluvius", "electricity-connections-residential", "2021", "2024"),
)


@dataclass
class Figures:
    backend: str
    dataset: str
    observations: int
    import_s: float
    submission_s: float
    current_ms: float
    revision_ms: float


def one_row_submissions(client: httpx.Client, key: str, case: Case, sector: str) -> float:
    samples = []
    for n in range(SUBMISSIONS):
        row = f"{sector},{case.indicator},{case.period},{n % 2 + 40},"
        body = f"sector,indicator,period,value,status\n{row}\n"
        start = time.perf_counter()
        response = client.post(
            f"/api/v1/datasets/{case.dataset}/submissions",
            content=body.encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
        )
        samples.append(time.perf_counter() - start)
        response.raise_for_status()
        assert response.json()["rows_changed"] + response.json()["rows_added"] == 1
    return statistics.median(samples[1:])  # the first warms the geography cache


def read_latency(client: httpx.Client, case: Case, revision: int | None) -> float:
    params: dict[str, str | int] = {
        "indicator": case.indicator,
        "period": case.period,
        "level": "municipality",
        "page_size": 1000,
    }
    if revision is not None:
        params["revision"] = revision
    url = f"/api/v1/datasets/{case.dataset}/observations"
    client.get(url, params=params).raise_for_status()
    samples = []
    for _ in range(READS):
        start = time.perf_counter()
        response = client.get(url, params=params)
        response.json()
        samples.append(time.perf_counter() - start)
        response.raise_for_status()
    return statistics.median(samples) * 1000


def run_backend(backend: str, tmp: Path) -> list[Figures]:
    import tests.dbutil as dbutil

    dbutil.TEST_SERVER_URL = PG_SERVER if backend == "postgresql" else ""
    os.environ["DATAPEDIA_SUBMISSIONS_PER_MINUTE"] = "100000"
    # As in production: the stored files a submission made stale are written by the server's
    # background writer while the next requests are served.
    os.environ["DATAPEDIA_WRITE_STORED_FILES"] = "true"
    source_dir = get_settings().source_dir
    url = dbutil.create_database(tmp)
    figures: list[Figures] = []
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        geo_only = tmp / f"source-{backend}"
        geo_only.mkdir()
        (geo_only / "geo").symlink_to(source_dir / "geo")
        with transaction(factory) as session:
            seed_all(session, geo_only, SEEDS_DIR)
            key = create_key(session, "kenniscentrum-vlaamse-steden", "admin")
        imports: dict[str, tuple[int, float]] = {}
        sectors: dict[str, str] = {}
        for case in CASES:
            source = next(s for s in VALUE_SOURCES if s.dataset == case.dataset)
            start = time.perf_counter()
            with transaction(factory) as session:
                report = import_values(session, source, source_dir)
            imports[case.dataset] = (report.rows_added, time.perf_counter() - start)
            with factory() as session:
                sectors[case.dataset] = session.scalars(
                    select(GeoUnit.code)
                    .where(GeoUnit.version == case.version, GeoUnit.level == "sector")
                    .order_by(GeoUnit.code)
                    .limit(1)
                    .offset(500)
                ).one()
        # As after a seed: every stored file written, so that the server's writer has
        # only what the submissions below make stale to write (not every file of the
        # imports while they are measured).
        uris = Uris(get_settings().base_url)
        with factory() as session:
            stale = cubefiles.stale_files(session, uris)
        for dataset_id, name in stale:
            with transaction(factory) as session:
                cubefiles.write_file(session, uris, dataset_id, name)
        engine.dispose()
        with served(url) as (client, _):
            for case in CASES:
                submission = one_row_submissions(client, key, case, sectors[case.dataset])
                current = read_latency(client, case, None)
                earlier = read_latency(client, case, 1)
                rows, seconds = imports[case.dataset]
                figures.append(
                    Figures(backend, case.dataset, rows, seconds, submission, current, earlier)
                )
    finally:
        dbutil.drop_database(url)
    return figures


def report(figures: list[Figures], load_before: float) -> str:
    lines = [
        f"## Publication — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "Full import of the real file (parse, store, publish every slice), then through the HTTP "
        f"API: a one-row CSV submission (median of {SUBMISSIONS - 1}, each changing one cell; "
        "validation, storage and incremental publication of the slices it touches), and one "
        f"indicator-period at municipality level (median of {READS} requests) at the current "
        "revision and at `revision=1` (stored rows). Budgets: one-row submission to "
        f"energy-fluvius ≤ {SUBMISSION_BUDGET:g}× population-2025; `revision=1` ≤ "
        f"{REVISION_BUDGET:g}× current. The stored-files writer on (the server's default): "
        "the files a submission made stale are written in the background.",
        "",
        f"Load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on "
        f"{os.cpu_count()} cores.",
        "",
        "| backend | dataset | observations | full import s | one-row submission s | "
        "submission / import | current ms | revision=1 ms | revision / current |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        lines.append(
            f"| {f.backend} | {f.dataset} | {f.observations:,} | {f.import_s:.2f} | "
            f"{f.submission_s:.3f} | {f.submission_s / f.import_s:.4f} | {f.current_ms:.2f} | "
            f"{f.revision_ms:.2f} | {f.revision_ms / f.current_ms:.2f} |"
        )
    lines.append("")
    for backend in sorted({f.backend for f in figures}):
        by = {f.dataset: f for f in figures if f.backend == backend}
        ratio = by["energy-fluvius"].submission_s / by["population-2025"].submission_s
        worst = max(f.revision_ms / f.current_ms for f in by.values())
        lines.append(
            f"- {backend}: one-row submission energy-fluvius / population-2025 = {ratio:.2f} "
            f"({'within' if ratio <= SUBMISSION_BUDGET else '**over**'} budget); "
            f"revision=1 / current ≤ {worst:.2f} "
            f"({'within' if worst <= REVISION_BUDGET else '**over**'} budget)."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    figures: list[Figures] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            figures.extend(run_backend(backend, Path(tmp)))
    text = report(figures, load_before)
    print(text)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)


if __name__ == "__main__":
    main()
