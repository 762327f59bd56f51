"""A CSV export reads one state of the data: a revision committed by another connection while
the export is being sent does not show in the slices still to come (SQLite reads each
statement at the latest commit unless it is inside a transaction; PostgreSQL's export is one
statement, or parts on one exported snapshot)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from app.stats import repository, service
from tests.factories import World

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
SECTORS = ("44021A00-", "44021A01-", "44021A02-")
# The start of a line of each indicator (a record begins with its indicator).
AREA = b"\r\narea,2025,"
POPULATION = b"\r\npopulation,2025,"


def submit(world: World, *rows: str) -> None:
    body = ("sector,indicator,period,value,status\n" + "".join(r + "\n" for r in rows)).encode()
    response = world.client.post(SUBMIT, content=body, headers=world.headers("gent"))
    assert response.status_code == 201, response.text


def export_chunks(session: Session) -> Iterator[bytes]:
    """The whole dataset's CSV export, as the observations API streams it."""
    return service.csv_chunks(session, service.whole_dataset_query(session, DATASET))


def test_a_revision_committed_during_an_export_is_not_in_its_later_slices(
    world_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Area's slices come before population's (the records' order): the change below lies in
    # slices the export has not read when it is committed.
    submit(
        world_db,
        *(f"{s},area,2025,{n + 1}.5," for n, s in enumerate(SECTORS)),
        *(f"{s},population,2025,{100 + n}," for n, s in enumerate(SECTORS)),
    )
    with world_db.factory() as session:
        before = b"".join(export_chunks(session))
    assert POPULATION in before and AREA in before

    # A chunk per slice, so that the export stops between two slices.
    monkeypatch.setattr(repository, "CSV_CHUNK_BYTES", 1)
    with world_db.factory() as session:
        chunks = export_chunks(session)
        first = next(chunks)
        assert AREA in first and POPULATION not in first
        submit(world_db, f"{SECTORS[0]},population,2025,999,")
        during = first + b"".join(chunks)
    assert during == before

    with world_db.factory() as session:
        after = b"".join(export_chunks(session))
    assert after != before and b",999," in after and b",999," not in before
