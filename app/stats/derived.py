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
(``derived from energy-fluvius revision 3``); nothing changes when the parts did not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.catalogue import repository as catalogue_repository
from app.catalogue.models import DerivedIndicator, Indicator
from app.geo import repository as geo_repository
from app.stats import repository
from app.stats.models import Submission

if TYPE_CHECKING:
    from app.stats.importer import StoredRevision

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
    wanted = _numerator_reads(session, dataset_id)
    # Every part is named, also where its source hides nothing now: whether a ratio is under
    # disclosure control does not change with the data.
    hidden: dict[tuple[str, str], set[int]] = {
        key: set() for keys in wanted.values() for key in keys
    }
    for source_slice, units in repository.hidden_units(session, list(wanted)).items():
        for key in wanted[source_slice]:
            hidden[key].update(units)
    return hidden


def _numerator_reads(
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


def _reads(session: Session, dataset_id: str) -> dict[tuple[str, str, str], set[str]]:
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
        reads = _reads(session, dataset_id)
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


def _coverage_roots(session: Session, dataset_id: str) -> list[int] | None:
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
    roots = _coverage_roots(session, dataset_id)
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


def _sources_hold(
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


def refresh(
    session: Session,
    dataset_id: str,
    cause: str,
    changed: tuple[str, Collection[tuple[str, str]]] | None = None,
    corrected_units: Mapping[str, Collection[int]] | None = None,
    republished: Collection[tuple[str, str]] = (),
) -> int | None:
    """Bring the derived dataset's copies of its parts up to date, and its ratios after what
    their numerators' sources hide; a new revision (whose submission's source is ``cause``)
    only when something changed. Returns the revision.

    ``republished``: the source's slices its publication recomputed. A ratio is hidden
    wherever its numerator's source hides the numerator (:func:`hidden_in_sources`), and
    the source may hide other cells while the part's values, and so the copies, stay as
    they were: the connections decide where the consumption is hidden. Those ratios are
    published again."""
    from app.stats.importer import publish_hidden_moves  # the importer calls back in here

    copied = _refresh_copies(session, dataset_id, cause, changed, corrected_units)
    revision = copied.revision if copied is not None else None
    if changed is None or not republished:
        return revision
    source, _ = changed
    recomputed = set(republished)
    moved = {
        key
        for (read_from, indicator, period), keys in _numerator_reads(session, dataset_id).items()
        if read_from == source and (indicator, period) in recomputed
        for key in keys
    }
    if not moved:
        return revision
    return publish_hidden_moves(
        session, dataset_id, _submission(session, dataset_id, cause, 0), moved, copied
    )


def _submission(session: Session, dataset_id: str, cause: str, rows: int) -> Submission:
    """The record of a derived revision, made by the dataset's publisher."""
    publisher = next(
        (
            org.id
            for role, org in catalogue_repository.roles_of_dataset(session, dataset_id)
            if role.role == "publisher"
        ),
        "kenniscentrum-vlaamse-steden",
    )
    return Submission(
        dataset_id=dataset_id,
        organisation_id=publisher,
        source_name=cause,
        media_type=None,
        sha256="",
        rows_total=rows,
    )


def _refresh_copies(
    session: Session,
    dataset_id: str,
    cause: str,
    changed: tuple[str, Collection[tuple[str, str]]] | None,
    corrected_units: Mapping[str, Collection[int]] | None,
) -> StoredRevision | None:
    """The copies of the parts brought up to date (see :func:`refresh`): the revision they
    made, if any.

    ``changed`` (source dataset, its touched (indicator, period) slices) limits the work to
    the parts those slices feed, so that a supplier's small submission does not cost a copy
    of every part; everything is compared when the derived periods themselves change or a
    row disappeared from a source. ``corrected_units`` (per source period, the units a
    correction of the source changed: it added and removed no row) limits the comparison
    of those parts to these units: the copies were equal to the source before it."""
    from app.stats.importer import store_revision  # the importer calls back into this module

    reads = _reads(session, dataset_id)
    expected = {(indicator, p) for (_, indicator, _), periods in reads.items() for p in periods}
    held = repository.observation_slices(session, dataset_id)
    # A slice expected but not held is only a change when its source has rows now (a part
    # whose dataset was never loaded leaves it empty: no reason to compare everything).
    incremental = (
        changed is not None
        and held <= expected
        and not _sources_hold(session, reads, expected - held)
    )
    wanted: dict[Key, tuple[float | None, str]]
    current: dict[Key, tuple[float | None, str]]
    if incremental and changed is not None:
        source, touched = changed
        reads = {key: periods for key, periods in reads.items() if key[0] == source}
        reads = {k: v for k, v in reads.items() if (k[1], k[2]) in set(touched)}
        if not reads:
            return None
        # Compared in the database, part by part: only the rows whose copy is missing or
        # differs come back (one for a one-row submission), not both sides of every slice.
        wanted = {}
        roots = _coverage_roots(session, dataset_id)
        for (_, indicator, source_period), periods in sorted(reads.items()):
            units = corrected_units.get(source_period) if corrected_units else None
            for period in sorted(periods):
                changes, left = repository.part_copy_changes(
                    session, dataset_id, source, indicator, source_period, period, units, roots
                )
                if left:
                    incremental = False  # a row left a source: compare everything
                    break
                for unit, value, status in changes:
                    wanted[(indicator, unit, period)] = (value, status)
            if not incremental:
                break
        if incremental and not wanted:
            return None
    if not incremental:
        wanted = wanted_inputs(session, dataset_id)
        current = {
            (o.indicator_id, o.unit_id, o.period): (o.value, o.status)
            for o in repository.current_observations(session, dataset_id)
        }
        if current == wanted:
            return None
    stored = store_revision(
        session,
        dataset_id,
        wanted,
        _submission(session, dataset_id, cause, len(wanted)),
        replace_all=not incremental,
    )
    if stored.no_change:
        return None
    # New values are a change of the derived dataset too (dct:modified, modified_since).
    catalogue_repository.touch_dataset(session, dataset_id)
    return stored


def refresh_dependants(
    session: Session,
    dataset_id: str,
    revision: int,
    touched: Collection[tuple[str, str]] | None = None,
    corrected_units: Mapping[str, Collection[int]] | None = None,
    republished: Collection[tuple[str, str]] = (),
) -> list[int]:
    """After a new revision of ``dataset_id`` (whose changed rows lie in ``touched``
    slices, when known; of a correction, at ``corrected_units``; its publication recomputed
    the ``republished`` slices): recompute every derived dataset that reads it. Returns the
    derived revisions made."""
    made: list[int] = []
    for derived_dataset in dependants(session, dataset_id):
        result = refresh(
            session,
            derived_dataset,
            derived_source_name(dataset_id, revision),
            None if touched is None else (dataset_id, touched),
            None if touched is None else corrected_units,
            republished,
        )
        if result is not None:
            made.append(result)
    return made
