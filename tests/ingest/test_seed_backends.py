"""The seed report says the same on SQLite and PostgreSQL (issue 10: the report on
PostgreSQL once printed wrong published-value counts), and so do the Data Cube dumps it
writes. Part of the PostgreSQL run: the same source is seeded into a PostgreSQL database and
into a SQLite file in the same test, and the two reports and the two databases' dumps are
compared line by line."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.db.migrate import upgrade
from app.downloads import repository as downloads_repository
from app.downloads.models import StoredDownload
from app.downloads.service import CUBE_FILES
from app.ingest.seed import VALUE_SOURCES
from tests.conftest import one_municipality, session_factory_for

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


# An observation's value in an N-Triples dump: the observation and the literal's digits.
VALUE = re.compile(rb'^(<[^>]+>) <[^>]+/id/property/value> "([^"]+)"\^\^<[^>]+#decimal> \.$')


def last_place(digits: bytes) -> Decimal:
    """One unit in the last place written: 1 for ``1116015181``, 0.01 for ``12.35``."""
    exponent = Decimal(digits.decode()).as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(1).scaleb(exponent)


def same_cube(sqlite: list[bytes], postgresql: list[bytes]) -> list[tuple[bytes, bytes, bytes]]:
    """Asserts that two N-Triples dumps hold the same triples, but that an observation's
    value may differ by one unit in its last place (a sum of floats rounded to the
    indicator's decimals, added up in another order: ``1116015181`` on one database,
    ``1116015182`` on the other); returns those values."""
    values: list[dict[bytes, bytes]] = [{}, {}]
    rest: list[list[bytes]] = [[], []]
    for side, lines in enumerate((sqlite, postgresql)):
        for line in lines:
            if match := VALUE.match(line):
                values[side][match.group(1)] = match.group(2)
            else:
                rest[side].append(line)
    assert rest[0] == rest[1]
    assert values[0].keys() == values[1].keys()
    differing = [(o, a, values[1][o]) for o, a in values[0].items() if a != values[1][o]]
    for observation, a, b in differing:
        assert abs(Decimal(a.decode()) - Decimal(b.decode())) <= last_place(a), (observation, a, b)
    return differing


def cube_dumps(url: str) -> dict[tuple[str, str], list[bytes]]:
    """The stored N-Triples Data Cube dump of every dataset (what the whole-cube check reads),
    as sorted lines: one triple a line."""
    engine, factory = session_factory_for(url)
    with factory() as session:
        rows = session.scalars(
            select(StoredDownload).where(StoredDownload.name == CUBE_FILES["nt"])
        ).all()
        dumps = {
            (row.dataset_id, row.name): sorted(
                gzip.decompress(
                    b"".join(downloads_repository.content_pieces(session, row))
                ).splitlines()
            )
            for row in rows
        }
    engine.dispose()
    return dumps


@pytest.mark.only_on("postgresql")
@pytest.mark.costly(20)  # two one-municipality seeds in subprocesses
def test_the_seed_report_is_the_same_on_sqlite_and_postgresql(
    empty_db: str, tmp_path: Path
) -> None:
    # The real files cut down to one municipality (every dataset still gets values, with
    # aggregates, disclosure and skipped rows): the whole seed twice would cost minutes.
    source = one_municipality(tmp_path)
    sqlite_url = f"sqlite:///{tmp_path / 'seed-report.sqlite3'}"
    upgrade(sqlite_url)  # as the fixture migrated the PostgreSQL database
    try:
        on_sqlite = seed_report(sqlite_url, source)
        on_postgresql = seed_report(empty_db, source)
        counts = published_counts(sqlite_url), published_counts(empty_db)
        cubes = cube_dumps(sqlite_url), cube_dumps(empty_db)
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
    # The Data Cube of every dataset, line for line: the check of the whole cube of the real
    # data against the integrity constraints (minutes of CPU) runs in the SQLite suite alone
    # (tests/rdf/test_datacube.py), because the same seed gives the same cube on both.
    assert {dataset for dataset, _ in cubes[0]} == set(published)
    assert cubes[0].keys() == cubes[1].keys()
    for key, lines in cubes[0].items():
        assert len(lines) > 10, key
        differing = same_cube(lines, cubes[1][key])
        # Rounding at the edge is rare: the other values are the same digits.
        assert len(differing) <= len(lines) // 1000, (key, differing)
