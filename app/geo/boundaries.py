"""Load the boundary files (GeoJSON, WGS84) into one stored geometry per unit and version.

Which file draws which level of which version, and the credit line each file's licence asks
for, is data (``seeds/boundaries.yaml``). Features whose code is not a unit of that version,
and units of that level the file has no shape for, are reported, never guessed. Loading is a
diff: a second run writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from app.errors import SourceDataError
from app.geo import repository
from app.geo.levels import Level

BOUNDARIES_DIR = "boundaries"
BOUNDARIES_FILE = "boundaries.yaml"
# 5 decimals is about 1 m: the files' own precision, finer than their ~150 m accuracy, and
# shorter numbers compress better.
DECIMALS = 5
GEOMETRY_TYPES = {"Polygon", "MultiPolygon"}


class BoundaryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    level: Level
    version: str
    credit: str
    licence: str
    also_levels: tuple[Level, ...] = ()  # where a feature's code is a unit of another level


@dataclass
class BoundaryReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


def load_boundary_files(path: Path) -> list[BoundaryFile]:
    try:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or []
        return TypeAdapter(list[BoundaryFile]).validate_python(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise SourceDataError([f"{path}: {exc}"]) from exc


def _rounded(coordinates: Any) -> Any:
    if coordinates and isinstance(coordinates[0], int | float):
        return [round(float(c), DECIMALS) for c in coordinates]
    return [_rounded(c) for c in coordinates]


def _read_features(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SourceDataError([f"{path}: not readable as GeoJSON ({exc})"]) from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise SourceDataError([f"{path}: not a GeoJSON FeatureCollection"])
    features = document.get("features")
    return [f for f in features if isinstance(f, dict)] if isinstance(features, list) else []


def import_boundaries(
    session: Session, boundaries_dir: Path, files: list[BoundaryFile]
) -> BoundaryReport:
    """Store every file's shapes on the units of its level and version."""
    report = BoundaryReport()
    problems: list[str] = []
    for spec in files:
        path = boundaries_dir / spec.file
        if not path.exists():
            report.skipped.append(f"{spec.file}: not found in {boundaries_dir}; not loaded")
            continue
        levels = [spec.level.value, *(level.value for level in spec.also_levels)]
        units = repository.units_by_code(session, spec.version, levels)
        if not units:
            report.skipped.append(
                f"{spec.file}: the {spec.version} geography is not loaded; not loaded"
            )
            continue
        repository.upsert_boundary_source(session, spec.file, spec.credit, spec.licence)
        stored = repository.geometries_of_source(session, spec.file)
        drawn: set[int] = set()
        for number, feature in enumerate(_read_features(path), start=1):
            code = str((feature.get("properties") or {}).get("code") or "")
            geometry = feature.get("geometry")
            where = f"{spec.file}: feature {number} ({code or 'no code'})"
            if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
                problems.append(f"{where}: no polygon geometry")
                continue
            unit = next((units[(lv, code)] for lv in levels if (lv, code) in units), None)
            if unit is None:
                report.skipped.append(
                    f"{where}: no {spec.level.value} {code} in version {spec.version}; skipped"
                )
                continue
            text = json.dumps(
                {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"])},
                separators=(",", ":"),
            )
            drawn.add(unit.id)
            current = stored.get(unit.id)
            if current is None:
                repository.add_geometry(session, unit.id, spec.file, text)
                report.inserted += 1
            elif current != text:
                repository.update_geometry(session, unit.id, spec.file, text)
                report.updated += 1
            else:
                report.unchanged += 1
        report.counts[f"{spec.version}/{spec.level.value}"] = len(drawn)
        missing = sorted(
            code
            for (level, code), unit in units.items()
            if level == spec.level.value and unit.id not in drawn and not unit.not_localisable
        )
        if missing:
            report.skipped.append(
                f"{spec.file}: {len(missing)} {spec.level.value} unit(s) of {spec.version} "
                f"have no geometry (shown as 'no shape'): {', '.join(missing)}"
            )
    if problems:
        raise SourceDataError(problems)
    session.flush()
    return report
