"""What each HTML page shows, gathered from the domain services (no FastAPI here): the same
services and the same observation query as the JSON API, so a page never shows a number the
API would not give."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, get_args
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.catalogue import service as catalogue_service
from app.catalogue.schemas import DatasetOut, Facet, IndicatorOut, OrganisationRef
from app.errors import BadRequest, InvalidParameter, NotFound
from app.feedback import service as feedback_service
from app.feedback.schemas import NewMessage, NewThread, ThreadOut
from app.geo import repository as geo_repository
from app.geo import service as geo_service
from app.geo.levels import Level
from app.geo.schemas import UnitDetail, UnitOut
from app.monitors import service as monitors_service
from app.monitors.schemas import UnitValue
from app.search import service as search_service
from app.search.schemas import IndicatorHit
from app.stats import repository as stats_repository
from app.stats import service as stats_service
from app.stats.aggregate import complete_value
from app.stats.formats import Format
from app.stats.schemas import Record
from app.web import repository

FLEMISH_REGION = "region:02000"
CLASSES = 5  # class breaks of a choropleth: quintiles
PREVIEW_ROWS = 10
# The indicator a place's sector map shows first: "where do people live densely".
PLACE_MAP_INDICATOR = "population-density"
API = "/api/v1"


def observations_url(dataset: str, **params: str | Sequence[str]) -> str:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in [value] if isinstance(value, str) else value:
            pairs.append((name, item))
    return f"{API}/datasets/{dataset}/observations?{urlencode(pairs)}"


@dataclass
class Cell:
    value: float | None
    status: str
    # The share of its parts supplied, for a total of parts (None: not one, or every part).
    coverage: float | None = None


@dataclass
class SeriesRow:
    """One unit of a comparison: its values per period."""

    ref: str  # level:code
    name: str
    kind: str  # city, cityregion, region
    cells: dict[str, Cell]


@dataclass
class Comparison:
    periods: list[str]
    rows: list[SeriesRow]
    api_url: str
    unavailable: bool = False
    # City-regions that cover the same municipalities (their values are the same): the code
    # and name of each.
    same_area: list[list[tuple[str, str]]] = field(default_factory=list)


@dataclass
class MapData:
    """Values of one level for a choropleth: the table, the class breaks and where the
    geometry comes from."""

    level: str
    version: str
    period: str
    records: list[Record]
    breaks: list[float]
    geometry_url: str
    api_url: str
    within: UnitOut | None = None


@dataclass(frozen=True)
class FormulaTerm:
    """A piece of an indicator's formula as written: an indicator it names (``indicator``
    set: shown by its label, linked to its page), or the operators and numbers between."""

    text: str
    indicator: str | None = None


# A name in a formula: an indicator id, or ``dataset:indicator`` in a derived one.
_FORMULA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:-]*")


def formula_terms(formula: str | None, indicators: Collection[str]) -> list[FormulaTerm]:
    """``formula`` cut into the ``indicators`` it names and the text between (``*`` as the
    ``×`` people write); a name that is no indicator (a number) stays text."""
    terms: list[FormulaTerm] = []
    written = 0
    for match in _FORMULA_NAME.finditer(formula or ""):
        indicator = match[0].rsplit(":", 1)[-1]
        if indicator not in indicators:
            continue
        if match.start() > written:
            terms.append(FormulaTerm(_operators(formula or "", written, match.start())))
        terms.append(FormulaTerm(match[0], indicator))
        written = match.end()
    if formula and written < len(formula):
        terms.append(FormulaTerm(_operators(formula, written, len(formula))))
    return terms


def _operators(formula: str, start: int, end: int) -> str:
    return formula[start:end].replace("*", "×")


@dataclass
class IndicatorPage:
    indicator: IndicatorOut
    dataset: DatasetOut | None
    comparison: Comparison | None
    map: MapData | None
    inside: MapData | None
    municipalities: list[UnitOut]
    chosen: str | None
    suppliers: list[OrganisationRef]  # shown in the page's language

    @property
    def chosen_municipality(self) -> UnitOut | None:
        """The municipality ``?in=`` names, if it names one of the list."""
        return next((u for u in self.municipalities if u.code == self.chosen), None)


@dataclass
class KeyFigure:
    indicator: IndicatorOut
    dataset: str
    period: str
    here: Cell
    cityregion: Cell | None
    region: Cell | None
    api_url: str
    change: float | None = None
    change_pct: float | None = None
    previous_period: str | None = None


@dataclass
class PlacePage:
    unit: UnitDetail
    cityregion: UnitOut | None
    figures: list[KeyFigure]
    map: MapData | None
    map_indicator: IndicatorOut | None
    profile_url: str = ""
    region: UnitOut | None = None
    current: bool = True  # in the latest geography version

    @property
    def name(self) -> str:
        """The place as its title names it: a sector with its municipality ("Station (Gent)":
        17 sectors are called "Station"), as the wijken's own names are."""
        municipality = self.unit.parents.get(Level.MUNICIPALITY)
        if self.unit.level != Level.SECTOR or municipality is None:
            return self.unit.name
        return sector_name(self.unit.name, municipality.name)


def sector_name(name: str, municipality: str) -> str:
    """A sector's name with its municipality's: "Station (Gent)"; "Heiken (Brecht)" is
    called so already (it read "Heiken (Brecht) (Brecht)")."""
    suffix = f"({municipality})"
    return name if name.endswith(suffix) else f"{name} {suffix}"


@dataclass
class DatasetPage:
    dataset: DatasetOut
    periods: list[str]
    values: int | None
    preview: list[Record]
    preview_url: str | None
    levels: list[str]
    public: bool
    # The datasets a derived dataset is computed from (its source, said in words and links).
    derived_from: list[str] = field(default_factory=list)


@dataclass
class HomePage:
    themes: list[Facet]
    newest: list[DatasetOut]
    headline: list[tuple[IndicatorOut, Comparison]]


@dataclass
class SearchPage:
    q: str
    datasets: list[DatasetOut]
    total: int
    facets: dict[str, list[Facet]]
    indicators: list[IndicatorHit]
    places: list[UnitOut]
    filters: dict[str, str] = field(default_factory=dict)
    topic: str = ""  # the words of q the datasets were searched by (q without its place)
    # Each sector found by its code, named with its municipality as its page names it:
    # "Klaverblad (Sint-Niklaas)" (Antwerpen has a Klaverblad too).
    sector_names: dict[str, str] = field(default_factory=dict)


def _records(
    session: Session,
    dataset: str,
    indicator: str,
    *,
    units: Sequence[str] = (),
    level: str | None = None,
    within: str | None = None,
    version: str | None = None,
    periods: Sequence[str] = (),
) -> list[Record] | None:
    """The API's records, or None where the API would refuse (an indicator published only at
    the level supplied, a unit not in the version)."""
    try:
        query = stats_service.build_query(
            session,
            dataset,
            indicators=[indicator],
            periods=periods,
            level=level,
            version=version,
            within=within,
            units=units,
            area=[],
        )
    except (BadRequest, InvalidParameter, NotFound):
        return None
    return list(stats_service.iter_records(session, query))


def _latest_version(session: Session) -> str:
    return geo_repository.latest_version(session) or ""


def comparison(
    session: Session, indicator: IndicatorOut, *, cities_only: bool = False
) -> Comparison:
    """The Stadsmonitor view: each centre city, its city-region and the Flemish Region, over
    every period, in the latest geography version."""
    dataset = indicator.datasets[0]
    version = _latest_version(session)
    pairs = repository.centre_cities(session)
    refs = [f"municipality:{c.code}" for c, _ in pairs]
    if not cities_only:
        refs += [f"cityregion:{r.code}" for _, r in pairs] + [FLEMISH_REGION]
    url = observations_url(dataset, indicator=indicator.id, version=version, unit=refs)
    records = _records(session, dataset, indicator.id, units=refs, version=version)
    if records is None:
        return Comparison([], [], url, unavailable=True)
    by_ref: dict[str, dict[str, Cell]] = {}
    names: dict[str, str] = {}
    for record in records:
        ref = f"{record['level']}:{record['code']}"
        by_ref.setdefault(ref, {})[record["period"]] = Cell(
            record["value"], record["status"], record.get("coverage")
        )
        names[ref] = record["name"]
    rows: list[SeriesRow] = []
    for city, region in pairs:
        rows.append(_row(f"municipality:{city.code}", city.name, "city", by_ref))
        if not cities_only:
            rows.append(_row(f"cityregion:{region.code}", region.name, "cityregion", by_ref))
    if not cities_only:
        rows.append(_row(FLEMISH_REGION, names.get(FLEMISH_REGION, ""), "region", by_ref))
    periods = sorted({r["period"] for r in records})
    same_area = (
        []
        if cities_only
        else [
            [(u.code, u.name) for u in group]
            for group in repository.same_extent(session, [r for _, r in pairs])
        ]
    )
    return Comparison(periods, rows, url, same_area=same_area)


def _latest_complete_period(flemish: Mapping[str, Cell], periods: Sequence[str]) -> str:
    """The latest period whose Flemish Region value (``flemish``, by period) is complete,
    every sector supplied: a map's or a preview's default, not a year only its first
    supplier has delivered yet. When none is (a confidential sector in every year), the one
    most supplied, the latest of those."""
    for period in reversed(periods):
        cell = flemish.get(period)
        if cell is not None and complete_value(cell.value, cell.status) is not None:
            return period

    def supplied(period: str) -> tuple[float, str]:
        cell = flemish.get(period)
        if cell is None or cell.value is None:
            return 0.0, period
        return (1.0 if cell.coverage is None else cell.coverage), period

    return max(periods, key=supplied)


def _row(ref: str, name: str, kind: str, by_ref: dict[str, dict[str, Cell]]) -> SeriesRow:
    return SeriesRow(ref, name, kind, by_ref.get(ref, {}))


def class_breaks(values: Sequence[float], classes: int = CLASSES) -> list[float]:
    """Upper bounds of quantile classes (the last is the maximum); fewer when values repeat."""
    ordered = sorted(values)
    if not ordered:
        return []
    breaks: list[float] = []
    for k in range(1, classes + 1):
        bound = ordered[min(len(ordered) - 1, (k * len(ordered)) // classes - 1)]
        if not breaks or bound > breaks[-1]:
            breaks.append(bound)
    return breaks


def _drawn_version(session: Session, level: str, version: str) -> str:
    """The geography version whose shapes draw ``level`` for data of ``version``: its own
    when it has shapes, else the latest earlier one that has (sector shapes exist for the
    2024 sector version only; the map matches units by code and lists the rest as
    "geen kaartvlak")."""
    drawn = geo_repository.geometry_versions(session, level)
    if version in drawn or not drawn:
        return version
    earlier = [v for v in drawn if version in geo_repository.version_chain(session, v)]
    return (earlier or drawn)[-1]


def _map(
    session: Session,
    indicator: IndicatorOut,
    dataset: str,
    *,
    level: str,
    version: str,
    period: str,
    within: UnitOut | None = None,
) -> MapData | None:
    within_ref = f"{within.level}:{within.code}" if within else None
    records = _records(
        session, dataset, indicator.id, level=level, within=within_ref, version=version,
        periods=[period],
    )  # fmt: skip
    if not records:
        return None
    geometry = {"level": level, "version": _drawn_version(session, level, version)}
    if within_ref:
        geometry["within"] = within_ref
    api = {"indicator": indicator.id, "level": level, "version": version, "period": period}
    if within_ref:
        api["within"] = within_ref
    # The classes are those of the units drawn: a not-localisable unit is listed, not drawn.
    undrawn = geo_repository.not_localisable_codes(session, level, version)
    values = [r["value"] for r in records if r["value"] is not None and r["code"] not in undrawn]
    return MapData(
        level=level,
        version=version,
        period=period,
        records=records,
        breaks=class_breaks(values),
        geometry_url=f"{API}/geo/boundaries?{urlencode(geometry)}",
        api_url=observations_url(dataset, **api, page_size="1000"),
        within=within,
    )


def _flemish_region(session: Session, version: str) -> UnitOut | None:
    unit = geo_repository.get_unit(session, Level.REGION, FLEMISH_REGION.split(":")[1], version)
    return geo_service.unit_out(unit) if unit else None


def _inside_map(
    session: Session, indicator: IndicatorOut, dataset: str, version: str, period: str,
    unit: UnitOut,
) -> MapData | None:  # fmt: skip
    """The map inside a municipality: sectors where the data's version has sector shapes,
    else its wijken (the 2025 sectors have no shapes; the 2025 wijken have)."""
    with_shapes = version in geo_repository.geometry_versions(session, Level.SECTOR)
    for level in (Level.SECTOR, Level.WIJK) if with_shapes else (Level.WIJK, Level.SECTOR):
        drawn = _map(
            session, indicator, dataset, level=level, version=version, period=period, within=unit
        )
        if drawn is not None:
            return drawn
    return None


def _dataset_of(session: Session, indicator: IndicatorOut) -> DatasetOut | None:
    """The dataset whose values the indicator's pages show."""
    if not indicator.datasets:
        return None
    return catalogue_service.get_dataset(session, indicator.datasets[0])


def indicator_page(session: Session, indicator: IndicatorOut, chosen: str | None) -> IndicatorPage:
    """``indicator``: its detail (with periods), as the caller already has it."""
    dataset = _dataset_of(session, indicator)
    public = dataset is not None and dataset.access_level == "public"
    compared = comparison(session, indicator) if public and indicator.periods else None
    version = _latest_version(session)
    flemish = inside = None
    municipalities: list[UnitOut] = []
    if dataset is not None and public and indicator.periods:
        region = next((r for r in compared.rows if r.kind == "region"), None) if compared else None
        period = _latest_complete_period(region.cells if region else {}, indicator.periods)
        flemish = _map(
            session, indicator, dataset.id, level=Level.MUNICIPALITY, version=version,
            period=period, within=_flemish_region(session, version),
        )  # fmt: skip
        municipalities = [
            geo_service.unit_out(u)
            for u in repository.flemish_municipalities(
                session, dataset.geo_version, FLEMISH_REGION.split(":")[1]
            )
        ]
        unit = next((u for u in municipalities if u.code == chosen), None)
        if unit is not None:
            inside = _inside_map(session, indicator, dataset.id, dataset.geo_version, period, unit)
    suppliers = [r.organisation for r in (dataset.roles if dataset else []) if r.role == "supplier"]
    return IndicatorPage(
        indicator, dataset, compared, flemish, inside, municipalities, chosen, suppliers
    )


def place_page(session: Session, level: str, code: str, version: str | None) -> PlacePage:
    """The place page: its profile (the API's ``/geo/units/{level}/{code}/profile``) as the
    table of key figures, and the map of its sectors."""
    unit = geo_service.describe_unit(session, level, code, version)
    found = monitors_service.profile(session, unit.level, unit.code, unit.version)
    cityregion = found.cityregion
    figures: list[KeyFigure] = []
    map_indicator: IndicatorOut | None = None
    map_data: MapData | None = None
    for row in found.indicators:
        indicator = catalogue_service.get_indicator(session, row.indicator)
        figures.append(
            KeyFigure(
                indicator=indicator,
                dataset=row.dataset,
                period=row.period,
                here=Cell(row.value.value, row.value.status),
                cityregion=_cell(row.cityregion) if cityregion else None,
                region=_cell(row.region),
                api_url=row.api_url,
                change=row.value.change,
                change_pct=row.value.change_pct,
                previous_period=row.value.previous_period,
            )
        )
        if indicator.id == PLACE_MAP_INDICATOR and unit.level == Level.MUNICIPALITY:
            dataset = catalogue_service.get_dataset(session, row.dataset)
            map_indicator = indicator
            map_data = _inside_map(
                session, indicator, dataset.id, dataset.geo_version, row.period,
                UnitOut.model_validate(unit.model_dump()),
            )  # fmt: skip
    profile_url = f"{API}/geo/units/{unit.level}/{unit.code}/profile?version={unit.version}"
    return PlacePage(
        unit, cityregion, figures, map_data, map_indicator, profile_url, found.region,
        current=unit.version == _latest_version(session),
    )  # fmt: skip


def _cell(value: UnitValue | None) -> Cell | None:
    return Cell(value.value, value.status) if value is not None else None


def dataset_page(session: Session, dataset_id: str) -> DatasetPage:
    dataset = catalogue_service.get_dataset(session, dataset_id)
    public = dataset.access_level == "public"
    periods = stats_repository.periods_of_dataset(session, dataset_id)
    # Not counted where the values are not public: a page shows nobody's restricted data.
    values = stats_repository.count_published(session, dataset_id) if public else None
    preview: list[Record] = []
    preview_url = None
    levels: list[str] = []
    if dataset.indicators:
        first = dataset.indicators[0]
        # What the observations query accepts for the first indicator: a rule "none" is
        # published only at the level supplied.
        # The levels of the dataset's geography version (a 2024 dataset has no wijken, no
        # city-regions): the builder has no version field to reach another one.
        held = geo_repository.level_counts(session)
        levels = (
            [Level.SECTOR]
            if first.aggregation == "none"
            else [lv.value for lv in Level if dataset.geo_version in held.get(lv.value, {})]
        )
        if public and periods:
            level = Level.MUNICIPALITY if Level.MUNICIPALITY in levels else levels[0]
            flemish = _records(session, dataset_id, first.id, units=[FLEMISH_REGION]) or []
            period = _latest_complete_period(
                {r["period"]: Cell(r["value"], r["status"], r.get("coverage")) for r in flemish},
                periods,
            )
            params = {"indicator": first.id, "level": level, "period": period}
            records = _records(session, dataset_id, first.id, level=level, periods=[period])
            preview = (records or [])[:PREVIEW_ROWS]
            preview_url = observations_url(dataset_id, **params, page_size=str(PREVIEW_ROWS))
    return DatasetPage(
        dataset, periods, values, preview, preview_url, levels, public,
        repository.derived_from(session, dataset_id),
    )  # fmt: skip


def home_page(session: Session) -> HomePage:
    datasets, _, facets = catalogue_service.search_datasets(
        session, q=None, theme=None, organisation=None, role=None, licence=None,
        access_level=None, offset=0, limit=1000,
    )  # fmt: skip
    by_id = {d.id: d for d in datasets}
    newest = [by_id[d.id] for d in repository.newest_datasets(session, 5) if d.id in by_id]
    headline: list[tuple[IndicatorOut, Comparison]] = []
    for indicator_id in ("population", "population-density", "share-65plus"):
        try:
            indicator = catalogue_service.get_indicator(session, indicator_id)
        except NotFound:
            continue
        dataset = _dataset_of(session, indicator)
        # Values of a restricted or non-public dataset are never shown on a page (an
        # anonymous one least of all); the indicator page follows the same rule.
        if dataset is None or dataset.access_level != "public":
            continue
        compared = comparison(session, indicator, cities_only=True)
        if not compared.unavailable and compared.periods:
            headline.append((indicator, compared))
    return HomePage(facets.get("themes", []), newest, headline)


def search_page(session: Session, q: str, filters: dict[str, str]) -> SearchPage:
    """The search API's answers: datasets with facets, and for a text the indicators and
    places that match (a municipality named as typed first: "Gent" reaches Gent)."""
    text = q.strip()
    topic = ""
    indicators: list[IndicatorHit] = []
    places: list[UnitOut] = []
    if text:
        # "bevolking gent": the datasets of the topic, as the places and indicators are.
        topic, hits = search_service.search_with_topic(session, text, "")
        indicators, places = hits.indicators, hits.places
        places.sort(key=lambda u: u.name.lower() != text.lower())  # stable: keeps their order
    datasets, total, facets = search_service.search_datasets(
        session,
        q=topic or None,
        theme=filters.get("theme"),
        organisation=filters.get("organisation"),
        role=None,
        licence=filters.get("licence"),
        access_level=filters.get("access_level"),
        level=filters.get("level"),
        period=filters.get("period"),
        offset=0,
        limit=100,
    )
    sectors = [u for u in places if u.level == Level.SECTOR]
    within = (
        repository.municipalities_of_sectors(session, sectors[0].version, [u.code for u in sectors])
        if sectors
        else {}
    )
    names = {u.code: sector_name(u.name, within[u.code]) for u in sectors if u.code in within}
    return SearchPage(text, datasets, total, facets, indicators, places, filters, topic, names)


DOWNLOAD_FIELDS = ("indicator", "level", "period", "within", "format")


def download_query(
    session: Session, dataset_id: str, fields: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The download builder's choices (an empty one means "all" and is left out), checked as
    the observations API would check them: a browser that typed "Gent" for the area is
    told so on a page, not sent to the API's problem document."""
    chosen = [
        (n, _place_key(session, dataset_id, v.strip()) if n == "within" else v.strip())
        for n, v in fields
        if n in DOWNLOAD_FIELDS and v.strip()
    ]
    one = dict(chosen)
    stats_service.build_query(
        session,
        dataset_id,
        indicators=[v for n, v in chosen if n == "indicator"],
        periods=[v for n, v in chosen if n == "period"],
        level=one.get("level"),
        version=None,
        within=one.get("within"),
        units=[],
        area=[],
    )
    formats = get_args(Format)
    if one.get("format", "csv") not in formats:
        raise InvalidParameter("format", f"format must be one of {', '.join(formats)}")
    return chosen


def download_errors(error: BadRequest | InvalidParameter | NotFound) -> dict[str, str]:
    """The builder's field a refusal of :func:`download_query` is about, with the message key
    of what to correct; empty when it is about none of them (an unknown dataset)."""
    field: str | None = None
    if isinstance(error, InvalidParameter):
        field = error.extensions.get("parameter")
    elif isinstance(error, NotFound):
        named = {"indicator": "indicator", "period": "period", "unit": "within"}
        field = next((f for key, f in named.items() if key in error.extensions), None)
    else:
        # A level the dataset's version lacks, or one an indicator is not published at.
        field = "level"
    return {field: f"download.error.{field}"} if field in DOWNLOAD_FIELDS else {}


def _place_key(session: Session, dataset_id: str, within: str) -> str:
    """A place typed as people know it ("Gent", "44021") as the API's ``level:code``, in the
    dataset's geography version; anything else as typed (the API's check says what is
    wrong)."""
    if ":" in within:
        return within
    version = catalogue_service.get_dataset(session, dataset_id).geo_version
    place = search_service.place_named(session, within, version)
    return within if place is None else f"{place.level}:{place.code}"


QUESTION_FIELDS = ("kind", "title", "body", "name", "email")
REPLY_FIELDS = ("body", "name", "email")


def read_question(
    session: Session, dataset_id: str, values: Mapping[str, str]
) -> tuple[DatasetOut, NewThread | None, dict[str, str]]:
    """The dataset page's question form as the API would take it without a key: the dataset,
    and the thread to open, or per field the message key of what to correct."""
    dataset = catalogue_service.get_dataset(session, dataset_id)
    thread, errors = _read_form(NewThread, QUESTION_FIELDS, values)
    return dataset, thread, errors


def read_reply(
    session: Session, thread_id: int, values: Mapping[str, str]
) -> tuple[DatasetOut, ThreadOut, NewMessage | None, dict[str, str]]:
    """A thread's reply form, as :func:`read_question` reads the question form."""
    thread = feedback_service.get_thread(session, thread_id)
    dataset = catalogue_service.get_dataset(session, thread.dataset)
    message, errors = _read_form(NewMessage, REPLY_FIELDS, values)
    return dataset, thread, message, errors


FormModel = TypeVar("FormModel", NewThread, NewMessage)


def _read_form(
    model: type[FormModel], fields: Sequence[str], values: Mapping[str, str]
) -> tuple[FormModel | None, dict[str, str]]:
    """Every field is checked at once (name and e-mail address are required without a
    key), so that one correction is enough; a blank field is one not given."""
    given = {name: values.get(name, "").strip() or None for name in fields}
    errors = {name: f"ask.error.{name}" for name in ("name", "email") if given[name] is None}
    read: FormModel | None
    try:
        read = model.model_validate(given)
    except ValidationError as exc:
        read = None
        errors.update({str(e["loc"][0]): f"ask.error.{e['loc'][0]}" for e in exc.errors()})
    if errors or read is None:
        return None, {name: errors[name] for name in fields if name in errors}
    return read, {}
