"""Catalogue logic: assembling organisations, datasets and indicators for the API."""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.api.schemas import Text
from app.catalogue import repository
from app.catalogue.derived import PART_ROLES
from app.catalogue.models import ACCESS_LEVELS, Dataset, Indicator, Licence, Organisation
from app.catalogue.schemas import (
    AggregationOut,
    ContactOut,
    DatasetOut,
    DatasetRoleOut,
    DerivedFormulaOut,
    DerivedOut,
    DisclosureOut,
    Facet,
    IndicatorOut,
    IndicatorRef,
    LicenceOut,
    OrganisationOut,
    OrganisationRef,
    PartOut,
    RoleOut,
    SourceOut,
    TemporalOut,
)
from app.db import queries
from app.errors import InvalidParameter, NotFound
from app.geo.service import unit_out

ROLE_NAMES = ("owner", "publisher", "supplier", "custodian", "originator")


def organisation_ref(org: Organisation) -> OrganisationRef:
    return OrganisationRef(id=org.id, name=Text(nl=org.name_nl, en=org.name_en))


def _organisation_out(session: Session, org: Organisation) -> OrganisationOut:
    roles = [
        RoleOut(dataset=d, role=r) for d, r in repository.roles_of_organisation(session, org.id)
    ]
    return OrganisationOut(
        **organisation_ref(org).model_dump(),
        kind=org.kind,
        nis_code=org.nis_code,
        ovo_code=org.ovo_code,
        homepage=org.homepage,
        email=org.email,
        roles=roles,
    )


def list_organisations(
    session: Session, *, offset: int, limit: int
) -> tuple[list[OrganisationOut], int]:
    stmt = repository.organisations_query()
    organisations = queries.page(session, stmt, offset, limit)
    return [_organisation_out(session, o) for o in organisations], queries.count(session, stmt)


def get_organisation(session: Session, organisation_id: str) -> OrganisationOut:
    org = repository.get_organisation(session, organisation_id)
    if org is None:
        raise NotFound(f"organisation {organisation_id!r} not found", organisation=organisation_id)
    return _organisation_out(session, org)


def _indicator_ref(indicator: Indicator) -> IndicatorRef:
    return IndicatorRef(
        id=indicator.id,
        label=Text(nl=indicator.label_nl, en=indicator.label_en),
        unit_of_measure=indicator.unit_of_measure,
        aggregation=indicator.aggregation,
    )


def dataset_out(session: Session, dataset: Dataset) -> DatasetOut:
    licence = repository.get_licence(session, dataset.licence_id)
    assert licence is not None  # foreign key
    roles = repository.roles_of_dataset(session, dataset.id)
    territories = repository.territories(session, [r.id for r, _ in roles])
    role_out = [
        DatasetRoleOut(
            organisation=organisation_ref(org),
            role=role.role,
            territory=[unit_out(u) for u in territories.get(role.id, [])],
        )
        for role, org in roles
    ]
    publisher = next((organisation_ref(o) for r, o in roles if r.role == "publisher"), None)
    return DatasetOut(
        id=dataset.id,
        title=Text(nl=dataset.title_nl, en=dataset.title_en),
        description=Text(nl=dataset.description_nl, en=dataset.description_en),
        keywords=dataset.keywords,
        themes=dataset.themes,
        licence=licence_out(licence),
        access_level=dataset.access_level,
        frequency=dataset.frequency,
        geo_version=dataset.geo_version,
        temporal=_temporal_out(dataset),
        spatial=dataset.spatial,
        contact=ContactOut(name=dataset.contact_name, email=dataset.contact_email),
        source=_source_out(dataset.source),
        version=dataset.version,
        issued=dataset.issued,
        modified=dataset.modified,
        publisher=publisher,
        owners=[organisation_ref(o) for r, o in roles if r.role == "owner"],
        roles=role_out,
        indicators=[
            _indicator_ref(i) for i in repository.indicators_of_dataset(session, dataset.id)
        ],
    )


def _source_out(source: object) -> SourceOut:
    # Authored in the seeds, a free-form JSON object: only its text members are shown.
    if not isinstance(source, dict):
        return SourceOut()
    return SourceOut(
        **{
            name: value
            for name in ("title", "url", "attribution")
            if isinstance(value := source.get(name), str)
        }
    )


def licence_out(licence: Licence) -> LicenceOut:
    return LicenceOut(
        id=licence.id,
        title=Text(nl=licence.title_nl, en=licence.title_en),
        uri=licence.uri,
        description=Text(nl=licence.description_nl, en=licence.description_en),
        attribution_required=licence.attribution_required,
    )


def matching_datasets(
    session: Session,
    *,
    q: str | None,
    theme: str | None,
    organisation: str | None,
    role: str | None,
    licence: str | None,
    access_level: str | None,
) -> list[Dataset]:
    """Datasets that match the filters and ``q``: full text (stemmed) over titles,
    descriptions, keywords and their indicators' definitions, or the literal text."""
    if role is not None and role not in ROLE_NAMES:
        raise InvalidParameter("role", f"role must be one of {', '.join(ROLE_NAMES)}; got {role!r}")
    if access_level is not None and access_level not in ACCESS_LEVELS:
        raise InvalidParameter(
            "access_level",
            f"access_level must be one of {', '.join(ACCESS_LEVELS)}; got {access_level!r}",
        )
    words = repository.search_words(q) if q else []
    text_ids = repository.full_text_dataset_ids(session, words) if words else None
    stmt = repository.datasets_query(
        q=q, text_ids=text_ids, organisation=organisation, role=role, licence=licence
    )
    # The catalogue holds hundreds of datasets, not millions: theme (a JSON list) and the
    # facets are computed over the matching rows in Python, portable across databases.
    return [
        d
        for d in repository.all_datasets(session, stmt)
        if (theme is None or theme in d.themes)
        and (access_level is None or d.access_level == access_level)
    ]


def search_datasets(
    session: Session,
    *,
    q: str | None,
    theme: str | None,
    organisation: str | None,
    role: str | None,
    licence: str | None,
    access_level: str | None,
    offset: int,
    limit: int,
) -> tuple[list[DatasetOut], int, dict[str, list[Facet]]]:
    matching = matching_datasets(
        session,
        q=q,
        theme=theme,
        organisation=organisation,
        role=role,
        licence=licence,
        access_level=access_level,
    )
    facets = dataset_facets(session, matching)
    page = matching[offset : offset + limit]
    return [dataset_out(session, d) for d in page], len(matching), facets


def facet_list(counter: Counter[str]) -> list[Facet]:
    """Values with their counts, most frequent first."""
    return [
        Facet(value=v, count=n) for v, n in sorted(counter.items(), key=lambda x: (-x[1], x[0]))
    ]


def dataset_facets(session: Session, datasets: list[Dataset]) -> dict[str, list[Facet]]:
    themes: Counter[str] = Counter()
    licences: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    organisations: Counter[str] = Counter()
    holders = repository.organisations_by_dataset(session, [d.id for d in datasets])
    for dataset in datasets:
        themes.update(dataset.themes)
        licences[dataset.licence_id] += 1
        levels[dataset.access_level] += 1
        organisations.update(holders.get(dataset.id, set()))

    facet = facet_list
    return {
        "themes": facet(themes),
        "licence": facet(licences),
        "organisation": facet(organisations),
        "access_level": facet(levels),
    }


def _temporal_out(dataset: Dataset) -> TemporalOut:
    start, end = dataset.temporal_coverage
    return TemporalOut(start=start, end=end)


def get_dataset(session: Session, dataset_id: str, cache: DatasetCache | None = None) -> DatasetOut:
    """A dataset's description; with ``cache``, built once per catalogue change (one query,
    the change counter, instead of five)."""

    def build() -> DatasetOut:
        dataset = repository.get_dataset(session, dataset_id)
        if dataset is None:
            raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
        return dataset_out(session, dataset)

    if cache is None:
        return build()
    return cache.get_or_build((repository.change_count(session), dataset_id), build)


class DatasetCache:
    """Dataset descriptions of one worker, keyed on the catalogue change counter that the
    database's triggers keep (so every worker drops them at once when the catalogue changes)
    and the dataset id. The territories in a description name geography units, whose names a
    geography reload may correct without a catalogue change: an entry lives ``max_age``
    seconds at most. Read-only requests only: a description built inside a transaction that
    is then rolled back must never be stored."""

    def __init__(self, size: int = 512, max_age: float = 60.0) -> None:
        self.size = size
        self.max_age = max_age
        self._entries: OrderedDict[tuple[int, str], tuple[float, DatasetOut]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: tuple[int, str], build: Callable[[], DatasetOut]) -> DatasetOut:
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.max_age:
                self._entries.move_to_end(key)
                return found[1]
        value = build()
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value


def indicator_out(session: Session, indicator: Indicator) -> IndicatorOut:
    source = (
        repository.get_organisation(session, indicator.source_id) if indicator.source_id else None
    )
    has_disclosure = (
        indicator.disclosure_min_count is not None or indicator.disclosure_reference_id is not None
    )
    return IndicatorOut(
        id=indicator.id,
        label=Text(nl=indicator.label_nl, en=indicator.label_en),
        definition=Text(nl=indicator.definition_nl, en=indicator.definition_en),
        unit_of_measure=indicator.unit_of_measure,
        formula=indicator.formula,
        aggregation=AggregationOut(
            rule=indicator.aggregation,
            numerator=indicator.numerator,
            denominator=indicator.denominator,
            scale=indicator.scale,
            weight=indicator.weight_id,
        ),
        disclosure=DisclosureOut(
            min_count=indicator.disclosure_min_count,
            reference=indicator.disclosure_reference_id,
            min=indicator.disclosure_min,
        )
        if has_disclosure
        else None,
        source=organisation_ref(source) if source else None,
        source_column=indicator.source_column,
        caveats=Text(nl=indicator.caveats_nl, en=indicator.caveats_en),
        decimals=indicator.decimals,
        whole_numbers=indicator.whole_numbers,
        datasets=repository.datasets_of_indicator(session, indicator.id),
        derived=derived_out(session, indicator),
    )


def _label(indicator: Indicator | None, fallback: str, language: str) -> str:
    if indicator is None:
        return fallback
    return indicator.label_nl if language == "nl" else indicator.label_en


def derived_out(session: Session, indicator: Indicator) -> DerivedOut | None:
    """The derivation of a derived indicator across datasets (None for any other)."""
    row = repository.get_derived(session, indicator.id)
    if row is None:
        return None
    parts = {role: [p for p in row.parts if p["role"] == role] for role in PART_ROLES}
    labels = {
        i.id: i
        for i in (repository.get_indicator(session, p["indicator"]) for p in row.parts)
        if i is not None
    }

    def side(role: str, language: str) -> str:
        names = [
            f"{_label(labels.get(p['indicator']), p['indicator'], language)} ({p['dataset']})"
            for p in parts[role]
        ]
        return " + ".join(names)

    def part(p: dict[str, str]) -> PartOut:
        described = labels.get(p["indicator"])
        label = Text(nl=described.label_nl, en=described.label_en) if described else None
        return PartOut(indicator=p["indicator"], dataset=p["dataset"], label=label)

    scale = f" × {indicator.scale:g}" if indicator.scale != 1 else ""
    periods = row.periods or {}
    period_map = {
        str(period): {str(k): str(v) for k, v in (reads or {}).items()}
        for period, reads in (periods.get("map") or {}).items()
    }
    text_nl = (
        f"Som van {side('numerator', 'nl')} gedeeld door som van {side('denominator', 'nl')}"
        f"{scale}, over de statistische sectoren (versie {row.geo_version}) van elk gebied"
    )
    text_en = (
        f"Sum of {side('numerator', 'en')} divided by sum of {side('denominator', 'en')}"
        f"{scale}, over the statistical sectors (version {row.geo_version}) of each area"
    )
    if period_map:
        mapped_nl = "; ".join(
            f"periode {period}: " + ", ".join(f"{k} van {v}" for k, v in reads.items())
            for period, reads in period_map.items()
            if reads
        )
        mapped_en = "; ".join(
            f"period {period}: " + ", ".join(f"{k} of {v}" for k, v in reads.items())
            for period, reads in period_map.items()
            if reads
        )
        if mapped_nl:
            text_nl += f" ({mapped_nl})"
            text_en += f" ({mapped_en})"
    sources = [
        organisation_ref(org)
        for org in (repository.get_organisation(session, s) for s in row.sources)
        if org is not None
    ]
    reference = next((p for p in row.parts if p["role"] == "reference"), None)
    return DerivedOut(
        dataset=row.dataset_id,
        geo_version=row.geo_version,
        formula=DerivedFormulaOut(
            rule="ratio",
            numerator=[part(p) for p in parts["numerator"]],
            denominator=[part(p) for p in parts["denominator"]],
            scale=indicator.scale,
        ),
        formula_text=Text(nl=text_nl + ".", en=text_en + "."),
        period_rule=str(periods.get("rule") or "same"),
        period_map=period_map,
        sources=sources,
        source_datasets=sorted({p["dataset"] for p in row.parts if p["role"] != "reference"}),
        disclosure_reference=part(reference) if reference else None,
    )


def search_indicators(
    session: Session, *, q: str | None, dataset: str | None, offset: int, limit: int
) -> tuple[list[IndicatorOut], int]:
    words = repository.search_words(q) if q else []
    text_ids = repository.full_text_indicator_ids(session, words) if words else None
    stmt = repository.indicators_query(q=q, text_ids=text_ids, dataset=dataset)
    total = queries.count(session, stmt)
    return [indicator_out(session, i) for i in queries.page(session, stmt, offset, limit)], total


def get_indicator(session: Session, indicator_id: str) -> IndicatorOut:
    indicator = repository.get_indicator(session, indicator_id)
    if indicator is None:
        raise NotFound(f"indicator {indicator_id!r} not found", indicator=indicator_id)
    return indicator_out(session, indicator)


def list_licences(session: Session, *, offset: int, limit: int) -> tuple[list[LicenceOut], int]:
    stmt = repository.licences_query()
    licences = queries.page(session, stmt, offset, limit)
    return [licence_out(licence) for licence in licences], queries.count(session, stmt)
