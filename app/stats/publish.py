"""Computing what a dataset publishes, when its data arrive (not when they are asked for).

From the current observations (the finest level supplied) this derives, for every indicator
and period, a value at every unit of the dataset's geography version that contains data —
sector, municipality, arrondissement, province, region, referentieregio, vervoerregio,
city-region — and, for data in the 2024 version, at the 2025 municipalities and every 2025
unit above them (a merged municipality is the exact union of its predecessors). Disclosure
control is applied last. The result replaces the dataset's rows in ``published_value``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.catalogue.models import Indicator
from app.catalogue.repository import get_dataset, indicators_of_dataset
from app.geo.levels import Level
from app.stats import repository
from app.stats.aggregate import (
    Cell,
    Incidence,
    accumulate_many,
    combine_parts,
    member_cells,
    quotient_cell,
    ratio_pairs,
    sum_cell,
    sum_pairs,
    weighted_pairs,
)
from app.stats.disclosure import suppress

LATEST_VERSION = "2025"
REGIONALISATION_LEVELS = {Level.REFERENTIEREGIO, Level.VERVOERREGIO, Level.CITYREGION}


@dataclass
class Targets:
    """For each member unit, every unit whose value it contributes to (itself excluded)."""

    of_member: dict[int, list[int]]
    groups: list[list[int]]
    incidence: Incidence


def build_targets(
    geo: repository.VersionGeography, successors: Mapping[int, int], member_ids: set[int]
) -> Targets:
    of_member: dict[int, list[int]] = {}
    for member in member_ids:
        targets = list(geo.ancestors.get(member, ()))
        # 2024 data on 2025 units: through the member's municipality and its successor.
        municipality = next((a for a in targets if geo.level.get(a) == Level.MUNICIPALITY), None)
        if geo.level.get(member) == Level.MUNICIPALITY:
            municipality = member
        successor = successors.get(municipality) if municipality is not None else None
        if successor is not None:
            targets.append(successor)
            targets.extend(geo.ancestors.get(successor, ()))
        of_member[member] = targets
    return Targets(of_member, _disclosure_groups(geo, successors, of_member), Incidence(of_member))


def _disclosure_groups(
    geo: repository.VersionGeography,
    successors: Mapping[int, int],
    of_member: Mapping[int, Sequence[int]],
) -> list[list[int]]:
    published: set[int] = set(of_member)
    for targets in of_member.values():
        published.update(targets)
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for unit in published:
        parent = geo.parent.get(unit)
        if parent is not None and parent in published:
            groups[("parent", parent)].append(unit)
        if geo.level.get(unit) == Level.MUNICIPALITY:
            for ancestor in geo.ancestors.get(unit, ()):
                if geo.level.get(ancestor) in REGIONALISATION_LEVELS:
                    groups[("member", ancestor)].append(unit)
            successor = successors.get(unit)
            if successor is not None:
                groups[("predecessor", successor)].append(unit)
    return [sorted(children) for children in groups.values()]


def _base_cells(
    observations: Sequence[repository.StoredObservation],
) -> dict[tuple[str, str], dict[int, Cell]]:
    cells: dict[tuple[str, str], dict[int, Cell]] = defaultdict(dict)
    for obs in observations:
        cells[(obs.indicator_id, obs.period)][obs.unit_id] = Cell(obs.value, obs.status)
    return cells


def compute_cells(
    indicators: Sequence[Indicator],
    base: Mapping[tuple[str, str], Mapping[int, Cell]],
    targets: Targets,
) -> dict[tuple[str, str], dict[int, Cell]]:
    """True values of every indicator and period at every unit (before disclosure control)."""
    periods = sorted({period for _, period in base})
    result: dict[tuple[str, str], dict[int, Cell]] = {}
    empty: dict[int, Cell] = {}
    for indicator in indicators:
        for period in periods:
            own = base.get((indicator.id, period), empty)
            cells: dict[int, Cell]
            if indicator.aggregation == "sum":
                cells = dict(own)
                accs = accumulate_many(sum_pairs(own), targets.incidence)
                cells.update({unit: sum_cell(acc) for unit, acc in accs.items()})
            elif indicator.aggregation == "ratio":
                numerator = combine_parts(
                    [base.get((i, period), empty) for i in indicator.numerator]
                )
                denominator = combine_parts(
                    [base.get((i, period), empty) for i in indicator.denominator]
                )
                if not numerator or not denominator:
                    continue  # a part was never supplied for this period: no ratio to publish
                pairs = ratio_pairs(numerator, denominator)
                cells = member_cells(
                    pairs, quotient=True, scale=indicator.scale, only=denominator.keys()
                )
                accs = accumulate_many(pairs, targets.incidence)
                cells.update(
                    {unit: quotient_cell(acc, indicator.scale) for unit, acc in accs.items()}
                )
            elif indicator.aggregation == "weighted_mean" and indicator.weight_id:
                pairs = weighted_pairs(own, base.get((indicator.weight_id, period), empty))
                cells = dict(own)
                accs = accumulate_many(pairs, targets.incidence)
                cells.update({unit: quotient_cell(acc) for unit, acc in accs.items()})
            else:  # "none": published only where supplied
                cells = dict(own)
            if cells:
                result[(indicator.id, period)] = cells
    return result


def apply_disclosure(
    indicators: Sequence[Indicator],
    cells: Mapping[tuple[str, str], dict[int, Cell]],
    targets: Targets,
) -> dict[tuple[str, str], dict[int, Cell]]:
    by_id = {i.id: i for i in indicators}
    result = dict(cells)
    for (indicator_id, period), values in cells.items():
        indicator = by_id[indicator_id]
        if indicator.disclosure_min_count is not None:
            size = {u: c.value for u, c in values.items()}
            minimum = indicator.disclosure_min_count
        elif indicator.disclosure_reference_id is not None and indicator.disclosure_min is not None:
            reference = cells.get((indicator.disclosure_reference_id, period), {})
            size = {u: (reference[u].value if u in reference else None) for u in values}
            minimum = indicator.disclosure_min
        else:
            continue
        result[(indicator_id, period)] = suppress(values, size, minimum, targets.groups)
    return result


@dataclass
class DerivedValues:
    """Every value of a dataset at one revision, keyed by (indicator, period) and unit."""

    cells: dict[tuple[str, str], dict[int, Cell]]
    geo: repository.VersionGeography


def derive(
    session: Session, dataset_id: str, observations: Sequence[repository.StoredObservation]
) -> DerivedValues:
    """Supplied values, aggregates and conversions, with disclosure control applied."""
    dataset = get_dataset(session, dataset_id)
    assert dataset is not None
    indicators = indicators_of_dataset(session, dataset_id)
    versions = [dataset.geo_version]
    successors: dict[int, int] = {}
    if dataset.geo_version != LATEST_VERSION:
        versions.append(LATEST_VERSION)
        successors = repository.successors_between(session, dataset.geo_version, LATEST_VERSION)
    geo = repository.load_geography(session, versions)
    targets = build_targets(geo, successors, {o.unit_id for o in observations})
    cells = apply_disclosure(
        indicators, compute_cells(indicators, _base_cells(observations), targets), targets
    )
    return DerivedValues(cells, geo)


def publish_dataset(
    session: Session,
    dataset_id: str,
    revision: int,
    observations: Sequence[repository.StoredObservation] | None = None,
) -> int:
    """Recompute and store every published value of the dataset; returns the row count.
    ``observations`` are the current ones when the caller already has them."""
    if observations is None:
        observations = repository.current_observations(session, dataset_id)
    derived = derive(session, dataset_id, observations)
    geo = derived.geo
    # Supplied values of indicators without disclosure control are published as they are:
    # the database copies them, and only what Datapedia derived is written from here.
    copied = {
        i.id
        for i in indicators_of_dataset(session, dataset_id)
        if i.aggregation in ("sum", "none")
        and i.disclosure_min_count is None
        and i.disclosure_reference_id is None
    }
    supplied: dict[tuple[str, str], set[int]] = defaultdict(set)
    for obs in observations:
        if obs.indicator_id in copied:
            supplied[(obs.indicator_id, obs.period)].add(obs.unit_id)

    def rows() -> Iterator[tuple[str, str, str, str, int, float | None, str, float | None]]:
        for (indicator_id, period), values in derived.cells.items():
            own = supplied.get((indicator_id, period), set())
            for unit, cell in values.items():
                if unit in own:
                    continue
                yield (
                    indicator_id,
                    period,
                    geo.version[unit],
                    geo.level[unit],
                    unit,
                    cell.value,
                    cell.status,
                    cell.coverage,
                )

    return repository.replace_published(
        session, dataset_id, revision, rows(), copied_indicators=sorted(copied)
    )
