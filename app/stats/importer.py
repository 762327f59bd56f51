"""Importing the real value files as a dataset's observations (one submission, one revision).

Rows are matched to sectors of the dataset's geography version. Codes of the Walloon Region
(outside this geography) are counted and reported together; any other unknown code is
reported with file, line and code. Parse problems (a non-number, a negative count, a
malformed code, a missing column) refuse the whole file: nothing is stored. Re-importing
unchanged files changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.catalogue.repository import get_dataset, roles_of_dataset
from app.errors import SourceDataError
from app.geo.levels import Level
from app.stats import repository
from app.stats.models import Submission
from app.stats.parsers import VALUE_SOURCES, VALUES_DIR, ValueSource, parse_source
from app.stats.publish import publish_dataset

SOURCE_IMPORT = "source import"
# REFNIS codes of the Walloon provinces: Walloon Brabant 25…, Hainaut 5…, Liège 6…,
# Luxembourg 8…, Namur 9….
WALLOON_PREFIXES = ("25", "5", "6", "8", "9")


@dataclass
class ValueImportReport:
    dataset: str
    revision: int | None = None
    unchanged: bool = False
    rows_added: int = 0
    rows_changed: int = 0
    rows_unchanged: int = 0
    rows_removed: int = 0
    published: int = 0
    outside_geography: int = 0
    remapped: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def import_values(session: Session, source: ValueSource, source_dir: Path) -> ValueImportReport:
    report = ValueImportReport(source.dataset)
    paths = [source_dir / VALUES_DIR / name for name in source.files]
    report.missing_files = [str(p) for p in paths if not p.exists()]
    if report.missing_files:
        return report
    dataset = get_dataset(session, source.dataset)
    if dataset is None:
        raise SourceDataError([f"{source.dataset}: dataset not in the catalogue (run the seed)"])
    fingerprint = _fingerprint(paths)
    latest = repository.latest_accepted(session, source.dataset)
    if latest is not None and latest.source_name == SOURCE_IMPORT and latest.sha256 == fingerprint:
        report.unchanged = True
        return report

    parsed = parse_source(source, source_dir)
    if parsed.problems:
        raise SourceDataError(
            [
                f"{p.file}:{p.line}: {p.reason}"
                + (f" (column {p.column}, value {p.value!r})" if p.column else "")
                for p in parsed.problems
            ]
        )
    geo = repository.load_geography(session, [dataset.geo_version])
    remainder_of = {
        geo.parent[unit]: unit
        for (level, code), unit in geo.by_code.items()
        if level == Level.SECTOR and code.endswith("ZZZZ")
    }
    wanted: dict[tuple[str, int, str], tuple[float | None, str]] = {}
    for row in parsed.values:
        unit = geo.by_code.get((Level.SECTOR, row.code))
        if unit is None and row.code.endswith("ZZZZ") and row.municipality:
            # Statbel keeps the prefix of an old municipality on some "not localisable" rows
            # (12030ZZZZ in Puurs-Sint-Amands 12041); the row's own municipality places it.
            municipality = geo.by_code.get((Level.MUNICIPALITY, row.municipality.zfill(5)))
            unit = remainder_of.get(municipality) if municipality is not None else None
            if unit is not None:
                report.remapped += 1
        if unit is None:
            if row.code.startswith(WALLOON_PREFIXES):
                report.outside_geography += 1
            else:
                report.unknown_codes.append(
                    f"{row.line}: sector {row.code} is not in geography version "
                    f"{dataset.geo_version} ({row.indicator}, {row.period})"
                )
            continue
        wanted[(row.indicator, unit, row.period)] = (row.value, row.status)

    current = {
        (o.indicator_id, o.unit_id, o.period): o
        for o in repository.current_observations(session, source.dataset)
    }
    to_close: list[int] = []
    to_insert: list[tuple[str, int, str, float | None, str]] = []
    for key, (value, status) in wanted.items():
        stored = current.get(key)
        if stored is None:
            report.rows_added += 1
            to_insert.append((*key, value, status))
        elif (stored.value, stored.status) != (value, status):
            report.rows_changed += 1
            to_close.append(stored.id)
            to_insert.append((*key, value, status))
        else:
            report.rows_unchanged += 1
    removed = [o.id for key, o in current.items() if key not in wanted]
    report.rows_removed = len(removed)

    revision = repository.latest_revision(session, source.dataset) + 1
    originator = next(
        (
            org.id
            for role, org in roles_of_dataset(session, source.dataset)
            if role.role == "originator"
        ),
        None,
    )
    submission = repository.add_submission(
        session,
        Submission(
            dataset_id=source.dataset,
            organisation_id=originator or "kenniscentrum-vlaamse-steden",
            created_at=datetime.now(UTC),
            source_name=SOURCE_IMPORT,
            media_type="text/csv",
            sha256=fingerprint,
            state="accepted",
            revision=revision,
            rows_total=len(parsed.values),
            rows_added=report.rows_added,
            rows_changed=report.rows_changed,
            rows_unchanged=report.rows_unchanged,
            errors=[],
        ),
    )
    repository.close_observations(session, [*to_close, *removed], revision)
    repository.insert_observations(session, source.dataset, submission.id, revision, to_insert)
    report.published = publish_dataset(session, source.dataset, revision)
    report.revision = revision
    return report


def import_all_values(session: Session, source_dir: Path) -> list[ValueImportReport]:
    return [import_values(session, source, source_dir) for source in VALUE_SOURCES]
