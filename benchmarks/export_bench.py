"""CSV export benchmark (issue 10: export ≥ 0.2× DuckDB's ``COPY … TO``), on databases
already loaded by ``datapedia seed``.

The whole of ``energy-fluvius`` (every level) as CSV through the HTTP API of a real uvicorn
server, against DuckDB's ``COPY (SELECT … ORDER BY …) TO`` a CSV file from an in-memory table
of the same rows. The runs alternate (API without compression, API with gzip as browsers and
httpx ask for it, DuckDB), ``--repeat`` times, and the best of each counts, so that a burst of
load from other processes hits all of them alike. Besides the wall-clock rows/s, the CPU
seconds are reported: the server process's (``/proc/PID/stat``) for the API, this process's
for DuckDB (its threads included). On a machine shared with other work, CPU seconds are the
steadier figure; the budget is stated on rows/s.

Run: ``python -m benchmarks.export_bench --seeded sqlite=sqlite:///… [--seeded postgresql=…]``;
figures are appended to ``benchmarks/RESULTS.md`` (``--no-record``: print only).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy import text

from app.db.session import make_engine
from benchmarks.common import served
from benchmarks.stats_bench import DATASET, RESULTS, published_rows

BUDGET = 0.2
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Measure:
    label: str
    rows: int = 0
    wall: float = float("inf")
    cpu: float = float("inf")
    first_byte: float = float("inf")

    def add(self, rows: int, wall: float, cpu: float, first_byte: float = 0.0) -> None:
        self.rows = rows
        self.wall = min(self.wall, wall)
        self.cpu = min(self.cpu, cpu)
        self.first_byte = min(self.first_byte, first_byte)


def export(
    client: httpx.Client, pid: int, encoding: str, params: dict[str, str]
) -> tuple[int, float, float, float]:
    """Rows, wall seconds, server CPU seconds and seconds to the first byte of one export."""
    rows = 0
    first = 0.0
    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    with client.stream(
        "GET",
        f"/api/v1/datasets/{DATASET}/observations",
        params={"format": "csv", **params},
        headers={"Accept-Encoding": encoding},
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            if not first:
                first = time.perf_counter() - start
            rows += chunk.count(b"\n")  # "\r" and "\n" may arrive in two chunks
    return rows - 1, time.perf_counter() - start, cpu_seconds(pid) - cpu, first


def duckdb_table(rows: list[tuple[object, ...]]) -> duckdb.DuckDBPyConnection:
    columns = "indicator period level version code name value unit_of_measure status coverage"
    frame = pd.DataFrame(rows, columns=[*columns.split(), "unit_id"])
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE obs AS SELECT * FROM frame")
    con.unregister("frame")
    return con


def duckdb_copy(
    con: duckdb.DuckDBPyConnection, target: Path, level: str | None = None
) -> tuple[float, float]:
    where = f"WHERE level = '{level}'" if level else ""
    cpu = time.process_time()
    start = time.perf_counter()
    con.execute(
        f"COPY (SELECT * EXCLUDE (unit_id) FROM obs {where} "
        "ORDER BY indicator, period, level, unit_id) "
        f"TO '{target}' (HEADER, DELIMITER ',')"
    )
    return time.perf_counter() - start, time.process_time() - cpu


def analyse(url: str) -> None:
    """VACUUM ANALYZE on PostgreSQL, as autovacuum would have after the seed."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


# The filtered export measured besides the whole dataset: the sectors, most of the rows. A
# filter is always streamed (formatted per request); the unfiltered export is the stored
# whole-dataset download of the revision.
STREAMED_LEVEL = "sector"


def run_backend(url: str, repeat: int, tmp: Path) -> list[list[Measure]]:
    analyse(url)
    rows = published_rows(url)
    sectors = sum(1 for row in rows if row[2] == STREAMED_LEVEL)
    con = duckdb_table(rows)
    whole = [
        Measure("whole dataset (stored file), identity"),
        Measure("whole dataset (stored file), gzip"),
        Measure("whole dataset, DuckDB COPY TO"),
    ]
    streamed = [
        Measure(f"level={STREAMED_LEVEL} (streamed), identity"),
        Measure(f"level={STREAMED_LEVEL} (streamed), gzip"),
        Measure(f"level={STREAMED_LEVEL}, DuckDB COPY TO"),
    ]
    level = {"level": STREAMED_LEVEL}
    with served(url) as (client, pid):
        # Warm: the server's caches, the database's pages, the stored file of the revision.
        export(client, pid, "identity", {})
        export(client, pid, "identity", level)
        for _ in range(repeat):
            whole[0].add(*export(client, pid, "identity", {}))
            whole[1].add(*export(client, pid, "gzip", {}))
            whole[2].add(len(rows), *duckdb_copy(con, tmp / "duckdb.csv"))
            streamed[0].add(*export(client, pid, "identity", level))
            streamed[1].add(*export(client, pid, "gzip", level))
            streamed[2].add(sectors, *duckdb_copy(con, tmp / "duckdb.csv", STREAMED_LEVEL))
    con.close()
    return [whole, streamed]


def report(results: dict[str, list[list[Measure]]], repeat: int, load: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## CSV export — {stamp}",
        "",
        f"`benchmarks/export_bench.py`: the whole of `{DATASET}` (every level; served from the "
        f"stored download of the revision) and its `level={STREAMED_LEVEL}` rows (streamed) "
        "as CSV through the HTTP API, each against DuckDB's `COPY (SELECT … ORDER BY …) TO` a "
        "file from an in-memory table of the same rows; runs alternate, best of "
        f"{repeat} each. CPU: the "
        "server process's seconds for the API, DuckDB's (all its threads) for the reference. "
        f"Budget: rows/s ≥ {BUDGET}× DuckDB's. Load average at the start: {load} on 2 cores "
        "(other engineers' work shares the machine: wall-clock figures are several times an "
        "idle machine's).",
        "",
        "| backend | export | rows | wall s | rows/s | × DuckDB rows/s | CPU s | "
        "DuckDB CPU / CPU | first byte s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, groups in results.items():
        for plain, gzip, duck in groups:
            lines.extend(_rows(backend, plain, gzip, duck))
    return "\n".join(lines) + "\n"


def _rows(backend: str, plain: Measure, gzip: Measure, duck: Measure) -> list[str]:
    lines = []
    for m in (plain, gzip, duck):
        share = duck.wall / m.wall
        verdict = "" if m is duck else (" (within budget)" if share >= BUDGET else " **below**")
        first = "" if m is duck else f"{m.first_byte:.2f}"
        lines.append(
            f"| {backend} | {m.label} | {m.rows:,} | {m.wall:.2f} | {m.rows / m.wall:,.0f} | "
            f"{share:.2f}{verdict} | {m.cpu:.2f} | {duck.cpu / m.cpu:.2f} | {first} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeded", action="append", required=True, metavar="BACKEND=URL")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    args = parser.parse_args()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.seeded:
            backend, url = item.split("=", 1)
            print(f"== {backend}", flush=True)
            results[backend] = run_backend(url, args.repeat, Path(tmp))
    text_report = report(results, args.repeat, load)
    print(text_report)
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text_report)


if __name__ == "__main__":
    main()
