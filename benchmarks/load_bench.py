"""Load test (issue 14): a mixed workload against ``datapedia serve --workers 2`` on
PostgreSQL for a fixed time — dataset reads, observation queries at every level, CSV exports,
catalogue pages, HTML pages and submissions — reporting throughput, p50/p99 per kind and
errors. Budget: zero 5xx.

The database holds the real geography and two real datasets (population 2025, Census 2021
age), enough for every kind of request; the seed of all six takes minutes.

Run: ``.venv/bin/python -m benchmarks.load_bench [--seconds 30]``; appends to RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from app.auth.keys import create_key
from app.config import PROJECT_ROOT, SEEDS_DIR, get_settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.seed import seed_all
from benchmarks.common import PG_SERVER, datapedia_workers
from benchmarks.http_load import Figures, Request, run_load

VALUE_FILES = ("statbel_population_sector_2025.csv", "statbel_census2021_age65plus_sector.csv")
OBSERVATIONS = "/api/v1/datasets/population-2025/observations?indicator=population"


def workload(supplier_key: str) -> list[Request]:
    levels = {
        "sector": "level=sector&within=municipality:44021",
        "municipality": "level=municipality",
        "arrondissement": "level=arrondissement",
        "province": "level=province",
        "region": "level=region",
        "referentieregio": "level=referentieregio",
        "cityregion": "level=cityregion",
        "vervoerregio": "level=vervoerregio",
    }
    requests = [
        Request("dataset detail", "GET", "/api/v1/datasets/population-2025", weight=15),
        Request("dataset search", "GET", "/api/v1/datasets?q=bevolking", weight=10),
        Request("indicator", "GET", "/api/v1/indicators/population", weight=5),
    ]
    requests += [
        Request(f"observations {level}", "GET", f"{OBSERVATIONS}&{query}", weight=5)
        for level, query in levels.items()
    ]
    requests += [
        Request(
            "CSV export (municipalities)",
            "GET",
            f"{OBSERVATIONS}&level=municipality&format=csv",
            (("Accept-Encoding", "gzip"),),
            weight=4,
        ),
        Request("DCAT page (Turtle)", "GET", "/catalog.ttl", weight=4),
        Request("DCAT page (JSON-LD)", "GET", "/catalog.jsonld", weight=2),
        Request("HTML dataset page", "GET", "/doc/dataset/population-2025", weight=4),
    ]
    auth = (("Authorization", f"Bearer {supplier_key}"), ("Content-Type", "text/csv"))
    for value in range(4):
        body = f"sector,indicator,period,value,status\n44021A00-,population,2025,{1000 + value},\n"
        requests.append(
            Request(
                "submission",
                "POST",
                "/api/v1/datasets/population-2025/submissions",
                auth,
                body.encode(),
                weight=0.25,
            )
        )
    return requests


def loaded_database(tmp: Path) -> tuple[str, str]:
    os.environ["DATAPEDIA_TEST_DATABASE_URL"] = PG_SERVER
    import tests.dbutil as dbutil

    dbutil.TEST_SERVER_URL = PG_SERVER
    source = tmp / "source"
    (source / "values").mkdir(parents=True)
    real = get_settings().source_dir
    (source / "geo").symlink_to(real / "geo")
    for name in VALUE_FILES:
        (source / "values" / name).symlink_to(real / "values" / name)
    url = dbutil.create_database(tmp)
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        seed_all(session, source, SEEDS_DIR)
        key = create_key(session, "gent", "supplier")
    engine.dispose()
    return url, key


def report(figures: Figures, seconds: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    lines = [
        f"\n## Load test — {now}\n",
        f"`datapedia serve --workers 2` on PostgreSQL, {seconds:.0f} s, 16 keep-alive "
        f"connections, mixed workload (benchmarks/load_bench.py). Load average at the end: "
        f"{load:.1f} on {os.cpu_count()} cores (shared machine). Budget: zero 5xx.\n",
        f"Throughput {figures.throughput:,.0f} requests/s ({figures.total:,} requests); "
        f"5xx: {figures.server_errors()}; transport errors: {figures.errors}; "
        f"within budget: {'yes' if figures.server_errors() == 0 and not figures.errors else 'NO'}."
        "\n",
        "| kind | requests | p50 ms | p99 ms | statuses |",
        "|---|---:|---:|---:|---|",
    ]
    for kind in sorted(figures.latencies):
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(figures.statuses[kind].items()))
        lines.append(
            f"| {kind} | {len(figures.latencies[kind]):,} | "
            f"{figures.percentile(kind, 50) * 1000:.1f} | "
            f"{figures.percentile(kind, 99) * 1000:.1f} | {statuses} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    import tests.dbutil as dbutil

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url, key = loaded_database(Path(folder))
        try:
            settings = {"submissions_per_minute": "100000", "log_level": "WARNING"}
            with datapedia_workers(url, 2, **settings) as port:
                run_load(port, workload(key), seconds=3.0, concurrency=4)  # warm caches
                figures = run_load(port, workload(key), seconds=args.seconds, concurrency=16)
        finally:
            dbutil.drop_database(url)
    text = report(figures, args.seconds)
    print(text)
    with (PROJECT_ROOT / "benchmarks" / "RESULTS.md").open("a") as results:
        results.write(text)


if __name__ == "__main__":
    main()
