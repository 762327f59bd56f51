"""Monitors, comparisons and unit profiles, built on the observations query itself (the same
validation, the same published values), so a monitor never shows a number the observations
API would not give."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.access.service import authorize_read
from app.auth.service import Caller
from app.catalogue import repository as catalogue_repository
from app.catalogue.models import Dataset, Indicator
from app.config import SEEDS_DIR
from app.errors import (
    BadRequest,
    Forbidden,
    InvalidParameter,
    NotFound,
    Unauthorized,
)
from app.geo import repository as geo_repository
from app.geo import service as geo_service
from app.geo.levels import Level
from app.geo.models import GeoUnit
from app.monitors import repository
from app.monitors.schemas import (
    ComparisonOut,
    IndicatorSeries,
    MonitorDefinition,
    MonitorOut,
    MonitorSummary,
    PeriodValues,
    ProfileOut,
    ProfileRow,
    UnitValue,
    Withheld,
)
from app.stats import service as stats_service
from app.stats.aggregate import complete_value
from app.stats.formats import rounded
from app.stats.schemas import Record
from app.unitsets import repository as unitsets_repository
from app.unitsets import service as unitsets
from app.unitsets.schemas import Text

MONITORS_FILE = SEEDS_DIR / "monitors.yaml"
FLEMISH_REGION = "region:02000"
API = "/api/v1"
PCT_DECIMALS = 2


def load_definitions(path: Path) -> list[MonitorDefinition]:
    """Read and check a monitors file; a monitor names a seeded unit set."""

    def known_set(definition: MonitorDefinition) -> str | None:
        if definition.unit_set in unitsets.set_ids():
            return None
        return f"unknown unit set {definition.unit_set!r}"

    return unitsets.read_seed_list(path, MonitorDefinition, "monitors", known_set)


@lru_cache(maxsize=1)
def definitions() -> tuple[MonitorDefinition, ...]:
    """The seeded monitors (read once per process)."""
    return tuple(load_definitions(MONITORS_FILE))


def get_definition(monitor_id: str) -> MonitorDefinition:
    found = next((d for d in definitions() if d.id == monitor_id), None)
    if found is None:
        known = [d.id for d in definitions()]
        raise NotFound(
            f"monitor {monitor_id!r} not found; the monitors are: {', '.join(known)}",
            monitor=monitor_id,
            monitors=known,
        )
    return found


def summary(definition: MonitorDefinition) -> MonitorSummary:
    return MonitorSummary(
        id=definition.id,
        title=definition.title,
        description=definition.description,
        unit_set=definition.unit_set,
        reference=definition.reference,
        indicators=[p.indicator for p in definition.indicators],
    )


def list_monitors() -> list[MonitorSummary]:
    return [summary(d) for d in definitions()]


@dataclass
class Part:
    dataset: Dataset
    indicator: Indicator


def find_part(session: Session, indicator_id: str, dataset_id: str | None) -> Part:
    """The indicator and the dataset it is read from (the one dataset that carries it, or
    the one named)."""
    indicator = catalogue_repository.get_indicator(session, indicator_id)
    if indicator is None:
        raise NotFound(f"indicator {indicator_id!r} not found", indicator=indicator_id)
    carriers = catalogue_repository.datasets_of_indicator(session, indicator_id)
    if dataset_id is None:
        if not carriers:
            raise NotFound(
                f"indicator {indicator_id!r} is in no dataset yet", indicator=indicator_id
            )
        if len(carriers) > 1:
            raise InvalidParameter(
                "dataset",
                f"indicator {indicator_id!r} is in several datasets ({', '.join(carriers)}); "
                "name one with dataset",
            )
        dataset_id = carriers[0]
    elif dataset_id not in carriers:
        raise NotFound(
            f"indicator {indicator_id!r} is not in dataset {dataset_id!r}; it is in "
            f"{', '.join(carriers) or 'no dataset'}",
            indicator=indicator_id,
            dataset=dataset_id,
        )
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    return Part(dataset, indicator)


def _ref(unit: GeoUnit) -> str:
    return f"{unit.level}:{unit.code}"


def observations_url(dataset: str, **params: str | Sequence[str]) -> str:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in [value] if isinstance(value, str) else value:
            pairs.append((name, item))
    return f"{API}/datasets/{dataset}/observations?{urlencode(pairs)}"


def _ranks(values: dict[str, float]) -> dict[str, int]:
    """1 = the highest; equal values share a rank (1, 2, 2, 4)."""
    ordered = sorted(values.values(), reverse=True)
    return {ref: 1 + sum(1 for v in ordered if v > value) for ref, value in values.items()}


def _unit_value(
    unit: GeoUnit,
    period: str,
    previous: str | None,
    by_key: dict[tuple[str, str], Record],
    ranks: dict[str, int],
    decimals: int,
) -> UnitValue:
    ref = _ref(unit)
    record = by_key.get((period, ref))
    before = by_key.get((previous, ref)) if previous else None
    value = record["value"] if record else None
    prior = before["value"] if before else None
    change = change_pct = None
    # A change between two incomplete sums (a year still being supplied) would be no change
    # of the place at all.
    now, then = _complete_value(record), _complete_value(before)
    if now is not None and then is not None:
        change = rounded(now - then, decimals)
        if then != 0:
            change_pct = rounded((now - then) / abs(then) * 100, PCT_DECIMALS)
    return UnitValue(
        id=ref,
        level=unit.level,
        code=unit.code,
        name=unit.name,
        value=value,
        status=record["status"] if record else "missing",
        coverage=record["coverage"] if record else None,
        rank=ranks.get(ref),
        previous_period=previous,
        previous_value=prior,
        change=change,
        change_pct=change_pct,
    )


def _complete_value(record: Record | None) -> float | None:
    return complete_value(record["value"], record["status"]) if record is not None else None


def latest_complete(found: IndicatorSeries) -> PeriodValues | None:
    """The latest period in which every unit has a complete value; else the latest in which
    one has; else the period whose values cover most of their members (the latest of
    equals). A year that only its first supplier has delivered is not the one to show by
    default, even when no year is complete (one confidential sector keeps every year of its
    municipality incomplete)."""
    if not found.periods:
        return None
    for wanted in (all, any):
        for values in reversed(found.periods):
            if wanted(complete_value(u.value, u.status) is not None for u in values.units):
                return values
    return max(reversed(found.periods), key=_least_coverage)


def _least_coverage(values: PeriodValues) -> float:
    """The lowest share of members with a value among the period's units (0 without one)."""
    return min(
        (
            (u.coverage if u.coverage is not None else 1.0) if u.value is not None else 0.0
            for u in values.units
        ),
        default=0.0,
    )


def series(
    session: Session,
    part: Part,
    members: Sequence[GeoUnit],
    reference: GeoUnit | None,
    version: str,
    periods: Sequence[str] | None,
    *,
    rank: bool = True,
) -> IndicatorSeries:
    """The values of ``members`` (and ``reference``) for one indicator, per period, read
    with the observations query. ``periods`` None: every period the units have; a period
    the indicator lacks is a 404 naming the indicator and the periods it has."""
    refs = [_ref(u) for u in members]
    if reference is not None and _ref(reference) not in refs:
        refs.append(_ref(reference))
    query = stats_service.build_query(
        session,
        part.dataset.id,
        indicators=[part.indicator.id],
        periods=[],
        level=None,
        version=version,
        within=None,
        units=refs,
        area=[],
    )
    records = list(stats_service.iter_records(session, query))
    by_key: dict[tuple[str, str], Record] = {
        (r["period"], f"{r['level']}:{r['code']}"): r for r in records
    }
    available = sorted({r["period"] for r in records})
    for period in periods or []:
        if period not in available:
            raise NotFound(
                f"indicator {part.indicator.id!r} (dataset {part.dataset.id!r}) has no values "
                f"for period {period!r} for these units; it has "
                f"{', '.join(available) or 'no periods'}",
                indicator=part.indicator.id,
                dataset=part.dataset.id,
                period=period,
                periods=available,
            )
    shown = list(dict.fromkeys(periods)) if periods else available
    decimals = part.indicator.decimals
    out: list[PeriodValues] = []
    for period in sorted(shown):
        index = available.index(period)
        previous = available[index - 1] if index > 0 else None

        present: dict[str, float] = {}  # ranked: complete values only
        for unit in members:
            record = by_key.get((period, _ref(unit)))
            value = _complete_value(record)
            if value is not None:
                present[_ref(unit)] = value
        ranks = _ranks(present) if rank else {}
        out.append(
            PeriodValues(
                period=period,
                reference=(
                    _unit_value(reference, period, previous, by_key, {}, decimals)
                    if reference is not None
                    else None
                ),
                units=[_unit_value(u, period, previous, by_key, ranks, decimals) for u in members],
                ranked=len(present),
            )
        )
    return IndicatorSeries(
        indicator=part.indicator.id,
        dataset=part.dataset.id,
        label=Text(nl=part.indicator.label_nl, en=part.indicator.label_en),
        unit_of_measure=part.indicator.unit_of_measure,
        decimals=decimals,
        periods=out,
        api_url=observations_url(
            part.dataset.id,
            indicator=part.indicator.id,
            version=version,
            unit=refs,
            **({"period": list(shown)} if periods else {}),
        ),
    )


def _reference(session: Session, ref: str, version: str) -> GeoUnit | None:
    level, code = geo_service.parse_unit_ref(ref, "reference")
    return geo_repository.get_unit(session, level, code, version)


def _latest_version(session: Session) -> str:
    return geo_repository.latest_version(session) or ""


def monitor(
    session: Session, caller: Caller | None, monitor_id: str, periods: Sequence[str]
) -> MonitorOut:
    definition = get_definition(monitor_id)
    version = _latest_version(session)
    members = unitsets.resolve(session, definition.unit_set, version, "unit_set")
    reference = _reference(session, definition.reference, version)
    found: list[IndicatorSeries] = []
    withheld: list[Withheld] = []
    for item in definition.indicators:
        part = find_part(session, item.indicator, item.dataset)
        try:
            authorize_read(
                session, caller, part.dataset.id, f"monitor {monitor_id}: {part.indicator.id}"
            )
        except (Unauthorized, Forbidden) as exc:
            withheld.append(
                Withheld(
                    indicator=part.indicator.id,
                    dataset=part.dataset.id,
                    status=exc.status,
                    reason=exc.detail,
                )
            )
            continue
        found.append(series(session, part, members, reference, version, periods or None))
    return MonitorOut(
        **summary(definition).model_dump(),
        version=version,
        units=[geo_service.unit_out(u) for u in members],
        reference_unit=geo_service.unit_out(reference) if reference else None,
        series=found,
        withheld=withheld,
    )


def compare(
    session: Session,
    caller: Caller | None,
    indicator_id: str,
    units: Sequence[str],
    period: str | None,
    dataset_id: str | None,
    version: str | None,
) -> ComparisonOut:
    """One indicator over the given units (`level:code` or `set:NAME`) beside the Flemish
    Region, for one period (default: the latest the units have)."""
    part = find_part(session, indicator_id, dataset_id)
    authorize_read(session, caller, part.dataset.id, f"compare {indicator_id}: {', '.join(units)}")
    if version is not None:
        geo_service.check_version(session, version)
    chosen = version or _latest_version(session)
    refs = dict.fromkeys(unitsets.expand(session, units, chosen, "unit"))
    members = [geo_service.resolve_unit(session, ref, chosen, "unit") for ref in refs]
    reference = _reference(session, FLEMISH_REGION, chosen)
    if period is None:
        everything = series(session, part, members, reference, chosen, None)
        if not everything.periods:
            raise NotFound(
                f"indicator {part.indicator.id!r} has no values for these units",
                indicator=part.indicator.id,
                periods=[],
            )
        latest = latest_complete(everything)
        assert latest is not None
        result = everything.model_copy(
            update={
                "periods": [latest],
                "api_url": observations_url(
                    part.dataset.id,
                    indicator=part.indicator.id,
                    version=chosen,
                    unit=[*refs, FLEMISH_REGION],
                    period=latest.period,
                ),
            }
        )
    else:
        result = series(session, part, members, reference, chosen, [period])
    return ComparisonOut(
        version=chosen,
        units=[geo_service.unit_out(u) for u in members],
        reference_unit=geo_service.unit_out(reference) if reference else None,
        series=result,
    )


def _cityregion_of(session: Session, unit: GeoUnit) -> GeoUnit | None:
    """A centre city's own city-region; else the first city-region that contains the unit."""
    if unit.level == Level.CITYREGION:
        return None
    if unit.level == Level.MUNICIPALITY:
        for city, region in unitsets_repository.centre_city_regions(session, unit.version):
            if city.id == unit.id:
                return region
    return next(
        (a for a in geo_repository.ancestors(session, unit.id) if a.level == Level.CITYREGION), None
    )


def _region_of(session: Session, unit: GeoUnit) -> GeoUnit | None:
    if unit.level == Level.REGION:
        return None
    found = next(
        (a for a in geo_repository.ancestors(session, unit.id) if a.level == Level.REGION), None
    )
    return found or geo_repository.region_containing(session, unit.id)


def profile(session: Session, level: str, code: str, version: str | None) -> ProfileOut:
    """The latest value of every indicator of a public dataset for the unit, beside its
    city-region and region (indicators the unit cannot have are left out: those published
    only where supplied, data of a later geography version)."""
    detail = geo_service.describe_unit(session, level, code, version)
    unit = geo_repository.get_unit(session, detail.level, detail.code, detail.version)
    assert unit is not None
    cityregion = _cityregion_of(session, unit)
    region = _region_of(session, unit)
    rows: list[ProfileRow] = []
    for dataset in repository.public_datasets(session):
        for indicator in catalogue_repository.indicators_of_dataset(session, dataset.id):
            part = Part(dataset, indicator)
            try:
                found = series(session, part, [unit], None, unit.version, None, rank=False)
            except (BadRequest, InvalidParameter, NotFound):
                continue  # not published for this unit (level, version)
            shown = latest_complete(found)
            if shown is None:
                continue
            latest = shown.period
            others = [u for u in (cityregion, region) if u is not None]
            by_id: dict[str, UnitValue] = {}
            compared: IndicatorSeries | None = None
            if others and indicator.aggregation != "none":  # an average has no regional value
                compared = series(session, part, others, None, unit.version, None, rank=False)
            for values in compared.periods if compared else []:
                if values.period == latest:
                    by_id = {v.id: v for v in values.units}
            refs = [_ref(u) for u in (unit, *others)]
            rows.append(
                ProfileRow(
                    indicator=indicator.id,
                    dataset=dataset.id,
                    label=found.label,
                    unit_of_measure=indicator.unit_of_measure,
                    decimals=indicator.decimals,
                    period=latest,
                    value=shown.units[0],
                    cityregion=by_id.get(_ref(cityregion)) if cityregion else None,
                    region=by_id.get(_ref(region)) if region else None,
                    api_url=observations_url(
                        dataset.id,
                        indicator=indicator.id,
                        period=latest,
                        version=unit.version,
                        unit=refs,
                    ),
                )
            )
    return ProfileOut(
        unit=geo_service.unit_out(unit),
        cityregion=geo_service.unit_out(cityregion) if cityregion else None,
        region=geo_service.unit_out(region) if region else None,
        indicators=rows,
    )
