"""Statistics benchmark (issue: statistics §8), on SQLite and PostgreSQL.

(a) Latency of one indicator-period aggregated from sectors to municipality, province,
    region and referentieregio through the HTTP API (a real uvicorn server), against the same
    aggregation by DuckDB in-process on an in-memory table of the same rows, loaded from the
    source CSV before timing starts. Budget: API ≤ 5× DuckDB.
(b) Streaming CSV export of the largest dataset and of a synthetic 10× copy: rows per second,
    and the server's peak memory, which must not grow more than 50 MB between the two.
    Against DuckDB's ``COPY … TO`` of the same rows (an in-memory table, written to a file):
    ≥ 0.2× its rows per second on both databases, PostgreSQL no slower than SQLite, and the
    time to the first byte.
(c) A sector page of 1,000 rows (one indicator, one period; the page and its total) against
    the same page and count by DuckDB on an in-memory table of the dataset's published rows:
    ≤ 2× DuckDB on SQLite, ≤ 3× on PostgreSQL.
(d) Deep pages: every sector of the dataset, 1,000 a page; page 100 reached by following the
    cursors, within 1.2× of page 1 (and, for reference, ``page=100`` by number).
    The plans of these pages (EXPLAIN on each database) are recorded with the figures.

PostgreSQL is measured as it runs in production: after ``VACUUM ANALYZE`` (autovacuum's
work), so that the planner has statistics and counts can read the index alone.

Run: ``python -m benchmarks.stats_bench [--backends sqlite,postgresql]``; figures are
appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
from sqlalchemy import text

from app.config import PROJECT_ROOT, SEEDS_DIR, get_settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.seed import seed_all
from benchmarks.common import PG_SERVER, served
from tests.dbutil import create_database, drop_database

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
DATASET = "energy-fluvius"
INDICATOR = "electricity-consumption-residential"
COLUMN = "v2506_elek_res_cons"
PERIOD = "2021"
LEVELS = {  # API level → column of the 2024 geography file
    "municipality": "gemeente2024",
    "province": "provincie2024",
    "region": "gewest",
    "referentieregio": "REFREG",
}
REPEAT = 60
LATENCY_BUDGET = 5.0
MEMORY_BUDGET_MB = 50.0
EXPORT_BUDGET = 0.2  # of DuckDB's rows per second
PAGE_BUDGET = {"sqlite": 2.0, "postgresql": 3.0}  # × DuckDB
DEEP_BUDGET = 1.2  # page 100 / page 1
DEEP_PAGE = 100
PAGE_SIZE = 1000
OBSERVATIONS = f"/api/v1/datasets/{DATASET}/observations"
SECTOR_PAGE = {
    "indicator": INDICATOR,
    "period": PERIOD,
    "level": "sector",
    "page_size": PAGE_SIZE,
}


@dataclass
class LatencyRow:
    level: str
    rows: int
    api_ms: float
    duckdb_ms: float

    @property
    def ratio(self) -> float:
        return self.api_ms / self.duckdb_ms


@dataclass
class ExportRow:
    label: str
    rows: int
    seconds: float
    peak_rss_mb: float
    first_byte_s: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


@dataclass
class ReadsResult:
    """(b), (c) and (d) of one backend, with their same-run DuckDB references."""

    duckdb_copy_rows_per_s: float = 0.0
    page_ms: float = 0.0
    page_duckdb_ms: float = 0.0
    page1_ms: float = 0.0
    page_deep_ms: float = 0.0
    page_deep_offset_ms: float = 0.0
    plans: dict[str, str] | None = None


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def duckdb_latency(source_dir: Path) -> dict[str, tuple[int, float]]:
    """Median milliseconds per level for the same aggregation in DuckDB."""
    con = duckdb.connect()
    values = source_dir / "values" / "fluvius_energy_consumption_sector_2018_2021.csv"
    geo = source_dir / "geo" / "pinc_statsec2024_alle_gebiedsniveaus.csv"
    con.execute(
        f"CREATE TABLE obs AS SELECT geoitem AS sector, {COLUMN} AS value "
        f"FROM read_csv('{values}', all_varchar=true, header=true) "
        f"WHERE period = '{PERIOD}'"
    )
    con.execute("UPDATE obs SET value = NULL WHERE value = '-99999'")
    con.execute("ALTER TABLE obs ALTER value TYPE DOUBLE")
    con.execute(f"CREATE TABLE geo AS SELECT * FROM read_csv('{geo}', all_varchar=true)")
    result = {}
    for level, column in LEVELS.items():
        sql = (
            f"SELECT g.{column}, sum(o.value) FROM obs o JOIN geo g ON g.statsec2024 = o.sector "
            f"GROUP BY g.{column}"
        )
        rows = len(con.execute(sql).fetchall())
        samples = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            samples.append(time.perf_counter() - start)
        result[level] = (rows, median_ms(samples))
    con.close()
    return result


def api_latency(client: httpx.Client) -> dict[str, tuple[int, float]]:
    result = {}
    for level in LEVELS:
        params = {
            "indicator": INDICATOR,
            "period": PERIOD,
            "level": level,
            "page_size": 1000,
        }
        first = client.get(f"/api/v1/datasets/{DATASET}/observations", params=params)
        first.raise_for_status()
        rows = len(first.json()["items"])
        samples = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            response = client.get(f"/api/v1/datasets/{DATASET}/observations", params=params)
            response.json()
            samples.append(time.perf_counter() - start)
        result[level] = (rows, median_ms(samples))
    return result


def make_synthetic_copy(url: str, copies: int) -> str:
    """A dataset with ``copies`` times the published rows of DATASET (periods renamed)."""
    engine = make_engine(url)
    synthetic = f"{DATASET}-x{copies}"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO dataset (id, title_nl, title_en, description_nl, description_en, "
                "keywords, themes, licence_id, access_level, frequency, geo_version, "
                "temporal_start, temporal_end, spatial, contact_name, contact_email, source, "
                "version, issued, modified) SELECT :new, title_nl, title_en, description_nl, "
                "description_en, keywords, themes, licence_id, access_level, frequency, "
                "geo_version, temporal_start, temporal_end, spatial, contact_name, "
                "contact_email, source, version, issued, modified FROM dataset WHERE id = :old"
            ),
            {"new": synthetic, "old": DATASET},
        )
        conn.execute(
            text(
                "INSERT INTO dataset_indicator (dataset_id, indicator_id, position) "
                "SELECT :new, indicator_id, position FROM dataset_indicator WHERE dataset_id = :old"
            ),
            {"new": synthetic, "old": DATASET},
        )
        for copy in range(copies):
            conn.execute(
                text(
                    "INSERT INTO published_value (dataset_id, indicator_id, period, version, "
                    "level, unit_id, value, status, coverage, revision_from) SELECT :new, "
                    "indicator_id, period || :suffix, version, level, unit_id, value, status, "
                    "coverage, revision_from FROM published_value WHERE dataset_id = :old "
                    "AND revision_to IS NULL"
                ),
                {"new": synthetic, "old": DATASET, "suffix": f"-c{copy}"},
            )
    engine.dispose()
    return synthetic


def export(client: httpx.Client, dataset: str, pid: int, label: str) -> ExportRow:
    rows = 0
    first: float | None = None
    start = time.perf_counter()
    with client.stream(
        "GET", f"/api/v1/datasets/{dataset}/observations", params={"format": "csv"}
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            if first is None:
                first = time.perf_counter() - start
            rows += chunk.count(b"\r\n")
    seconds = time.perf_counter() - start
    return ExportRow(label, rows - 1, seconds, peak_rss_mb(pid), first or seconds)


def published_rows(url: str) -> list[tuple[object, ...]]:
    """The dataset's current published rows in its own geography version: the rows its CSV
    export holds (for DuckDB)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.indicator_id, p.period, p.level, p.version, g.code, g.name, p.value, "
                "i.unit_of_measure, p.status, p.coverage, p.unit_id FROM published_value p "
                "JOIN geo_unit g ON g.id = p.unit_id JOIN indicator i ON i.id = p.indicator_id "
                "JOIN dataset d ON d.id = p.dataset_id AND d.geo_version = p.version "
                "WHERE p.dataset_id = :d AND p.revision_to IS NULL"
            ),
            {"d": DATASET},
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def duckdb_reads(rows: list[tuple[object, ...]], tmp: Path) -> tuple[float, float]:
    """DuckDB's references on an in-memory table of ``rows``: rows per second of
    ``COPY … TO`` a CSV file (best of three), and the median milliseconds of the sector page
    (the page and its count, fetched into Python)."""
    import pandas as pd  # type: ignore[import-untyped]

    frame = pd.DataFrame(
        rows,
        columns=[
            "indicator",
            "period",
            "level",
            "version",
            "code",
            "name",
            "value",
            "unit_of_measure",
            "status",
            "coverage",
            "unit_id",
        ],
    )
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE obs AS SELECT * FROM frame")
    con.unregister("frame")
    target = tmp / "duckdb.csv"
    copies = []
    for _ in range(3):
        start = time.perf_counter()
        con.execute(
            f"COPY (SELECT * EXCLUDE (unit_id) FROM obs ORDER BY indicator, period, level, "
            f"unit_id) TO '{target}' (HEADER, DELIMITER ',')"
        )
        copies.append(time.perf_counter() - start)
    where = "indicator = ? AND period = ? AND level = 'sector'"
    args = [INDICATOR, PERIOD]
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        con.execute(
            f"SELECT * FROM obs WHERE {where} ORDER BY unit_id LIMIT {PAGE_SIZE}", args
        ).fetchall()
        con.execute(f"SELECT count(*) FROM obs WHERE {where}", args).fetchall()
        samples.append(time.perf_counter() - start)
    con.close()
    return len(rows) / min(copies), median_ms(samples)


def timed_get(client: httpx.Client, params: dict[str, Any], repeat: int = REPEAT) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(OBSERVATIONS, params=params)
        response.raise_for_status()
        response.json()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def deep_pages(client: httpx.Client) -> tuple[float, float, float]:
    """Median ms of page 1, of page DEEP_PAGE reached by cursors, and of page=DEEP_PAGE."""
    walk: dict[str, Any] = {"level": "sector", "page_size": PAGE_SIZE}
    page1 = timed_get(client, walk, REPEAT // 3)
    cursor = client.get(OBSERVATIONS, params=walk).json()["next_cursor"]
    for _ in range(DEEP_PAGE - 2):
        cursor = client.get(OBSERVATIONS, params={**walk, "cursor": cursor}).json()["next_cursor"]
    deep = {**walk, "cursor": cursor}
    page = client.get(OBSERVATIONS, params=deep).json()["page"]
    assert page == DEEP_PAGE, page
    return (
        page1,
        timed_get(client, deep, REPEAT // 3),
        timed_get(client, {**walk, "page": DEEP_PAGE}, REPEAT // 3),
    )


def plans(url: str) -> dict[str, str]:
    """The database's plan of the sector page and of a deep page: the indexes it reads and
    whether it sorts."""
    from sqlalchemy import select

    from app.stats import repository
    from app.stats.models import PublishedValue

    engine = make_engine(url)
    version = "2024"
    sector_page = repository.PublishedFilter(
        DATASET, [INDICATOR], [PERIOD], version, "sector", None, []
    )
    walk = repository.PublishedFilter(DATASET, [], [], version, "sector", None, [])
    shown = {}
    with engine.connect() as conn:
        unit = conn.execute(
            select(PublishedValue.unit_id).where(PublishedValue.dataset_id == DATASET).limit(1)
        ).scalar_one()
        deep = repository.Position(INDICATOR, PERIOD, "sector", unit)
        statements = {
            "sector page": repository.published_query(sector_page).limit(PAGE_SIZE),
            "deep page (cursor)": repository.published_query(walk, after=deep).limit(PAGE_SIZE),
            "count": sector_page.where(select(text("count(*)")).select_from(PublishedValue)),
        }
        for label, stmt in statements.items():
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
            lines = [str(row[-1]) for row in conn.exec_driver_sql(explain + sql)]
            indexes = sorted({m for line in lines for m in re.findall(r"ix_\w+|pk_\w+", line)})
            sorts = any("TEMP B-TREE" in line or re.search(r"\bSort\b", line) for line in lines)
            scans = sorted({m for line in lines for m in re.findall(r"Seq Scan on \w+", line)})
            shown[label] = (
                f"{', '.join(indexes + scans) or 'no index'}; {'sorts' if sorts else 'no sort'}"
            )
    engine.dispose()
    return shown


def run_backend(
    backend: str, source_dir: Path, tmp: Path, seeded: str | None = None
) -> tuple[list[LatencyRow], list[ExportRow], ReadsResult]:
    """All parts on a database of its own, seeded here; or, with ``seeded`` (a database
    ``datapedia seed`` loaded, left as it is), only the reads of issue 10: (b) without the 10×
    copy, (c) and (d)."""
    if backend == "postgresql":
        os.environ["DATAPEDIA_TEST_DATABASE_URL"] = PG_SERVER
    else:
        os.environ.pop("DATAPEDIA_TEST_DATABASE_URL", None)
    import tests.dbutil as dbutil

    dbutil.TEST_SERVER_URL = os.environ.get("DATAPEDIA_TEST_DATABASE_URL", "")
    url = seeded or create_database(tmp)
    latency: list[LatencyRow] = []
    try:
        if seeded is None:
            upgrade(url)
            engine = make_engine(url)
            with transaction(make_session_factory(engine)) as session:
                seed_all(session, source_dir, SEEDS_DIR)
            engine.dispose()
            synthetic = make_synthetic_copy(url, 10)
        vacuum_analyze(url)
        reads = ReadsResult(plans=plans(url))
        rows = published_rows(url)
        reads.duckdb_copy_rows_per_s, reads.page_duckdb_ms = duckdb_reads(rows, tmp)
        del rows
        with served(url) as (client, pid):
            if seeded is None:
                duck = duckdb_latency(source_dir)
                api = api_latency(client)
                latency = [
                    LatencyRow(level, api[level][0], api[level][1], duck[level][1])
                    for level in LEVELS
                ]
            reads.page_ms = timed_get(client, SECTOR_PAGE)
            reads.page1_ms, reads.page_deep_ms, reads.page_deep_offset_ms = deep_pages(client)
            exports = [export(client, DATASET, pid, f"{DATASET} (1×)")]
            if seeded is None:
                exports.append(export(client, synthetic, pid, f"{DATASET} (10×)"))
    finally:
        if seeded is None:
            drop_database(url)
    return latency, exports, reads


def vacuum_analyze(url: str) -> None:
    """What autovacuum does to a loaded database in production (statistics for the planner,
    the visibility map for index-only counts); SQLite gathers no statistics by default."""
    if not url.startswith("postgresql"):
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def report(results: dict[str, tuple[list[LatencyRow], list[ExportRow], ReadsResult]]) -> str:
    lines = [
        f"## Statistics — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"(a) `{INDICATOR}` {PERIOD}, aggregated from sectors, median of {REPEAT} requests "
        "(HTTP API on a local uvicorn server, JSON parsed) against the same GROUP BY in DuckDB "
        "in-process on an in-memory table loaded from the source CSV. Budget: API ≤ "
        f"{LATENCY_BUDGET:g}× DuckDB.",
        "",
        "| backend | level | rows | API ms | DuckDB ms | ratio | within budget |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    if not any(latency for latency, _, _ in results.values()):
        lines[2:] = ["(a) not measured in this run (`--seeded`: reads of issue 10 only)."]
    for backend, (latency, _, _) in results.items():
        for row in latency:
            ok = "yes" if row.ratio <= LATENCY_BUDGET else "**no**"
            lines.append(
                f"| {backend} | {row.level} | {row.rows} | {row.api_ms:.2f} | "
                f"{row.duckdb_ms:.2f} | {row.ratio:.2f} | {ok} |"
            )
    lines += [
        "",
        "(b) Streaming CSV export of every published value (all levels) of "
        f"`{DATASET}`, and of a synthetic copy with 10× the rows. Peak memory is the server "
        f"process's VmHWM after each export. Budget: growth ≤ {MEMORY_BUDGET_MB:g} MB.",
        "",
        f"DuckDB: `COPY (SELECT … ORDER BY …) TO` a CSV file from an in-memory table of the "
        f"same rows (1×), best of three. Budget: ≥ {EXPORT_BUDGET:g}× DuckDB's rows/s on both "
        "databases; PostgreSQL no slower than SQLite.",
        "",
        "| backend | export | rows | seconds | first byte s | rows/s | × DuckDB | "
        "server peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, (_, exports, reads) in results.items():
        for done in exports:
            share = done.rows_per_second / reads.duckdb_copy_rows_per_s
            ok = "" if share >= EXPORT_BUDGET else " **below**"
            lines.append(
                f"| {backend} | {done.label} | {done.rows} | {done.seconds:.1f} | "
                f"{done.first_byte_s:.3f} | {done.rows_per_second:,.0f} | {share:.2f}{ok} | "
                f"{done.peak_rss_mb:.0f} |"
            )
        lines.append(
            f"| {backend} | DuckDB COPY TO (1×) | | | | {reads.duckdb_copy_rows_per_s:,.0f} | "
            "1.00 | |"
        )
        if len(exports) > 1:
            growth = exports[1].peak_rss_mb - exports[0].peak_rss_mb
            ok = "within budget" if growth <= MEMORY_BUDGET_MB else "**over budget**"
            lines.append(f"| {backend} | growth 1× → 10× | | | | | | {growth:+.1f} ({ok}) |")
    if {"sqlite", "postgresql"} <= set(results):
        pg = results["postgresql"][1][0].rows_per_second
        lite = results["sqlite"][1][0].rows_per_second
        ok = "within budget" if pg >= lite else "**over budget**"
        lines += ["", f"PostgreSQL / SQLite CSV rows/s (1×): {pg / lite:.2f} ({ok})."]
    lines += [
        "",
        f"(c) Sector page: `{INDICATOR}` {PERIOD}, `level=sector`, {PAGE_SIZE} rows with the "
        f"total, median of {REPEAT} (HTTP, JSON parsed) against DuckDB's same page and count "
        "(fetched into Python) on an in-memory table of the dataset's published rows. "
        f"(d) Every sector of `{DATASET}` {PAGE_SIZE} a page: page 1 (counts the total) and "
        f"page {DEEP_PAGE} reached by following the cursors, median of {REPEAT // 3}; "
        f"`page={DEEP_PAGE}` by number (OFFSET) for reference. Budgets: (c) ≤ "
        f"{PAGE_BUDGET['sqlite']:g}× DuckDB on SQLite, ≤ {PAGE_BUDGET['postgresql']:g}× on "
        f"PostgreSQL; (d) page {DEEP_PAGE} ≤ {DEEP_BUDGET:g}× page 1.",
        "",
        "| backend | sector page ms | DuckDB ms | ratio | page 1 ms | "
        f"page {DEEP_PAGE} (cursor) ms | ratio | page={DEEP_PAGE} (offset) ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, (_, _, reads) in results.items():
        ratio = reads.page_ms / reads.page_duckdb_ms
        deep = reads.page_deep_ms / reads.page1_ms
        ok = "" if ratio <= PAGE_BUDGET[backend] else " **over**"
        deep_ok = "" if deep <= DEEP_BUDGET else " **over**"
        lines.append(
            f"| {backend} | {reads.page_ms:.2f} | {reads.page_duckdb_ms:.2f} | {ratio:.2f}{ok} | "
            f"{reads.page1_ms:.2f} | {reads.page_deep_ms:.2f} | {deep:.2f}{deep_ok} | "
            f"{reads.page_deep_offset_ms:.2f} |"
        )
    lines += ["", "Plans (EXPLAIN):", ""]
    for backend, (_, _, reads) in results.items():
        for label, plan in (reads.plans or {}).items():
            lines.append(f"- {backend}, {label}: {plan}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--seeded",
        action="append",
        default=[],
        metavar="BACKEND=URL",
        help="measure only the reads (b without 10×, c, d) on a database already seeded",
    )
    args = parser.parse_args()
    seeded = dict(item.split("=", 1) for item in args.seeded)
    source_dir = get_settings().source_dir
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            print(f"== {backend}", flush=True)
            results[backend] = run_backend(backend, source_dir, Path(tmp), seeded.get(backend))
    text_report = report(results)
    print(text_report)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text_report)


if __name__ == "__main__":
    main()
