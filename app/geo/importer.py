"""Import the Flemish and Brussels geography from the provincies.incijfers.be code lists.

The whole import is computed in memory first, checked, and then written as a diff against
what is stored: a second run writes nothing, and a malformed file leaves the database as it
was (the caller's transaction is rolled back on :class:`SourceDataError`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from app.config import SEEDS_DIR
from app.db.session import analyze_after_commit
from app.errors import SourceDataError
from app.geo import repository
from app.geo.levels import Level
from app.sources import SourceRow, read_csv_rows

GEO_DIR = "geo"

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
WIJK_RE = re.compile(r"^\d{5}[0-9A-Z]{2,4}$")


VERSIONS_FILE = "geo_versions.yaml"


class VersionLink(BaseModel):
    """A column that gives, per municipality, the municipality of another version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    column: str


class VersionColumns(BaseModel):
    """Column names in a version's code-list file (they differ between the files)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sector: str
    sector_name: str
    municipality: str
    municipality_name: str
    arrondissement: str
    arrondissement_name: str
    province: str
    province_name: str
    wijk: str | None = None  # the ggw7 neighbourhoods, where the version has them


class VersionSource(BaseModel):
    """One geography version as ``seeds/geo_versions.yaml`` describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    valid_from: date
    valid_to: date | None = None
    file: str
    columns: VersionColumns
    # This file's column with the municipality of the next version ...
    successor: VersionLink | None = None
    # ... or with the municipality of the previous version (a newer file looks back).
    predecessor: VersionLink | None = None
    mergers: str | None = None  # a list of mergers, checked against the successor column
    wijk_names: str | None = None  # area-name list with the wijken's names

    @property
    def version(self) -> str:
        return self.id


def load_versions(path: Path) -> list[VersionSource]:
    """The versions described in ``path``; a malformed description is a SourceDataError."""
    try:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or []
        versions = TypeAdapter(list[VersionSource]).validate_python(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise SourceDataError([f"{path}: {exc}"]) from exc
    known = {v.id for v in versions}
    problems = [
        f"{path}: version {v.id} links to unknown version {link.version}"
        for v in versions
        for link in (v.successor, v.predecessor)
        if link is not None and link.version not in known
    ]
    if len(known) != len(versions):
        problems.append(f"{path}: a version id is listed twice")
    if not problems:
        problems += _cycles(path, versions)
    if problems:
        raise SourceDataError(problems)
    return versions


def _cycles(path: Path, versions: Sequence[VersionSource]) -> list[str]:
    """The chain of versions must end: which version is latest is where it ends."""
    problems: list[str] = []
    declared: dict[str, set[str]] = defaultdict(set)
    for v in versions:
        if v.successor is not None:
            declared[v.id].add(v.successor.version)
        if v.predecessor is not None:
            declared[v.predecessor.version].add(v.id)
    for version, nexts in sorted(declared.items()):
        if len(nexts) > 1:
            problems.append(
                f"{path}: version {version} has {len(nexts)} successors "
                f"({', '.join(sorted(nexts))})"
            )
    if problems:
        return problems
    successors = successor_versions(versions)
    for start in sorted(successors):
        seen = [start]
        while (following := successors.get(seen[-1])) is not None:
            if following in seen:
                return [
                    f"{path}: the versions succeed each other in a circle: "
                    f"{' → '.join([*seen[seen.index(following) :], following])}"
                ]
            seen.append(following)
    return []


def successor_versions(versions: Iterable[VersionSource]) -> dict[str, str]:
    """Which version succeeds which, from the links the files declare."""
    result: dict[str, str] = {}
    for v in versions:
        if v.successor is not None:
            result[v.id] = v.successor.version
        if v.predecessor is not None:
            result[v.predecessor.version] = v.id
    return result


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


def plan_geography(source_dir: Path, versions: Sequence[VersionSource]) -> GeographyPlan:
    plan = GeographyPlan()
    for source in versions:
        path = source_dir / GEO_DIR / source.file
        if not path.exists():
            plan.problems.append(f"{path}: file not found")
            continue
        plan.versions.append(source)
        wijk_names = _wijk_names(source_dir, source)
        _plan_version(plan, source, read_csv_rows(path), wijk_names)
        if source.mergers is not None and source.successor is not None:
            mergers = source_dir / GEO_DIR / source.mergers
            if mergers.exists():
                _check_mergers(plan, source, read_csv_rows(mergers))
            else:
                plan.problems.append(f"{mergers}: file not found")
    return plan


def _wijk_names(source_dir: Path, source: VersionSource) -> dict[str, str] | None:
    """The wijken's names from the area-name list: empty when the version names none (the
    codes stand in), None when its list is missing."""
    if source.wijk_names is None or source.columns.wijk is None:
        return {}
    path = source_dir / GEO_DIR / source.wijk_names
    if not path.exists():
        return None
    return {
        row.values.get("geoitem", ""): (row.values.get("v9900_gebiedsnaam") or "").strip()
        for row in read_csv_rows(path)
        if row.values.get("geolevel") == source.columns.wijk
    }


def _required_columns(source: VersionSource) -> list[str]:
    c = source.columns
    columns = [
        c.sector,
        c.sector_name,
        c.municipality,
        c.municipality_name,
        c.arrondissement,
        c.arrondissement_name,
        c.province,
        c.province_name,
        "gewest",
        "REFREG",
        "refreg_naam",
        "vervoerregio",
        "vervoerregio_naam",
    ]
    links = [link.column for link in (source.successor, source.predecessor) if link is not None]
    return [*columns, *links]


def _plan_version(
    plan: GeographyPlan,
    source: VersionSource,
    rows: Iterable[SourceRow],
    wijk_names: dict[str, str] | None,
) -> None:
    planner = _Planner(plan)
    version = source.version
    seen_sectors: set[str] = set()
    header_checked = False
    c = source.columns
    wijk_column = c.wijk
    for row in rows:
        if not header_checked:
            header_checked = True
            missing = [col for col in _required_columns(source) if col not in row.values]
            if missing:
                plan.problems.append(
                    f"{row.file}:1: header lacks the column(s) {', '.join(missing)}"
                )
                return
            if source.columns.wijk is not None and source.columns.wijk not in row.values:
                # Optional: without the column the version simply has no wijk level.
                plan.skipped.append(
                    f"{row.file}:1: no {source.columns.wijk} column; version {version} is "
                    "loaded without wijken"
                )
                wijk_column = None
            elif wijk_column is not None and wijk_names is None:
                plan.problems.append(
                    f"{row.file}: the wijken need their names from {source.wijk_names} "
                    f"(not found in {GEO_DIR}/)"
                )
                return
        v = {k: (val or "").strip() for k, val in row.values.items() if k is not None}
        sector = v.get(c.sector, "")
        municipality = v.get(c.municipality, "")
        if None in row.values:
            planner._problem(row, "more fields than the header has")
            continue
        if not SECTOR_RE.match(sector):
            planner._problem(row, f"malformed sector code {sector!r}")
            continue
        if municipality.startswith(DUMMY_PREFIX):
            plan.skipped.append(
                f"{row.file}:{row.line}: dummy code {sector} ({v.get(c.sector_name)}) "
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
        arrondissement = v.get(c.arrondissement, "")
        province_raw = v.get(c.province, "")
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
            planner.unit(row, province_key, v.get(c.province_name, ""), region_key)
        arr_key: UnitKey = (version, Level.ARRONDISSEMENT, arrondissement.zfill(5))
        planner.unit(row, arr_key, v.get(c.arrondissement_name, ""), province_key or region_key)
        mun_key: UnitKey = (version, Level.MUNICIPALITY, municipality.zfill(5))
        planner.unit(row, mun_key, v.get(c.municipality_name, ""), arr_key)
        sector_key: UnitKey = (version, Level.SECTOR, sector)
        not_localisable = sector.endswith("ZZZZ")
        planner.unit(row, sector_key, v.get(c.sector_name, ""), mun_key, not_localisable)
        wijk_key: UnitKey | None = None
        if wijk_column is not None:
            wijk_key = _plan_wijk(planner, row, version, v.get(wijk_column, ""), mun_key)
            if wijk_key is not None:
                wijk = plan.units[wijk_key]
                # A wijk is "not localisable" (the …WONB wijken) when all its sectors are.
                wijk.not_localisable = wijk.not_localisable and not_localisable
                wijk.name = (wijk_names or {}).get(wijk_key[2]) or wijk.name

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
        if wijk_key is not None:
            plan.ancestors[sector_key].add(wijk_key)
            plan.ancestors[wijk_key].update(chain, regionalisations)
        plan.ancestors[mun_key].update(chain[1:], regionalisations)
        plan.ancestors[arr_key].update(chain[2:])
        if province_key is not None:
            plan.ancestors[province_key].add(region_key)
        for regionalisation in regionalisations:
            # Referentieregio's and vervoerregio's are Flemish: they lie in the region.
            plan.ancestors[regionalisation].add(region_key)

        for link, forward in ((source.successor, True), (source.predecessor, False)):
            if link is None:
                continue
            other = v.get(link.column, "")
            if not NIS5_RE.match(other):
                planner._problem(row, f"malformed municipality {other!r} in {link.column}")
                continue
            other_key: UnitKey = (link.version, Level.MUNICIPALITY, other.zfill(5))
            plan.successors.add((mun_key, other_key) if forward else (other_key, mun_key))


def _plan_wijk(
    planner: _Planner, row: SourceRow, version: str, code: str, municipality: UnitKey
) -> UnitKey | None:
    if not WIJK_RE.match(code):
        planner._problem(row, f"malformed wijk code {code!r}")
        return None
    key: UnitKey = (version, Level.WIJK, code)
    # Named later from the area-name list; the code stands in until then.
    planner.unit(row, key, code, municipality, not_localisable=True)
    return key


def _check_mergers(plan: GeographyPlan, source: VersionSource, rows: Iterable[SourceRow]) -> None:
    """The mergers list (columns ``nis_<version>``, ``nis_<next version>``) must agree with
    the successor column of the version's file."""
    assert source.successor is not None
    successor_of = {
        pred[2]: succ[2]
        for pred, succ in plan.successors
        if pred[0] == source.id and succ[0] == source.successor.version
    }
    old_column, new_column = f"nis_{source.id}", f"nis_{source.successor.version}"
    for row in rows:
        old, new = row.values.get(old_column, ""), row.values.get(new_column, "")
        if row.values.get("gewest") not in ("Vlaams Gewest", "Brussels Hoofdstedelijk Gewest"):
            plan.skipped.append(
                f"{row.file}:{row.line}: merger {old} → {new} lies outside Flanders and "
                "Brussels (not in this geography)"
            )
            continue
        if successor_of.get(old) != new:
            plan.problems.append(
                f"{row.file}:{row.line}: merger {old} → {new} disagrees with the {source.id} "
                f"sector file (which gives {successor_of.get(old, 'nothing')})"
            )


def _lost_units(plan: GeographyPlan, stored: Mapping[UnitKey, object]) -> list[str]:
    """Units are never removed (values and links refer to them): a version's file that no
    longer holds units of the levels it describes is cut short, or not the file it was. Loaded
    anyway, their links went and the totals above them lost them with a `normal` status."""
    files = {source.version: source.file for source in plan.versions}
    described = {(key[0], key[1]) for key in plan.units}
    lost: dict[str, list[UnitKey]] = defaultdict(list)
    for key in stored:
        if (key[0], key[1]) in described and key not in plan.units:
            lost[key[0]].append(key)
    return [
        f"{files[version]}: {len(keys):,} units of version {version} stored before are not in "
        f"the file (first: {', '.join(_fmt(k) for k in sorted(keys)[:3])}); units are never "
        "removed: is the file cut short?"
        for version, keys in sorted(lost.items())
    ]


def _validate_links(plan: GeographyPlan) -> None:
    successors: dict[UnitKey, set[UnitKey]] = defaultdict(set)
    for pred, succ in sorted(plan.successors):
        successors[pred].add(succ)
        if succ not in plan.units:
            plan.problems.append(
                f"successor {_fmt(succ)} of {_fmt(pred)} is not a {succ[0]} municipality"
            )
        if pred not in plan.units:
            plan.problems.append(
                f"predecessor {_fmt(pred)} of {_fmt(succ)} is not a {pred[0]} municipality"
            )
    for pred, succs in sorted(successors.items()):
        if len(succs) > 1:
            # Values are carried to the next version municipality by municipality: one split
            # over two would be counted whole in one of them.
            plan.problems.append(
                f"{_fmt(pred)} of version {pred[0]} has sectors in {len(succs)} "
                f"municipalities of version {min(succs)[0]} "
                f"({', '.join(_fmt(s) for s in sorted(succs))}): a "
                "municipality that is split cannot be carried to the next version; move the "
                "sectors in the later version's file only after a new version of the older one"
            )


def default_versions() -> list[VersionSource]:
    return load_versions(SEEDS_DIR / VERSIONS_FILE)


def ensure_versions(session: Session, versions: Sequence[VersionSource] | None = None) -> None:
    """The geography versions exist even before their files are loaded (datasets refer to
    them)."""
    versions = default_versions() if versions is None else versions
    _upsert_versions(session, versions, successor_versions(versions))


def _upsert_versions(
    session: Session, sources: Iterable[VersionSource], successors: dict[str, str]
) -> None:
    # Latest first: a version's successor must exist before it is referred to.
    for source in sorted(sources, key=lambda s: s.valid_from, reverse=True):
        repository.upsert_version(
            session,
            source.id,
            source.label,
            source.valid_from,
            source.valid_to,
            successors.get(source.id),
        )


def import_geography(
    session: Session, source_dir: Path, versions: Sequence[VersionSource] | None = None
) -> ImportReport:
    """Bring the stored geography in line with the source files (insert, update, unlink).

    ``versions`` defaults to those described in ``seeds/geo_versions.yaml``."""
    versions = default_versions() if versions is None else versions
    plan = plan_geography(source_dir, versions)
    if not plan.problems:  # otherwise every link to a refused row would be reported again
        _validate_links(plan)
    if plan.problems:
        raise SourceDataError(plan.problems)

    stored = repository.unit_index(session, [s.version for s in plan.versions])
    if lost := _lost_units(plan, stored):
        raise SourceDataError(lost)
    _upsert_versions(session, versions, successor_versions(versions))
    report = ImportReport(skipped=plan.skipped)

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
    if report.units_inserted or report.links_inserted or report.links_deleted:
        # Every publication joins these tables: planned on the counts of before the load
        # (none, on a new database), a one-row submission read every sector of the
        # geography through a nested loop (45 against 0.5 ms for one statement).
        analyze_after_commit(session, ["geo_unit", "geo_unit_ancestor", "geo_successor"])
    return report


def _depth(plan: GeographyPlan, key: UnitKey) -> int:
    depth = 0
    parent = plan.units[key].parent
    while parent is not None:
        depth += 1
        parent = plan.units[parent].parent
    return depth
