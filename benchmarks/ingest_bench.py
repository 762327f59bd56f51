"""Ingest benchmark (issue: suppliers §7), on SQLite and PostgreSQL.

100,000 rows submitted through the HTTP API (a real uvicorn server, an admin key, CSV) —
parsed, validated, stored as a revision with its aggregates recomputed — against a raw bulk
insert of the same rows into the same database in the same run (executemany on SQLite, COPY
on PostgreSQL). Budget: API rows per second at least 0.3 of raw.

Run: ``python -m benchmarks.ingest_bench [--backends sqlite,postgresql]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

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
ROWS = 100_000
DATASET = "population-2025"
BUDGET = 0.3


def make_rows(sectors: list[str]) -> list[tuple[str, str, str, float]]:
    rows = []
    year = 2025
    while len(rows) < ROWS:
        for n, sector in enumerate(sectors):
            rows.append((sector, "population", str(year), float(100 + n % 900)))
            if len(rows) == ROWS:
                break
        year -= 1
    return rows


def run_backend(backend: str, tmp: Path) -> tuple[float, float]:
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
        rows = make_rows(sectors)
        body = (
            "sector,indicator,period,value,status\n"
            + "".join(f"{s},{i},{p},{v:g},\n" for s, i, p, v in rows)
        ).encode()

        # Raw: the same rows straight into the observation table, in one transaction.
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
                (
                    (DATASET, i, unit_ids[s], p, v, "normal", submission.id, 0, 0)
                    for s, i, p, v in rows
                ),
            )
            session.commit()
            raw_seconds = time.perf_counter() - start
        with transaction(factory) as session:  # leave the dataset as it was
            session.execute(text("DELETE FROM observation WHERE revision_to = 0"))
            session.execute(text("DELETE FROM submission WHERE sha256 = 'raw'"))
        engine.dispose()

        with served(url) as (client, _):
            start = time.perf_counter()
            response = client.post(
                f"/api/v1/datasets/{DATASET}/submissions",
                content=body,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
            )
            api_seconds = time.perf_counter() - start
            response.raise_for_status()
            assert response.json()["rows_added"] == ROWS, response.text
    finally:
        dbutil.drop_database(url)
    return api_seconds, raw_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    lines = [
        f"## Ingest — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"{ROWS:,} rows as one CSV submission through the HTTP API (parse, validate, store "
        "as a revision, recompute every aggregate) against a raw bulk insert of the same rows "
        f"(executemany on SQLite, COPY on PostgreSQL). Budget: API ≥ {BUDGET:g} of raw.",
        "",
        "| backend | API s | API rows/s | raw s | raw rows/s | API / raw | within budget |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            api, raw = run_backend(backend, Path(tmp))
            ratio = raw / api
            ok = "yes" if ratio >= BUDGET else "**no**"
            lines.append(
                f"| {backend} | {api:.2f} | {ROWS / api:,.0f} | {raw:.2f} | {ROWS / raw:,.0f} "
                f"| {ratio:.2f} | {ok} |"
            )
    report = "\n".join(lines) + "\n"
    print(report)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + report)


if __name__ == "__main__":
    main()
