"""Importing the real value files as a dataset's observations (one submission, one revision).

Rows are matched to sectors of the dataset's geography version. Codes of the Walloon Region
(outside this geography) are counted and reported together. A code unknown to the geography
whose municipality is known counts, for additive indicators, in that municipality's
"…ZZZZ" remainder (see :class:`_RemainderPlacer`); any other unknown code is reported with
file, line and code. Parse problems (a non-number, a negative count, a
malformed code, a missing column) refuse the whole file: nothing is stored. Re-importing
unchanged files changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from app.catalogue.repository import (
    get_dataset,
    indicators_of_dataset,
    roles_of_dataset,
    touch_dataset,
)
from app.errors import SourceDataError
from app.geo.levels import Level
from app.stats import repository
from app.stats.models import Submission
from app.stats.parsers import (
    DUPLICATE,
    VALUE_SOURCES,
    VALUES_DIR,
    ParsedValue,
    ParseProblem,
    ParseResult,
    ValueSource,
    iter_source,
)
from app.stats.revisions import ObservationKey, store_staged_revision

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
    published: int = 0  # current published values after the import
    published_written: int = 0  # rows the import's revision wrote
    outside_geography: int = 0
    remapped: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def import_values(session: Session, source: ValueSource, source_dir: Path) -> ValueImportReport:
    """Import the source's files as a new revision of its dataset, reading them as a stream:
    each row goes to the staging table as it is parsed, and the few rows that land on a
    municipality's remainder (where several codes may add up) are summed in memory first."""
    report = ValueImportReport(source.dataset)
    paths = [source_dir / VALUES_DIR / name for name in source.files]
    report.missing_files = [str(p) for p in paths if not p.exists()]
    if report.missing_files:
        return report
    dataset = get_dataset(session, source.dataset)
    if dataset is None:
        raise SourceDataError([f"{source.dataset}: dataset not in the catalogue (run the seed)"])
    fingerprint = _fingerprint(paths)
    # The same files as the last import: nothing to do, whatever suppliers have sent since
    # (importing them again would undo their corrections).
    latest = repository.latest_accepted(session, source.dataset, SOURCE_IMPORT)
    if latest is not None and latest.sha256 == fingerprint:
        report.unchanged = True
        return report

    geo = repository.load_geography(session, [dataset.geo_version])
    placer = _RemainderPlacer(geo)
    remainders = set(placer.remainder_of.values())
    additive = {
        i.id for i in indicators_of_dataset(session, source.dataset) if i.aggregation == "sum"
    }
    parsed = ParseResult(dataset=source.dataset, geo_version=dataset.geo_version)
    # Rows kept in memory: those on a remainder sector, and those not staged at all; their
    # duplicates are found here, those of every other row in the staging table.
    summed: dict[ObservationKey, tuple[float | None, str]] = {}
    seen: set[tuple[str, str, str]] = set()
    rows_total = 0
    # The sectors given a row, per (indicator, period): of a source that covers every sector
    # only (the others may be too large to hold them).
    covered: dict[tuple[str, str], set[int]] | None = {} if source.covers_every_sector else None

    def staged() -> Iterator[repository.StagedRow]:
        nonlocal rows_total
        for index, row in iter_source(source, source_dir, parsed, find_duplicates=False):
            rows_total += 1
            unit = geo.by_code.get((Level.SECTOR, row.code))
            if unit is not None and unit not in remainders:
                if covered is not None:
                    covered.setdefault((row.indicator, row.period), set()).add(unit)
                yield (row.indicator, unit, row.period, row.value, row.status, _line(index, row))
                continue
            if (row.indicator, row.code, row.period) in seen:
                parsed.problems.append(
                    ParseProblem(source.files[index], row.line, None, row.code, DUPLICATE)
                )
                continue
            seen.add((row.indicator, row.code, row.period))
            if unit is None and row.code.startswith(WALLOON_PREFIXES):
                report.outside_geography += 1
                continue
            if unit is None and row.indicator in additive:
                unit = placer.remainder(row.code, row.municipality)
                if unit is not None:
                    report.remapped += 1
            if unit is None:
                report.unknown_codes.append(
                    f"{row.line}: sector {row.code} is not in geography version "
                    f"{dataset.geo_version} ({row.indicator}, {row.period})"
                )
                continue
            key = (row.indicator, unit, row.period)
            incoming = (row.value, row.status)
            summed[key] = _add(summed[key], incoming) if key in summed else incoming

    repository.start_staging(session)
    repository.stage(session, staged())
    duplicates, _ = repository.staged_duplicates(session, 1000)
    for line, _first, _indicator, _unit, _period in duplicates:
        parsed.problems.append(
            ParseProblem(source.files[line >> LINE_BITS], line & LINE_MASK, None, None, DUPLICATE)
        )
    if parsed.problems:
        raise SourceDataError(
            [
                f"{p.file}:{p.line}: {p.reason}"
                + (f" (column {p.column}, value {p.value!r})" if p.column else "")
                for p in sorted(parsed.problems, key=lambda p: (p.file, p.line))
            ]
        )
    repository.stage(
        session,
        (
            (indicator, unit, period, value, status, 0)
            for (indicator, unit, period), (value, status) in summed.items()
        ),
    )
    if covered:
        # Of the municipalities the file describes: a file cut to some (a city's own) says
        # nothing of the others.
        described = {geo.parent[unit] for given in covered.values() for unit in given}
        sectors = {
            unit
            for (level, _), unit in geo.by_code.items()
            if level == Level.SECTOR and unit not in remainders and geo.parent[unit] in described
        }
        repository.stage(
            session,
            (
                (indicator, unit, period, None, "missing", 0)
                for (indicator, period), given in covered.items()
                for unit in sorted(sectors - given)
            ),
        )
    originator = next(
        (
            org.id
            for role, org in roles_of_dataset(session, source.dataset)
            if role.role == "originator"
        ),
        None,
    )
    stored = store_staged_revision(
        session,
        source.dataset,
        Submission(
            dataset_id=source.dataset,
            organisation_id=originator or "kenniscentrum-vlaamse-steden",
            source_name=SOURCE_IMPORT,
            media_type="text/csv",
            sha256=fingerprint,
            rows_total=rows_total,
        ),
        replace_all=True,
        staged_periods_only=True,
    )
    if not stored.no_change:
        # New values are a change of the dataset (dct:modified, modified_since), dated at the
        # commit that makes them readable, as after a supplier's upload.
        touch_dataset(session, source.dataset)
    report.revision = stored.revision
    report.unchanged = stored.no_change
    report.rows_added = stored.added
    report.rows_changed = stored.changed
    report.rows_unchanged = stored.unchanged
    report.rows_removed = stored.removed
    report.published = stored.published
    report.published_written = stored.published_written
    return report


# A staged row's line holds the index of its file too (several files make one source).
LINE_BITS = 32
LINE_MASK = (1 << LINE_BITS) - 1


def _line(file_index: int, row: ParsedValue) -> int:
    return (file_index << LINE_BITS) | row.line


class _RemainderPlacer:
    """Finds the municipality a sector code unknown to the geography belongs to, so that its
    value still counts in the municipal totals (in the municipality's "…ZZZZ" remainder).

    Two cases in the real files: remainders that keep the prefix of a municipality merged
    long ago (12030ZZZZ, Puurs, now Puurs-Sint-Amands 12041), and Statbel sector codes that
    the provinces' list replaced by codes of its own (11002J81- in Antwerpen). The row's own
    municipality column decides where the file has one; otherwise the prefix does, when every
    known sector with that prefix lies in one municipality.
    """

    def __init__(self, geo: repository.VersionGeography) -> None:
        self.geo = geo
        self.remainder_of: dict[int, int] = {}
        prefixes: dict[str, set[int]] = {}
        for (level, code), unit in geo.by_code.items():
            if level != Level.SECTOR:
                continue
            municipality = geo.parent[unit]
            if municipality is None:
                continue
            if code.endswith("ZZZZ"):
                self.remainder_of[municipality] = unit
            prefixes.setdefault(code[:5], set()).add(municipality)
        self.by_prefix = {p: next(iter(m)) for p, m in prefixes.items() if len(m) == 1}

    def remainder(self, code: str, municipality_code: str | None) -> int | None:
        municipality: int | None = None
        if municipality_code:
            municipality = self.geo.by_code.get((Level.MUNICIPALITY, municipality_code.zfill(5)))
        if municipality is None:
            municipality = self.by_prefix.get(code[:5])
        return self.remainder_of.get(municipality) if municipality is not None else None


def _add(
    left: tuple[float | None, str], right: tuple[float | None, str]
) -> tuple[float | None, str]:
    """Two rows that land on one remainder: their sum, or no value if either has none."""
    if left[0] is not None and right[0] is not None:
        return left[0] + right[0], left[1] if left[1] != "normal" else right[1]
    statuses = {left[1], right[1]}
    return None, "confidential" if "confidential" in statuses else "missing"


def import_all_values(session: Session, source_dir: Path) -> list[ValueImportReport]:
    return [import_values(session, source, source_dir) for source in VALUE_SOURCES]
