"""Geometry and search benchmark (issue 11, item 7 and 3), on SQLite with the real geography.

* Seed time: loading every boundary file against the geography import itself (the reference,
  same run) — the test suite's seed leaves boundaries out, a real seed loads both.
* Serving: ``/geo/boundaries`` for all 2025 municipalities and for all 2024 sectors (bytes raw
  and gzip-compressed, latency) against the JSON list of the same municipalities
  (``/geo/units?level=municipality&version=2025``, the reference); a revalidation (304).
* Search: ``/datasets?q=energie`` and ``/search?q=Gent`` against ``/datasets`` without ``q``.

Run: ``python -m benchmarks.geo_bench``; figures are appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT, SEEDS_DIR, Settings, get_settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.geo.boundaries import (
    BOUNDARIES_DIR,
    BOUNDARIES_FILE,
    import_boundaries,
    load_boundary_files,
)
from app.ingest.seed import seed_all
from app.main import create_app

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"


def seconds(action: Callable[[], object], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    source = get_settings().source_dir
    with tempfile.TemporaryDirectory() as tmp:
        only_geo = Path(tmp) / "source"
        only_geo.mkdir()
        (only_geo / "geo").symlink_to(source / "geo")
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        start = time.perf_counter()
        with transaction(factory) as session:
            seed_all(session, only_geo, SEEDS_DIR)
        geography_s = time.perf_counter() - start
        start = time.perf_counter()
        with transaction(factory) as session:
            report = import_boundaries(
                session, source / BOUNDARIES_DIR, load_boundary_files(SEEDS_DIR / BOUNDARIES_FILE)
            )
        boundaries_s = time.perf_counter() - start
        engine.dispose()

        rows: list[str] = []
        with TestClient(create_app(Settings(database_url=url))) as client:
            reference = "/api/v1/geo/units?level=municipality&version=2025&page_size=1000"
            ref_s = seconds(lambda: client.get(reference))
            for label, path in (
                ("2025 municipalities", "/api/v1/geo/boundaries?level=municipality"),
                ("2024 sectors", "/api/v1/geo/boundaries?level=sector"),
                ("Gent's wijken", "/api/v1/geo/boundaries?level=wijk&within=municipality:44021"),
            ):
                gz = client.get(path, headers={"Accept-Encoding": "gzip"})
                raw = client.get(path, headers={"Accept-Encoding": "identity"})
                gz_bytes = int(gz.headers.get("content-length", 0))
                took = seconds(lambda p=path: client.get(p, headers={"Accept-Encoding": "gzip"}))
                etag = gz.headers["etag"]
                not_modified = seconds(
                    lambda p=path, e=etag: client.get(p, headers={"If-None-Match": e})
                )
                rows.append(
                    f"| {label} | {len(raw.content) / 1e6:.2f} | {gz_bytes / 1e6:.2f} | "
                    f"{took * 1000:.0f} | {not_modified * 1000:.1f} | {took / ref_s:.1f} |"
                )
            plain = seconds(lambda: client.get("/api/v1/datasets"))
            search_rows = []
            for label, path in (
                ("/datasets?q=energie", "/api/v1/datasets?q=energie"),
                ("/search?q=Gent", "/api/v1/search?q=Gent"),
            ):
                took = seconds(lambda p=path: client.get(p))
                search_rows.append(
                    f"| {label} | {took * 1000:.1f} | {plain * 1000:.1f} | {took / plain:.2f} |"
                )

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            "",
            f"## Geometry and search — {stamp}",
            "",
            "SQLite, real geography without values. Seed: the boundary files "
            f"({sum(report.counts.values())} shapes) took {boundaries_s:.1f} s against "
            f"{geography_s:.1f} s for the geography import itself "
            f"({boundaries_s / geography_s:.2f}×).",
            "",
            f"Serving (median of 5; reference: the JSON list of the 2025 municipalities, "
            f"{ref_s * 1000:.0f} ms):",
            "",
            "| GeoJSON | raw MB | gzip MB | ms (gzip) | ms (304) | × reference |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Search (median of 5; reference: `/datasets` without `q`):",
            "",
            "| request | ms | reference ms | ratio |",
            "|---|---:|---:|---:|",
            *search_rows,
            "",
        ]
    )
    print(text)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
