"""``datapedia seed``: load everything available, in dependency order, in one transaction;
then, in another, the stored files of what it published."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from app.catalogue import repository as catalogue_repository
from app.catalogue.repository import list_organisations
from app.catalogue.seed import load_catalogue
from app.downloads import service as downloads
from app.geo.boundaries import (
    BOUNDARIES_DIR,
    BOUNDARIES_FILE,
    BoundaryReport,
    import_boundaries,
    load_boundary_files,
)
from app.geo.cityregions import load_city_regions
from app.geo.importer import (
    GEO_DIR,
    VERSIONS_FILE,
    ImportReport,
    ensure_versions,
    import_geography,
    load_versions,
)
from app.stats import repository as stats_repository
from app.stats.importer import ValueImportReport, import_values
from app.stats.parsers import VALUE_SOURCES, VALUES_DIR


class StepObserver(Protocol):
    """Told when each step of the seed (a source file or group of files) starts and ends, with
    the rows it read: the command line shows progress with it."""

    def started(self, label: str) -> None: ...

    def finished(self, label: str, rows: int) -> None: ...


class _Silent:
    def started(self, label: str) -> None:
        pass

    def finished(self, label: str, rows: int) -> None:
        pass


@dataclass
class SeedOutcome:
    geography: ImportReport | None = None
    boundaries: BoundaryReport | None = None
    catalogue_changes: dict[str, int] = field(default_factory=dict)
    values: list[ValueImportReport] = field(default_factory=list)
    # Datasets of derived indicators that got new revisions: (dataset, revision, published).
    derived: list[tuple[str, int, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return (
            bool(self.catalogue_changes)
            or bool(self.geography and self.geography.changed)
            or bool(self.boundaries and self.boundaries.changed)
            or any(not v.unchanged and not v.missing_files for v in self.values)
            or bool(self.derived)
        )


def missing_source_message(source_dir: Path) -> str:
    return (
        f"No geography source files in {source_dir / GEO_DIR}. Only the authored catalogue "
        "is loaded. Put the real data there (see README, 'Data sources'), or point "
        "DATAPEDIA_SOURCE_DIR at a folder that holds geo/ and values/, then run "
        "'datapedia seed' again."
    )


def seed_all(
    session: Session,
    source_dir: Path,
    seeds_dir: Path,
    observer: StepObserver | None = None,
    *,
    boundaries: bool = False,
) -> SeedOutcome:
    """``boundaries``: also load the boundary files (the CLI does unless told not to)."""
    steps = observer or _Silent()
    outcome = SeedOutcome()
    versions = load_versions(seeds_dir / VERSIONS_FILE)
    ensure_versions(session, versions)
    if (source_dir / GEO_DIR).is_dir():
        steps.started("geography")
        geography = outcome.geography = import_geography(session, source_dir, versions)
        rows = geography.units_inserted + geography.units_updated + geography.units_unchanged
        steps.finished("geography", rows)
        if boundaries and (source_dir / BOUNDARIES_DIR).is_dir():
            steps.started("boundaries")
            shapes = outcome.boundaries = import_boundaries(
                session,
                source_dir / BOUNDARIES_DIR,
                load_boundary_files(seeds_dir / BOUNDARIES_FILE),
            )
            steps.finished("boundaries", shapes.inserted + shapes.updated + shapes.unchanged)
    else:
        outcome.warnings.append(missing_source_message(source_dir))

    steps.started("catalogue")
    catalogue = load_catalogue(session, seeds_dir)
    steps.finished("catalogue", sum(catalogue.inserted.values()) + sum(catalogue.updated.values()))
    outcome.warnings.extend(catalogue.warnings)
    for kind, n in catalogue.inserted.items():
        outcome.catalogue_changes[f"{kind} inserted"] = n
    for kind, n in catalogue.updated.items():
        outcome.catalogue_changes[f"{kind} updated"] = n

    organisation_ids = {o.id for o in list_organisations(session)}
    outcome.warnings.extend(
        load_city_regions(session, seeds_dir / "cityregions.yaml", organisation_ids)
    )
    if outcome.geography is not None and (source_dir / VALUES_DIR).is_dir():
        # Derived datasets follow each import of a source (app.stats.derived): report them.
        derived = {row.dataset_id for row in catalogue_repository.derived_indicators(session)}
        revisions = {d: stats_repository.latest_revision(session, d) for d in sorted(derived)}
        for source in VALUE_SOURCES:
            label = f"values {source.dataset}"
            steps.started(label)
            report = import_values(session, source, source_dir)
            outcome.values.append(report)
            steps.finished(
                label,
                report.rows_added
                + report.rows_changed
                + report.rows_unchanged
                + report.rows_removed,
            )
            if report.missing_files:
                outcome.warnings.append(
                    f"{report.dataset}: no values loaded, missing {', '.join(report.missing_files)}"
                )
        for dataset_id, before in revisions.items():
            after = stats_repository.latest_revision(session, dataset_id)
            if after != before:
                published = stats_repository.count_published(session, dataset_id)
                outcome.derived.append((dataset_id, after, published))
    return outcome


def store_downloads(session: Session, observer: StepObserver | None = None) -> int:
    """The whole-dataset downloads of each published revision, written now rather than at the
    first request, so the catalogue states every distribution's dcat:byteSize from the
    start (unchanged files are kept: a second seed writes nothing); how many are current.
    In a unit of work after the seed's: the files state their dataset's modification, which
    is dated at the seed's commit (:func:`app.db.session.stamp_at_commit`), so files
    written before it would be out of date at once."""
    steps = observer or _Silent()
    steps.started("downloads")
    datasets = catalogue_repository.all_datasets(session, catalogue_repository.datasets_query())
    stored = len(downloads.current_sizes(session, datasets, write_stale=True))
    steps.finished("downloads", stored)
    return stored
