"""Statistics benchmark (issue: statistics §8), on SQLite and PostgreSQL.

(a) Latency of one indicator-period aggregated from sectors to municipality, province,
    region and referentieregio through the HTTP API (a real uvicorn server), against the same
    aggregation by DuckDB in-process on an in-memory table of the same rows, loaded from the
    source CSV before timing starts. Budget: API ≤ 5× DuckDB.
(b) Streaming CSV export of the largest dataset and of a synthetic 10× copy: rows per second,
    and the server's peak memory, which must not grow more than 50 MB between the two.

Run: ``python -m benchmarks.stats_bench [--backends sqlite,postgresql]``; figures are
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

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


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
    start = time.perf_counter()
    with client.stream(
        "GET", f"/api/v1/datasets/{dataset}/observations", params={"format": "csv"}
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_text():
            rows += chunk.count("\r\n")
    seconds = time.perf_counter() - start
    return ExportRow(label, rows - 1, seconds, peak_rss_mb(pid))


def run_backend(
    backend: str, source_dir: Path, tmp: Path
) -> tuple[list[LatencyRow], list[ExportRow]]:
    if backend == "postgresql":
        os.environ["DATAPEDIA_TEST_DATABASE_URL"] = PG_SERVER
    else:
        os.environ.pop("DATAPEDIA_TEST_DATABASE_URL", None)
    import tests.dbutil as dbutil

    dbutil.TEST_SERVER_URL = os.environ.get("DATAPEDIA_TEST_DATABASE_URL", "")
    url = create_database(tmp)
    try:
        upgrade(url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            seed_all(session, source_dir, SEEDS_DIR)
        engine.dispose()
        synthetic = make_synthetic_copy(url, 10)
        with served(url) as (client, pid):
            duck = duckdb_latency(source_dir)
            api = api_latency(client)
            latency = [
                LatencyRow(level, api[level][0], api[level][1], duck[level][1]) for level in LEVELS
            ]
            exports = [
                export(client, DATASET, pid, f"{DATASET} (1×)"),
                export(client, synthetic, pid, f"{DATASET} (10×)"),
            ]
    finally:
        drop_database(url)
    return latency, exports


def report(results: dict[str, tuple[list[LatencyRow], list[ExportRow]]]) -> str:
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
    for backend, (latency, _) in results.items():
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
        "| backend | export | rows | seconds | rows/s | server peak RSS MB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for backend, (_, exports) in results.items():
        for row in exports:
            lines.append(
                f"| {backend} | {row.label} | {row.rows} | {row.seconds:.1f} | "
                f"{row.rows_per_second:,.0f} | {row.peak_rss_mb:.0f} |"
            )
        growth = exports[1].peak_rss_mb - exports[0].peak_rss_mb
        ok = "within budget" if growth <= MEMORY_BUDGET_MB else "**over budget**"
        lines.append(f"| {backend} | growth 1× → 10× | | | | {growth:+.1f} ({ok}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    source_dir = get_settings().source_dir
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            print(f"== {backend}", flush=True)
            results[backend] = run_backend(backend, source_dir, Path(tmp))
    text_report = report(results)
    print(text_report)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text_report)


if __name__ == "__main__":
    main()
