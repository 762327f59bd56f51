"""Publishing derived indicators across datasets (see :mod:`app.catalogue.derived`).

A dataset that publishes derived indicators (``climate-energy-monitor``) holds, as its own
observations, a copy of the sector observations of every part it reads — each under the part's
indicator id and the *derived* period (a period map reads the census of 2021 for consumption
year 2021, the 2021 map's areas for land-use year 2016). Its indicators are ordinary ratios of
those parts, so publication does for them what it does for any ratio: Σnumerator / Σdenominator
over each unit's sectors at every level and version, disclosure control (their own rule, whose
reference may be a part), revisions and incremental publication. The copied parts are inputs:
they are read, never published by the derived dataset. Only the sectors inside the derived
dataset's spatial coverage (``dct:spatial``) are copied: a part's source may cover more
(the census covers Brussels, the land-use file does not), and a ratio would otherwise count
the sectors its numerator's source does not cover as zero (open space 0 ha/km² in Brussels).

Whenever a source dataset gets a new revision (an import or a supplier's submission), the
copies are brought up to date in the same transaction as a new revision of the derived
dataset, whose submission names the source dataset and revision that caused it
(``derived from energy-fluvius revision 3``); nothing changes when the parts did not. This
module says what a derived dataset reads (its parts, their periods, its coverage, the cells
its sources hide); :mod:`app.stats.revisions` stores the copies and follows the sources.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy.orm import Session

from app.catalogue import repository as catalogue_repository
from app.catalogue.models import DerivedIndicator, Indicator
from app.geo import repository as geo_repository
from app.stats import repository

DERIVED_SOURCE_PREFIX = "derived from "

Key = tuple[str, int, str]  # (part indicator, unit id, derived period)


def derived_source_name(dataset_id: str, revision: int) -> str:
    return f"{DERIVED_SOURCE_PREFIX}{dataset_id} revision {revision}"


def source_datasets(session: Session, dataset_id: str) -> list[str]:
    """The datasets a dataset of derived indicators reads (none for any other dataset)."""
    return catalogue_repository.derived_sources_by_dataset(session).get(dataset_id, [])


def input_indicators(session: Session, dataset_id: str) -> list[Indicator]:
    """The parts a dataset of derived indicators reads but does not publish (its
    observations), for publication to compute what disclosure rules refer to."""
    ids: set[str] = set()
    for row in catalogue_repository.derived_indicators(session, dataset_id):
        ids.update(part["indicator"] for part in row.parts)
    if not ids:  # most datasets: no derived indicator
        return []
    published = {i.id for i in catalogue_repository.indicators_of_dataset(session, dataset_id)}
    return [
        indicator
        for indicator_id in sorted(ids - published)
        if (indicator := catalogue_repository.get_indicator(session, indicator_id)) is not None
    ]


def hidden_in_sources(session: Session, dataset_id: str) -> dict[tuple[str, str], set[int]]:
    """Per (numerator part, derived period) of the dataset's derived ratios, the units where
    the part's source publishes it confidential. The derived ratio is hidden there too:
    ratio × denominator (a published count) would give the hidden value back. Its own rule
    hides more where it must; this is what the source hides by its own groups."""
    wanted = numerator_reads(session, dataset_id)
    # Every part is named, also where its source hides nothing now: whether a ratio is under
    # disclosure control does not change with the data.
    hidden: dict[tuple[str, str], set[int]] = {
        key: set() for keys in wanted.values() for key in keys
    }
    for source_slice, units in repository.hidden_units(session, list(wanted)).items():
        for key in wanted[source_slice]:
            hidden[key].update(units)
    return hidden


def numerator_reads(
    session: Session, dataset_id: str
) -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """(source, indicator, source period) of each numerator part of the dataset's derived
    ratios → the (part, derived period) slices it is read into."""
    reads: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for row in catalogue_repository.derived_indicators(session, dataset_id):
        numerator = {(p["indicator"], p["dataset"]) for p in row.parts if p["role"] == "numerator"}
        for period, parts in _period_reads(session, row).items():
            for indicator, source in numerator:
                reads[(source, indicator, parts[(indicator, source)])].append((indicator, period))
    return reads


def _period_reads(session: Session, row: DerivedIndicator) -> dict[str, dict[tuple[str, str], str]]:
    """Per derived period, the period each part (indicator, dataset) is read from."""
    parts = {(p["indicator"], p["dataset"]) for p in row.parts}
    rule = row.periods or {"rule": "same"}
    if rule.get("rule") == "map":
        return {
            str(period): {part: str((reads or {}).get(part[0], period)) for part in sorted(parts)}
            for period, reads in (rule.get("map") or {}).items()
        }
    common: set[str] | None = None
    for indicator, dataset in parts:
        periods = set(repository.observation_periods(session, dataset, indicator))
        common = periods if common is None else common & periods
    return {period: dict.fromkeys(sorted(parts), period) for period in sorted(common or ())}


def part_reads(session: Session, dataset_id: str) -> dict[tuple[str, str, str], set[str]]:
    """(source dataset, part indicator, source period) → the derived periods reading it."""
    reads: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for row in catalogue_repository.derived_indicators(session, dataset_id):
        for period, parts in _period_reads(session, row).items():
            for (indicator, dataset), source_period in parts.items():
                reads[(dataset, indicator, source_period)].add(period)
    return reads


def wanted_inputs(
    session: Session,
    dataset_id: str,
    reads: dict[tuple[str, str, str], set[str]] | None = None,
) -> dict[Key, tuple[float | None, str]]:
    """The observations the derived dataset should hold now (of every part, or of the
    ``reads`` given): the parts' current sector values, under the derived periods."""
    if reads is None:
        reads = part_reads(session, dataset_id)
    covered = _coverage(session, dataset_id)
    wanted: dict[Key, tuple[float | None, str]] = {}
    by_dataset: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for dataset, indicator, source_period in reads:
        by_dataset[dataset].append((indicator, source_period))
    for dataset, pairs in sorted(by_dataset.items()):
        observations = repository.current_observations(
            session,
            dataset,
            indicators=sorted({i for i, _ in pairs}),
            periods=sorted({p for _, p in pairs}),
        )
        for obs in observations:
            if covered is not None and obs.unit_id not in covered:
                continue
            for period in reads.get((dataset, obs.indicator_id, obs.period), ()):
                wanted[(obs.indicator_id, obs.unit_id, period)] = (obs.value, obs.status)
    return wanted


def coverage_roots(session: Session, dataset_id: str) -> list[int] | None:
    """The units of the dataset's spatial coverage in its geography version (None: it states
    none that the version has, and nothing is left out)."""
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        return None
    roots = []
    for ref in dataset.spatial or ():
        level, _, code = ref.partition(":")
        unit = geo_repository.get_unit(session, level, code, dataset.geo_version)
        if unit is not None:
            roots.append(unit.id)
    return roots or None


def _coverage(session: Session, dataset_id: str) -> set[int] | None:
    """Every unit inside the dataset's spatial coverage (None: no limit)."""
    roots = coverage_roots(session, dataset_id)
    return None if roots is None else geo_repository.units_inside(session, roots)


def dependants(session: Session, dataset_id: str) -> list[str]:
    """The datasets publishing derived indicators with a part read from ``dataset_id``."""
    return sorted(
        {
            row.dataset_id
            for row in catalogue_repository.derived_indicators(session)
            if row.dataset_id != dataset_id
            and any(part["dataset"] == dataset_id for part in row.parts)
        }
    )


def sources_hold(
    session: Session,
    reads: dict[tuple[str, str, str], set[str]],
    slices: Collection[tuple[str, str]],
) -> bool:
    """Whether any source has a current observation of a part feeding these (part
    indicator, derived period) slices (an index probe each)."""
    wanted = set(slices)
    return any(
        repository.indicators_in_period(session, dataset, [indicator], source_period)
        for (dataset, indicator, source_period), periods in sorted(reads.items())
        if any((indicator, period) in wanted for period in periods)
    )
