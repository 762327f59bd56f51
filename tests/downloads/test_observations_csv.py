"""The unfiltered CSV export of the observations API is served from the stored whole-dataset
download once it is written for the current revision: the same bytes the stream would give,
the stored gzip sent as it is, and a new revision served anew. Until then, and for filtered
exports, the rows stream."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.db.session import transaction
from app.downloads import repository as downloads_repository
from app.downloads import service as downloads_service
from app.downloads.models import StoredDownload, StoredDownloadPiece
from app.downloads.service import CSV
from app.stats import service
from app.stats.formats import csv_lines
from tests.dbutil import backend
from tests.factories import World

# A 2025 dataset, a 2024 one (also shown on 2025 municipalities) and a derived one.
DATASETS = ("population-2025", "income", "climate-energy-monitor")


def obs(dataset_id: str) -> str:
    return f"/api/v1/datasets/{dataset_id}/observations"


def streamed(session: Session, dataset_id: str, **filters: object) -> bytes:
    """The CSV the database formats for the query, as the API streams it."""
    query = service.build_query(
        session,
        dataset_id,
        indicators=filters.get("indicators", []),  # type: ignore[arg-type]
        periods=[],
        level=filters.get("level"),  # type: ignore[arg-type]
        version=None,
        within=None,
        units=[],
        area=[],
        revision=filters.get("revision"),  # type: ignore[arg-type]
    )
    return b"".join(service.csv_chunks(session, query))


def submit_gent_sector(world: World) -> Response:
    """A new revision of population-2025: Gent's sector 44021A00- at 1234 in 2025."""
    upload = "sector,indicator,period,value,status\r\n44021A00-,population,2025,1234,\r\n"
    submitted = world.client.post(
        "/api/v1/datasets/population-2025/submissions",
        content=upload.encode(),
        headers=world.headers("gent"),
    )
    assert submitted.status_code == 201, submitted.text
    return submitted


def raw_body(client: TestClient, path: str, **params: str) -> tuple[bytes, str | None]:
    """The body as sent (not decoded) and its Content-Encoding, gzip accepted."""
    with client.stream("GET", path, params=params, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200, response.read()[:300]
        return b"".join(response.iter_raw()), response.headers.get("content-encoding")


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_the_unfiltered_csv_export_is_the_stored_download_byte_for_byte(
    client: TestClient, real_session: Session, dataset_id: str
) -> None:
    expected = streamed(real_session, dataset_id)
    assert expected.count(b"\r\n") > 1000
    plain = client.get(
        obs(dataset_id), params={"format": "csv"}, headers={"Accept-Encoding": "identity"}
    )
    assert plain.status_code == 200
    assert "content-encoding" not in plain.headers
    assert plain.headers["content-type"] == "text/csv; charset=utf-8"
    assert plain.headers["content-disposition"] == (
        f'attachment; filename="{dataset_id}-observations.csv"'
    )
    assert plain.content == expected
    # With gzip accepted, once the download is written, the stored file's compressed bytes
    # themselves are sent (the middleware would compress a stream differently).
    stored, stored_encoding = raw_body(
        client, f"/api/v1/datasets/{dataset_id}/downloads/observations.csv"
    )
    compressed, encoding = raw_body(client, obs(dataset_id), format="csv")
    assert encoding == stored_encoding == "gzip"
    assert compressed == stored
    assert gzip.decompress(compressed) == expected
    # Asked with Accept instead of format=: the same file.
    negotiated = client.get(
        obs(dataset_id), headers={"Accept": "text/csv", "Accept-Encoding": "identity"}
    )
    assert negotiated.content == expected


def test_before_the_download_is_written_the_unfiltered_export_streams_and_writes_nothing(
    world: World,
) -> None:
    """The first request after a submission does not write the whole file (seconds before
    its first byte on a large dataset): it streams the same bytes, and the stored download is
    written by its own first request (or the background writer)."""
    submitted = submit_gent_sector(world)

    def stored_stamp() -> str | None:
        with world.factory() as session:
            return session.scalar(
                select(StoredDownload.stamp).where(
                    StoredDownload.dataset_id == "population-2025", StoredDownload.name == CSV
                )
            )

    before = stored_stamp()  # the seed's file, of the revision before the submission
    streamed_body, encoding = raw_body(world.client, obs("population-2025"), format="csv")
    assert encoding == "gzip"  # compressed on the way by the middleware
    assert stored_stamp() == before
    stored, _ = raw_body(world.client, f"/api/v1/datasets/population-2025/downloads/{CSV}")
    after = stored_stamp()
    assert after is not None and after.split("|")[0] == str(submitted.json()["revision"])
    assert after != before
    sent, _ = raw_body(world.client, obs("population-2025"), format="csv")
    # The stream and the stored file hold the same bytes; now the stored gzip is sent.
    assert gzip.decompress(streamed_body) == gzip.decompress(stored)
    assert b"44021A00-" in gzip.decompress(stored)
    assert sent == stored


def test_a_filtered_export_streams_the_rows_of_the_whole_file(
    client: TestClient, real_session: Session
) -> None:
    whole = client.get(
        obs("income"), params={"format": "csv"}, headers={"Accept-Encoding": "identity"}
    )
    lines = whole.content.split(b"\r\n")
    sectors = [line for line in lines[1:] if line and line.split(b",")[2] == b"sector"]
    assert len(sectors) > 1000
    compressed, encoding = raw_body(client, obs("income"), format="csv", level="sector")
    assert encoding == "gzip"
    body = gzip.decompress(compressed)
    assert body == streamed(real_session, "income", level="sector")
    assert body.split(b"\r\n") == [lines[0], *sectors, b""]


def test_the_unfiltered_export_follows_a_new_revision(world: World) -> None:
    before = world.client.get(obs("population-2025"), params={"format": "csv"})
    assert before.status_code == 200
    submit_gent_sector(world)
    after = world.client.get(obs("population-2025"), params={"format": "csv"})
    with world.factory() as session:
        assert after.content == streamed(session, "population-2025")

    def gent_sector(body: bytes) -> str:
        rows = csv.DictReader(io.StringIO(body.decode(), newline=""))
        return next(
            r["value"]
            for r in rows
            if r["level"] == "sector"
            and r["code"] == "44021A00-"
            and r["indicator"] == "population"
        )

    assert gent_sector(after.content) == "1234"
    # A world starts without values: the file stored before the submission was the header
    # alone, and it is not served for the new revision.
    assert before.content.count(b"\r\n") == 1


@pytest.mark.parametrize(
    "filters",
    [
        {"within": "municipality:44021"},
        {"unit": ["municipality:44021", "province:40000"]},
        {"level": "municipality", "indicators": ["population"]},
    ],
)
def test_filtered_exports_are_what_the_python_writer_writes(
    real_session: Session, filters: dict[str, object]
) -> None:
    """Streamed exports that read only some units: each line byte for byte the csv module's."""
    query = service.build_query(
        real_session,
        "population-2025",
        indicators=filters.get("indicators", []),  # type: ignore[arg-type]
        periods=[],
        level=filters.get("level"),  # type: ignore[arg-type]
        version=None,
        within=filters.get("within"),  # type: ignore[arg-type]
        units=filters.get("unit", []),  # type: ignore[arg-type]
        area=[],
    )
    assert not query.whole_dataset
    written = b"".join(service.csv_chunks(real_session, query))
    expected = "".join(csv_lines(service.RECORD_FIELDS, service.iter_records(real_session, query)))
    assert written.count(b"\r\n") > 2
    assert written == expected.encode()


def test_a_stored_file_is_read_in_pieces_as_it_is_sent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never held whole: the file is written a piece at a time as it is compressed, the
    download and the unfiltered export read it a piece at a time, and the pieces make the
    file."""
    monkeypatch.setattr(downloads_repository, "PIECE_BYTES", 16)
    with transaction(world.factory) as session:  # written again by the download, in pieces
        session.execute(delete(StoredDownload).where(StoredDownload.name == CSV))
    download = f"/api/v1/datasets/population-2025/downloads/{CSV}"
    stored, _ = raw_body(world.client, download)
    assert len(stored) > 3 * 16  # a world's file: the header line
    with world.factory() as session:
        row = downloads_repository.get(session, "population-2025", CSV)
        assert row is not None and row.gzip_size == len(stored)
        pieces = list(downloads_repository.content_pieces(session, row))
        written = session.scalars(
            select(func.length(StoredDownloadPiece.content))
            .where(StoredDownloadPiece.file_id == row.file_id)
            .order_by(StoredDownloadPiece.seq)
        ).all()
    assert len(pieces) == -(-len(stored) // 16) and b"".join(pieces) == stored
    assert written == [len(piece) for piece in pieces] and max(written) == 16
    plain = world.client.get(download, headers={"Accept-Encoding": "identity"})
    assert plain.content == gzip.decompress(stored)
    assert int(plain.headers["content-length"]) == len(plain.content)
    sent, encoding = raw_body(world.client, obs("population-2025"), format="csv")
    assert (sent, encoding) == (stored, "gzip")
    # The export sent as stored is the download: the same ETag, and 304 for a client that has it.
    etag = world.client.head(download).headers["etag"]
    exported = world.client.get(obs("population-2025"), params={"format": "csv"})
    assert exported.headers["etag"] == etag
    again = world.client.get(
        obs("population-2025"), params={"format": "csv"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304


def test_a_file_replaced_while_it_is_read_never_mixes_two_versions(
    world_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A download reads the pieces in the snapshot of the first (SQLite's read transaction,
    PostgreSQL's REPEATABLE READ): a file replaced by another connection meanwhile is sent
    whole as it was. Read inside a transaction already begun, PostgreSQL notices the new
    version at the next piece and stops (a short body, never a mixed one)."""
    world = world_db
    monkeypatch.setattr(downloads_repository, "PIECE_BYTES", 64)  # files of several pieces
    old_body = b"old\r\n" * 400_000
    new_body = b"new\r\n" * 400_000

    def replace_during(read: Callable[[Session], Iterator[bytes]]) -> tuple[bytes, bool]:
        with transaction(world.factory) as writer:
            downloads_service.store(writer, "population-2025", CSV, "old", "text/csv", [old_body])
        with world.factory() as reader:
            pieces = read(reader)
            first = next(pieces)
            with transaction(world.factory) as writer:
                downloads_service.store(
                    writer, "population-2025", CSV, "new", "text/csv", [new_body]
                )
            try:
                return first + b"".join(pieces), False
            except downloads_repository.Replaced:
                return first, True

    def as_a_download(reader: Session) -> Iterator[bytes]:
        row = downloads_repository.get(reader, "population-2025", CSV)
        assert row is not None and row.stamp == "old"
        reader.commit()  # the download's unit of work, before the body is sent
        return downloads_repository.content_pieces(reader, row)

    def in_one_transaction(reader: Session) -> Iterator[bytes]:
        row = downloads_repository.get(reader, "population-2025", CSV)
        assert row is not None and row.stamp == "old"
        return downloads_repository.content_pieces(reader, row)

    sent, replaced = replace_during(as_a_download)
    assert not replaced and gzip.decompress(sent) == old_body
    sent, replaced = replace_during(in_one_transaction)
    if backend() == "sqlite":
        assert not replaced and gzip.decompress(sent) == old_body
    else:
        assert replaced and len(sent) == 64


def test_the_unfiltered_jsonstat_export_is_the_stored_cube_once_it_is_written(
    world: World,
) -> None:
    """Like the CSV: after a submission the cube streams (the same bytes the stored file will
    hold); once the download is written, that file is sent, with its ETag and 304. A filtered
    cube always streams."""
    submit_gent_sector(world)
    first = world.client.get(obs("population-2025"), params={"format": "jsonstat"})
    assert first.status_code == 200 and "etag" not in first.headers
    assert 1234 in first.json()["value"]  # the submitted value is in the cube
    download = "/api/v1/datasets/population-2025/downloads/jsonstat.json"
    stored, _ = raw_body(world.client, download)
    assert gzip.decompress(stored) == first.content
    sent, encoding = raw_body(world.client, obs("population-2025"), format="jsonstat")
    assert (sent, encoding) == (stored, "gzip")
    etag = world.client.head(download).headers["etag"]
    again = world.client.get(
        obs("population-2025"), params={"format": "jsonstat"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.headers["etag"] == etag
    filtered = world.client.get(
        obs("population-2025"), params={"format": "jsonstat", "level": "municipality"}
    )
    assert filtered.status_code == 200 and "etag" not in filtered.headers
    assert filtered.json()["size"][1] < first.json()["size"][1]


def test_a_file_written_by_an_earlier_layout_is_written_anew(world: World) -> None:
    """A release that writes values differently (here: read at 15 significant digits before
    rounding) makes the files stored for the same revision out of date."""
    revision = submit_gent_sector(world).json()["revision"]
    download = f"/api/v1/datasets/population-2025/downloads/{CSV}"
    assert world.client.get(download).status_code == 200
    with world.factory() as session, session.begin():
        row = downloads_repository.get(session, "population-2025", CSV)
        assert row is not None and row.stamp == f"{revision}|{downloads_service.LAYOUT}"
        row.stamp = str(revision)  # as the first layout stamped it
    with world.factory() as session:
        assert downloads_service.current_file(session, "population-2025", CSV) is None
    assert world.client.get(download).status_code == 200
    with world.factory() as session:
        row = downloads_repository.get(session, "population-2025", CSV)
        assert row is not None and row.stamp == f"{revision}|{downloads_service.LAYOUT}"
