"""The observations query: validating a request against what a dataset can answer, reading
the published values, and aggregating ad-hoc areas."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.catalogue import repository as catalogue_repository
from app.catalogue import service as catalogue_service
from app.catalogue.models import Dataset, Indicator
from app.catalogue.schemas import IndicatorOut
from app.db import queries
from app.errors import BadRequest, InvalidParameter, NotFound
from app.geo import repository as geo_repository
from app.geo.levels import Level
from app.geo.models import GeoUnit
from app.geo.service import check_level, parse_unit_ref, successor_hint, version_hint
from app.stats import cursor as cursors
from app.stats import derived, repository
from app.stats.aggregate import (
    Cell,
    accumulate_area,
    combine_parts,
    quotient_cell,
    ratio_pairs,
    sum_cell,
    sum_pairs,
    weighted_pairs,
)
from app.stats.formats import COVERAGE_DECIMALS, csv_lines, rounded
from app.stats.schemas import ProvenanceRecord, Record
from app.unitsets import service as unitsets

LEVEL_ORDER = {level.value: rank for rank, level in enumerate(Level)}
RECORD_FIELDS = (
    "indicator",
    "period",
    "level",
    "version",
    "code",
    "name",
    "value",
    "unit_of_measure",
    "status",
    "coverage",
)
PROVENANCE_FIELDS = ("supplier", "submission", "revision")


@dataclass
class ObservationQuery:
    """A validated request: everything resolved against the catalogue and geography."""

    dataset: Dataset
    indicators: list[Indicator]
    periods: list[str]
    version: str
    level: str | None
    within: GeoUnit | None
    units: list[GeoUnit]
    area: list[GeoUnit] = field(default_factory=list)
    revision: int | None = None  # None: the current revision
    provenance: bool = False
    # As asked, before resolving to a revision (what a page cursor is bound to).
    revision_asked: int | None = None
    as_of: datetime | None = None
    # Every indicator of the dataset, asked without any filter: every published value of
    # the dataset's own geography version (at the revision asked).
    unfiltered: bool = False

    @property
    def whole_dataset(self) -> bool:
        """The query asks for exactly what the stored whole-dataset download of the current
        revision holds (so its CSV may be served from that file)."""
        return self.unfiltered and self.revision is None

    @property
    def units_of_measure(self) -> dict[str, str]:
        return {i.id: i.unit_of_measure for i in self.indicators}

    @property
    def integral(self) -> frozenset[str]:
        """Indicators published as whole numbers (counts): no decimals declared."""
        return frozenset(i.id for i in self.indicators if i.decimals == 0)


def build_query(
    session: Session,
    dataset_id: str,
    *,
    indicators: Sequence[str],
    periods: Sequence[str],
    level: str | None,
    version: str | None,
    within: str | None,
    units: Sequence[str],
    area: Sequence[str],
    revision: int | None = None,
    as_of: datetime | None = None,
    provenance: bool = False,
) -> ObservationQuery:
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    carried = catalogue_repository.indicators_of_dataset(session, dataset_id)
    by_id = {i.id: i for i in carried}
    for indicator in indicators:
        if indicator not in by_id:
            raise NotFound(
                f"indicator {indicator!r} is not in dataset {dataset_id!r}; it carries "
                f"{', '.join(by_id)}",
                indicator=indicator,
            )
    chosen = [by_id[i] for i in dict.fromkeys(indicators)] if indicators else carried
    # The periods of the revision asked for: an earlier one may hold a year since withdrawn.
    at = _resolve_revision(session, dataset, revision, as_of, bool(area))
    for period in periods:
        if not repository.has_period(session, dataset_id, [i.id for i in chosen], period, at):
            when = "" if at is None else f" at revision {at}"
            subject, owner = f"dataset {dataset_id!r}{when}", "the dataset has"
            available = repository.periods_of_dataset(session, dataset_id, at)
            if period in available:
                # The dataset has the year, not these indicators: name the years they have.
                ids = [i.id for i in chosen]
                subject = f"indicator(s) {', '.join(ids)} of {subject}"
                owner = "they have" if len(ids) > 1 else "it has"
                available = repository.published_periods(session, dataset_id, ids, at)
            raise NotFound(
                f"period {period!r} not in {subject}; {owner} "
                f"{', '.join(available) or 'no period yet'}",
                period=period,
            )
    if level is not None:
        check_level(level)
    if area and (units or within):
        raise InvalidParameter(
            "area",
            "area aggregates its units into one area; it cannot be combined with unit or within",
        )
    if area and level:
        raise InvalidParameter("area", "area gives one aggregated area; leave out level")
    if area and provenance:
        raise InvalidParameter(
            "provenance",
            "an ad-hoc area sums the values of many suppliers and has no provenance; ask for "
            "its sectors (unit=…) with provenance=true",
        )
    if area and derived.source_datasets(session, dataset_id):
        # Its parts are not published in it, and an area is built from published values.
        raise InvalidParameter(
            "area",
            f"dataset {dataset_id!r} holds indicators derived from other datasets "
            f"({', '.join(derived.source_datasets(session, dataset_id))}); they are not "
            "aggregated to ad-hoc areas: ask for the parts in those datasets",
        )

    query_version = version or dataset.geo_version
    if version is not None and version not in {v.id for v in geo_repository.list_versions(session)}:
        raise InvalidParameter("version", f"unknown geography version {version!r}")
    _check_reachable(dataset, chosen, query_version, level, bool(area))
    # The versions the dataset's values reach: its own and the later ones.
    reachable = geo_repository.version_chain(session, dataset.geo_version)
    if level is not None and not geo_repository.has_level(session, level, query_version):
        # An empty list would read as "no data here"; the level lives in another version.
        held = geo_repository.level_counts(session).get(level, {})
        hint = version_hint([v for v in reachable if v in held])
        raise BadRequest(f"geography version {query_version} has no units of level {level!r}{hint}")

    def resolve(ref: str, parameter: str) -> GeoUnit:
        return _resolve(session, ref, query_version, parameter, reachable)

    within_unit = resolve(within, "within") if within is not None else None
    if (
        within_unit is not None
        and level is not None
        and not geo_repository.has_units_inside(session, within_unit.id, level, query_version)
    ):
        # An empty list would read as "no data here" (within=municipality:44021&level=
        # municipality, within=region:04000&level=province: Brussels has no province).
        raise InvalidParameter(
            "level",
            f"no unit of level {level!r} lies inside {within_unit.level}:{within_unit.code} "
            f"in geography version {query_version}: within= takes a unit that contains units "
            f"of the level asked (a municipality for its sectors, a province for its "
            "municipalities)",
        )
    # A named set (`set:centrumsteden`) stands for its units in the query's version.
    units = unitsets.expand(session, units, query_version, "unit")
    area = unitsets.expand(session, area, query_version, "area")
    repeated = sorted(ref for ref, n in Counter(area).items() if n > 1)
    if repeated:
        raise InvalidParameter(
            "area",
            f"the area names {', '.join(repeated)} more than once (alone or in a set); each "
            "part would be counted twice",
        )
    unit_list = [resolve(ref, "unit") for ref in dict.fromkeys(units)]
    area_list = [resolve(ref, "area") for ref in dict.fromkeys(area)]
    if area_list:
        _check_no_overlap(session, area_list)
    other_level = [u for u in unit_list if level is not None and u.level != level]
    if other_level:
        # unit= names the units themselves: with a level they are not of, they were left
        # out without a word (unit=municipality:44021&level=sector answered an empty list,
        # read as "no sector data for Gent").
        names = ", ".join(f"{u.level}:{u.code}" for u in other_level)
        raise InvalidParameter(
            "level",
            f"level={level} leaves out the units named that are not of that level ({names}); "
            f"for the {level} units inside a unit, ask within={other_level[0].level}:"
            f"{other_level[0].code}&level={level}",
        )
    named = [*unit_list, *area_list, *([within_unit] if within_unit else [])]
    if query_version != dataset.geo_version and any(u.level in _OWN_VERSION_LEVELS for u in named):
        raise BadRequest(_SECTORS_ACROSS_VERSIONS.format(d=dataset))
    if (
        unit_list
        and all(u.level != Level.SECTOR for u in unit_list)
        and all(i.aggregation == "none" for i in chosen)
    ):
        # Else an empty list would read as "no data for this municipality" (with a sector
        # among the units, its rows are the answer): as asking for the units' level.
        _check_reachable(dataset, chosen, query_version, unit_list[0].level, False)
    return ObservationQuery(
        dataset=dataset,
        indicators=chosen,
        periods=list(dict.fromkeys(periods)),
        version=query_version,
        level=level,
        within=within_unit,
        units=unit_list,
        area=area_list,
        revision=at,
        provenance=provenance,
        revision_asked=revision,
        as_of=as_of,
        unfiltered=(
            {i.id for i in chosen} == set(by_id)
            and not periods
            and level is None
            and query_version == dataset.geo_version
            and within_unit is None
            and not unit_list
            and not area_list
            and not provenance
        ),
    )


def whole_dataset_query(session: Session, dataset_id: str) -> ObservationQuery:
    """Every published value of the dataset at the current revision (its whole downloads)."""
    return build_query(
        session,
        dataset_id,
        indicators=[],
        periods=[],
        level=None,
        version=None,
        within=None,
        units=[],
        area=[],
    )


def _resolve_revision(
    session: Session, dataset: Dataset, revision: int | None, as_of: datetime | None, area: bool
) -> int | None:
    if revision is None and as_of is None:
        return None
    if revision is not None and as_of is not None:
        raise InvalidParameter("as_of", "give revision or as_of, not both")
    if area:
        raise InvalidParameter("area", "ad-hoc areas are computed on the current revision only")
    latest = repository.latest_revision(session, dataset.id)
    if as_of is not None:
        try:
            # Stored in UTC, and SQLite compares the text: the moment must be in UTC too.
            moment = queries.as_utc(as_of)
        except OverflowError as exc:
            raise InvalidParameter(
                "as_of", f"as_of is outside the range of dates in UTC: {as_of.isoformat()}"
            ) from exc
        found = repository.revision_as_of(session, dataset.id, moment)
        if found is None:
            shown = moment.isoformat().replace("+00:00", "Z")
            raise NotFound(f"dataset {dataset.id!r} had no data yet at {shown}", as_of=shown)
        return None if found == latest else found
    assert revision is not None
    if not 1 <= revision <= latest:
        raise NotFound(
            f"dataset {dataset.id!r} has revisions 1 to {latest}; there is no revision {revision}",
            revision=revision,
        )
    return None if revision == latest else revision


_SECTORS_ACROSS_VERSIONS = (
    "dataset {d.id!r} is published in sector version {d.geo_version}; no official conversion "
    "of statistical sectors between versions exists, so sectors (and the wijken they make up) "
    "cannot be expressed in another version. Ask for municipalities or higher levels instead."
)
# Units made of sectors of one version: they exist in no other.
_OWN_VERSION_LEVELS = (Level.SECTOR, Level.WIJK)


def _check_reachable(
    dataset: Dataset, indicators: Sequence[Indicator], version: str, level: str | None, area: bool
) -> None:
    if version != dataset.geo_version:
        if version < dataset.geo_version:
            raise BadRequest(
                f"dataset {dataset.id!r} is published in geography version "
                f"{dataset.geo_version}; it cannot be expressed in the older version {version} "
                "(merged municipalities cannot be split)."
            )
        if level == Level.SECTOR:
            raise BadRequest(_SECTORS_ACROSS_VERSIONS.format(d=dataset))
        if level == Level.WIJK:
            # Wijken are made of sectors: what cannot cross versions cannot make them either.
            raise BadRequest(
                f"dataset {dataset.id!r} is published in sector version {dataset.geo_version}; "
                f"its values reach the units of version {version} from the municipality "
                "upwards, not its wijken (made of sectors of that version)."
            )
    for indicator in indicators:
        if indicator.aggregation != "none":
            continue
        aggregated = area or (level is not None and level != Level.SECTOR)
        if aggregated or version != dataset.geo_version:
            raise BadRequest(
                f"indicator {indicator.id!r} cannot be aggregated: it is an average or median "
                "published without its weights, so a value for a larger area cannot be "
                "derived from the sector values. Ask for level=sector in version "
                f"{dataset.geo_version}.",
                indicator=indicator.id,
            )


def _resolve(
    session: Session, ref: str, version: str, parameter: str, reachable: Sequence[str]
) -> GeoUnit:
    """The unit, or a 404 saying in which of the ``reachable`` versions it is."""
    level, code = parse_unit_ref(ref, parameter)
    unit = geo_repository.get_unit(session, level, code, version)
    if unit is None:
        # Sectors and wijken exist in their own version only: no other version to name.
        held = (
            geo_repository.versions_of_unit(session, level, code)
            if level not in _OWN_VERSION_LEVELS
            else []
        )
        hint = version_hint([v for v in reachable if v in held])
        hint += successor_hint(session, level, code, version, held)
        raise NotFound(
            f"geographic unit {level}:{code} not found in version {version}{hint}", unit=ref
        )
    return unit


def _check_no_overlap(session: Session, units: Sequence[GeoUnit]) -> None:
    """Each part of an area once: no listed unit inside another, and none sharing sectors
    with another without lying inside it (the Genk and Hasselt city-regions are both
    Limburg's referentieregio; a province and a vervoerregio can cover the same
    municipalities)."""
    ids = sorted({u.id for u in units})
    overlapping = geo_repository.units_inside(session, ids) & set(ids)
    how = "lie inside other listed units"
    if not overlapping:
        overlapping = geo_repository.units_sharing_sectors(session, ids)
        how = "have sectors in common"
    if overlapping:
        names = ", ".join(f"{u.level}:{u.code}" for u in units if u.id in overlapping)
        raise InvalidParameter(
            "area",
            f"the area's units overlap ({names} {how}); each part would be counted twice",
        )


def published_filter(query: ObservationQuery, revision: int | None) -> repository.PublishedFilter:
    return repository.PublishedFilter(
        dataset_id=query.dataset.id,
        indicators=[i.id for i in query.indicators],
        periods=query.periods,
        version=query.version,
        level=query.level,
        within_id=query.within.id if query.within else None,
        unit_ids=[u.id for u in query.units],
        revision=revision,
    )


def count_records(session: Session, query: ObservationQuery) -> int:
    if query.area:
        return len(area_records(session, query))
    return repository.count_published_rows(session, published_filter(query, query.revision))


def iter_records(
    session: Session, query: ObservationQuery, offset: int = 0, limit: int | None = None
) -> Iterator[Record]:
    """Flat records, in a stable order (indicator, period, level, unit); streamed from the
    database (an earlier revision as well: its published rows are kept)."""
    if query.area:
        records = area_records(session, query)
        yield from records[offset : None if limit is None else offset + limit]
        return
    stmt = repository.published_query(published_filter(query, query.revision)).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from _records(session, query, repository.stream(session, stmt))


def _records(session: Session, query: ObservationQuery, rows: Iterable[Any]) -> Iterator[Record]:
    if query.provenance:
        yield from _with_provenance(session, query, iter(rows))
        return
    units, integral = query.units_of_measure, query.integral
    for row in rows:
        yield _record(row, units, integral)


@dataclass
class RecordPage:
    """One page of records, and the cursor of the next page (None on the last)."""

    items: list[Record]
    total: int
    page: int
    next_cursor: str | None


def read_page(
    session: Session, query: ObservationQuery, page: int, page_size: int, cursor: str | None
) -> RecordPage:
    """A page by number (OFFSET) or, deeper and as fast as the first, after a cursor: the
    keyset position where the previous page ended. Every page after the first of a walk
    reads the revision the walk began on, so pages neither skip nor repeat records when a
    new revision arrives meanwhile, and the total comes with the cursor (counted once)."""
    digest = _query_digest(query, page_size)
    latest = repository.latest_revision(session, query.dataset.id)
    if query.area:
        return _area_page(session, query, page, page_size, cursor, digest, latest)
    if cursor is None:
        walk_revision = query.revision or latest
        stmt = repository.published_query(published_filter(query, query.revision))
        rows = list(session.execute(stmt.offset((page - 1) * page_size).limit(page_size)))
        # When the whole result fits on the first page, no count is needed.
        fits = page == 1 and len(rows) < page_size
        total = len(rows) if fits else count_records(session, query)
    else:
        state = cursors.decode(cursor, digest)
        page, total, walk_revision = state.page, state.total, state.revision
        # The current rows have an index of their own: read them while they are the walk's.
        revision = None if walk_revision == latest else walk_revision
        stmt = repository.published_query(published_filter(query, revision), after=state.position)
        rows = list(session.execute(stmt.limit(page_size)))
    items = list(_records(session, query, rows))
    next_cursor = None
    if rows and page * page_size < total:
        last = rows[-1]
        position = repository.Position(last[0], last[1], last[2], last[-1])
        next_cursor = cursors.encode(
            cursors.Cursor(page + 1, total, walk_revision, position), digest
        )
    return RecordPage(items, total, page, next_cursor)


def _area_page(
    session: Session,
    query: ObservationQuery,
    page: int,
    page_size: int,
    cursor: str | None,
    digest: bytes,
    latest: int,
) -> RecordPage:
    """A page of an ad-hoc area's records (one per indicator and period, computed on the
    current revision): its cursor counts pages, and a walk that a new revision overtook
    is refused rather than mixing two revisions."""
    if cursor is not None:
        state = cursors.decode(cursor, digest)
        if state.revision != latest:
            raise InvalidParameter(
                "cursor",
                f"dataset {query.dataset.id!r} has a new revision since this walk began; an "
                "ad-hoc area is computed on the current revision only: start again without "
                "a cursor",
            )
        page = state.page
    records = area_records(session, query)
    start = (page - 1) * page_size
    items = records[start : start + page_size]
    next_cursor = None
    if items and start + page_size < len(records):
        last = items[-1]
        # The position is not read back (the page number is): any valid one will do.
        position = repository.Position(last["indicator"], last["period"], "area", 1)
        next_cursor = cursors.encode(
            cursors.Cursor(page + 1, len(records), latest, position), digest
        )
    return RecordPage(items, len(records), page, next_cursor)


def _query_digest(query: ObservationQuery, page_size: int) -> bytes:
    """The parameters that shape a query's pages, as asked (a cursor of ``revision=3``
    stays one of revision 3 after revision 4 has arrived)."""
    return cursors.query_digest(
        (
            query.dataset.id,
            [i.id for i in query.indicators],
            query.periods,
            query.version,
            query.level,
            query.within.id if query.within else None,
            [u.id for u in query.units],
            # Only when given: the cursors of other queries stay valid.
            *([[u.id for u in query.area]] if query.area else []),
            query.provenance,
            query.revision_asked,
            query.as_of.isoformat() if query.as_of else None,
            page_size,
        )
    )


def csv_chunks(
    session: Session, query: ObservationQuery, *, parts: int | None = None
) -> Generator[bytes, None, None]:
    """The records as CSV (RFC 4180, a header line), streamed in chunks. Formatted by the
    database where it can be: PostgreSQL writes the CSV itself (COPY), SQLite formats the
    cells; provenance and ad-hoc areas are assembled here. ``parts``: see
    :func:`app.stats.repository.copy_csv`."""
    fields = RECORD_FIELDS + (PROVENANCE_FIELDS if query.provenance else ())
    if query.area or query.provenance:
        for text in csv_lines(fields, iter_records(session, query)):
            yield text.encode()
        return
    yield from repository.copy_csv(
        session, published_filter(query, query.revision), fields, parts=parts
    )


def _record(row: Any, units: dict[str, str], integral: frozenset[str]) -> Record:
    """A published row (with its unit id last) as a flat record; counts (indicators of no
    decimals) as integers."""
    indicator, period, level, version, code, name, value, status, coverage, _ = row
    # A literal, not Record(...): this runs once per row of every export.
    record: Record = {
        "indicator": indicator,
        "period": period,
        "level": level,
        "version": version,
        "code": code,
        "name": name,
        "value": int(value) if value is not None and indicator in integral else value,
        "unit_of_measure": units[indicator],
        "status": status,
        "coverage": coverage,
    }
    return record


def pinned(session: Session, query: ObservationQuery) -> ObservationQuery:
    """The query at the revision current now, for a document that states when its values
    were made (JSON-stat's ``updated``): read over several statements, or after the
    request's own transaction, the current values could be a later revision's than the
    date beside them."""
    if query.revision is not None:
        return query
    return replace(query, revision=repository.latest_revision(session, query.dataset.id))


def updated_at(session: Session, query: ObservationQuery) -> datetime:
    """When the values a query reads last changed: the dataset's modification, or for an
    earlier revision (``revision=``, ``as_of=``) the moment that revision was made."""
    if query.revision is None:
        return query.dataset.modified
    made = repository.revision_made_at(session, query.dataset.id, query.revision)
    return made if made is not None else query.dataset.modified


def _with_provenance(
    session: Session, query: ObservationQuery, rows: Iterator[Any]
) -> Iterator[ProvenanceRecord]:
    """Records with the supplier, submission and revision of each supplied value (derived
    values have none: they come from many suppliers)."""
    units, integral = query.units_of_measure, query.integral
    batch: list[Any] = []

    def flush() -> Iterator[ProvenanceRecord]:
        sector_ids = [row[-1] for row in batch if row[2] == Level.SECTOR]
        origin = repository.provenance(session, query.dataset.id, sector_ids, query.revision)
        for row in batch:
            record = _record(row, units, integral)
            supplier, submission, revision = origin.get(
                (record["indicator"], row[-1], record["period"]), (None,) * 3
            )
            yield ProvenanceRecord(
                **record, supplier=supplier, submission=submission, revision=revision
            )

    for row in rows:
        batch.append(row)
        if len(batch) >= 2000:
            yield from flush()
            batch = []
    yield from flush()


def area_records(session: Session, query: ObservationQuery) -> list[Record]:
    """One record per indicator and period for the ad-hoc area, aggregated from the published
    (already disclosure-controlled) values of its units, so no suppressed value can leak."""
    member_ids = [u.id for u in query.area]
    needed: set[str] = set()
    for indicator in query.indicators:
        needed.update({indicator.id, *indicator.numerator, *indicator.denominator})
        if indicator.weight_id:
            needed.add(indicator.weight_id)
        if indicator.disclosure_reference_id:
            needed.add(indicator.disclosure_reference_id)
    cells = repository.published_cells(
        session, query.dataset.id, sorted(needed), query.periods, query.version, member_ids
    )
    periods = sorted(query.periods or {period for _, period in cells})
    code = "+".join(f"{u.level}:{u.code}" for u in query.area)
    name = " + ".join(u.name for u in query.area)
    weights = geo_repository.sector_counts(session, member_ids)
    area = _Area(member_ids, weights, cells, _sectors_of_incomplete_ratios(session, query, cells))
    records: list[Record] = []
    # In the records' order of every other route: by indicator id, then period.
    for indicator in sorted(query.indicators, key=lambda i: i.id):
        for period in periods:
            cell = _area_cell(indicator, period, area)
            if cell is None:
                continue
            if indicator.disclosure_reference_id and indicator.disclosure_min is not None:
                reference = _area_cell(
                    _by_id(query.indicators, indicator.disclosure_reference_id, session),
                    period,
                    area,
                )
                if (
                    reference is None
                    or reference.value is None
                    or (reference.value < indicator.disclosure_min)
                ):
                    cell = Cell(None, "confidential", cell.coverage)
            elif indicator.disclosure_min_count is not None and (
                cell.value is not None and cell.value < indicator.disclosure_min_count
            ):
                cell = Cell(None, "confidential", cell.coverage)
            records.append(
                Record(
                    indicator=indicator.id,
                    period=period,
                    level="area",
                    version=query.version,
                    code=code,
                    name=name,
                    value=rounded(cell.value, indicator.decimals),
                    unit_of_measure=indicator.unit_of_measure,
                    status=cell.status,
                    coverage=rounded(cell.coverage, COVERAGE_DECIMALS),
                )
            )
    return records


def _by_id(indicators: Sequence[Indicator], indicator_id: str, session: Session) -> Indicator:
    found = next((i for i in indicators if i.id == indicator_id), None)
    if found is None:
        found = catalogue_repository.get_indicator(session, indicator_id)
    assert found is not None
    return found


@dataclass
class _Area:
    """What an ad-hoc area is computed from: its units' published cells, how many sectors
    each stands for, and the published cells of the sectors of the units whose ratio parts
    are incomplete (``inside``: unit → its sectors; their cells are in ``cells`` too)."""

    units: list[int]
    weights: Mapping[int, float]
    cells: Mapping[tuple[str, str], Mapping[int, Cell]]
    inside: Mapping[int, Sequence[int]]

    def part(
        self, indicator_id: str, period: str, members: Sequence[int] | None = None
    ) -> dict[int, Cell]:
        """The cells of the units (or of ``members``)."""
        cells = self.cells.get((indicator_id, period), {})
        return {m: cells[m] for m in (self.units if members is None else members) if m in cells}


def _sectors_of_incomplete_ratios(
    session: Session, query: ObservationQuery, cells: dict[tuple[str, str], dict[int, Cell]]
) -> dict[int, list[int]]:
    """The sectors of the area's units where a ratio's part is incomplete, their published
    cells of the parts added to ``cells``.

    A ratio is Σnumerator / Σdenominator over the members whose parts both have a value; a
    unit's published parts are summed over different members when one is incomplete, so
    their quotient is not the unit's ratio. Such a unit counts by its sectors. Sectors are
    published in the dataset's version only: in another version the units' parts are used."""
    if query.version != query.dataset.geo_version:
        return {}
    ratios = [i for i in query.indicators if i.aggregation == "ratio"]
    parts = sorted({p for r in ratios for p in (*r.numerator, *r.denominator)})
    incomplete = sorted(
        {
            unit
            for (indicator, _), by_unit in cells.items()
            if indicator in parts
            for unit, cell in by_unit.items()
            if cell.status == "incomplete"
        }
    )
    if not incomplete:
        return {}
    inside = geo_repository.sectors_within(session, incomplete)
    sectors = [s for unit in incomplete for s in inside[unit]]
    found = repository.published_cells(
        session, query.dataset.id, parts, query.periods, query.version, sectors
    )
    for key, by_sector in found.items():
        cells.setdefault(key, {}).update(by_sector)
    return inside


def _area_cell(indicator: Indicator, period: str, area: _Area) -> Cell | None:
    """The area's cell from its units' published cells: a unit's incomplete value adds its
    value and keeps the area incomplete, weighted by the unit's sectors. A ratio's unit with
    an incomplete part adds its sectors instead (see :func:`_sectors_of_incomplete_ratios`).
    An area of one unit is that unit's published cell: its sectors could not give it where a
    rule hides some of them."""
    own = area.part(indicator.id, period)
    if len(area.units) == 1:
        return own.get(area.units[0])
    if indicator.aggregation == "sum":
        acc = accumulate_area(sum_pairs(own), _covered([own]), area.weights)
        return sum_cell(acc) if acc else None
    if indicator.aggregation == "ratio":
        parts = (*indicator.numerator, *indicator.denominator)
        covered = _covered([area.part(i, period) for i in parts])
        members: list[int] = []
        for unit in area.units:
            split = unit in covered and unit in area.inside
            members.extend(area.inside[unit] if split else [unit])
        pairs = ratio_pairs(
            combine_parts([area.part(i, period, members) for i in indicator.numerator]),
            combine_parts([area.part(i, period, members) for i in indicator.denominator]),
        )
        acc = accumulate_area(pairs, covered, area.weights)
        return quotient_cell(acc, indicator.scale) if acc else None
    if indicator.aggregation == "weighted_mean" and indicator.weight_id:
        weight = area.part(indicator.weight_id, period)
        acc = accumulate_area(weighted_pairs(own, weight), _covered([own, weight]), area.weights)
        return quotient_cell(acc) if acc else None
    return None


def _covered(parts: Sequence[Mapping[int, Cell]]) -> dict[int, float]:
    """Per unit, the share of its members with a value in all of these cells (the lowest
    coverage of an incomplete one)."""
    covered: dict[int, float] = {}
    for part in parts:
        for unit, cell in part.items():
            if cell.status == "incomplete" and cell.coverage is not None:
                covered[unit] = min(covered.get(unit, 1.0), cell.coverage)
    return covered


def indicator_detail(session: Session, indicator_id: str) -> IndicatorOut:
    """The Datapedia entry with the levels, versions and periods in which it is published."""
    indicator = catalogue_service.get_indicator(session, indicator_id)
    levels: dict[str, set[str]] = {}
    versions: set[str] = set()
    periods: set[str] = set()
    for _, version, level, period in repository.published_summary(session, indicator_id):
        levels.setdefault(level, set()).add(version)
        versions.add(version)
        periods.add(period)
    return indicator.model_copy(
        update={
            "levels": sorted(levels, key=lambda lv: LEVEL_ORDER.get(lv, 99)),
            "versions": sorted(versions),
            "periods": sorted(periods),
        }
    )
