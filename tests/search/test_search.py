"""Search: full text in Dutch and English over the catalogue, facets with correct counts, the
search box over datasets, indicators and places; odd input gives a normal answer."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import Dataset
from app.stats.models import Observation, PublishedValue
from tests.factories import World

DERIVED = "climate-energy-monitor"


def _ids(body: dict[str, object]) -> set[str]:
    items = body["items"]
    assert isinstance(items, list)
    return {item["id"] for item in items}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("energie", "energy-fluvius"),  # a Dutch keyword
        ("Energieverbruik", "energy-fluvius"),  # case and a compound keyword
        ("electricity consumption", "energy-fluvius"),  # English, two words
        ("inkomens", "income"),  # Dutch plural: stemmed (PostgreSQL) or by prefix (SQLite)
    ],
)
def test_full_text_finds_datasets(client: TestClient, q: str, expected: str) -> None:
    body = client.get("/api/v1/datasets", params={"q": q}).json()
    assert expected in _ids(body)
    assert body["total"] < 6  # a search, not the whole catalogue


def test_words_must_all_match(client: TestClient) -> None:
    assert _ids(client.get("/api/v1/datasets", params={"q": "energie inkomen"}).json()) == set()


def test_indicator_definitions_are_searched(client: TestClient) -> None:
    # "Rijksregister" is in the definition of the indicator population only, in no dataset's
    # own text: the datasets carrying that indicator are found through it.
    indicators = client.get("/api/v1/indicators", params={"q": "rijksregister"}).json()
    assert _ids(indicators) == {"population"}
    carrying = set(client.get("/api/v1/indicators/population").json()["datasets"])
    assert carrying
    datasets = client.get("/api/v1/datasets", params={"q": "rijksregister"}).json()
    assert _ids(datasets) == carrying


def test_facets_are_counted_over_the_result(client: TestClient, real_session: Session) -> None:
    body = client.get("/api/v1/datasets", params={"page_size": 2}).json()
    assert len(body["items"]) == 2 and body["total"] == 8  # facets count all 8, not the page
    periods: dict[str, set[str]] = {}
    for dataset_id, period in real_session.execute(
        select(Observation.dataset_id, Observation.period)
        .where(Observation.revision_to.is_(None), Observation.dataset_id != DERIVED)
        .distinct()
    ):
        periods.setdefault(dataset_id, set()).add(period)
    # The derived dataset holds copies of its parts: its periods are those it publishes.
    periods[DERIVED] = set(
        real_session.scalars(
            select(PublishedValue.period)
            .where(PublishedValue.dataset_id == DERIVED, PublishedValue.revision_to.is_(None))
            .distinct()
        )
    )
    assert periods[DERIVED] == {"2013", "2016", "2021"}
    expected = Counter(p for ps in periods.values() for p in ps)
    assert {f["value"]: f["count"] for f in body["facets"]["period"]} == expected
    themes = Counter(t for d in real_session.scalars(select(Dataset)) for t in d.themes)
    assert {f["value"]: f["count"] for f in body["facets"]["themes"]} == themes
    levels = {f["value"]: f["count"] for f in body["facets"]["level"]}
    # Every dataset with values is published per sector, and per municipality but income
    # (averages without their weights: its sectors only, a 400 at any other level); only the
    # 2025 datasets reach the wijken.
    with_values = len(periods)
    assert levels["sector"] == with_values
    assert levels["municipality"] == with_values - 1
    by_municipality = client.get("/api/v1/datasets", params={"level": "municipality"}).json()
    assert "income" not in {d["id"] for d in by_municipality["items"]}
    refused = client.get("/api/v1/datasets/income/observations", params={"level": "municipality"})
    assert refused.status_code == 400
    wijk = client.get("/api/v1/datasets", params={"level": "wijk"}).json()
    assert levels["wijk"] == wijk["total"] >= 1
    assert all(d["geo_version"] == "2025" for d in wijk["items"])
    year = client.get("/api/v1/datasets", params={"period": "2021"}).json()
    assert year["total"] == expected["2021"]
    narrowed = client.get("/api/v1/datasets", params={"q": "energie"}).json()
    # Fluvius' dataset (ENER) and the monitor derived from it (ENER, ENVI, REGI).
    assert narrowed["facets"]["themes"] == [
        {"value": "ENER", "count": 2},
        {"value": "ENVI", "count": 1},
        {"value": "REGI", "count": 1},
    ]


def test_search_box_finds_places_datasets_and_indicators(client: TestClient) -> None:
    body = client.get("/api/v1/search", params={"q": "Gent"}).json()
    assert body["places"][0]["id"] == "municipality:44021"
    assert body["places"][0]["version"] == "2025"
    assert any(p["level"] == "cityregion" for p in body["places"])
    energy = client.get("/api/v1/search", params={"q": "energie"}).json()
    # Fluvius' dataset and the climate and energy monitor derived from it.
    assert sorted(d["id"] for d in energy["datasets"]) == [DERIVED, "energy-fluvius"]
    fluvius = next(d for d in energy["datasets"] if d["id"] == "energy-fluvius")
    assert fluvius["url"].endswith("/api/v1/datasets/energy-fluvius")
    electricity = client.get("/api/v1/search", params={"q": "elektriciteitsverbruik"}).json()
    assert {i["id"] for i in electricity["indicators"]} >= {
        "electricity-consumption-residential",
        "electricity-consumption-non-residential",
    }
    wijk = client.get("/api/v1/search", params={"q": "heiken"}).json()
    # The wijk, then the sectors of the name ("Heiken", "Heiken (Brecht)", "Heiken-Noord").
    assert wijk["places"][0]["id"] == "wijk:11001W01"
    assert {"sector:24001C032", "sector:11009A01K"} <= {p["id"] for p in wijk["places"]}
    assert all(p["level"] == "sector" for p in wijk["places"][1:])


@pytest.mark.parametrize(
    ("q", "first"),
    [
        ("sint niklaas", "municipality:46021"),  # hyphens are spaces
        ("SINT-NIKLAAS ", "municipality:46021"),
        ("Ghent", "municipality:44021"),  # English and French names
        ("gand", "municipality:44021"),
        ("Gënt", "municipality:44021"),  # accents people add
        ("Brüssel", "municipality:21004"),
        ("Antwerp", "municipality:11002"),
        ("east flanders", "province:40000"),
        ("Brussels", "municipality:21004"),
        ("44021", "municipality:44021"),  # NIS codes
        ("stadsregio-gent", "cityregion:stadsregio-gent"),
        # Municipalities first, however many wijken hold the text; the centre city first
        # of the sixteen Sint-… municipalities.
        ("sint", "municipality:46021"),
        ("berg", "municipality:31004"),
        ("Gent.", "municipality:44021"),  # punctuation around a word
        ("Brugse Poort - Rooigem", "wijk:44021W04"),  # a name with " - " in it, in full
        # Statistical sectors, after every other level: their own names and codes.
        ("Papenakkers", "sector:46021A01K"),
        ("sint niklaas markt", "sector:46021A001"),
        ("46021A001", "sector:46021A001"),
    ],
)
def test_places_are_found_the_way_people_type_them(client: TestClient, q: str, first: str) -> None:
    places = client.get("/api/v1/search", params={"q": q}).json()["places"]
    assert places and places[0]["id"] == first, places


@pytest.mark.parametrize(
    ("q", "topic", "place"),
    [
        ("bevolking gent", "population-2025", "municipality:44021"),
        ("Kortrijk inkomen", "income", "municipality:34022"),
        ("energie antwerpen", "energy-fluvius", "municipality:11002"),
    ],
)
def test_a_topic_and_a_place_are_found_together(
    client: TestClient, q: str, topic: str, place: str
) -> None:
    """What a citizen types most ("bevolking gent") found nothing: no dataset holds "gent"
    and no place is called "bevolking". Each part finds its own."""
    body = client.get("/api/v1/search", params={"q": q}).json()
    assert topic in [d["id"] for d in body["datasets"]], body
    assert body["places"] and body["places"][0]["id"] == place, body


def test_a_topic_is_not_read_as_a_sectors_name(client: TestClient) -> None:
    """The sectors are found by the whole query only: among ten thousand names a topic's
    word would often be one ("Kerk", "Open Veld"), and its datasets would be lost."""
    body = client.get("/api/v1/search", params={"q": "bevolking kerk"}).json()
    assert "population-2025" in [d["id"] for d in body["datasets"]], body
    assert all(p["level"] != "sector" for p in body["places"]), body["places"]


@pytest.mark.parametrize("q", ["De Panne", "de panne", "Sint-Niklaas"])
def test_a_place_of_several_words_is_not_split_into_a_topic(client: TestClient, q: str) -> None:
    """ "De Panne" named a place, and was searched again as the topic "de" and the place
    "panne": every dataset with a word beginning with "de" was listed beside it."""
    body = client.get("/api/v1/search", params={"q": q}).json()
    assert body["places"][0]["level"] == "municipality", body["places"]
    assert body["places"][0]["name"].lower().replace("-", " ") == q.lower().replace("-", " ")
    assert body["datasets"] == [] and body["indicators"] == [], body


def test_a_title_that_holds_the_words_comes_first(client: TestClient) -> None:
    """Hits came in the order of their ids: "bevolking" listed the cars of households first,
    and "oppervlakte" could leave the area indicator out of its ten."""
    body = client.get("/api/v1/search", params={"q": "bevolking"}).json()
    assert body["datasets"][0]["id"] == "population-2025", body["datasets"]
    area = client.get("/api/v1/search", params={"q": "oppervlakte"}).json()["indicators"]
    assert {i["id"] for i in area[:3]} == {"area", "sector-area", "open-space-per-area"}, area


@pytest.mark.parametrize(
    "q", ["", " ", "%", '"', "*", "energie*", "OR", "NEAR(a b)", "a:b", "'", "^-", "é", "x" * 200]
)
def test_odd_queries_answer_normally(client: TestClient, q: str) -> None:
    for path in ("/api/v1/datasets", "/api/v1/search", "/api/v1/indicators"):
        response = client.get(path, params={"q": q})
        assert response.status_code == 200, (path, q, response.text)
    assert client.get("/api/v1/search", params={"q": ""}).json()["places"] == []
    starred = client.get("/api/v1/datasets", params={"q": "energie*"}).json()
    assert _ids(starred) == {"energy-fluvius", DERIVED} or q != "energie*"


def test_an_unknown_level_facet_filter_is_a_422(client: TestClient) -> None:
    response = client.get("/api/v1/datasets", params={"level": "planet"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_an_edited_dataset_is_found_by_its_new_words(world: World) -> None:
    with world.factory.begin() as session:
        dataset = session.get(Dataset, "income")
        assert dataset is not None
        dataset.description_nl = dataset.description_nl + " Over fietsostrades."
    body = world.client.get("/api/v1/datasets", params={"q": "fietsostrades"}).json()
    assert _ids(body) == {"income"}
