"""Search logic: the dataset search with every facet, and the search box over datasets,
indicators and places."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.api.schemas import Text
from app.catalogue import repository as catalogue_repository
from app.catalogue import service as catalogue
from app.catalogue.models import Dataset, Indicator
from app.catalogue.schemas import DatasetOut, Facet
from app.geo import repository as geo_repository
from app.geo.levels import LEVELS, Level
from app.geo.models import GeoUnit
from app.geo.names import spaced, without_accents
from app.geo.service import check_level, unit_out
from app.search import repository
from app.search.names import official_names
from app.search.schemas import DatasetHit, IndicatorHit, SearchOut

# The search box lists the places people look for first: municipalities before wijken,
# and the statistical sectors last ("Klaverblad", "Sint-Niklaas-Markt": a neighbourhood's
# own name, which found nothing though the sector has its page). A place read out of a
# longer query ("bevolking gent") or typed as a download's area is one of the levels above
# the sectors: ten thousand sector names ("Kerk", "Open Veld") would take many a topic's
# words for a place.
NAMED_PLACE_ORDER = [
    Level.MUNICIPALITY,
    Level.CITYREGION,
    Level.PROVINCE,
    Level.REGION,
    Level.REFERENTIEREGIO,
    Level.VERVOERREGIO,
    Level.ARRONDISSEMENT,
    Level.WIJK,
]
PLACE_ORDER = [*NAMED_PLACE_ORDER, Level.SECTOR]
MAX_HITS = 10
# A query of more words is not tried as a topic and a place (two lookups per way to split it).
MAX_SPLIT_WORDS = 6


# Sector-level values of one version reach a later version through its municipalities: the
# later version's sectors and wijken are not derived from them.
_BELOW_MUNICIPALITY = {Level.SECTOR.value, Level.WIJK.value}


def _levels_of_version(
    session: Session, version: str, counts: dict[str, dict[str, int]]
) -> set[str]:
    """The levels a dataset of ``version`` is published at: every level of its own version
    (values are supplied per sector and aggregated upwards), and from the later versions the
    municipality and everything above it."""
    own, *later = geo_repository.version_chain(session, version)
    levels = {level for level, per_version in counts.items() if own in per_version}
    levels |= {
        level
        for level, per_version in counts.items()
        if level not in _BELOW_MUNICIPALITY and set(later) & set(per_version)
    }
    return levels


def _published_levels(
    session: Session, dataset_id: str, version: str, counts: dict[str, dict[str, int]]
) -> set[str]:
    """The levels the dataset's values are published at: a dataset whose every indicator is
    published as supplied only (an average without its weights) has its sectors alone."""
    indicators = catalogue_repository.indicators_of_dataset(session, dataset_id)
    if indicators and all(i.aggregation == "none" for i in indicators):
        return {Level.SECTOR.value}
    return _levels_of_version(session, version, counts)


def search_datasets(
    session: Session,
    *,
    q: str | None,
    theme: str | None,
    organisation: str | None,
    role: str | None,
    licence: str | None,
    access_level: str | None,
    level: str | None,
    period: str | None,
    offset: int,
    limit: int,
) -> tuple[list[DatasetOut], int, dict[str, list[Facet]]]:
    if level is not None:
        check_level(level)
    matching = catalogue.matching_datasets(
        session,
        q=q,
        theme=theme,
        organisation=organisation,
        role=role,
        licence=licence,
        access_level=access_level,
    )
    periods = repository.periods_of_datasets(session, [d.id for d in matching])
    counts = geo_repository.level_counts(session)
    levels = {
        d.id: _published_levels(session, d.id, d.geo_version, counts) if periods[d.id] else set()
        for d in matching
    }
    matching = [
        d
        for d in matching
        if (level is None or level in levels[d.id]) and (period is None or period in periods[d.id])
    ]
    facets = catalogue.dataset_facets(session, matching)
    level_order = {info.level.value: i for i, info in enumerate(LEVELS)}
    level_counter = Counter(lv for d in matching for lv in levels[d.id])
    facets["level"] = sorted(
        catalogue.facet_list(level_counter), key=lambda f: level_order.get(f.value, 99)
    )
    period_counter = Counter(p for d in matching for p in periods[d.id])
    facets["period"] = sorted(catalogue.facet_list(period_counter), key=lambda f: f.value)
    page = matching[offset : offset + limit]
    return [catalogue.dataset_out(session, d) for d in page], len(matching), facets


def centre_city_codes(session: Session) -> set[str]:
    """The municipality codes of the centre cities: the organisations of kind ``city``."""
    return {
        o.nis_code
        for o in catalogue_repository.list_organisations(session)
        if o.kind == "city" and o.nis_code
    }


def search_everything(session: Session, q: str, base_url: str) -> SearchOut:
    """The search box: datasets and indicators by full text, places by name. A query that
    finds no topic or no place as a whole is tried as a topic and a place ("bevolking gent",
    "Kortrijk inkomen"): the first split of its words that finds both answers."""
    return search_with_topic(session, q, base_url)[1]


def search_with_topic(session: Session, q: str, base_url: str) -> tuple[str, SearchOut]:
    """:func:`search_everything`'s answer with the words of ``q`` that named its topic:
    ``q`` itself, or the topic of its split ("bevolking" of "bevolking gent")."""
    latest = geo_repository.latest_version(session)
    # "sint" lists Sint-Niklaas, a centre city, before the other nine Sint-…
    preferred = centre_city_codes(session)
    topic, datasets, indicators, places = _found(session, q, latest, preferred)
    return topic, SearchOut(
        q=q,
        datasets=[
            DatasetHit(
                id=d.id,
                title=Text(nl=d.title_nl, en=d.title_en),
                url=f"{base_url}/api/v1/datasets/{d.id}",
            )
            for d in datasets[:MAX_HITS]
        ],
        indicators=[
            IndicatorHit(
                id=i.id,
                label=Text(nl=i.label_nl, en=i.label_en),
                url=f"{base_url}/api/v1/indicators/{i.id}",
            )
            for i in indicators[:MAX_HITS]
        ],
        places=[unit_out(u) for u in places],
    )


def _found(
    session: Session, q: str, latest: str | None, preferred: set[str]
) -> tuple[str, list[Dataset], list[Indicator], list[GeoUnit]]:
    """(the topic's words, datasets, indicators, places) of a query of the search box."""
    datasets, indicators = _topics(session, q)
    places = _places(session, q, latest, preferred)
    words = q.split()
    # A query that names a place as a whole is that place: "De Panne" is not the topic "de"
    # in the place "panne".
    if 1 < len(words) <= MAX_SPLIT_WORDS and not places:
        split = _topic_and_place(session, words, latest, preferred)
        if split is not None:
            return split
    return q, datasets, indicators, places


def _topics(session: Session, q: str) -> tuple[list[Dataset], list[Indicator]]:
    """Datasets and indicators matching ``q``, those whose title or label holds it first
    (then in the catalogue's order): "oppervlakte" lists the area before what mentions it."""
    datasets = catalogue.matching_datasets(
        session,
        q=q,
        theme=None,
        organisation=None,
        role=None,
        licence=None,
        access_level=None,
    )
    words = catalogue_repository.search_words(q)
    text_ids = catalogue_repository.full_text_indicator_ids(session, words) if words else None
    indicators = catalogue_repository.all_indicators(
        session, catalogue_repository.indicators_query(q=q, text_ids=text_ids)
    )
    typed = spaced(without_accents(q))

    def named(*names: str) -> bool:
        return any(typed in spaced(without_accents(name)) for name in names)

    datasets.sort(key=lambda d: not named(d.title_nl, d.title_en))
    indicators.sort(key=lambda i: not named(i.label_nl, i.label_en))
    return datasets, indicators


def _topic_and_place(
    session: Session, words: list[str], latest: str | None, preferred: set[str]
) -> tuple[str, list[Dataset], list[Indicator], list[GeoUnit]] | None:
    """The first split of ``words`` into a place (at the end or the start) and a topic that
    finds both, or None."""
    for cut in range(1, len(words)):
        for topic, place in (words[:cut], words[cut:]), (words[cut:], words[:cut]):
            found = _places(session, " ".join(place), latest, preferred, NAMED_PLACE_ORDER)
            if not found:
                continue
            topic_text = " ".join(topic)
            datasets, indicators = _topics(session, topic_text)
            if datasets or indicators:
                return topic_text, datasets, indicators, found
    return None


def place_named(session: Session, q: str, version: str) -> GeoUnit | None:
    """The place of ``version`` that ``q`` names as the search box reads it ("Gent", "gent",
    "Ghent", "44021"), the centre cities first; None when none does."""
    found = _places(session, q, version, centre_city_codes(session), NAMED_PLACE_ORDER)
    return found[0] if found else None


def _places(
    session: Session,
    q: str,
    latest: str | None,
    preferred: set[str],
    levels: Sequence[Level] = PLACE_ORDER,
) -> list[GeoUnit]:
    """Places of ``levels`` in the ``latest`` version by name (Dutch, or an English or French
    name of a centre city, province or region; "sint niklaas" finds Sint-Niklaas), or by code
    ("44021"); the ``preferred`` codes first within a level."""
    typed = spaced(q)
    if not typed or latest is None:
        return []
    other_names = [spaced(name) for name in official_names(q)]
    folded = spaced(without_accents(q))
    if folded != typed:
        other_names.append(folded)
    return geo_repository.places_by_name(
        session,
        [typed, *other_names],
        q.strip(),
        latest,
        [lv.value for lv in levels],
        MAX_HITS,
        preferred=preferred,
    )
