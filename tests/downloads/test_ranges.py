"""Byte ranges of the stored downloads (RFC 9110 §14): a harvester resumes a large download
where it stopped (``curl -C -``, ``wget -c``) or fetches a part of it. The range is of the
bytes as sent: of the stored gzip bytes when the client takes gzip, of the plain bytes
(inflated from the start, the bytes before the range dropped) when it does not."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.downloads import repository as downloads_repository
from app.downloads import service as downloads
from app.downloads.models import StoredDownload, StoredDownloadPiece
from app.errors import PROBLEM_MEDIA_TYPE
from app.rdf import cube
from tests.contract import contract_violations
from tests.factories import World

DATASET = "population-2025"
URL = f"/api/v1/datasets/{DATASET}/downloads/observations.csv"
TEMPLATE = "/api/v1/datasets/{dataset_id}/downloads/{name}"
PIECE = downloads_repository.PIECE_BYTES
GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


@dataclass(frozen=True)
class Stored:
    plain: bytes
    gzip: bytes
    pieces: int


def _store_large_file(world: World) -> Stored:
    """The dataset's CSV download, written and then replaced (under the stamp it was written
    with, so that it is current) by a file of two and a half pieces: random bytes do not
    compress, so the gzip bytes are three pieces long too."""
    assert world.client.get(URL).status_code == 200  # written
    generator = random.Random(20261207)
    plain = generator.randbytes(2 * PIECE + PIECE // 2)
    with world.factory() as session:
        row = downloads_repository.get(session, DATASET, "observations.csv")
        assert row is not None
        chunks = [plain[i : i + 300_001] for i in range(0, len(plain), 300_001)]
        written = downloads.store(session, DATASET, row.name, row.stamp, row.media_type, chunks)
        session.commit()
        compressed = b"".join(downloads_repository.content_pieces(session, written))
        pieces = session.scalars(
            select(StoredDownloadPiece.seq).where(StoredDownloadPiece.file_id == written.file_id)
        ).all()
    return Stored(plain, compressed, len(pieces))


@pytest.fixture
def stored(world: World) -> Stored:
    return _store_large_file(world)


def _get(
    world: World, headers: dict[str, str], url: str = URL
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the bytes as they came (a range of gzip bytes is not a gzip
    stream that the client could inflate)."""
    with world.client.stream("GET", url, headers=headers) as response:
        body = b"".join(response.iter_raw())
        return response.status_code, dict(response.headers), body


# (Range, first byte, last byte) of a representation of `size` bytes.
RANGES = [
    ("bytes=0-0", lambda size: (0, 0)),
    ("bytes=0-99", lambda size: (0, 99)),
    # Across the first piece's end, and across the second's.
    (f"bytes={PIECE - 10}-{PIECE + 9}", lambda size: (PIECE - 10, PIECE + 9)),
    (f"bytes={PIECE - 1}-{2 * PIECE}", lambda size: (PIECE - 1, 2 * PIECE)),
    (f"bytes={PIECE}-{PIECE}", lambda size: (PIECE, PIECE)),
    (f"bytes={PIECE + 5}-", lambda size: (PIECE + 5, size - 1)),
    ("bytes=-1", lambda size: (size - 1, size - 1)),  # the last byte
    ("bytes=-1000", lambda size: (size - 1000, size - 1)),
    ("bytes=-99999999999", lambda size: (0, size - 1)),  # longer than the file: all of it
    ("bytes=7-99999999999", lambda size: (7, size - 1)),  # beyond the end: to the end
    ("BYTES = 3-5", lambda size: (3, 5)),  # case and whitespace as RFC 9110 allows
]


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
@pytest.mark.parametrize(("header", "bounds"), RANGES, ids=[r[0] for r in RANGES])
def test_a_range_is_the_bytes_asked_for_of_the_representation_sent(
    world: World, stored: Stored, encoding: str, header: str, bounds: object
) -> None:
    whole = stored.gzip if encoding == "gzip" else stored.plain
    assert stored.pieces == 3 and len(whole) > 2 * PIECE
    first, last = bounds(len(whole))  # type: ignore[operator]
    status, headers, body = _get(world, {"Accept-Encoding": encoding, "Range": header})
    assert status == 206, body[:300]
    assert body == whole[first : last + 1]
    assert headers["content-range"] == f"bytes {first}-{last}/{len(whole)}"
    assert int(headers["content-length"]) == last - first + 1
    assert headers["accept-ranges"] == "bytes"
    assert headers.get("content-encoding") == ("gzip" if encoding == "gzip" else None)
    assert headers["etag"].startswith('W/"')
    assert "last-modified" in headers
    if encoding == "identity":  # as the OpenAPI document says (httpx would inflate gzip)
        response = world.client.get(URL, headers={**PLAIN, "Range": header})
        assert contract_violations(world.client, TEMPLATE, response) == []


def test_the_parts_put_together_are_the_file(world: World, stored: Stored) -> None:
    """A download resumed twice (as ``curl -C -`` does it: from the length it has) gives the
    file, byte for byte, compressed or not."""
    for headers, whole in ((GZIP, stored.gzip), (PLAIN, stored.plain)):
        received = b""
        for end in (PIECE // 3, PIECE + 17, None):
            stop = "" if end is None else str(end)
            status, _, part = _get(world, {**headers, "Range": f"bytes={len(received)}-{stop}"})
            assert status == 206
            received += part
        assert received == whole


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0"])
def test_a_range_beyond_the_end_is_416_with_the_size(
    world: World, stored: Stored, encoding: str, header: str
) -> None:
    size = len(stored.gzip if encoding == "gzip" else stored.plain)
    response = world.client.get(
        URL, headers={"Accept-Encoding": encoding, "Range": header.format(size=size)}
    )
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem = response.json()
    assert problem["status"] == 416 and problem["size"] == size
    assert contract_violations(world.client, TEMPLATE, response) == []


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,5-6",  # several ranges: the whole file is an allowed answer
        "bytes=0-1, 3-",
        "bytes=5-2",  # last before first: invalid
        "bytes=abc",
        "bytes=1-2-3",
        "bytes=-",
        "bytes=",
        "items=0-1",  # a unit other than bytes
        "0-1",
    ],
)
def test_a_range_that_is_not_one_readable_byte_range_gets_the_whole_file(
    world: World, stored: Stored, header: str
) -> None:
    status, headers, body = _get(world, {**PLAIN, "Range": header})
    assert status == 200
    assert body == stored.plain
    assert "content-range" not in headers
    assert headers["accept-ranges"] == "bytes"


def test_if_range_gets_the_whole_file_the_validators_being_weak(
    world: World, stored: Stored
) -> None:
    """If-Range needs a strong validator (RFC 9110 §13.1.5): the ETag is weak, and the date is
    not known to be strong (a file can be written twice in a second): the whole file."""
    head = world.client.head(URL, headers=PLAIN)
    for validator in (
        head.headers["etag"],
        head.headers["etag"].removeprefix("W/"),
        head.headers["last-modified"],
    ):
        status, headers, body = _get(world, {**PLAIN, "Range": "bytes=0-9", "If-Range": validator})
        assert status == 200, validator
        assert body == stored.plain
        assert "content-range" not in headers


def test_head_says_ranges_are_taken_and_a_match_is_304_before_any_range(
    world: World, stored: Stored
) -> None:
    head = world.client.head(URL, headers={**GZIP, "Range": "bytes=0-9"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["accept-ranges"] == "bytes"
    assert int(head.headers["content-length"]) == len(stored.gzip)
    assert "content-range" not in head.headers
    for condition in (
        {"If-None-Match": head.headers["etag"]},
        {"If-Modified-Since": head.headers["last-modified"]},
    ):
        again = world.client.get(URL, headers={**GZIP, "Range": "bytes=0-9", **condition})
        assert again.status_code == 304, condition
        assert again.headers["accept-ranges"] == "bytes"


def test_the_observations_export_takes_no_range(world: World, stored: Stored) -> None:
    """The observations API's export is a stream (or the stored file in its place): it says
    that it takes no range, and a Range gets the whole export."""
    for query in ("format=csv", "format=csv&level=municipality", "format=jsonstat"):
        status, headers, body = _get(
            world,
            {**PLAIN, "Range": "bytes=0-9"},
            f"/api/v1/datasets/{DATASET}/observations?{query}",
        )
        assert status == 200, query
        assert headers["accept-ranges"] == "none", query
        assert "content-range" not in headers
        assert len(body) > 10
        if query == "format=csv":
            assert body == stored.plain  # the stored file, whole


def test_a_data_cube_dump_is_served_by_ranges_too(world: World) -> None:
    path = f"/catalog/datasets/{DATASET}/observations.ttl"
    whole = world.client.get(path, headers=PLAIN)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"].startswith(cube.FORMATS["ttl"].media_type)
    size = len(whole.content)
    status, headers, body = _get(world, {**PLAIN, "Range": "bytes=-200"}, path)
    assert status == 206
    assert body == whole.content[-200:]
    assert headers["content-range"] == f"bytes {size - 200}-{size - 1}/{size}"


def test_a_file_written_anew_before_its_first_piece_is_sent_as_it_is_now_in_range(
    world_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file found by the request is replaced (the background writer) before its first
    piece is read: the range is of the new file, with its own headers."""
    stored = _store_large_file(world_db)
    real = downloads_repository.content_pieces
    newer = bytes(reversed(stored.plain))
    opened: list[str] = []

    def replaced_first(session: object, row: StoredDownload, start: int = 0) -> Iterator[bytes]:
        opened.append(row.file_id)
        if len(opened) == 1:
            with world_db.factory() as other:
                downloads.store(other, DATASET, row.name, row.stamp, row.media_type, [newer])
                other.commit()
        return real(session, row, start)  # type: ignore[arg-type]

    monkeypatch.setattr(downloads_repository, "content_pieces", replaced_first)
    status, headers, body = _get(world_db, {**PLAIN, "Range": f"bytes={PIECE}-{PIECE + 99}"})
    assert status == 206
    assert body == newer[PIECE : PIECE + 100]
    assert headers["content-range"] == f"bytes {PIECE}-{PIECE + 99}/{len(newer)}"
    assert len(opened) == 2 and opened[0] != opened[1]


DIGITS = "9" * 5000  # more than int() reads from text (4,300 digits): a ValueError


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"bytes={DIGITS}-", 416),  # starts beyond every end
        (f"bytes=0{DIGITS}-{DIGITS}", 416),
        (f"bytes=0-{DIGITS}", 206),  # to the end
        (f"bytes=-{DIGITS}", 206),  # the last "n" bytes: all of them
        (f"bytes={'0' * 5000}1-{'0' * 5000}3", 206),  # leading zeros are only zeros
    ],
)
def test_a_position_of_thousands_of_digits_is_read_not_a_500(
    world: World, stored: Stored, header: str, expected: int
) -> None:
    status, headers, body = _get(world, {**PLAIN, "Range": header})
    size = len(stored.plain)
    assert status == expected, body[:300]
    if expected == 416:
        assert headers["content-range"] == f"bytes */{size}"
    elif header.startswith("bytes=0000"):
        assert headers["content-range"] == f"bytes 1-3/{size}"
        assert body == stored.plain[1:4]
    else:
        assert headers["content-range"] == f"bytes 0-{size - 1}/{size}"
        assert body == stored.plain
