"""Data Cube, stored dumps and whole-cube integrity check (issue 12): what the suite pays.

1. Writing the stored dumps of every seeded dataset (``app.rdf.cubefiles.write_all``: the
   cube in N-Triples and Turtle, SHA-256, gzip level 1): CPU seconds, bytes and stored bytes.
2. The check of ``tests/rdf/test_datacube.py``: every dataset's whole stored N-Triples dump
   loaded into Oxigraph (lenient parsing), normalised, IC-1 … IC-21 (IC-12 by
   ``ic-12-keys.rq``): CPU seconds per dataset. Budget: about a minute of CPU in all.
3. Reference in the same run, on one dataset (``REFERENCE``): the check as it was before
   (strict ``bulk_load``, IC-12 grouped on a concatenated key per observation), against the
   check as it is now.

CPU is ``time.process_time`` of this process (the machine is shared: wall time would count
the others' work). Run: ``python -m benchmarks.cube_ic_bench --database-url URL`` on a
seeded database (it writes the dumps there if missing), or without it to seed the real data
into a temporary SQLite database first (several minutes). Figures are appended to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

import app.models  # noqa: F401  (every table mapped)
from app.catalogue import repository as catalogue_repository
from app.config import PROJECT_ROOT, SEEDS_DIR, get_settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.seed import seed_all
from app.rdf import cube, cubefiles
from app.rdf.dcat import Uris
from tests.rdf import datacube

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
REFERENCE = "income"
T = TypeVar("T")

# The IC-12 form the suite used before (grouping on a key built per observation).
GROUPED_IC12 = """PREFIX qb: <http://purl.org/linked-data/cube#>
ASK {
  { SELECT ?dataset ?key (COUNT(?obs) AS ?n) WHERE {
      ?obs qb:dataSet ?dataset .
      { SELECT ?obs (GROUP_CONCAT(?part; separator=" | ") AS ?key) WHERE {
          SELECT ?obs ?part WHERE {
            ?obs qb:dataSet/qb:structure/qb:component/qb:componentProperty ?dim .
            ?dim a qb:DimensionProperty .
            ?obs ?dim ?value .
            BIND (CONCAT(STR(?dim), "=", IF(isLiteral(?value),
                CONCAT("'", STR(?value), "'^^", STR(DATATYPE(?value)), "@", LANG(?value)),
                CONCAT("<", STR(?value), ">"))) AS ?part)
          } ORDER BY ?obs ?dim
        } GROUP BY ?obs }
    } GROUP BY ?dataset ?key }
  FILTER (?n > 1)
}"""


def cpu(action: Callable[[], T]) -> tuple[T, float]:
    start = time.process_time()
    result = action()
    return result, time.process_time() - start


def check_now(data: bytes) -> tuple[int, list[str]]:
    store = datacube.load(data, ox.RdfFormat.N_TRIPLES, lenient=True)
    datacube.normalise(store)
    return len(store), datacube.violations(store)


def check_before(data: bytes) -> tuple[int, list[str]]:
    store = ox.Store()
    store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
    datacube.normalise(store)
    failed = []
    for ic in datacube.ICS:
        if ic in ("ic-20", "ic-21"):
            violated = datacube._templated(store, ic)
        elif ic == "ic-12":
            assert not datacube._ask(store, datacube._text("ic-12-single.rq"))
            violated = datacube._ask(store, GROUPED_IC12)
        else:
            violated = datacube._ask(store, datacube._text(f"{ic}.rq"))
        if violated:
            failed.append(ic)
    return len(store), failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", help="an already seeded database")
    args = parser.parse_args()
    uris = Uris(get_settings().base_url)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'cube-ic-bench.sqlite3'}"
            upgrade(url)
            with transaction(make_session_factory(make_engine(url))) as session:
                seed_all(session, get_settings().source_dir, SEEDS_DIR)
        engine = make_engine(url)
        written: list[tuple[str, float, int, int, int, int]] = []
        checked: list[tuple[str, float, int, list[str]]] = []
        with transaction(make_session_factory(engine)) as session:
            datasets = catalogue_repository.all_datasets(
                session, catalogue_repository.datasets_query()
            )
            for dataset in datasets:
                start = time.process_time()
                files = {
                    ext: cubefiles.ensure(session, uris, dataset, fmt)
                    for ext, fmt in cube.FORMATS.items()
                }
                seconds = time.process_time() - start
                nt, ttl = files["nt"], files["ttl"]
                written.append(
                    (
                        dataset.id,
                        seconds,
                        nt.byte_size,
                        len(nt.content),
                        ttl.byte_size,
                        len(ttl.content),
                    )
                )
        with make_session_factory(engine)() as session:
            reference: bytes = b""
            for dataset in datasets:
                stored = cubefiles.get_file(session, uris, dataset, cube.FORMATS["nt"])

                def run(compressed: bytes = stored.gzip) -> tuple[int, list[str]]:
                    with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as data:
                        return check_now(data.read())

                (triples, failed), seconds = cpu(run)
                checked.append((dataset.id, seconds, triples, failed))
                if dataset.id == REFERENCE:
                    reference = stored.body()
            (_, failed_before), before = cpu(lambda: check_before(reference))
            (_, failed_now), now = cpu(lambda: check_now(reference))
        engine.dispose()

    load = os.getloadavg()[0]
    total_write = sum(w[1] for w in written)
    total_check = sum(c[1] for c in checked)
    total_triples = sum(c[2] for c in checked)
    lines = [
        "## Data Cube: stored dumps and the whole-cube IC check — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Every seeded dataset, {engine.url.get_backend_name()}; CPU seconds of this process "
        f"(`time.process_time`). Load average at the end: {load:.1f} on 2 cores (other "
        "engineers' test runs share the machine): absolute figures are inflated, the ratio is "
        "from the same run.",
        "",
        "| dataset | write both dumps, CPU s | N-Triples MB | stored MB | Turtle MB | stored MB "
        "| IC check, CPU s | triples | violations |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (dataset_id, w_s, nt, nt_z, ttl, ttl_z), (_, c_s, triples, failed) in zip(
        written, checked, strict=True
    ):
        lines.append(
            f"| {dataset_id} | {w_s:.1f} | {nt / 1e6:.1f} | {nt_z / 1e6:.1f} | {ttl / 1e6:.1f} | "
            f"{ttl_z / 1e6:.1f} | {c_s:.1f} | {triples:,} | {', '.join(failed) or 'none'} |"
        )
    lines += [
        f"| **all** | **{total_write:.1f}** | | | | | **{total_check:.1f}** | "
        f"**{total_triples:,}** | |",
        "",
        f"Reference in the same run, `{REFERENCE}`: the check as before (strict `bulk_load`, "
        f"IC-12 grouped on a concatenated key) {before:.1f} s CPU "
        f"({', '.join(failed_before) or 'no violation'}), as now {now:.1f} s "
        f"({', '.join(failed_now) or 'no violation'}): **{before / now:.1f}×**.",
    ]
    report = "\n".join(lines)
    print(report)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + report + "\n")


if __name__ == "__main__":
    main()
