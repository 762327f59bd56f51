"""Which stored Data Cube dumps (app.rdf.cubefiles) are current, read without writing any:
the stamp a dump is written under and the sizes of those already written for the current
revision. The DCAT builder states these sizes; it must not import the writer, whose cube
builds its structure with the DCAT builder. No FastAPI here."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.catalogue.models import Dataset
from app.db.queries import as_utc
from app.downloads import service as downloads
from app.stats import repository as stats_repository

# Change this when the cube's serialisation changes, so that stored dumps are written anew
# (2: values read at 15 significant digits before they are rounded).
LAYOUT = "2"


def stamp(dataset: Dataset, revision: int, base: str) -> str:
    """What a dump of ``dataset`` at ``revision`` with URIs under ``base`` depends on."""
    written_for = hashlib.sha256(f"{LAYOUT}|{base}".encode()).hexdigest()[:16]
    return f"{revision}|{as_utc(dataset.modified).isoformat()}|{written_for}"


def stored_sizes(
    session: Session, base: str, datasets: Sequence[Dataset]
) -> dict[tuple[str, str], downloads.StoredFile]:
    """Size and checksum of the dumps of ``datasets`` already written for their current
    revision (without content), by (dataset, file name); a dump missing or out of date is
    left out. Two queries, whatever the number of datasets."""
    ids = [d.id for d in datasets]
    rows = downloads.stored_without_content(session, ids)
    revisions = stats_repository.latest_revisions(session, ids)
    sizes: dict[tuple[str, str], downloads.StoredFile] = {}
    for dataset in datasets:
        wanted = stamp(dataset, revisions.get(dataset.id, 0), base)
        for name in downloads.CUBE_FILES.values():
            row = rows.get((dataset.id, name))
            if row is not None and row.stamp == wanted:
                sizes[(dataset.id, name)] = downloads.as_file(row)
    return sizes
