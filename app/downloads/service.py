"""Writing and reading the stored whole-dataset downloads.

A file is written the first time it is asked for in a revision (or after the dataset's
metadata changed), from the same export functions the observations API streams with, and
stored gzip-compressed: a statistical office's downloads are files, not queries. Each file's
size and SHA-256 are those of the uncompressed bytes, as ``dcat:byteSize`` and
``spdx:checksum`` state them.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO, TypeVar

import orjson
from isal import igzip, isal_zlib
from sqlalchemy.orm import Session

from app.api.background import PassControl, checkpoint
from app.api.tableschema import TableSchema, render
from app.catalogue import repository as catalogue_repository
from app.catalogue.models import Dataset, Indicator
from app.db.queries import as_utc
from app.downloads import repository
from app.downloads.models import StoredDownload
from app.errors import NotFound
from app.geo.levels import LEVELS
from app.stats import repository as stats_repository
from app.stats import service as stats_service
from app.stats.formats import jsonstat_chunks
from app.stats.models import PUBLISHED_STATUSES

CSV = "observations.csv"
JSON = "observations.json"
JSONSTAT = "jsonstat.json"
PACKAGE = "datapackage.json"
SCHEMA = "schema.json"  # served from the catalogue, not stored: it is small and derived
MEDIA_TYPES = {
    CSV: "text/csv; charset=utf-8",
    JSON: "application/json",
    JSONSTAT: "application/json",
    PACKAGE: "application/json",
    SCHEMA: "application/json",
}
STORED = (CSV, JSON, JSONSTAT, PACKAGE)
FILES = (*STORED, SCHEMA)
# The Data Cube dumps (by extension) are stored in the same table, written and served by
# app.rdf (they are RDF documents, not files of this router): only their names live here.
CUBE_FILES = {"ttl": "observations.ttl", "nt": "observations.nt"}
TABLE_SCHEMA_PROFILE = "https://specs.frictionlessdata.io/schemas/table-schema.json"
# ISA-L's level 2 (of 0-3), as the responses' compression: a million-row dataset's CSV
# (119 MB) in 0.19 s against 2.06 s with zlib's level 6, for 7.5 % more bytes (21.3 against
# 19.8 MB); a first download, and the background writer beside the requests, wait for it.
# Any gzip reader inflates it (benchmarks/RESULTS.md, "Stored files compressed by ISA-L").
COMPRESSION = 2
# A file being stored is compressed into a spool first, in memory up to this size, then in a
# temporary file (the server's temporary directory holds a large dataset's compressed file
# while it is written).
SPOOL_IN_MEMORY_BYTES = 8 << 20
# The most bytes a stored file inflates to at a time, for a client that does not accept gzip.
_PIECE = 1 << 20
# Records between two checkpoints of the background writer while it builds a file in one piece.
_CHECKPOINT_EVERY = 2000
T = TypeVar("T")


@dataclass(frozen=True)
class StoredFile:
    """What is known of a stored file without reading it."""

    name: str
    media_type: str
    byte_size: int
    sha256: str
    gzip_size: int

    @property
    def etag(self) -> str:
        return f'"{self.sha256[:32]}"'


@dataclass(frozen=True)
class Download(StoredFile):
    """A stored file to send: its gzip bytes in pieces, read as they are sent (never held
    whole: the file of a dataset of ten million rows is hundreds of megabytes)."""

    read_from: Callable[[int], Iterator[bytes]]  # the gzip bytes from an offset on, in pieces
    written_at: datetime | None = None  # a stored file's; None for one made on the fly

    def pieces(self) -> Iterator[bytes]:
        """The gzip bytes piece by piece."""
        return self.read_from(0)

    def chunks(self) -> Iterator[bytes]:
        """The uncompressed bytes piece by piece."""
        return decompressed(self.pieces())

    def gzip_part(self, first: int, length: int) -> Iterator[bytes]:
        """``length`` of the gzip bytes from byte ``first`` on (the pieces before it are not
        read)."""
        return _at_most(self.read_from(first), length)

    def plain_part(self, first: int, length: int) -> Iterator[bytes]:
        """``length`` of the uncompressed bytes from byte ``first`` on: a gzip stream cannot
        be entered in its middle, so the file is inflated from its start and the bytes before
        ``first`` are dropped as they come (a piece at a time, never held)."""
        return _at_most(_after(self.chunks(), first), length)


def _after(chunks: Iterable[bytes], skip: int) -> Iterator[bytes]:
    """The bytes of ``chunks`` but the first ``skip``."""
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        yield chunk[skip:] if skip else chunk
        skip = 0


def _at_most(chunks: Iterable[bytes], length: int) -> Iterator[bytes]:
    """The first ``length`` bytes of ``chunks`` (the rest is never read)."""
    for chunk in chunks:
        if len(chunk) >= length:
            yield chunk[:length]
            return
        yield chunk
        length -= len(chunk)


def decompressed(pieces: Iterable[bytes]) -> Iterator[bytes]:
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # a gzip member
    for compressed in pieces:
        while compressed:
            piece = inflate.decompress(compressed, _PIECE)
            if piece:
                yield piece
            compressed = inflate.unconsumed_tail
    rest = inflate.flush()
    if rest:
        yield rest


def downloads_path(base: str, dataset_id: str) -> str:
    """Where the dataset's download files are served (their shared "directory", so that
    the Data Package's relative paths resolve against it)."""
    return f"{base}/api/v1/datasets/{dataset_id}/downloads"


def _dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    return dataset


# What a stored file depends on. The values files (CSV, JSON) hold the published values
# only: a new revision changes them, a metadata change does not (so an edit of a title does
# not rewrite the two largest files). JSON-stat and the Data Package carry the dataset's
# metadata as well.
_VALUES_ONLY = frozenset({CSV, JSON})


# Change this when the files' contents change for the same revision, so that stored files
# are written anew (2: values read at 15 significant digits before they are rounded).
LAYOUT = "2"


def _stamp(dataset: Dataset, name: str, revision: int) -> str:
    if name in _VALUES_ONLY:
        return f"{revision}|{LAYOUT}"
    return f"{revision}|{as_utc(dataset.modified).isoformat()}|{LAYOUT}"


def get_file(session: Session, dataset_id: str, name: str) -> Download:
    """The stored file, written first when missing or out of date."""
    if name not in FILES:
        raise NotFound(
            f"dataset {dataset_id!r} has no download {name!r}; available: {', '.join(FILES)}",
            dataset=dataset_id,
        )
    dataset = _dataset(session, dataset_id)
    if name == SCHEMA:
        return _in_memory(name, render(download_schema(session, dataset)).encode())
    row = _ensure(session, dataset, name, stats_repository.latest_revision(session, dataset.id))
    return download(session, row)


def download(session: Session, row: StoredDownload) -> Download:
    """The stored file ``row`` to send, read from the database as it is sent."""
    return Download(
        row.name,
        row.media_type,
        row.byte_size,
        row.sha256,
        row.gzip_size,
        lambda start: repository.content_pieces(session, row, start),
        as_utc(row.created_at),
    )


def current_file(session: Session, dataset_id: str, name: str) -> Download | None:
    """The dataset's stored file ``name`` when it is the current one (revision and, for the
    files that carry metadata, modification); None when it is missing or out of date (it is
    not written here: see the caller)."""
    dataset = _dataset(session, dataset_id)
    stamp = _stamp(dataset, name, stats_repository.latest_revision(session, dataset.id))
    row = repository.get(session, dataset.id, name)
    return download(session, row) if row is not None and row.stamp == stamp else None


def _ensure(
    session: Session,
    dataset: Dataset,
    name: str,
    revision: int,
    control: PassControl | None = None,
) -> StoredDownload:
    """The stored file, written first when missing or out of date; with ``control`` (a pass
    of the background writer), at its checkpoints."""
    stamp = _stamp(dataset, name, revision)
    row = repository.get(session, dataset.id, name)
    if row is not None and row.stamp == stamp:
        return row
    checkpoint(control)
    if name == CSV:
        # The bytes the observations API streams for the unfiltered query (formatted by the
        # database), so that it may serve this file in their place.
        chunks: Iterable[bytes] = stats_service.csv_chunks(
            session,
            stats_service.whole_dataset_query(session, dataset.id),
            # The background writer formats on one backend: the other core stays with the
            # requests (a submission waiting on it would take twice as long).
            parts=1 if control is not None else None,
        )
    elif name == JSON:
        chunks = _json_records(session, dataset.id)
    elif name == JSONSTAT:
        # At the revision of the stamp: a revision committed while the file is written is
        # the next file's (its date beside this one's values would be a mixed document).
        query = replace(stats_service.whole_dataset_query(session, dataset.id), revision=revision)
        records = _with_checkpoints(stats_service.iter_records(session, query), control)
        updated = stats_service.updated_at(session, query)
        chunks = jsonstat_chunks(query.dataset, query.indicators, records, updated)
    else:
        csv_row = _ensure(session, dataset, CSV, revision, control)
        chunks = [_json(_package(session, dataset, csv_row))]
    return store(session, dataset.id, name, stamp, MEDIA_TYPES[name], chunks, control=control)


def _with_checkpoints(items: Iterable[T], control: PassControl | None) -> Iterator[T]:
    """The items, with a checkpoint every ``_CHECKPOINT_EVERY`` (for a file built in one piece
    from all its records, such as JSON-stat: energy-fluvius's takes tens of seconds)."""
    for n, item in enumerate(items):
        if n % _CHECKPOINT_EVERY == 0:
            checkpoint(control)
        yield item


def store(
    session: Session,
    dataset_id: str,
    name: str,
    stamp: str,
    media_type: str,
    chunks: Iterable[bytes],
    *,
    control: PassControl | None = None,
) -> StoredDownload:
    """Write the file from its chunks (read once, never held whole: compressed into a
    spool, then stored a piece at a time) in place of the dataset's file of that name, in
    the caller's transaction. Nothing is written to the database before every chunk is
    compressed (on SQLite a write would hold the database's one write lock meanwhile, and
    submissions would wait), and the old row is replaced last: a write interrupted
    (``control``) or failing before its commit leaves the file as it was."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        size, digest = _compress(chunks, spool, control)
        if control is not None:
            control.before_replace()
        written = StoredDownload(
            dataset_id=dataset_id,
            name=name,
            file_id=uuid.uuid4().hex,
            stamp=stamp,
            media_type=media_type,
            byte_size=size,
            sha256=digest,
            gzip_size=spool.tell(),
            created_at=datetime.now(UTC),
        )
        row = repository.replace(session, written)
        if row is written:  # not a concurrent writer's (the same bytes, already stored)
            spool.seek(0)
            pieces = iter(lambda: spool.read(repository.PIECE_BYTES), b"")
            repository.write_pieces(session, row.file_id, pieces)
    return row


def stored(session: Session, dataset_id: str, name: str) -> StoredDownload | None:
    """The stored file as last written, whatever its stamp."""
    return repository.get(session, dataset_id, name)


def stored_without_content(
    session: Session, dataset_ids: Sequence[str]
) -> dict[tuple[str, str], StoredDownload]:
    """Every stored file of the datasets by (dataset, name), without the content."""
    return {(row.dataset_id, row.name): row for row in repository.of_datasets(session, dataset_ids)}


def as_file(row: StoredDownload) -> StoredFile:
    return StoredFile(row.name, row.media_type, row.byte_size, row.sha256, row.gzip_size)


def _compress(
    chunks: Iterable[bytes], out: IO[bytes], control: PassControl | None = None
) -> tuple[int, str]:
    """The chunks gzip-compressed into ``out``; the size and SHA-256 of the uncompressed bytes,
    in one pass (with a checkpoint of ``control`` between two chunks)."""
    # A gzip member whose header has no time stamp: the same content (in the same pieces),
    # the same bytes.
    compressor = isal_zlib.compressobj(COMPRESSION, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        checkpoint(control)
        size += len(chunk)
        digest.update(chunk)
        out.write(compressor.compress(chunk))
    out.write(compressor.flush())
    return size, digest.hexdigest()


def _in_memory(name: str, body: bytes) -> Download:
    compressed = igzip.compress(body, compresslevel=COMPRESSION, mtime=0)
    digest = hashlib.sha256(body).hexdigest()
    return Download(
        name,
        MEDIA_TYPES[name],
        len(body),
        digest,
        len(compressed),
        lambda start: iter([compressed[start:]]),
    )


def _json(document: object) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _json_records(session: Session, dataset_id: str) -> Iterator[bytes]:
    """The whole dataset as one JSON array of flat records (the API's records, unpaged)."""
    query = stats_service.whole_dataset_query(session, dataset_id)
    separator = b"[\n"
    for record in stats_service.iter_records(session, query):
        yield separator + orjson.dumps(record)
        separator = b",\n"
    yield b"[]\n" if separator == b"[\n" else b"\n]\n"


def download_schema(session: Session, dataset: Dataset) -> TableSchema:
    """The Frictionless Table Schema of the dataset's CSV download (and of each record of its
    JSON download): the flat observation record."""
    indicators = catalogue_repository.indicators_of_dataset(session, dataset.id)
    return table_schema(dataset, indicators)


def table_schema(dataset: Dataset, indicators: Iterable[Indicator]) -> TableSchema:
    carried = sorted(indicators, key=lambda i: i.id)
    # "area": the records of an ad-hoc area (observations with area=) use this schema too.
    levels = [*(info.level.value for info in LEVELS), "area"]
    return TableSchema.model_validate(
        {
            "$schema": TABLE_SCHEMA_PROFILE,
            "name": f"{dataset.id}-observations",
            "title": f"Observations of {dataset.id}: supplied and derived values at every level",
            "fields": [
                _field(
                    "indicator",
                    "Indicator id (see /api/v1/indicators).",
                    required=True,
                    enum=[i.id for i in carried],
                ),
                _field("period", "Reference period: a year, or a date for a stock.", required=True),
                _field(
                    "level",
                    "Geographic level of the unit; area for an ad-hoc area (area=).",
                    required=True,
                    enum=levels,
                ),
                _field("version", "Geography version of the unit.", required=True),
                _field("code", "Code of the unit in its level and version.", required=True),
                _field("name", "Official (Dutch) name of the unit."),
                {
                    "name": "value",
                    "type": "number",
                    "description": "The value; empty when confidential, not applicable or missing.",
                },
                _field(
                    "unit_of_measure",
                    "Unit of the value.",
                    required=True,
                    enum=sorted({i.unit_of_measure for i in carried}),
                ),
                _field(
                    "status",
                    "SDMX-like observation status.",
                    required=True,
                    enum=list(PUBLISHED_STATUSES),
                ),
                {
                    "name": "coverage",
                    "type": "number",
                    "description": "For derived values: the share of member units that had a "
                    "value (0 to 1); empty for supplied values.",
                    "constraints": {"minimum": 0, "maximum": 1},
                },
            ],
            "primaryKey": ["indicator", "period", "level", "version", "code"],
            "missingValues": [""],
        }
    )


def _field(
    name: str, description: str, *, required: bool = False, enum: list[str] | None = None
) -> dict[str, object]:
    constraints: dict[str, object] = {}
    if required:
        constraints["required"] = True
    if enum is not None:
        constraints["enum"] = enum
    field: dict[str, object] = {"name": name, "type": "string", "description": description}
    if constraints:
        field["constraints"] = constraints
    return field


def _package(session: Session, dataset: Dataset, csv_file: StoredDownload) -> dict[str, object]:
    """The Frictionless (tabular) Data Package: the dataset's metadata and one resource, the
    CSV download, with its schema; paths are relative to the downloads' directory."""
    licence = catalogue_repository.get_licence(session, dataset.licence_id)
    source = dataset.source or {}
    package: dict[str, object] = {
        "profile": "tabular-data-package",
        "name": dataset.id,
        "title": dataset.title_en or dataset.title_nl,
        "description": dataset.description_en or dataset.description_nl,
        "version": csv_file.stamp.split("|", 1)[0],
        "created": as_utc(dataset.modified).isoformat(),
        "keywords": sorted({k for words in (dataset.keywords or {}).values() for k in words}),
        "resources": [
            {
                "name": "observations",
                "path": CSV,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": csv_file.byte_size,
                "hash": f"sha256:{csv_file.sha256}",
                "schema": SCHEMA,
            }
        ],
    }
    if licence is not None:
        package["licenses"] = [{"name": licence.id, "path": licence.uri, "title": licence.title_en}]
    # The attribution the licences ask for goes with the package: a folder saved as it is
    # still says whom to credit (Frictionless allows properties of one's own).
    described = (
        ("title", source.get("title")),
        ("path", source.get("url")),
        ("attribution", source.get("attribution")),
    )
    if any(v for _, v in described):
        package["sources"] = [{k: str(v) for k, v in described if v}]
    return package


def current_sizes(
    session: Session, datasets: Sequence[Dataset], *, write_stale: bool
) -> dict[tuple[str, str], StoredFile]:
    """Size and checksum of every current stored download of the datasets (without content),
    for the catalogue's ``dcat:byteSize`` and ``spdx:checksum``. A file missing or out of date
    (a new revision or a metadata change since it was written) is written first with
    ``write_stale``, else left out: the catalogue, a read, never writes (a Data Cube dump of a
    large dataset takes minutes), the writes' aftermath and the seed do. One query for what
    is stored and one for the revisions, whatever the number of datasets."""
    ids = [d.id for d in datasets]
    rows = stored_without_content(session, ids)
    revisions = stats_repository.latest_revisions(session, ids)
    sizes: dict[tuple[str, str], StoredFile] = {}
    for dataset in datasets:
        revision = revisions.get(dataset.id, 0)
        for name in STORED:
            row = rows.get((dataset.id, name))
            if row is None or row.stamp != _stamp(dataset, name, revision):
                if not write_stale:
                    continue
                row = _ensure(session, dataset, name, revision)
            sizes[(dataset.id, name)] = as_file(row)
    return sizes


def stale_files(session: Session, datasets: Sequence[Dataset]) -> list[tuple[str, str]]:
    """(dataset id, file name) of every stored download missing or out of date, in the
    order they are best written (the CSV before the Data Package that describes it)."""
    current = current_sizes(session, datasets, write_stale=False)
    return [(d.id, name) for d in datasets for name in STORED if (d.id, name) not in current]


def write_file(
    session: Session, dataset: Dataset, name: str, control: PassControl | None = None
) -> StoredFile:
    """The stored download of the current revision, written first when missing or out of
    date (it may have been written since it was found stale), without its content."""
    revision = stats_repository.latest_revision(session, dataset.id)
    return as_file(_ensure(session, dataset, name, revision, control))


def ensure_all(session: Session, dataset_id: str) -> dict[str, Download]:
    """Every stored download of the dataset, written where missing or out of date."""
    return {name: get_file(session, dataset_id, name) for name in STORED}


def written_stamp(session: Session) -> str:
    """Changes whenever a stored file is written (see the repository's)."""
    return repository.written_stamp(session)


def last_written(session: Session) -> datetime | None:
    """When a stored file was last written: the catalogue states the files' sizes and
    checksums, so its documents change then too."""
    latest = repository.last_written(session)
    return as_utc(latest) if latest is not None else None
