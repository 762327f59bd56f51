"""Ingest benchmark (issue: suppliers §7; issue 10, streaming import), on SQLite and
PostgreSQL.

100,000 and then 1,000,000 rows submitted through the HTTP API (a real uvicorn server, an
admin key, CSV) — spooled, parsed, validated, staged, stored as a revision with its
aggregates recomputed — against a raw bulk insert of the same rows into the same database in
the same run (executemany on SQLite, COPY on PostgreSQL). The server process's peak memory
(VmHWM) is read after each submission. Budgets: API rows per second at least 0.4 of raw on
SQLite and 0.5 on PostgreSQL; peak memory grows by at most 100 MB from 100k to 1M rows (the
issue's 1M → 10M budget, measured one decade lower here; the scale benchmark does 10M).

Run: ``python -m benchmarks.ingest_bench [--backends sqlite,postgresql] [--sizes 100000,1000000]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from app.auth.keys import create_key
from app.config import PROJECT_ROOT, SEEDS_DIR, get_settings
from app.db.bulk import bulk_insert
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.geo.models import GeoUnit
from app.ingest.seed import seed_all
from app.stats.models import Observation, Submission
from benchmarks.common import PG_SERVER, served

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
SIZES = (100_000, 1_000_000)
DATASET = "population-2025"
BUDGET = {"sqlite": 0.4, "postgresql": 0.5}
MEMORY_BUDGET_MB = 100


def make_rows(sectors: list[str], count: int, first_year: int) -> list[tuple[str, str, str, float]]:
    """``count`` rows of one indicator, sector by sector and year by year downwards from
    ``first_year`` (each size in a run gets years of its own: every row is new)."""
    rows = []
    year = first_year
    while len(rows) < count:
        for n, sector in enumerate(sectors):
            rows.append((sector, "population", str(year), float(100 + n % 900)))
            if len(rows) == count:
                break
        year -= 1
    return rows


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc (Linux only)")


@dataclass
class Measured:
    rows: int
    api_seconds: float
    raw_seconds: float
    peak_mb: float


def run_backend(backend: str, tmp: Path, sizes: list[int]) -> list[Measured]:
    import tests.dbutil as dbutil

    dbutil.TEST_SERVER_URL = PG_SERVER if backend == "postgresql" else ""
    url = dbutil.create_database(tmp)
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        source = tmp / f"source-{backend}"
        source.mkdir()
        (source / "geo").symlink_to(get_settings().source_dir / "geo")
        with transaction(factory) as session:
            seed_all(session, source, SEEDS_DIR)
            key = create_key(session, "kenniscentrum-vlaamse-steden", "admin")
            sectors = list(
                session.scalars(
                    select(GeoUnit.code)
                    .where(GeoUnit.version == "2025", GeoUnit.level == "sector")
                    .order_by(GeoUnit.code)
                )
            )
            unit_ids = dict(
                session.execute(
                    select(GeoUnit.code, GeoUnit.id).where(
                        GeoUnit.version == "2025", GeoUnit.level == "sector"
                    )
                ).all()
            )
        measured: list[Measured] = []
        first_year = 2025
        batches = []
        for size in sizes:
            batches.append((size, make_rows(sectors, size, first_year)))
            first_year -= -(-size // len(sectors))
        raw_times = [raw_insert(factory, unit_ids, rows) for _, rows in batches]
        engine.dispose()

        with served(url) as (client, pid):
            for (size, rows), raw_seconds in zip(batches, raw_times, strict=True):
                body = (
                    "sector,indicator,period,value,status\n"
                    + "".join(f"{s},{i},{p},{v:g},\n" for s, i, p, v in rows)
                ).encode()
                del rows
                start = time.perf_counter()
                response = client.post(
                    f"/api/v1/datasets/{DATASET}/submissions",
                    content=body,
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
                )
                api_seconds = time.perf_counter() - start
                del body
                response.raise_for_status()
                assert response.json()["rows_added"] == size, response.text
                measured.append(Measured(size, api_seconds, raw_seconds, peak_memory_mb(pid)))
                print(backend, measured[-1], flush=True)
    finally:
        dbutil.drop_database(url)
    return measured


def raw_insert(
    factory: sessionmaker[Session],
    unit_ids: dict[str, int],
    rows: list[tuple[str, str, str, float]],
) -> float:
    """Seconds to bulk-insert the same rows straight into the observation table in one
    transaction (then removed again, leaving the dataset as it was)."""
    with transaction(factory) as session:
        submission = Submission(
            dataset_id=DATASET,
            organisation_id="kenniscentrum-vlaamse-steden",
            created_at=datetime.now(UTC),
            sha256="raw",
            state="accepted",
            revision=None,
        )
        session.add(submission)
        session.flush()
        start = time.perf_counter()
        bulk_insert(
            session,
            Observation.__table__,  # type: ignore[arg-type]
            (
                "dataset_id",
                "indicator_id",
                "unit_id",
                "period",
                "value",
                "status",
                "submission_id",
                "revision_from",
                "revision_to",
            ),
            ((DATASET, i, unit_ids[s], p, v, "normal", submission.id, 0, 0) for s, i, p, v in rows),
        )
        session.commit()
        seconds = time.perf_counter() - start
    with transaction(factory) as session:
        session.execute(text("DELETE FROM observation WHERE revision_to = 0"))
        session.execute(text("DELETE FROM submission WHERE sha256 = 'raw'"))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--note", default="", help="a line on the machine's load")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    lines = [
        f"## Ingest — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "Rows as one CSV submission through the HTTP API (spool, parse, validate, stage, store "
        "as a revision, recompute every aggregate) against a raw bulk insert of the same rows "
        "(executemany on SQLite, COPY on PostgreSQL) in the same run; the server's peak memory "
        "(VmHWM) after each. Budgets: API ≥ "
        + ", ".join(f"{v:g} of raw on {k}" for k, v in BUDGET.items())
        + f"; peak memory growth ≤ {MEMORY_BUDGET_MB} MB from the smallest to the largest size.",
        "",
        "| backend | rows | API s | API rows/s | raw s | raw rows/s | API / raw | within budget "
        "| server peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            measured = run_backend(backend, Path(tmp), sizes)
            for m in measured:
                ratio = m.raw_seconds / m.api_seconds
                ok = "yes" if ratio >= BUDGET[backend] else "**no**"
                lines.append(
                    f"| {backend} | {m.rows:,} | {m.api_seconds:.2f} | "
                    f"{m.rows / m.api_seconds:,.0f} | {m.raw_seconds:.2f} | "
                    f"{m.rows / m.raw_seconds:,.0f} | {ratio:.2f} | {ok} | {m.peak_mb:.0f} |"
                )
            if len(measured) > 1:
                growth = measured[-1].peak_mb - measured[0].peak_mb
                ok = "within budget" if growth <= MEMORY_BUDGET_MB else "**over budget**"
                notes.append(
                    f"- {backend}: peak memory {measured[0].rows:,} → {measured[-1].rows:,} rows: "
                    f"{growth:+.0f} MB ({ok})."
                )
    report = "\n".join([*lines, "", *notes, *([args.note] if args.note else [])]) + "\n"
    print(report)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + report)


if __name__ == "__main__":
    main()
