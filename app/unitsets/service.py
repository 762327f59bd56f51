"""Loading the unit-set definitions and resolving them against the geography."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.config import SEEDS_DIR
from app.errors import InvalidParameter, NotFound, SourceDataError
from app.geo import repository as geo_repository
from app.geo.models import GeoUnit
from app.geo.service import check_level, check_version, parse_unit_ref, unit_out, version_hint
from app.unitsets import repository
from app.unitsets.schemas import UnitSetDefinition, UnitSetOut

SETS_FILE = SEEDS_DIR / "unit_sets.yaml"
PREFIX = "set:"


SeedT = TypeVar("SeedT", bound=BaseModel)


def read_seed_list(
    path: Path,
    model: type[SeedT],
    kind: str,
    check: Callable[[SeedT], str | None] = lambda _: None,
) -> list[SeedT]:
    """Read a seed file that lists definitions with an ``id`` (unit sets, monitors): a bad
    entry, a duplicate id or one that ``check`` refuses is reported with file, entry and
    reason, and nothing is loaded."""
    with path.open(encoding="utf-8") as handle:
        entries = yaml.safe_load(handle) or []
    if not isinstance(entries, list):
        raise SourceDataError([f"{path.name}: expected a list of {kind}"])
    problems: list[str] = []
    found: list[SeedT] = []
    for number, entry in enumerate(entries, 1):
        try:
            definition = model.model_validate(entry)
        except ValidationError as exc:
            reasons = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
            )
            problems.append(f"{path.name}: entry {number}: {reasons}")
            continue
        identity = getattr(definition, "id", None)
        if any(getattr(d, "id", None) == identity for d in found):
            problems.append(f"{path.name}: entry {number}: duplicate id {identity!r}")
        if (refused := check(definition)) is not None:
            problems.append(f"{path.name}: entry {number}: {refused}")
        found.append(definition)
    if problems:
        raise SourceDataError(problems)
    return found


def load_definitions(path: Path) -> list[UnitSetDefinition]:
    """Read and check a unit-sets file."""
    return read_seed_list(path, UnitSetDefinition, "unit sets")


@lru_cache(maxsize=1)
def definitions() -> tuple[UnitSetDefinition, ...]:
    """The seeded unit sets (read once per process; they change with a new release)."""
    return tuple(load_definitions(SETS_FILE))


def set_ids() -> list[str]:
    return [d.id for d in definitions()]


def get_definition(set_id: str) -> UnitSetDefinition:
    found = next((d for d in definitions() if d.id == set_id), None)
    if found is None:
        raise NotFound(
            f"unit set {set_id!r} not found; the sets are: {', '.join(set_ids())}",
            set=set_id,
            sets=set_ids(),
        )
    return found


def is_set_ref(ref: str) -> bool:
    return ref.startswith(PREFIX)


def _default_version(session: Session) -> str:
    return geo_repository.latest_version(session) or ""


def resolve(
    session: Session, set_id: str, version: str | None = None, parameter: str = "unit"
) -> list[GeoUnit]:
    """The units of a set in ``version`` (default: the latest), in the set's order."""
    definition = get_definition(set_id)
    chosen = version or _default_version(session)
    if definition.cities_of is not None:
        units = repository.centre_cities(session, chosen)
        if not units:
            raise InvalidParameter(
                parameter,
                f"unit set {set_id!r} (the cities of the city-regions) has no units in "
                f"geography version {chosen}; the city-regions are defined in version(s) "
                f"{', '.join(repository.city_region_versions(session)) or 'none yet'}: "
                "ask with that version",
            )
        return units
    if definition.level is not None:
        level = check_level(definition.level, parameter)
        within_id = None
        if definition.within is not None:
            w_level, w_code = parse_unit_ref(definition.within, parameter)
            within = geo_repository.get_unit(session, w_level, w_code, chosen)
            if within is None:
                raise InvalidParameter(
                    parameter,
                    f"unit set {set_id!r} lies within {definition.within}, which is not in "
                    f"geography version {chosen}",
                )
            within_id = within.id
        units = repository.units_of_level(session, level, chosen, within_id)
        if not units:
            # An empty set would filter nothing: the answer would be every unit.
            elsewhere = sorted(geo_repository.level_counts(session).get(level, {}))
            raise InvalidParameter(
                parameter,
                f"unit set {set_id!r} (every {level}) has no units in geography version "
                f"{chosen}{version_hint(elsewhere)}",
            )
        return units
    listed: list[GeoUnit] = []
    for member in definition.members or []:
        level, code = parse_unit_ref(member, parameter)
        unit = geo_repository.get_unit(session, level, code, chosen)
        if unit is None:
            raise InvalidParameter(
                parameter,
                f"unit set {set_id!r}: member {member} is not in geography version {chosen}",
            )
        listed.append(unit)
    return listed


def expand(
    session: Session, refs: Sequence[str], version: str | None, parameter: str = "unit"
) -> list[str]:
    """``refs`` with every ``set:NAME`` replaced by its members' ``level:code``, in order,
    repeats kept (an ad-hoc area's caller refuses them: a unit counted twice)."""
    out: list[str] = []
    for ref in refs:
        if is_set_ref(ref):
            out += [
                f"{u.level}:{u.code}"
                for u in resolve(session, ref[len(PREFIX) :], version, parameter)
            ]
        else:
            out.append(ref)
    return out


def _describe(definition: UnitSetDefinition) -> str:
    if definition.cities_of is not None:
        return "the cities of the city-regions (seeds/cityregions.yaml), by their NIS code"
    if definition.level is not None:
        inside = f" inside {definition.within}" if definition.within else ""
        return f"every {definition.level}{inside}"
    return "the listed units: " + ", ".join(definition.members or [])


def set_out(session: Session, set_id: str, version: str | None) -> UnitSetOut:
    definition = get_definition(set_id)
    if version is not None:
        check_version(session, version)
    chosen = version or _default_version(session)
    units = resolve(session, set_id, chosen, "version")
    return UnitSetOut(
        id=definition.id,
        name=definition.name,
        description=definition.description,
        version=chosen,
        definition=_describe(definition),
        units=[unit_out(u) for u in units],
    )


def list_sets(session: Session, version: str | None) -> list[UnitSetOut]:
    if version is not None:
        check_version(session, version)
    found: list[UnitSetOut] = []
    for definition in definitions():
        try:
            found.append(set_out(session, definition.id, version))
        except InvalidParameter:
            continue  # not defined in this version
    return found
