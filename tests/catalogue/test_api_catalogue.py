"""Organisations, datasets and indicators through the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

DATASETS = {
    "population-2025",
    "income",
    "age-census-2021",
    "cars-households-2019",
    "energy-fluvius",
    "land-use-open-space",
    "sector-area-2021",
    "climate-energy-monitor",
}
CITIES = {
    "aalst",
    "antwerpen",
    "brugge",
    "genk",
    "gent",
    "hasselt",
    "kortrijk",
    "leuven",
    "mechelen",
    "oostende",
    "roeselare",
    "sint-niklaas",
    "turnhout",
}


def test_organisations(client: TestClient) -> None:
    organisations = {o["id"]: o for o in client.get("/api/v1/organisations").json()["items"]}
    assert CITIES | {
        "vgc",
        "statbel",
        "fluvius",
        "provincies-data-analyse",
        "digitaal-vlaanderen",
        "kenniscentrum-vlaamse-steden",
    } <= set(organisations)
    assert organisations["gent"]["nis_code"] == "44021"
    assert organisations["gent"]["ovo_code"] == "OVO002067"
    assert organisations["hasselt"]["nis_code"] == "71072"


def test_organisation_shows_its_roles(client: TestClient) -> None:
    gent = client.get("/api/v1/organisations/gent").json()
    roles = {(r["dataset"], r["role"]) for r in gent["roles"]}
    assert ("population-2025", "owner") in roles
    assert ("population-2025", "supplier") in roles
    statbel = client.get("/api/v1/organisations/statbel").json()
    assert ("population-2025", "originator") in {
        (r["dataset"], r["role"]) for r in statbel["roles"]
    }


def test_datasets_list_with_facets(client: TestClient) -> None:
    response = client.get("/api/v1/datasets")
    assert response.status_code == 200
    body = response.json()
    assert {d["id"] for d in body["items"]} == DATASETS
    assert body["total"] == 8
    facet_values = {f["value"]: f["count"] for f in body["facets"]["organisation"]}
    assert facet_values["gent"] == 8
    assert facet_values["statbel"] >= 3
    assert sum(f["count"] for f in body["facets"]["access_level"]) == 8


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"organisation": "fluvius"}, {"energy-fluvius"}),
        (
            {"organisation": "vgc", "role": "owner"},
            {
                "population-2025",
                "income",
                "age-census-2021",
                "cars-households-2019",
                "sector-area-2021",
            },
        ),
        # The derived climate-energy-monitor reads Fluvius' data (and says so).
        ({"theme": "ENER"}, {"energy-fluvius", "climate-energy-monitor"}),
        # sector-area-2021's description names Fluvius' data as a use of its areas.
        ({"q": "fluvius"}, {"energy-fluvius", "climate-energy-monitor", "sector-area-2021"}),
        ({"licence": "no-such-licence"}, set()),
    ],
)
def test_dataset_search(client: TestClient, params: dict[str, str], expected: set[str]) -> None:
    body = client.get("/api/v1/datasets", params=params).json()
    assert {d["id"] for d in body["items"]} == expected
    assert body["total"] == len(expected)


def test_dataset_detail_says_who_owns_and_supplies(client: TestClient) -> None:
    dataset = client.get("/api/v1/datasets/population-2025").json()
    assert dataset["title"]["nl"] and dataset["title"]["en"]
    assert dataset["geo_version"] == "2025"
    assert dataset["publisher"]["id"] == "kenniscentrum-vlaamse-steden"
    assert {o["id"] for o in dataset["owners"]} == CITIES | {"vgc"}
    suppliers = {r["organisation"]["id"]: r for r in dataset["roles"] if r["role"] == "supplier"}
    assert [u["id"] for u in suppliers["gent"]["territory"]] == ["municipality:44021"]
    assert [u["id"] for u in suppliers["hasselt"]["territory"]] == ["municipality:71072"]
    originators = [r["organisation"]["id"] for r in dataset["roles"] if r["role"] == "originator"]
    assert originators == ["statbel"]
    assert [i["id"] for i in dataset["indicators"]] == ["population", "area", "population-density"]
    assert dataset["licence"]["uri"].startswith("http")


def test_2024_datasets_give_suppliers_their_2024_territory(client: TestClient) -> None:
    dataset = client.get("/api/v1/datasets/income").json()
    suppliers = {r["organisation"]["id"]: r for r in dataset["roles"] if r["role"] == "supplier"}
    assert [(u["code"], u["version"]) for u in suppliers["hasselt"]["territory"]] == [
        ("71022", "2024")
    ]


def test_indicator_is_a_datapedia_entry(client: TestClient) -> None:
    body = client.get("/api/v1/indicators/share-65plus").json()
    assert body["aggregation"]["rule"] == "ratio"
    assert body["aggregation"]["numerator"] == ["population-65plus"]
    assert body["aggregation"]["denominator"] == ["population-65plus", "population-under-65"]
    assert body["aggregation"]["scale"] == 100
    assert body["datasets"] == ["age-census-2021"]
    assert body["source"]["id"] == "statbel"
    assert body["definition"]["nl"] and body["definition"]["en"]


def test_indicators_are_paged_and_filtered(client: TestClient) -> None:
    body = client.get("/api/v1/indicators", params={"dataset": "income"}).json()
    assert {i["id"] for i in body["items"]} == {
        "income-average-declaration",
        "income-median-declaration",
    }
    assert all(i["aggregation"]["rule"] == "none" for i in body["items"])
    everything = client.get("/api/v1/indicators", params={"page_size": 1000}).json()
    assert everything["total"] == 36  # 31, the sector area and 4 derived across datasets


def test_licences(client: TestClient) -> None:
    licences = {item["id"]: item for item in client.get("/api/v1/licences").json()["items"]}
    assert {"mgh-1.0", "cc0-1.0", "cc-by-4.0"} <= set(licences)
    assert licences["cc-by-4.0"]["uri"] == "https://creativecommons.org/licenses/by/4.0/"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/datasets/no-such-dataset", 404),
        ("/api/v1/indicators/no-such-indicator", 404),
        ("/api/v1/organisations/no-such-organisation", 404),
        ("/api/v1/datasets?role=king", 422),
        ("/api/v1/datasets?page_size=0", 422),
    ],
)
def test_catalogue_bad_input(client: TestClient, url: str, status: int) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_a_derived_indicator_has_its_formula_as_data_and_in_words(client: TestClient) -> None:
    body = client.get("/api/v1/indicators/electricity-residential-per-inhabitant").json()
    derived = body["derived"]
    assert derived["dataset"] == "climate-energy-monitor"
    assert derived["geo_version"] == "2024"
    for side in ("numerator", "denominator"):
        for part in derived["formula"][side]:
            assert part.pop("label")["en"], part
    assert derived["formula"] == {
        "rule": "ratio",
        "numerator": [
            {"indicator": "electricity-consumption-residential", "dataset": "energy-fluvius"}
        ],
        "denominator": [
            {"indicator": "population-65plus", "dataset": "age-census-2021"},
            {"indicator": "population-under-65", "dataset": "age-census-2021"},
        ],
        "scale": 1.0,
    }
    assert derived["formula_text"]["en"].startswith(
        "Sum of Residential electricity consumption (energy-fluvius) divided by sum of "
        "Population aged 65 and over (age-census-2021) + Population under 65 (age-census-2021)"
    )
    assert derived["formula_text"]["nl"].startswith("Som van ")
    assert derived["period_rule"] == "map"
    assert derived["period_map"] == {
        "2021": {"population-65plus": "2021", "population-under-65": "2021"}
    }
    assert {s["id"] for s in derived["sources"]} == {"fluvius", "statbel"}
    assert derived["source_datasets"] == ["age-census-2021", "energy-fluvius"]
    assert derived["disclosure_reference"].pop("label")["nl"]
    assert derived["disclosure_reference"] == {
        "indicator": "electricity-connections-residential",
        "dataset": "energy-fluvius",
    }
    assert body["aggregation"]["rule"] == "ratio"
    assert body["disclosure"]["reference"] == "electricity-connections-residential"
    assert body["datasets"] == ["climate-energy-monitor"]
    assert body["periods"] == ["2021"]
    # An ordinary indicator has none; the SKOS concept shows the words too, the HTML page the
    # formula in the parts' labels (tests/web/test_language.py).
    assert client.get("/api/v1/indicators/population").json()["derived"] is None
    page = client.get(
        "/doc/indicator/electricity-residential-per-inhabitant?lang=en",
        headers={"Accept": "text/html"},
    )
    assert page.status_code == 200
    assert (
        '<a href="/doc/indicator/electricity-consumption-residential?lang=en">'
        "Residential electricity consumption</a>" in page.text
    )
    assert 'href="/doc/dataset/energy-fluvius?lang=en"' in page.text
    skos = client.get(
        "/id/indicator/electricity-residential-per-inhabitant", headers={"Accept": "text/turtle"}
    )
    assert skos.status_code == 200
    assert "Sum of Residential electricity consumption" in skos.text
