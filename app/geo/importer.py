"""Import the Flemish and Brussels geography from the provincies.incijfers.be code lists.

The whole import is computed in memory first, checked, and then written as a diff against
what is stored: a second run writes nothing, and a malformed file leaves the database as it
was (the caller's transaction is rolled back on :class:`SourceDataError`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from app.errors import SourceDataError
from app.geo import repository
from app.geo.levels import Level
from app.sources import SourceRow, read_csv_rows

GEO_DIR = "geo"
MERGERS_FILE = "gemeentefusies_2025.csv"

# Statbel REFNIS writes the regions with five digits; the pinc files drop the leading zero.
REGION_CODES = {"2000": "02000", "4000": "04000"}
REGION_NAMES = {"02000": "Vlaams Gewest", "04000": "Brussels Hoofdstedelijk Gewest"}
# Brussels has no province: the files use the region code as a pseudo-province.
BRUSSELS_PSEUDO_PROVINCE = "4000"
# Dummy codes for "not localisable" / "outside Flanders and Brussels": not real units.
DUMMY_PREFIX = "9999"
DUMMY_REGIONALISATIONS = {"REFREG91", "REFREG99", "91", "99"}

SECTOR_RE = re.compile(r"^\d{5}[0-9A-Z-]{3}[0-9A-Z-]$")
NIS5_RE = re.compile(r"^\d{4,5}$")
REFREG_RE = re.compile(r"^REFREG\d{2}$")
VERVOERREGIO_RE = re.compile(r"^\d{1,2}$")


@dataclass(frozen=True)
class VersionSource:
    version: str
    label: str
    valid_from: date
    valid_to: date | None
    file: str
    # Column names differ between the two files.
    sector: str
    sector_name: str
    municipality: str
    municipality_name: str
    arrondissement: str
    arrondissement_name: str
    province: str
    province_name: str
    successor: str | None  # column with the municipality of the next version
    successor_version: str | None = None  # the version that column refers to


VERSIONS: tuple[VersionSource, ...] = (
    VersionSource(
        version="2024",
        label="Statbel sector version 2020–2024; 300 Flemish municipalities (until 31/12/2024)",
        valid_from=date(2019, 1, 1),
        valid_to=date(2024, 12, 31),
        file="pinc_statsec2024_alle_gebiedsniveaus.csv",
        sector="statsec2024",
        sector_name="statsec2024_naam",
        municipality="gemeente2024",
        municipality_name="gemeente2024_naam",
        arrondissement="arrondiss2024",
        arrondissement_name="bestuurlijk_arrondissement2024_naam",
        province="provincie2024",
        province_name="provincie2024_naam",
        successor="gemeente",
        successor_version="2025",
    ),
    VersionSource(
        version="2025",
        label="Statbel sector version 2025; 285 Flemish municipalities (from 1/1/2025)",
        valid_from=date(2025, 1, 1),
        valid_to=None,
        file="pinc_statsec2025_alle_gebiedsniveaus.csv",
        sector="statsec",
        sector_name="statsec_naam",
        municipality="gemeente",
        municipality_name="gemeente_naam",
        arrondissement="arrondiss",
        arrondissement_name="bestuurlijk_arrondissement_naam",
        province="provincie",
        province_name="provincie_naam",
        successor=None,
    ),
)

UnitKey = tuple[str, str, str]  # (version, level, code)


@dataclass
class PlannedUnit:
    key: UnitKey
    name: str
    parent: UnitKey | None
    not_localisable: bool = False


@dataclass
class GeographyPlan:
    """The complete geography as the source files describe it."""

    versions: list[VersionSource] = field(default_factory=list)
    units: dict[UnitKey, PlannedUnit] = field(default_factory=dict)
    ancestors: dict[UnitKey, set[UnitKey]] = field(default_factory=lambda: defaultdict(set))
    successors: set[tuple[UnitKey, UnitKey]] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    units_inserted: int = 0
    units_updated: int = 0
    units_unchanged: int = 0
    links_inserted: int = 0
    links_deleted: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.units_inserted or self.units_updated or self.links_inserted or self.links_deleted
        )


class _Planner:
    def __init__(self, plan: GeographyPlan) -> None:
        self.plan = plan

    def unit(
        self,
        where: SourceRow,
        key: UnitKey,
        name: str,
        parent: UnitKey | None,
        not_localisable: bool = False,
    ) -> None:
        """Add a unit, or check that a repeated mention agrees with the first one."""
        name = name.strip()
        existing = self.plan.units.get(key)
        if existing is None:
            if not name:
                self._problem(where, f"{key[1]} {key[2]} has no name")
            self.plan.units[key] = PlannedUnit(key, name or key[2], parent, not_localisable)
        elif existing.parent != parent:
            self._problem(
                where,
                f"{key[1]} {key[2]} lies in {_fmt(parent)} here but in {_fmt(existing.parent)} "
                "on an earlier line",
            )

    def _problem(self, where: SourceRow, reason: str) -> None:
        self.plan.problems.append(f"{where.file}:{where.line}: {reason}")


def _fmt(key: UnitKey | None) -> str:
    return "nothing" if key is None else f"{key[1]}:{key[2]}"


def plan_geography(source_dir: Path) -> GeographyPlan:
    plan = GeographyPlan()
    for source in VERSIONS:
        path = source_dir / GEO_DIR / source.file
        if not path.exists():
            plan.problems.append(f"{path}: file not found")
            continue
        plan.versions.append(source)
        _plan_version(plan, source, read_csv_rows(path))
    mergers = source_dir / GEO_DIR / MERGERS_FILE
    if mergers.exists():
        _check_mergers(plan, read_csv_rows(mergers))
    else:
        plan.problems.append(f"{mergers}: file not found")
    return plan


def _required_columns(source: VersionSource) -> list[str]:
    columns = [
        source.sector,
        source.sector_name,
        source.municipality,
        source.municipality_name,
        source.arrondissement,
        source.arrondissement_name,
        source.province,
        source.province_name,
        "gewest",
        "REFREG",
        "refreg_naam",
        "vervoerregio",
        "vervoerregio_naam",
    ]
    return [*columns, source.successor] if source.successor else columns


def _plan_version(plan: GeographyPlan, source: VersionSource, rows: Iterable[SourceRow]) -> None:
    planner = _Planner(plan)
    version = source.version
    seen_sectors: set[str] = set()
    header_checked = False
    for row in rows:
        if not header_checked:
            header_checked = True
            missing = [c for c in _required_columns(source) if c not in row.values]
            if missing:
                plan.problems.append(
                    f"{row.file}:1: header lacks the column(s) {', '.join(missing)}"
                )
                return
        v = {k: (val or "").strip() for k, val in row.values.items() if k is not None}
        sector = v.get(source.sector, "")
        municipality = v.get(source.municipality, "")
        if None in row.values:
            planner._problem(row, "more fields than the header has")
            continue
        if not SECTOR_RE.match(sector):
            planner._problem(row, f"malformed sector code {sector!r}")
            continue
        if municipality.startswith(DUMMY_PREFIX):
            plan.skipped.append(
                f"{row.file}:{row.line}: dummy code {sector} ({v.get(source.sector_name)}) "
                "is not a real unit"
            )
            continue
        if sector in seen_sectors:
            planner._problem(row, f"duplicate sector {sector}")
            continue
        seen_sectors.add(sector)
        # No prefix check: after a merger the sectors keep their old municipality prefix
        # (Borsbeek's 11007… sectors lie in Antwerpen 11002 from 2025 on).
        if not NIS5_RE.match(municipality):
            planner._problem(row, f"malformed municipality code {municipality!r}")
            continue
        region_raw = v.get("gewest", "")
        region = REGION_CODES.get(region_raw)
        if region is None:
            planner._problem(row, f"unknown region code {region_raw!r}")
            continue
        arrondissement = v.get(source.arrondissement, "")
        province_raw = v.get(source.province, "")
        if not NIS5_RE.match(arrondissement):
            planner._problem(row, f"malformed arrondissement code {arrondissement!r}")
            continue
        if province_raw != BRUSSELS_PSEUDO_PROVINCE and not NIS5_RE.match(province_raw):
            planner._problem(row, f"malformed province code {province_raw!r}")
            continue

        region_key: UnitKey = (version, Level.REGION, region)
        planner.unit(row, region_key, REGION_NAMES[region], None)
        province_key: UnitKey | None = None
        if province_raw != BRUSSELS_PSEUDO_PROVINCE:
            province_key = (version, Level.PROVINCE, province_raw.zfill(5))
            planner.unit(row, province_key, v.get(source.province_name, ""), region_key)
        arr_key: UnitKey = (version, Level.ARRONDISSEMENT, arrondissement.zfill(5))
        planner.unit(
            row, arr_key, v.get(source.arrondissement_name, ""), province_key or region_key
        )
        mun_key: UnitKey = (version, Level.MUNICIPALITY, municipality.zfill(5))
        planner.unit(row, mun_key, v.get(source.municipality_name, ""), arr_key)
        sector_key: UnitKey = (version, Level.SECTOR, sector)
        not_localisable = sector.endswith("ZZZZ")
        planner.unit(row, sector_key, v.get(source.sector_name, ""), mun_key, not_localisable)

        regionalisations: list[UnitKey] = []
        refreg = v.get("REFREG", "")
        if refreg and refreg not in DUMMY_REGIONALISATIONS:
            if REFREG_RE.match(refreg):
                key: UnitKey = (version, Level.REFERENTIEREGIO, refreg)
                planner.unit(row, key, v.get("refreg_naam", ""), None)
                regionalisations.append(key)
            else:
                planner._problem(row, f"malformed referentieregio code {refreg!r}")
        vervoerregio = v.get("vervoerregio", "")
        if vervoerregio and vervoerregio not in DUMMY_REGIONALISATIONS:
            if VERVOERREGIO_RE.match(vervoerregio):
                key = (version, Level.VERVOERREGIO, vervoerregio)
                planner.unit(row, key, v.get("vervoerregio_naam", ""), None)
                regionalisations.append(key)
            else:
                planner._problem(row, f"malformed vervoerregio code {vervoerregio!r}")

        chain = [k for k in (mun_key, arr_key, province_key, region_key) if k is not None]
        plan.ancestors[sector_key].update(chain, regionalisations)
        plan.ancestors[mun_key].update(chain[1:], regionalisations)
        plan.ancestors[arr_key].update(chain[2:])
        if province_key is not None:
            plan.ancestors[province_key].add(region_key)
        for regionalisation in regionalisations:
            # Referentieregio's and vervoerregio's are Flemish: they lie in the region.
            plan.ancestors[regionalisation].add(region_key)

        if source.successor and source.successor_version:
            successor = v.get(source.successor, "")
            if not NIS5_RE.match(successor):
                planner._problem(row, f"malformed successor municipality {successor!r}")
            else:
                plan.successors.add(
                    (
                        mun_key,
                        (source.successor_version, Level.MUNICIPALITY, successor.zfill(5)),
                    )
                )


def _check_mergers(plan: GeographyPlan, rows: Iterable[SourceRow]) -> None:
    """The mergers list must agree with the successor column of the 2024 file."""
    successor_of = {pred[2]: succ[2] for pred, succ in plan.successors}
    for row in rows:
        old, new = row.values.get("nis_2024", ""), row.values.get("nis_2025", "")
        if row.values.get("gewest") not in ("Vlaams Gewest", "Brussels Hoofdstedelijk Gewest"):
            plan.skipped.append(
                f"{row.file}:{row.line}: merger {old} → {new} lies outside Flanders and "
                "Brussels (not in this geography)"
            )
            continue
        if successor_of.get(old) != new:
            plan.problems.append(
                f"{row.file}:{row.line}: merger {old} → {new} disagrees with the 2024 "
                f"sector file (which gives {successor_of.get(old, 'nothing')})"
            )


def _validate_links(plan: GeographyPlan) -> None:
    for pred, succ in sorted(plan.successors):
        if succ not in plan.units:
            plan.problems.append(
                f"successor {_fmt(succ)} of {_fmt(pred)} is not a {succ[0]} municipality"
            )


def ensure_versions(session: Session) -> None:
    """The geography versions exist even before their files are loaded (datasets refer to
    them)."""
    _upsert_versions(session, VERSIONS)


def _upsert_versions(session: Session, sources: Iterable[VersionSource]) -> None:
    # Latest first: a version's successor must exist before it is referred to.
    for source in sorted(sources, key=lambda s: s.valid_from, reverse=True):
        repository.upsert_version(
            session,
            source.version,
            source.label,
            source.valid_from,
            source.valid_to,
            source.successor_version,
        )


def import_geography(session: Session, source_dir: Path) -> ImportReport:
    """Bring the stored geography in line with the source files (insert, update, unlink)."""
    plan = plan_geography(source_dir)
    if not plan.problems:  # otherwise every link to a refused row would be reported again
        _validate_links(plan)
    if plan.problems:
        raise SourceDataError(plan.problems)

    _upsert_versions(session, plan.versions)
    report = ImportReport(skipped=plan.skipped)
    stored = repository.unit_index(session, [s.version for s in plan.versions])

    # Level by level from the top, so that parents have ids when their children point at them.
    by_depth: dict[int, list[UnitKey]] = defaultdict(list)
    for key in plan.units:
        by_depth[_depth(plan, key)].append(key)
    for depth in sorted(by_depth):
        for key in by_depth[depth]:
            planned = plan.units[key]
            parent_id = stored[planned.parent].id if planned.parent else None
            current = stored.get(key)
            if current is None:
                report.units_inserted += 1
                stored[key] = repository.add_unit(
                    session, key, planned.name, parent_id, planned.not_localisable
                )
            elif (current.name, current.parent_id, current.not_localisable) != (
                planned.name,
                parent_id,
                planned.not_localisable,
            ):
                report.units_updated += 1
                current.name = planned.name
                current.parent_id = parent_id
                current.not_localisable = planned.not_localisable
            else:
                report.units_unchanged += 1
        session.flush()

    ids = {key: unit.id for key, unit in stored.items()}
    wanted_ancestors = {
        (ids[unit], ids[anc]) for unit, ancs in plan.ancestors.items() for anc in ancs
    }
    wanted_successors = {(ids[a], ids[b]) for a, b in plan.successors}
    version_unit_ids = {ids[k] for k in plan.units}
    added, deleted = repository.sync_ancestors(session, version_unit_ids, wanted_ancestors)
    report.links_inserted += added
    report.links_deleted += deleted
    added, deleted = repository.sync_successors(session, version_unit_ids, wanted_successors)
    report.links_inserted += added
    report.links_deleted += deleted

    for key in plan.units:
        label = f"{key[0]}/{key[1]}"
        report.counts[label] = report.counts.get(label, 0) + 1
    return report


def _depth(plan: GeographyPlan, key: UnitKey) -> int:
    depth = 0
    parent = plan.units[key].parent
    while parent is not None:
        depth += 1
        parent = plan.units[parent].parent
    return depth
