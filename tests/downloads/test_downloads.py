"""The stored whole-dataset downloads as a data user meets them: every CSV and every Data
Package validates with frictionless, the JSON holds as many records as the CSV, the files are
written once per revision and served compressed with an ETag."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from frictionless import Resource, validate
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from app.config import get_settings
from app.downloads import repository as downloads_repository
from app.downloads import service as downloads
from app.downloads.tableschemas import DOWNLOADS_DIR
from app.rdf.vocab import SPDX
from tests.contract import assert_conforms
from tests.factories import World, app_state_of, submit_rows

DATASETS = (
    "population-2025",
    "income",
    "age-census-2021",
    "cars-households-2019",
    "energy-fluvius",
    "land-use-open-space",
    "sector-area-2021",
    "climate-energy-monitor",
)


FRICTIONLESS_ROWS = 50_000
BASE = get_settings().base_url


def url(dataset_id: str, name: str) -> str:
    return f"/api/v1/datasets/{dataset_id}/downloads/{name}"


@pytest.fixture(scope="module")
def fetched(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each dataset's Data Package, CSV and schema saved side by side, as a user would."""
    folders = {}
    for dataset_id in DATASETS:
        folder = tmp_path_factory.mktemp(dataset_id)
        for name in ("datapackage.json", "observations.csv", "schema.json", "observations.json"):
            response = client.get(url(dataset_id, name))
            assert response.status_code == 200, (dataset_id, name, response.text[:300])
            (folder / name).write_bytes(response.content)
        folders[dataset_id] = folder
    return folders


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_the_data_package_and_its_csv_validate(fetched: dict[str, Path], dataset_id: str) -> None:
    folder = fetched[dataset_id]
    csv_bytes = (folder / "observations.csv").read_bytes()
    rows = csv_bytes.count(b"\r\n") - 1
    # The package names the CSV by a relative path, with its size, SHA-256 and schema:
    # frictionless checks the rows against the schema and the bytes against both. It reads
    # some 10,000 rows a second, so the two largest downloads (172k and 424k rows) are
    # checked on their first FRICTIONLESS_ROWS rows, and their size, checksum and primary key
    # over the whole file here.
    limited = rows > FRICTIONLESS_ROWS
    report = validate(
        folder / "datapackage.json", limit_rows=FRICTIONLESS_ROWS if limited else None
    )
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    (task,) = report.tasks
    assert task.stats["rows"] == min(rows, FRICTIONLESS_ROWS) > 0
    package = json.loads((folder / "datapackage.json").read_text())
    (resource,) = package["resources"]
    assert resource["path"] == "observations.csv" and resource["schema"] == "schema.json"
    if limited:
        assert resource["bytes"] == len(csv_bytes)
        assert resource["hash"] == "sha256:" + hashlib.sha256(csv_bytes).hexdigest()
        schema = json.loads((folder / "schema.json").read_text())
        records = csv.DictReader(io.StringIO(csv_bytes.decode()))
        keys = {tuple(r[k] for k in schema["primaryKey"]) for r in records}
        assert len(keys) == rows


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_the_data_package_says_whom_to_credit(
    client: TestClient, fetched: dict[str, Path], dataset_id: str
) -> None:
    """Saved as it is, the package still carries the citation its licence asks for."""
    package = json.loads((fetched[dataset_id] / "datapackage.json").read_text())
    source = client.get(f"/api/v1/datasets/{dataset_id}").json()["source"]
    (described,) = package["sources"]
    assert described["attribution"] == source["attribution"] != ""
    assert described["title"] == source["title"]
    assert package["licenses"][0]["path"].startswith("http")


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_the_json_download_is_the_whole_dataset(fetched: dict[str, Path], dataset_id: str) -> None:
    folder = fetched[dataset_id]
    records = orjson.loads((folder / "observations.json").read_bytes())
    with (folder / "observations.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(records) == len(rows)
    assert len(rows) > 0
    assert [r["code"] for r in records[:100]] == [r["code"] for r in rows[:100]]


def test_the_json_downloads_are_what_the_openapi_document_promises(
    client: TestClient, fetched: dict[str, Path]
) -> None:
    """A generated client reads the document: bytes (a string) it would hand over undecoded."""
    folder = fetched["sector-area-2021"]
    template = "/api/v1/datasets/{dataset_id}/downloads/{name}"
    for name in ("observations.json", "datapackage.json", "schema.json"):
        body = orjson.loads((folder / name).read_bytes())
        assert_conforms(client, template, "get", 200, body, "application/json")


def test_the_schema_files_are_what_is_served(client: TestClient) -> None:
    files = sorted(DOWNLOADS_DIR.glob("*.json"))
    assert [f.stem for f in files] == sorted(DATASETS)
    for path in files:
        served = client.get(url(path.stem, "schema.json"))
        assert served.content == path.read_bytes(), path.name


def test_served_compressed_with_an_etag_and_head(client: TestClient) -> None:
    plain = client.get(url("income", "observations.csv"), headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "content-encoding" not in plain.headers
    assert plain.headers["content-type"].startswith("text/csv")
    raw = client.get(url("income", "observations.csv"), headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    # httpx decodes gzip: the same bytes either way.
    assert raw.content == plain.content
    etag = plain.headers["etag"]
    # One weak tag for the plain and the gzip bytes (two byte sequences, one representation).
    assert etag == f'W/"{hashlib.sha256(plain.content).hexdigest()[:32]}"'
    assert raw.headers["etag"] == etag
    again = client.get(url("income", "observations.csv"), headers={"If-None-Match": etag})
    assert again.status_code == 304
    # When the stored file was written (an HTTP date), for caches and for people.
    written = parsedate_to_datetime(plain.headers["last-modified"])
    assert written.tzinfo is not None and written <= datetime.now(UTC)
    # A harvester that keeps dates, not tags, is answered 304 too; weakly compared tags match.
    since = {"If-Modified-Since": plain.headers["last-modified"]}
    assert client.get(url("income", "observations.csv"), headers=since).status_code == 304
    earlier = {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    assert client.get(url("income", "observations.csv"), headers=earlier).status_code == 200
    strong = {"If-None-Match": etag.removeprefix("W/")}
    assert client.get(url("income", "observations.csv"), headers=strong).status_code == 304
    head = client.head(url("income", "observations.csv"), headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(plain.content)
    package = client.get(url("income", "datapackage.json")).json()
    assert package["resources"][0]["bytes"] == len(plain.content)
    # The catalogue states the stored file's size and checksum.
    graph = Graph().parse(
        data=client.get("/doc/distribution/income/csv", headers={"Accept": "text/turtle"}).text,
        format="turtle",
    )
    distribution = URIRef(f"{BASE}/id/distribution/income/csv")
    size = graph.value(distribution, DCAT.byteSize)
    assert size is not None and int(size) == len(plain.content)
    checksum = graph.value(distribution, SPDX.checksum)
    assert (
        str(graph.value(checksum, SPDX.checksumValue)) == hashlib.sha256(plain.content).hexdigest()
    )


@pytest.mark.parametrize(
    "path", [url("income", "observations.xlsx"), url("nothing", "observations.csv")]
)
def test_unknown_files_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_written_once_per_revision(world: World) -> None:
    from sqlalchemy import select

    from app.downloads.models import StoredDownload

    first = world.client.get(url("population-2025", "observations.csv"))
    assert first.status_code == 200
    with world.factory() as session:
        written = session.scalar(
            select(StoredDownload.created_at).where(
                StoredDownload.dataset_id == "population-2025",
                StoredDownload.name == "observations.csv",
            )
        )
    assert written is not None
    second = world.client.get(url("population-2025", "observations.csv"))
    assert second.headers["etag"] == first.headers["etag"]
    with world.factory() as session:
        again = session.scalar(
            select(StoredDownload.created_at).where(
                StoredDownload.dataset_id == "population-2025",
                StoredDownload.name == "observations.csv",
            )
        )
    assert again == written
    # A new revision: the next request writes the file anew, with the new values in it.
    upload = "sector,indicator,period,value,status\r\n44021A00-,population,2025,1234,\r\n"
    submitted = world.client.post(
        "/api/v1/datasets/population-2025/submissions",
        content=upload.encode(),
        headers=world.headers("gent"),
    )
    assert submitted.status_code in (200, 201), submitted.text
    third = world.client.get(url("population-2025", "observations.csv"))
    assert third.headers["etag"] != first.headers["etag"]
    rows = list(csv.DictReader(io.StringIO(third.text)))
    assert {"indicator": "population", "code": "44021A00-", "value": "1234"}.items() <= next(
        r for r in rows if r["code"] == "44021A00-" and r["indicator"] == "population"
    ).items()


def test_a_stored_file_is_one_plain_gzip_member_without_a_time_stamp(real_session: Session) -> None:
    """Compressed by ISA-L, read by any gzip reader; the same content gives the same bytes
    (no modification time in the header), and size and checksum are the uncompressed bytes'.
    (ISA-L's bytes depend on how the content is cut into pieces, zlib's do not: the ETag is
    the uncompressed bytes' checksum.)"""
    lines = [b"indicator,period,value\r\n", *(f"x,{n},{n * 7}\r\n".encode() for n in range(20_000))]
    body = b"".join(lines)
    first = downloads.store(real_session, "income", "observations.csv", "a", "text/csv", lines)
    first_bytes = b"".join(downloads_repository.content_pieces(real_session, first))
    assert gzip.decompress(first_bytes) == body
    assert first_bytes[:4] == b"\x1f\x8b\x08\x00" and first_bytes[4:8] == b"\0\0\0\0"
    assert (first.byte_size, first.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert first.gzip_size == len(first_bytes) < len(body) // 2
    # Written again (a revision that changed nothing in the file): the same bytes.
    again = downloads.store(real_session, "income", "observations.csv", "b", "text/csv", lines)
    assert b"".join(downloads_repository.content_pieces(real_session, again)) == first_bytes


def test_a_download_written_by_another_request_meanwhile_is_sent_not_refused(
    world_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale file is written by its first request. When another request stores it while
    this one is still formatting it (SQLite: this request's read snapshot can then no longer
    write), the read is done again and answered with the file the other stored, not 409."""
    submit_rows(world_db, "population-2025", "gent", "44021A00-,population,2025,1234,")
    compress = downloads._compress
    other_writes: list[str] = []

    def compress_while_another_stores(*args: object, **kwargs: object) -> tuple[int, str]:
        result = compress(*args, **kwargs)  # type: ignore[arg-type]
        if not other_writes:
            other_writes.append("csv")
            with world_db.factory() as other:
                written = downloads.get_file(other, "population-2025", "observations.csv")
                other.commit()
            other_writes.append(written.sha256)
        return result

    monkeypatch.setattr(downloads, "_compress", compress_while_another_stores)
    response = world_db.client.get(
        url("population-2025", "observations.csv"), headers={"Accept-Encoding": "identity"}
    )
    assert response.status_code == 200, response.text
    assert other_writes[-1] == hashlib.sha256(response.content).hexdigest()
    assert any(
        r["code"] == "44021A00-" and r["value"] == "1234"
        for r in csv.DictReader(io.StringIO(response.text))
    )


def test_files_sent_at_once_are_bounded_and_a_database_away_is_503(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file being sent holds a database connection until a slow client has taken its
    last byte: a worker sends at most half its pool's worth at once and answers the next
    503, and a first piece the database cannot give is a 503 too (it was a 200 cut short, or
    a 500)."""
    state = app_state_of(world.client)
    path = url("population-2025", "observations.csv")
    assert world.client.get(path).status_code == 200
    assert state.files_sent == 0  # the slot is given back when the file has been sent
    state.files_sent = max(1, state.settings.db_pool_size // 2)
    try:
        busy = world.client.get(path)
    finally:
        state.files_sent = 0
    assert busy.status_code == 503
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.headers["retry-after"] == "5" and "too many files" in busy.json()["detail"]

    def no_connection(*args: object, **kwargs: object) -> Iterator[bytes]:
        raise PoolTimeout("QueuePool limit of size 1 overflow 10 reached")

    monkeypatch.setattr(downloads_repository, "content_pieces", no_connection)
    away = world.client.get(path)
    assert away.status_code == 503 and away.headers["retry-after"] == "5"
    assert "does not answer" in away.json()["detail"]
    assert state.files_sent == 0
    assert not state.files_sent_to


def test_one_address_takes_at_most_a_third_of_the_places(world: World) -> None:
    """Fifteen sockets of one address that read nothing held every place, and every other
    reader got 503s until they closed: one address gets a 429 beyond a third of them."""
    state = app_state_of(world.client)
    path = url("population-2025", "observations.csv")
    per_address = max(1, max(1, state.settings.db_pool_size // 2) // 3)
    state.files_sent_to["elsewhere"] = per_address  # another address at its limit
    state.files_sent_to["testclient"] = per_address  # the test client's address
    try:
        refused = world.client.get(path)
        state.files_sent_to["testclient"] = per_address - 1
        sent = world.client.get(path)
    finally:
        state.files_sent_to.clear()
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "5" and "your address" in refused.json()["detail"]
    assert sent.status_code == 200 and sent.text.startswith("indicator,")
    assert state.files_sent == 0


def test_an_ad_hoc_area_export_validates_against_the_datasets_schema(
    client: TestClient, tmp_path: Path
) -> None:
    """The filtered CSV of an area (level "area") is checked with the schema the dataset
    publishes, as an analyst does with frictionless."""
    exported = client.get(
        "/api/v1/datasets/cars-households-2019/observations",
        params=[("area", "municipality:44021"), ("area", "municipality:44083"), ("format", "csv")],
    )
    assert exported.status_code == 200, exported.text
    assert ",area," in exported.text
    (tmp_path / "area.csv").write_bytes(exported.content)
    schema = client.get(url("cars-households-2019", "schema.json"))
    (tmp_path / "schema.json").write_bytes(schema.content)
    report = validate(Resource(path="area.csv", schema="schema.json", basepath=str(tmp_path)))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    assert report.tasks[0].stats["rows"] == exported.text.count("\n") - 1
