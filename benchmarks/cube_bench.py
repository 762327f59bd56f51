"""Data Cube benchmark (issue 12, items 5 and 6): the cube of ``energy-fluvius``.

1. The whole dump as served (database read included): N-Triples and Turtle, triples per
   second. Budget: ≥ 500,000 triples/s.
2. Writing only (the published rows read into memory first): our writers against the
   reference, rdflib's ``Graph.serialize`` (N-Triples and Turtle) of the same triples, in the
   same run. rdflib holds its graph in memory and its Turtle writer analyses the whole graph,
   so the reference runs on the first ``SAMPLE`` observations, and both sides are compared
   per triple on that sample.

Run: ``python -m benchmarks.cube_bench`` (seeds the real data into a temporary SQLite
database, a few minutes) or ``python -m benchmarks.cube_bench --database-url URL`` for an
already seeded database. Figures are appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rdflib import Graph
from sqlalchemy.orm import Session

import app.models  # noqa: F401  (every table mapped)
from app.config import PROJECT_ROOT, SEEDS_DIR, get_settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.seed import seed_all
from app.rdf import cube
from app.rdf.dcat import Uris

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
DATASET = "energy-fluvius"
BASE = "http://datapedia.example"
BUDGET = 500_000
SAMPLE = 20_000  # observations for the rdflib reference


def seconds(action: Callable[[], object], repeat: int = 3) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def dump(session: Session, fmt: str, rows: list[Any] | None = None) -> bytes:
    """The cube as served; with ``rows``, from rows already in memory (writing only)."""
    dataset = cube.dataset_of(session, DATASET)
    if rows is None:
        return b"".join(cube.stream(session, Uris(BASE), dataset, cube.FORMATS[fmt]))
    original = cube._Observations.rows

    def from_memory(self: cube._Observations) -> Iterator[Any]:
        return iter(rows)

    cube._Observations.rows = from_memory  # type: ignore[method-assign]
    try:
        return b"".join(cube.stream(session, Uris(BASE), dataset, cube.FORMATS[fmt]))
    finally:
        cube._Observations.rows = original  # type: ignore[method-assign]


def published_rows(session: Session) -> list[Any]:
    dataset = cube.dataset_of(session, DATASET)
    return list(cube._Observations(session, Uris(BASE), dataset, "").rows())


def triple_count(ntriples: bytes) -> int:
    return ntriples.count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", help="an already seeded database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'cube-bench.sqlite3'}"
            upgrade(url)
            with transaction(make_session_factory(make_engine(url))) as session:
                seed_all(session, get_settings().source_dir, SEEDS_DIR)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            whole = dump(session, "nt")
            triples = triple_count(whole)
            served = {
                "nt": seconds(lambda: dump(session, "nt")),
                "ttl": seconds(lambda: dump(session, "ttl"), repeat=1),
            }
            rows = published_rows(session)
            writing = {
                fmt: seconds(lambda f=fmt: dump(session, f, rows), repeat=1)
                for fmt in ("nt", "ttl")
            }
            # The reference: the first SAMPLE observations, ours and rdflib's, same triples.
            sample_nt = dump(session, "nt", rows[:SAMPLE])
            sample_triples = triple_count(sample_nt)
            ours_sample = {
                fmt: seconds(lambda f=fmt: dump(session, f, rows[:SAMPLE])) for fmt in ("nt", "ttl")
            }
            graph = Graph().parse(data=sample_nt, format="nt")
            for prefix, namespace in cube.PREFIXES.items():
                graph.bind(prefix, namespace, override=True)
            reference = {
                "nt": seconds(lambda: graph.serialize(format="nt"), repeat=1),
                "ttl": seconds(lambda: graph.serialize(format="turtle"), repeat=1),
            }
        engine.dispose()

    def rate(count: int, elapsed: float) -> str:
        return f"{count / elapsed:,.0f}"

    verdict = "within budget" if triples / served["nt"] >= BUDGET else "**over budget**"
    load = os.getloadavg()[0]
    report = "\n".join(
        [
            f"## Data Cube — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"The RDF Data Cube of `{DATASET}` ({triples:,} triples, {len(rows):,} published "
            f"rows) from SQLite, `app.rdf.cube.stream`. Seconds: the served N-Triples dump and "
            "the sample, median of 3; the rest 1 run. "
            f"Budget: the dump ≥ {BUDGET:,} triples/s. Load average at the end of the run: "
            f"{load:.1f} on 2 cores (other engineers' test runs share the machine), so the "
            "absolute figures are inflated; the ratios are from the same run.",
            "",
            "| what | format | s | triples/s |",
            "|---|---|---:|---:|",
            f"| dump as served (read + write) | N-Triples | {served['nt']:.2f} | "
            f"{rate(triples, served['nt'])} |",
            f"| dump as served (read + write) | Turtle | {served['ttl']:.2f} | "
            f"{rate(triples, served['ttl'])} |",
            f"| writing only (rows in memory) | N-Triples | {writing['nt']:.2f} | "
            f"{rate(triples, writing['nt'])} |",
            f"| writing only (rows in memory) | Turtle | {writing['ttl']:.2f} | "
            f"{rate(triples, writing['ttl'])} |",
            "",
            f"Reference in the same run, on the first {SAMPLE:,} observations "
            f"({sample_triples:,} triples): rdflib's `Graph.serialize` of the same triples "
            "(the graph already built; building it is not counted) against ours from the rows.",
            "",
            "| writer | N-Triples s | Turtle s | N-Triples triples/s | Turtle triples/s |",
            "|---|---:|---:|---:|---:|",
            f"| ours (pyoxigraph terms; Turtle by pyoxigraph's writer) | {ours_sample['nt']:.3f} "
            f"| {ours_sample['ttl']:.3f} | {rate(sample_triples, ours_sample['nt'])} | "
            f"{rate(sample_triples, ours_sample['ttl'])} |",
            f"| rdflib | {reference['nt']:.3f} | {reference['ttl']:.3f} | "
            f"{rate(sample_triples, reference['nt'])} | "
            f"{rate(sample_triples, reference['ttl'])} |",
            f"| rdflib / ours | {reference['nt'] / ours_sample['nt']:.1f}× | "
            f"{reference['ttl'] / ours_sample['ttl']:.1f}× | | |",
            "",
            f"The N-Triples dump as served: {rate(triples, served['nt'])} triples/s ({verdict}).",
        ]
    )
    print(report)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + report + "\n")


if __name__ == "__main__":
    main()
