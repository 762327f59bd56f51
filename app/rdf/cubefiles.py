"""The Data Cube dumps (app.rdf.cube) as stored files, like the other whole-dataset downloads
(app.downloads): written once per revision, gzip-compressed, with the size and SHA-256 of
the uncompressed bytes, so that the two cube distributions state the ``dcat:byteSize`` and
``spdx:checksum`` of the very bytes a GET returns (a stream computed anew per request could
not promise that). No FastAPI here.

What a stored dump depends on, and so its stamp: the published values (the revision), the
dataset's metadata (its modification time, as for JSON-stat and the Data Package), the base
URL (every URI in the dump starts with it) and the way the cube is written (``LAYOUT``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.api.background import PassControl
from app.catalogue import repository as catalogue_repository
from app.catalogue.models import Dataset
from app.downloads import service as downloads
from app.downloads.models import StoredDownload
from app.rdf import cube
from app.rdf.cubestamps import stamp, stored_sizes
from app.rdf.dcat import Uris
from app.stats import repository as stats_repository


def file_name(fmt: cube.CubeFormat) -> str:
    return downloads.CUBE_FILES[fmt.extension]


def ensure(
    session: Session,
    uris: Uris,
    dataset: Dataset,
    fmt: cube.CubeFormat,
    revision: int | None = None,
    row: StoredDownload | None = None,
    control: PassControl | None = None,
) -> StoredDownload:
    """The stored dump, written first when missing or out of date (``row``: the stored row if
    already read; ``control``: a pass of the background writer, with its checkpoints)."""
    if revision is None:
        revision = stats_repository.latest_revision(session, dataset.id)
    wanted = stamp(dataset, revision, uris.base)
    name = file_name(fmt)
    if row is None:
        row = downloads.stored(session, dataset.id, name)
    if row is not None and row.stamp == wanted:
        return row
    return downloads.store(
        session,
        dataset.id,
        name,
        wanted,
        fmt.media_type,
        cube.stream(session, uris, dataset, fmt),
        control=control,
    )


def get_file(
    session: Session, uris: Uris, dataset: Dataset, fmt: cube.CubeFormat
) -> downloads.Download:
    return downloads.download(session, ensure(session, uris, dataset, fmt))


def current_sizes(
    session: Session, uris: Uris, datasets: Sequence[Dataset]
) -> dict[tuple[str, str], downloads.StoredFile]:
    """Size and checksum of both current dumps of every dataset (without content), by
    (dataset, file name); a dump missing or out of date is written first."""
    sizes = stored_sizes(session, uris.base, datasets)
    missing = [
        (dataset, fmt)
        for dataset in datasets
        for fmt in cube.FORMATS.values()
        if (dataset.id, file_name(fmt)) not in sizes
    ]
    if missing:
        rows = downloads.stored_without_content(session, [d.id for d, _ in missing])
        revisions = stats_repository.latest_revisions(session, [d.id for d, _ in missing])
        for dataset, fmt in missing:
            row = rows.get((dataset.id, file_name(fmt)))
            row = ensure(session, uris, dataset, fmt, revisions.get(dataset.id, 0), row)
            sizes[(dataset.id, file_name(fmt))] = downloads.as_file(row)
    return sizes


def stale_files(session: Session, uris: Uris) -> list[tuple[str, str]]:
    """(dataset id, file name) of every stored download and Data Cube dump that is missing
    or out of date (after a write: the catalogue states the sizes of written files only).
    Two queries for the downloads and two for the dumps, whatever the number of datasets."""
    datasets = catalogue_repository.all_datasets(session, catalogue_repository.datasets_query())
    current = stored_sizes(session, uris.base, datasets)
    dumps = [file_name(fmt) for fmt in cube.FORMATS.values()]
    return downloads.stale_files(session, datasets) + [
        (d.id, name) for d in datasets for name in dumps if (d.id, name) not in current
    ]


def write_file(
    session: Session, uris: Uris, dataset_id: str, name: str, control: PassControl | None = None
) -> downloads.StoredFile | None:
    """One stored download or dump of the current revision, written first when missing or
    out of date (another writer may have written it since it was found stale), without its
    content; None when the dataset is gone."""
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        return None
    for fmt in cube.FORMATS.values():
        if file_name(fmt) == name:
            return downloads.as_file(ensure(session, uris, dataset, fmt, control=control))
    return downloads.write_file(session, dataset, name, control)


def write_all(session: Session, uris: Uris) -> int:
    """Both dumps of every dataset, written where missing or out of date (after a seed, so
    that the first catalogue request does not write them); the number of dumps."""
    datasets = catalogue_repository.all_datasets(session, catalogue_repository.datasets_query())
    return len(current_sizes(session, uris, datasets))
