"""Scale benchmark (issue 10 §6): a synthetic dataset of millions of sector observations,
imported and read through the supplier's and the analyst's entry points, on SQLite and
PostgreSQL. Not run in CI.

The dataset is defined like a real one: a catalogue entry with its indicators (skewed counts,
quantities with decimals, one count under a disclosure rule, one derived ratio) in a temporary
copy of ``seeds/``, a supplier role over Flanders and Brussels, and a supplier's API key. Its
values — ``--rows`` observations: indicators × 10 periods × the 2025 sectors, a few cells
confidential or estimated — are written to a CSV file row by row (never held in memory) and
sent as one submission to a real uvicorn server. Each figure has a reference measured in the
same run:

- import rows/s against a raw bulk insert of the same rows into the same table (``COPY`` on
  PostgreSQL, the driver's ``executemany`` on SQLite); the server's peak memory (VmHWM) after
  importing ``--rows`` against a fresh server importing a tenth of them;
- a one-row submission against the full import;
- municipality level at ``revision=1`` against the current revision;
- municipality level, and sector pages 1 and 100 (1,000 rows, reached by following the
  ``next`` links, so a keyset ``cursor`` works as well as ``page``) against DuckDB on an
  in-memory table of the same rows;
- CSV exports against DuckDB's ``COPY … TO`` (an uncompressed file) of the rows the API
  exported: the sector level (a filter: streamed from the database) with gzip, as httpx and
  browsers ask for it, and again uncompressed, like the reference's file; and the whole
  dataset twice — the first request after the last submission writes the stored
  whole-dataset file (the server runs with ``DATAPEDIA_WRITE_STORED_FILES=false``), the
  second sends it as stored.

Run: ``python -m benchmarks.scale_bench [--backend sqlite,postgresql] [--rows N]``
(``make bench-scale``). Default sizes: 1 million rows on SQLite, 10 million on PostgreSQL.
The table is printed and appended to ``benchmarks/RESULTS.md`` (``--no-record``: print only).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import duckdb
import httpx
import yaml
from sqlalchemy import select, text
from sqlalchemy.orm import aliased

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
DEFAULT_ROWS = {"sqlite": 1_000_000, "postgresql": 10_000_000}
DATASET = "scale-synthetic"
REFERENCE_DATASET = "scale-synthetic-tenth"  # the memory reference: a tenth of the rows
ORGANISATION = "kenniscentrum-vlaamse-steden"
VERSION = "2025"
PERIODS = [str(year) for year in range(2016, 2026)]
PAGE_SIZE = 1000
SECTOR_CSV = {"format": "csv", "level": "sector"}
WHOLE_CSV = {"format": "csv"}
DEEP_PAGE = 100
SUBMISSIONS = 5
READS = 20
MIN_READS = 3
READ_SECONDS = 20.0
RANDOM_SEED = 20250101

# Budgets of issue 10 (municipality level: the statistics issue's ≤ 5× DuckDB).
IMPORT_BUDGET = {"postgresql": 0.5, "sqlite": 0.4}
MEMORY_BUDGET_MB = 100.0
SUBMISSION_BUDGET = 0.01
REVISION_BUDGET = 2.0
MUNICIPALITY_BUDGET = 5.0
SECTOR_PAGE_BUDGET = {"postgresql": 3.0, "sqlite": 2.0}
DEEP_PAGE_BUDGET = 1.2
EXPORT_BUDGET = 0.2


# --- the synthetic dataset --------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How one synthetic indicator behaves: a share of a sector's size, and its spread."""

    unit: str
    decimals: int
    share: float
    spread: float
    label: str


KINDS = (
    Kind("persons", 0, 1.0, 0.15, "Residents of a group"),
    Kind("events", 0, 0.01, 0.6, "Rare events"),
    Kind("kWh", 1, 3500.0, 0.4, "Energy use"),
    Kind("km2", 2, 0.002, 0.8, "Area of a land use"),
    Kind("households", 0, 0.45, 0.1, "Households of a type"),
)
DISCLOSED = 1  # the indicator with a disclosure rule (rare events: many small cells)
RATIO = "scale-households-per-100"  # derived: indicator 4 / indicator 0 (the one resubmitted)


def indicator_id(n: int) -> str:
    return f"scale-ind-{n:03d}"


def indicator_count(rows: int, sectors: int) -> int:
    return max(len(KINDS), math.ceil(rows / (len(PERIODS) * sectors)))


def write_seeds(seeds: Path, indicators: int) -> None:
    """A copy of the project's seeds plus the synthetic indicators and two datasets."""
    shutil.copytree(SEEDS_DIR, seeds)
    text_of = {"nl": "Synthetisch (benchmark)", "en": "Synthetic (benchmark)"}
    entries: list[dict[str, Any]] = []
    for n in range(indicators):
        kind = KINDS[n % len(KINDS)]
        entries.append(
            {
                "id": indicator_id(n),
                "label": {"nl": f"{kind.label} {n}", "en": f"{kind.label} {n}"},
                "definition": text_of,
                "unit": kind.unit,
                "formula": None,
                "source": ORGANISATION,
                "caveats": None,
                "decimals": kind.decimals,
                "aggregation": {"rule": "sum"},
                "disclosure": {"min_count": 5} if n == DISCLOSED else None,
            }
        )
    entries.append(
        {
            "id": RATIO,
            "label": {"nl": "Huishoudens per 100 inwoners", "en": "Households per 100 residents"},
            "definition": text_of,
            "unit": "per 100",
            "formula": f"{indicator_id(4)} / {indicator_id(0)} * 100",
            "source": ORGANISATION,
            "caveats": None,
            "decimals": 1,
            "aggregation": {
                "rule": "ratio",
                "numerator": [indicator_id(4)],
                "denominator": [indicator_id(0)],
                "scale": 100,
            },
            "disclosure": None,
        }
    )
    with (seeds / "indicators.yaml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False))
    for dataset in (DATASET, REFERENCE_DATASET):
        entry = {
            "id": dataset,
            "title": {"nl": f"Synthetische dataset {dataset}", "en": f"Synthetic {dataset}"},
            "description": {
                "nl": "Synthetische waarden per statistische sector voor de schaalbenchmark.",
                "en": "Synthetic values per statistical sector for the scale benchmark.",
            },
            "keywords": {"nl": ["benchmark"], "en": ["benchmark"]},
            "themes": ["REGI"],
            "licence": "cc0-1.0",
            "access_level": "public",
            "frequency": "ANNUAL",
            "geo_version": VERSION,
            "temporal": {"start": f"{PERIODS[0]}-01-01", "end": f"{PERIODS[-1]}-12-31"},
            "spatial": ["region:02000", "region:04000"],
            "contact": {"name": "Datapedia", "email": "datapedia@example.org"},
            "source": {"title": "Synthetic", "url": "https://example.org", "attribution": "-"},
            "version": "1",
            "indicators": [*(indicator_id(n) for n in range(indicators)), RATIO],
            "roles": [
                {"organisation": ORGANISATION, "role": "publisher"},
                {"organisation": ORGANISATION, "role": "owner"},
                {
                    "organisation": ORGANISATION,
                    "role": "supplier",
                    "territory": ["region:02000", "region:04000"],
                },
            ],
        }
        (seeds / "datasets" / f"{dataset}.yaml").write_text(
            yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )


def write_values(path: Path, sectors: list[str], rows: int) -> None:
    """``rows`` lines (indicator-major, then period, then sector), written as they are made.

    A sector has a size (log-normal: most are small, a few very large; the '…ZZZZ' remainders
    tiny) that every indicator follows with its own share and spread, and a slow trend over
    the periods. About 0.5 % of cells are confidential (no value) and 1 % estimated."""
    rng = random.Random(RANDOM_SEED)
    size = {
        s: (0.3 if s.endswith("ZZZZ") else 1.0) * 400 * rng.lognormvariate(0, 1.0) for s in sectors
    }
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("sector,indicator,period,value,status\n")
        n = 0
        while written < rows:
            kind = KINDS[n % len(KINDS)]
            indicator = indicator_id(n)
            for p, period in enumerate(PERIODS):
                trend = 1 + 0.01 * p
                lines = []
                for sector in sectors:
                    draw = rng.random()
                    if draw < 0.005:
                        lines.append(f"{sector},{indicator},{period},,confidential\n")
                    else:
                        value = (
                            size[sector] * kind.share * trend * rng.lognormvariate(0, kind.spread)
                        )
                        status = "estimated" if draw > 0.99 else ""
                        lines.append(
                            f"{sector},{indicator},{period},{value:.{kind.decimals}f},{status}\n"
                        )
                    written += 1
                    if written == rows:
                        break
                handle.writelines(lines)
                if written == rows:
                    return
            n += 1


def read_values(
    path: Path, unit_ids: dict[str, int]
) -> Iterator[tuple[str, int, str, float | None, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for sector, indicator, period, value, status in reader:
            yield (
                indicator,
                unit_ids[sector],
                period,
                float(value) if value else None,
                status or "normal",
            )


# --- measuring --------------------------------------------------------------------------


@dataclass
class Export:
    """One CSV export through the API, and DuckDB's ``COPY … TO`` of the same rows."""

    label: str
    params: dict[str, str]
    path: Path
    # httpx asks for gzip by default (as browsers do); DuckDB writes the file uncompressed,
    # so the export is measured both ways.
    headers: dict[str, str] = field(default_factory=dict)
    # The observations API unless given (the whole-dataset download, whose first request
    # after a submission writes the stored file).
    target: str = f"/api/v1/datasets/{DATASET}/observations"
    rows: int = 0
    seconds: float = 0.0
    first_byte_s: float = 0.0
    duck_s: float = 0.0


@dataclass
class Figures:
    backend: str
    rows: int
    sectors: int
    indicators: int
    file_mb: float
    import_s: float = 0.0
    raw_s: float = 0.0
    baseline_mb: float = 0.0
    tenth_peak_mb: float = 0.0
    peak_mb: float = 0.0
    submission_s: float = 0.0
    current_ms: float = 0.0
    revision_ms: float = 0.0
    municipality_duck_ms: float = 0.0
    page1_ms: float = 0.0
    deep_ms: float = 0.0
    deep_page: int = 0
    page1_duck_ms: float = 0.0
    deep_duck_ms: float = 0.0
    exports: list[Export] = field(default_factory=list)
    run_s: float = 0.0
    load: str = ""  # the machine's load averages (1, 5, 15 min) when the backend started
    notes: list[str] = field(default_factory=list)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def median_ms(fetch: Any) -> float:
    """Median of READS calls after a warm one; fewer (at least MIN_READS) when they are so
    slow that READS would take more than READ_SECONDS: the run must stay under 30 minutes."""
    fetch()
    samples: list[float] = []
    while len(samples) < READS and (len(samples) < MIN_READS or sum(samples) < READ_SECONDS):
        start = time.perf_counter()
        fetch()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def submit_file(client: httpx.Client, key: str, dataset: str, path: Path) -> dict[str, Any]:
    # Streamed from disk with its length declared: neither side needs the whole body at once
    # to send it, and the server can refuse an oversized one before reading it.
    response = client.post(
        f"/api/v1/datasets/{dataset}/submissions",
        content=file_chunks(path),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "text/csv",
            "Content-Length": str(path.stat().st_size),
        },
        timeout=None,
    )
    if response.status_code != 201:
        raise RuntimeError(f"import refused: {response.status_code} {response.text[:2000]}")
    result: dict[str, Any] = response.json()
    return result


def one_row_submissions(client: httpx.Client, key: str, sector: str) -> float:
    samples = []
    for n in range(SUBMISSIONS + 1):
        row = f"{sector},{indicator_id(0)},{PERIODS[0]},{999_990 + n % 2},"
        body = f"sector,indicator,period,value,status\n{row}\n"
        start = time.perf_counter()
        response = client.post(
            f"/api/v1/datasets/{DATASET}/submissions",
            content=body.encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
            timeout=None,
        )
        samples.append(time.perf_counter() - start)
        response.raise_for_status()
        outcome = response.json()
        assert outcome["rows_changed"] + outcome["rows_added"] == 1, outcome
    return statistics.median(samples[1:])  # the first warms the server's caches


def with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "page"] + [("page", str(page))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def deep_page_url(client: httpx.Client, first: str) -> tuple[str, int]:
    """The URL of page DEEP_PAGE (or the last one), as a client reaches it: by ``page`` when
    the ``next`` link numbers pages, by following the links when they carry a cursor."""
    response = client.get(first)
    response.raise_for_status()
    url, page = first, 1
    while page < DEEP_PAGE and "next" in response.links:
        following = str(response.links["next"]["url"])
        if "cursor=" not in following:
            total = int(response.json()["total"])
            page = min(DEEP_PAGE, math.ceil(total / PAGE_SIZE))
            return with_page(following, page), page
        url, page = following, page + 1
        response = client.get(url)
        response.raise_for_status()
    return url, page


def export_csv(client: httpx.Client, export: Export) -> None:
    """The export's rows, seconds and seconds to the first byte; its CSV saved."""
    lines = 0
    start = time.perf_counter()
    with (
        export.path.open("wb") as handle,
        client.stream(
            "GET",
            export.target,
            params=export.params,
            headers=export.headers,
            timeout=None,
        ) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes():
            if not export.first_byte_s:
                export.first_byte_s = time.perf_counter() - start
            lines += chunk.count(b"\n")
            handle.write(chunk)
    export.rows, export.seconds = lines - 1, time.perf_counter() - start
    print(f"   {export.label}: {export.rows:,} rows in {export.seconds:.1f} s", flush=True)


def duckdb_references(figures: Figures, values: Path, geo: Path, tmp: Path) -> None:
    """The same reads in DuckDB, in-process, on in-memory tables of the same rows."""
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE obs AS SELECT * FROM read_csv('{values}', header=true, "
        "columns={'sector': 'VARCHAR', 'indicator': 'VARCHAR', 'period': 'VARCHAR', "
        "'value': 'DOUBLE', 'status': 'VARCHAR'})"
    )
    con.execute(
        f"CREATE TABLE geo AS SELECT * FROM read_csv('{geo}', header=true, all_varchar=true)"
    )
    municipality = (
        "SELECT g.municipality, any_value(g.municipality_name), sum(o.value) FROM obs o "
        "JOIN geo g ON g.sector = o.sector "
        f"WHERE o.indicator = '{indicator_id(0)}' AND o.period = '{PERIODS[0]}' "
        "GROUP BY g.municipality ORDER BY g.municipality"
    )
    figures.municipality_duck_ms = median_ms(lambda: con.execute(municipality).fetchall())

    def page(number: int) -> str:
        return (
            "SELECT o.indicator, o.period, o.sector, g.sector_name, o.value, o.status "
            "FROM obs o JOIN geo g ON g.sector = o.sector "
            f"ORDER BY o.indicator, o.period, o.sector LIMIT {PAGE_SIZE} "
            f"OFFSET {(number - 1) * PAGE_SIZE}"
        )

    figures.page1_duck_ms = median_ms(lambda: con.execute(page(1)).fetchall())
    figures.deep_duck_ms = median_ms(lambda: con.execute(page(figures.deep_page)).fetchall())
    for export in figures.exports:
        if not export.path.exists():  # the same rows as the export before it: same reference
            export.duck_s = figures.exports[figures.exports.index(export) - 1].duck_s
            continue
        con.execute(
            f"CREATE OR REPLACE TABLE exported AS SELECT * FROM read_csv('{export.path}', "
            "header=true)"
        )
        target = tmp / "duckdb-export.csv"
        start = time.perf_counter()
        con.execute(f"COPY exported TO '{target}' (HEADER, DELIMITER ',')")
        export.duck_s = time.perf_counter() - start
        target.unlink()
    con.close()


# --- one backend ------------------------------------------------------------------------


@dataclass
class Prepared:
    """A seeded database with the synthetic dataset defined, and what the run needs of it."""

    url: str
    key: str
    sectors: list[str]
    unit_ids: dict[str, int]
    indicators: int
    geo: Path  # sector, names and municipality, for DuckDB


def prepare(url: str, backend: str, rows: int, tmp: Path) -> Prepared:
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    geo_only = tmp / f"source-{backend}"
    geo_only.mkdir()
    (geo_only / "geo").symlink_to(get_settings().source_dir / "geo")
    with transaction(factory) as session:
        seed_all(session, geo_only, SEEDS_DIR)
        municipality = aliased(GeoUnit)
        units = session.execute(
            select(GeoUnit.code, GeoUnit.id, GeoUnit.name, municipality.code, municipality.name)
            .join(municipality, municipality.id == GeoUnit.parent_id)
            .where(GeoUnit.version == VERSION, GeoUnit.level == "sector")
            .order_by(GeoUnit.code)
        ).all()
    geo = tmp / f"geo-{backend}.csv"
    with geo.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sector", "sector_name", "municipality", "municipality_name"])
        writer.writerows((u[0], u[2], u[3], u[4]) for u in units)
    indicators = indicator_count(rows, len(units))
    seeds = tmp / f"seeds-{backend}"
    write_seeds(seeds, indicators)
    # The catalogue again, with the synthetic entries (no geo/ folder: geography as is).
    catalogue_only = tmp / f"catalogue-{backend}"
    catalogue_only.mkdir()
    with transaction(factory) as session:
        seed_all(session, catalogue_only, seeds)
        key = create_key(session, ORGANISATION, "supplier", "scale benchmark")
    engine.dispose()
    return Prepared(url, key, [u[0] for u in units], {u[0]: u[1] for u in units}, indicators, geo)


def raw_insert(db: Prepared, values: Path) -> float:
    """Seconds to put the file's rows straight into the observation table in one
    transaction (COPY on PostgreSQL, executemany on SQLite); the rows are removed after."""
    engine = make_engine(db.url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        submission = Submission(
            dataset_id=DATASET,
            organisation_id=ORGANISATION,
            created_at=datetime.now(UTC),
            sha256="raw",
            state="accepted",
            revision=None,
        )
        session.add(submission)
        session.flush()
        raw_id = submission.id
        start = time.perf_counter()
        bulk_insert(
            session,
            Observation.__table__,  # type: ignore[arg-type]
            (
                "indicator_id",
                "unit_id",
                "period",
                "value",
                "status",
                "dataset_id",
                "submission_id",
                "revision_from",
                "revision_to",
            ),
            ((*row, DATASET, raw_id, 0, 0) for row in read_values(values, db.unit_ids)),
        )
        session.commit()
        seconds = time.perf_counter() - start
    with transaction(factory) as session:
        session.execute(text("DELETE FROM observation WHERE submission_id = :id"), {"id": raw_id})
        session.execute(text("DELETE FROM submission WHERE id = :id"), {"id": raw_id})
    if engine.dialect.name == "postgresql":
        # Reclaim the dead rows so the import does not pay for them; no ANALYZE: the
        # planner keeps the statistics of a freshly seeded database.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM observation"))
    engine.dispose()
    return seconds


def stand_in_for_autovacuum(url: str) -> bool:
    """ANALYZE a PostgreSQL database whose server runs without autovacuum (the shared test
    server here), as a production server's daemon would within a minute of a large import;
    without it the planner reads a million rows with the estimates of an empty table."""
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            return False
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if conn.execute(text("SHOW autovacuum")).scalar() == "on":
                return False
            conn.execute(text("ANALYZE"))
            return True
    finally:
        engine.dispose()


def measure_api(db: Prepared, figures: Figures, values: Path, tenth: Path) -> None:
    """Import, submissions and reads through a real server, each import in a fresh server
    process so that its VmHWM is the import's own."""
    # The server's settings for files of this size (and back-to-back submissions).
    os.environ["DATAPEDIA_MAX_UPLOAD_BYTES"] = str(max(values.stat().st_size * 2, 50 * 1024 * 1024))
    os.environ["DATAPEDIA_SUBMISSIONS_PER_MINUTE"] = "100000"
    # The stored downloads and Data Cube dumps of millions of rows would be written again
    # after every submission, in the server that serves the reads measured here: the figures
    # are the database paths', so the files are written at their first download instead.
    os.environ["DATAPEDIA_WRITE_STORED_FILES"] = "false"

    with served(db.url) as (client, pid):  # the memory reference: a tenth of the rows
        figures.baseline_mb = peak_rss_mb(pid)
        submit_file(client, db.key, REFERENCE_DATASET, tenth)
        figures.tenth_peak_mb = peak_rss_mb(pid)
    print(f"   a tenth imported, server peak {figures.tenth_peak_mb:.0f} MB", flush=True)

    with served(db.url) as (client, pid):
        start = time.perf_counter()
        outcome = submit_file(client, db.key, DATASET, values)
        figures.import_s = time.perf_counter() - start
        figures.peak_mb = peak_rss_mb(pid)
        assert outcome["rows_added"] == figures.rows, outcome
        print(f"   imported in {figures.import_s:.1f} s", flush=True)
        figures.submission_s = one_row_submissions(client, db.key, db.sectors[len(db.sectors) // 2])

        if stand_in_for_autovacuum(db.url):
            figures.notes.append(
                "autovacuum is off on this server: ANALYZE was run after the submissions and "
                "before the reads, as the daemon would"
            )
        observations = f"/api/v1/datasets/{DATASET}/observations"
        municipalities = {
            "indicator": indicator_id(0),
            "period": PERIODS[0],  # present at any --rows; its slice was resubmitted
            "level": "municipality",
            "page_size": PAGE_SIZE,
        }

        def read(target: str, params: dict[str, Any] | None = None) -> None:
            response = client.get(target, params=params)
            response.raise_for_status()
            response.json()

        figures.current_ms = median_ms(lambda: read(observations, municipalities))
        figures.revision_ms = median_ms(
            lambda: read(observations, {**municipalities, "revision": 1})
        )
        first = f"{observations}?level=sector&page_size={PAGE_SIZE}"
        deep, figures.deep_page = deep_page_url(client, first)
        figures.page1_ms = median_ms(lambda: read(first))
        figures.deep_ms = median_ms(lambda: read(deep))
        for export in figures.exports:
            export_csv(client, export)
        # The whole dataset's file is the same rows again: its DuckDB reference is the stream's.
        for export in figures.exports[-2:]:
            export.path.unlink()


def run_backend(
    backend: str, rows: int, tmp: Path, *, skip_raw: bool = False, keep: bool = False
) -> Figures:
    import tests.dbutil as dbutil

    began = time.perf_counter()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    dbutil.TEST_SERVER_URL = PG_SERVER if backend == "postgresql" else ""
    url = dbutil.create_database(tmp)
    values = tmp / f"values-{backend}.csv"
    tenth = tmp / f"values-tenth-{backend}.csv"
    try:
        db = prepare(url, backend, rows, tmp)
        start = time.perf_counter()
        write_values(values, db.sectors, rows)
        write_values(tenth, db.sectors, rows // 10)
        print(f"   synthetic files written in {time.perf_counter() - start:.1f} s", flush=True)
        figures = Figures(
            backend, rows, len(db.sectors), db.indicators, values.stat().st_size / 1e6
        )
        figures.exports = [
            Export("sector level, streamed", SECTOR_CSV, tmp / "export-sector.csv"),
            Export(
                "sector level, streamed, uncompressed",
                SECTOR_CSV,
                tmp / "export-sector-identity.csv",
                {"Accept-Encoding": "identity"},
            ),
            # No stored file of the revision yet (the writer is off): the rows stream.
            Export("whole dataset, streamed", WHOLE_CSV, tmp / "export-whole.csv"),
            # Its download's first request writes the file, then the export sends it.
            Export(
                "whole dataset, file written (download)",
                {},
                tmp / "export-written.csv",
                target=f"/api/v1/datasets/{DATASET}/downloads/observations.csv",
            ),
            Export("whole dataset, stored file", WHOLE_CSV, tmp / "export-stored.csv"),
        ]
        if skip_raw:
            figures.notes.append("no raw insert reference (--skip-raw): import ratio not measured")
        else:
            figures.raw_s = raw_insert(db, values)
            print(f"   raw insert {figures.raw_s:.1f} s", flush=True)
        measure_api(db, figures, values, tenth)
        duckdb_references(figures, values, db.geo, tmp)
    finally:
        if keep:
            print(f"   database kept: {url}", flush=True)
        else:
            dbutil.drop_database(url)
        for path in (values, tenth, *(export.path for export in figures.exports)):
            path.unlink(missing_ok=True)
    figures.run_s = time.perf_counter() - began
    figures.load = load
    return figures


# --- the report -------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory = next(
        int(line.split()[1]) / 1024 / 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, DuckDB {duckdb.__version__}"
    )


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def report(results: list[Figures]) -> str:
    lines = [
        f"## Scale — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}. A synthetic dataset (indicators × {len(PERIODS)} periods × the "
        f"{VERSION} sectors; log-normal sector sizes, 0.5 % confidential cells, one count under "
        "a disclosure rule, one derived ratio) imported as one CSV submission of a supplier "
        "through the HTTP API (a local uvicorn server), then read through the API; each figure "
        "against its reference in the same run. Municipality level: one indicator and period, "
        f"median of {READS} (at least {MIN_READS} when slow); sector pages of {PAGE_SIZE:,} "
        "rows over the whole dataset; CSV exports of the sector level (streamed; gzip as httpx "
        "asks, and uncompressed like DuckDB's file) and of the "
        "whole dataset (every published value, all levels) three times: streamed (no stored "
        "file of the revision yet), through the download (whose first request writes the "
        "file), then sent as stored.",
        "",
    ]
    for f in results:
        lines.append(
            f"- {f.backend}: {f.rows:,} observations ({f.indicators} indicators × "
            f"{len(PERIODS)} periods × {f.sectors:,} sectors), a {f.file_mb:.0f} MB file; "
            f"run {f.run_s / 60:.1f} min; load average at its start {f.load} (shared machine)"
            + "".join(f"; {note}" for note in f.notes)
            + "."
        )
    lines += [
        "",
        "| backend | measure | API | reference | ratio | budget | within budget |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for f in results:
        b = f.backend
        api_rate = f.rows / f.import_s
        raw_rate = f.rows / f.raw_s if f.raw_s else float("nan")  # nan: --skip-raw
        raw_name = "raw COPY" if b == "postgresql" else "raw executemany"
        growth = f.peak_mb - f.tenth_peak_mb
        page_budget = SECTOR_PAGE_BUDGET[b]
        rows = [
            (
                "import rows/s",
                f"{api_rate:,.0f}",
                f"{raw_rate:,.0f} ({raw_name})",
                api_rate / raw_rate,
                f"≥ {IMPORT_BUDGET[b]:g}×",
                api_rate / raw_rate >= IMPORT_BUDGET[b],
            ),
            (
                f"server peak MB (VmHWM), {f.rows:,} vs {f.rows // 10:,} rows",
                f"{f.peak_mb:.0f}",
                f"{f.tenth_peak_mb:.0f} (idle {f.baseline_mb:.0f})",
                None,
                f"growth ≤ {MEMORY_BUDGET_MB:g} MB (here {growth:+.0f})",
                growth <= MEMORY_BUDGET_MB,
            ),
            (
                "one-row submission s vs full import s",
                f"{f.submission_s:.3f}",
                f"{f.import_s:.1f}",
                f.submission_s / f.import_s,
                f"≤ {SUBMISSION_BUDGET:g}×",
                f.submission_s / f.import_s <= SUBMISSION_BUDGET,
            ),
            (
                "municipality ms, revision=1 vs current",
                f"{f.revision_ms:.1f}",
                f"{f.current_ms:.1f}",
                f.revision_ms / f.current_ms,
                f"≤ {REVISION_BUDGET:g}×",
                f.revision_ms / f.current_ms <= REVISION_BUDGET,
            ),
            (
                "municipality ms vs DuckDB GROUP BY",
                f"{f.current_ms:.1f}",
                f"{f.municipality_duck_ms:.1f}",
                f.current_ms / f.municipality_duck_ms,
                f"≤ {MUNICIPALITY_BUDGET:g}× (statistics)",
                f.current_ms / f.municipality_duck_ms <= MUNICIPALITY_BUDGET,
            ),
            (
                "sector page 1 ms vs DuckDB",
                f"{f.page1_ms:.1f}",
                f"{f.page1_duck_ms:.1f}",
                f.page1_ms / f.page1_duck_ms,
                f"≤ {page_budget:g}×",
                f.page1_ms / f.page1_duck_ms <= page_budget,
            ),
            (
                f"sector page {f.deep_page} ms vs DuckDB",
                f"{f.deep_ms:.1f}",
                f"{f.deep_duck_ms:.1f}",
                f.deep_ms / f.deep_duck_ms,
                f"≤ {page_budget:g}×",
                f.deep_ms / f.deep_duck_ms <= page_budget,
            ),
            (
                f"sector page {f.deep_page} ms vs page 1",
                f"{f.deep_ms:.1f}",
                f"{f.page1_ms:.1f}",
                f.deep_ms / f.page1_ms,
                f"≤ {DEEP_PAGE_BUDGET:g}×",
                f.deep_ms / f.page1_ms <= DEEP_PAGE_BUDGET,
            ),
        ]
        for e in f.exports:
            rate, duck_rate = e.rows / e.seconds, e.rows / e.duck_s
            rows.append(
                (
                    f"CSV export rows/s, {e.label} ({e.rows:,} rows; first byte "
                    f"{e.first_byte_s:.2f} s)",
                    f"{rate:,.0f}",
                    f"{duck_rate:,.0f} (DuckDB COPY TO)",
                    rate / duck_rate,
                    f"≥ {EXPORT_BUDGET:g}×",
                    rate / duck_rate >= EXPORT_BUDGET,
                )
            )
        for measure, api, reference, ratio, budget, ok in rows:
            shown = "" if ratio is None else f"{ratio:.3g}"
            lines.append(
                f"| {b} | {measure} | {api} | {reference} | {shown} | {budget} | {verdict(ok)} |"
            )
    by = {f.backend: f for f in results}
    if {"sqlite", "postgresql"} <= by.keys() and by["sqlite"].rows == by["postgresql"].rows:
        pg, lite = by["postgresql"], by["sqlite"]
        pg_export, lite_export = pg.exports[0].seconds, lite.exports[0].seconds
        lines += [
            "",
            f"- PostgreSQL vs SQLite at the same size: one-row submission "
            f"{pg.submission_s / lite.submission_s:.2f}× "
            f"({verdict(pg.submission_s <= lite.submission_s)}), streamed CSV export time "
            f"{pg_export / lite_export:.2f}× ({verdict(pg_export <= lite_export)}); "
            "budget: no slower (≤ 1×).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="observations per backend (default: 1,000,000 on SQLite, 10,000,000 on PostgreSQL)",
    )
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    parser.add_argument(
        "--skip-raw",
        action="store_true",
        help="no raw bulk-insert reference (saves a third of a 10M run; no import ratio)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each backend's database (its URL is printed), to profile its reads afterwards",
    )
    args = parser.parse_args()
    results = []
    # A kept SQLite database is a file in this folder: kept with it.
    folder = (
        contextlib.nullcontext(tempfile.mkdtemp()) if args.keep else tempfile.TemporaryDirectory()
    )
    with folder as tmp:
        for backend in args.backend.split(","):
            rows = args.rows or DEFAULT_ROWS[backend]
            print(f"== {backend}: {rows:,} rows", flush=True)
            results.append(
                run_backend(backend, rows, Path(tmp), skip_raw=args.skip_raw, keep=args.keep)
            )
    text_report = report(results)
    print(text_report)
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text_report)


if __name__ == "__main__":
    main()
