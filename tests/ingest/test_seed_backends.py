"""The seed report says the same on SQLite and PostgreSQL (issue 10: the report on
PostgreSQL once printed wrong published-value counts). Part of the PostgreSQL run: the same
source is seeded into a PostgreSQL database and into a SQLite file in the same test, and the
two reports are compared line by line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db.migrate import upgrade
from app.ingest.seed import VALUE_SOURCES
from tests.conftest import one_municipality, session_factory_for
from tests.dbutil import backend

# The summary's title carries the seconds the seed took; everything else is counts.
TIMING = re.compile(r"done in [\d.]+ s")


def seed_report(url: str, source: Path) -> list[str]:
    """The lines ``datapedia seed --verbose`` prints on stdout (a wide console, so that no
    cell is cut), with the seconds of the title left out."""
    env = {
        **os.environ,
        "DATAPEDIA_DATABASE_URL": url,
        "DATAPEDIA_SOURCE_DIR": str(source),
        "COLUMNS": "200",
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "app.cli", "seed", "--verbose"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    return [TIMING.sub("done in … s", line.rstrip()) for line in seeded.stdout.splitlines()]


def published_counts(url: str) -> dict[str, int]:
    engine, factory = session_factory_for(url)
    with factory() as session:
        rows = session.execute(
            text(
                "SELECT dataset_id, count(*) FROM published_value WHERE revision_to IS NULL "
                "GROUP BY dataset_id"
            )
        ).all()
    engine.dispose()
    return {dataset: int(n) for dataset, n in rows}


def test_the_seed_report_is_the_same_on_sqlite_and_postgresql(
    empty_db: str, tmp_path: Path
) -> None:
    if backend() != "postgresql":
        pytest.skip("compares PostgreSQL with SQLite: runs in the PostgreSQL suite")
    # The real files cut down to one municipality (every dataset still gets values, with
    # aggregates, disclosure and skipped rows): the whole seed twice would cost minutes.
    source = one_municipality(tmp_path)
    sqlite_url = f"sqlite:///{tmp_path / 'seed-report.sqlite3'}"
    upgrade(sqlite_url)  # as the fixture migrated the PostgreSQL database
    try:
        on_sqlite = seed_report(sqlite_url, source)
        on_postgresql = seed_report(empty_db, source)
        counts = published_counts(sqlite_url), published_counts(empty_db)
    finally:
        Path(tmp_path / "seed-report.sqlite3").unlink(missing_ok=True)
    # The report is not trivially equal: it names every dataset with its rows and its
    # published values, and these are what the databases hold.
    published = {
        m.group(1): int(m.group(2).replace(",", ""))
        for line in on_postgresql
        if (m := re.search(r"values ([a-z0-9-]+): revision \d+, ([\d,]+) published", line))
    }
    # Every imported dataset and the derived one (recomputed after its sources).
    assert len(published) == len(VALUE_SOURCES) + 1, on_postgresql
    assert all(n > 0 for n in published.values())
    assert published == counts[0] == counts[1]
    assert any(line.startswith("│ geography units") for line in on_postgresql)
    assert on_postgresql == on_sqlite
