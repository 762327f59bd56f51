"""The catalogue API under bad and hostile input: list envelopes, literal search, bounds on
every parameter, timestamps in UTC, and answers that keep the OpenAPI contract."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app.api.params import MAX_TEXT
from app.catalogue.models import Dataset, Indicator
from tests.contract import PROBLEM, Route, contract_violations, parameters_named, sweep
from tests.factories import World
from tests.geo.test_api_geo import links

ROUTES = [
    Route("/api/v1/organisations", query=("page", "page_size")),
    Route("/api/v1/organisations/{organisation_id}", path={"organisation_id": "gent"}),
    Route("/api/v1/licences", query=("page", "page_size")),
    Route(
        "/api/v1/datasets",
        query=(
            "q",
            "theme",
            "organisation",
            "role",
            "licence",
            "access_level",
            "page",
            "page_size",
        ),
    ),
    Route("/api/v1/datasets/{dataset_id}", path={"dataset_id": "population-2025"}),
    Route("/api/v1/indicators", query=("q", "dataset", "page", "page_size")),
]

UTC_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def walk(client: TestClient, url: str, page_size: int) -> tuple[list[str], int]:
    """Every item id of a paged list, following the Link headers; and the total."""
    response = client.get(url, params={"page_size": page_size})
    assert response.status_code == 200
    total = response.json()["total"]
    ids: list[str] = []
    while True:
        body = response.json()
        assert body["page_size"] == page_size
        assert contract_violations(client, url, response) == []
        ids += [item["id"] for item in body["items"]]
        following = links(response.headers["link"]).get("next")
        if following is None:
            return ids, total
        response = client.get(following)


@pytest.mark.parametrize("url", ["/api/v1/organisations", "/api/v1/licences"])
def test_organisations_and_licences_are_paged_lists(client: TestClient, url: str) -> None:
    ids, total = walk(client, url, page_size=2)
    everything = client.get(url, params={"page_size": 1000}).json()["items"]
    assert ids == [item["id"] for item in everything]
    assert len(ids) == len(set(ids)) == total > 2


def test_organisations_page_beyond_the_last_is_empty(client: TestClient) -> None:
    response = client.get("/api/v1/organisations", params={"page": 1000})
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert "prev" in links(response.headers["link"])


def _dataset_texts(dataset: dict[str, object]) -> str:
    title, description = dataset["title"], dataset["description"]
    assert isinstance(title, dict) and isinstance(description, dict)
    return " ".join(
        str(t or "") for t in (*title.values(), *description.values(), dataset["id"])
    ).lower()


@pytest.mark.parametrize("text", ["%", "_", "\\", "%%", "_%_"])
def test_dataset_q_matches_literally(client: TestClient, text: str) -> None:
    everything = client.get("/api/v1/datasets").json()["total"]
    body = client.get("/api/v1/datasets", params={"q": text}).json()
    assert body["total"] < everything
    assert all(text in _dataset_texts(d) for d in body["items"])


@pytest.mark.parametrize("text", ["%", "_", "\\", "%%", "_%_"])
def test_indicator_q_matches_literally(client: TestClient, text: str) -> None:
    everything = client.get("/api/v1/indicators").json()["total"]
    body = client.get("/api/v1/indicators", params={"q": text, "page_size": 1000}).json()
    assert body["total"] < everything
    for indicator in body["items"]:
        assert text in " ".join([*indicator["label"].values(), indicator["id"]]).lower()


def test_q_finds_wildcard_characters_literally(world: World) -> None:
    with world.factory.begin() as session:
        dataset = session.get(Dataset, "income")
        indicator = session.get(Indicator, "population-density")
        assert dataset is not None and indicator is not None
        dataset.title_en = "Income: the top 10%_exact share \\ all"
        indicator.label_en = "Inhabitants per km², 100%_exact \\ so"
    for text in ("0%_", "%_E", "\\"):
        datasets = world.client.get("/api/v1/datasets", params={"q": text}).json()
        assert [d["id"] for d in datasets["items"]] == ["income"], text
        indicators = world.client.get("/api/v1/indicators", params={"q": text}).json()
        assert [i["id"] for i in indicators["items"]] == ["population-density"], text
    assert world.client.get("/api/v1/datasets", params={"q": "0%s"}).json()["total"] == 0


def test_timestamps_are_utc_with_z(world: World) -> None:
    with world.factory.begin() as session:
        dataset = session.get(Dataset, "income")
        assert dataset is not None
        dataset.issued = datetime(2025, 6, 30, 21, 30, tzinfo=UTC)
    detail = world.client.get("/api/v1/datasets/income").json()
    assert detail["issued"] == "2025-06-30T21:30:00Z"
    assert UTC_TIMESTAMP.match(detail["modified"]), detail["modified"]
    modified = datetime.fromisoformat(detail["modified"])
    assert modified.tzinfo is not None and modified <= datetime.now(UTC)
    listed = world.client.get("/api/v1/datasets").json()["items"]
    assert listed
    for dataset_out in listed:
        assert UTC_TIMESTAMP.match(dataset_out["issued"]), dataset_out["issued"]
        assert UTC_TIMESTAMP.match(dataset_out["modified"]), dataset_out["modified"]


def test_dataset_parts_are_typed(client: TestClient) -> None:
    dataset = client.get("/api/v1/datasets/population-2025").json()
    assert set(dataset["temporal"]) == {"start", "end"}
    assert set(dataset["contact"]) == {"name", "email"}
    assert set(dataset["source"]) == {"title", "url", "attribution"}
    assert dataset["source"]["url"].startswith("https://")


@pytest.mark.parametrize(
    ("url", "params", "parameter"),
    [
        ("/api/v1/datasets", {"q": "x" * (MAX_TEXT + 1)}, "q"),
        ("/api/v1/datasets", {"q": "\x00"}, "q"),
        ("/api/v1/datasets", {"theme": "SOCI\r\n"}, "theme"),
        ("/api/v1/datasets", {"organisation": "g" * 500}, "organisation"),
        ("/api/v1/datasets", {"role": "king"}, "role"),
        ("/api/v1/datasets", {"access_level": "secret"}, "access_level"),
        ("/api/v1/datasets", {"licence": "\x7f"}, "licence"),
        ("/api/v1/datasets", {"page": str(2**63)}, "page"),
        ("/api/v1/indicators", {"q": "x" * (MAX_TEXT + 1)}, "q"),
        ("/api/v1/indicators", {"dataset": "\x00"}, "dataset"),
        ("/api/v1/organisations", {"page": "1e25"}, "page"),
        ("/api/v1/licences", {"page_size": "0"}, "page_size"),
    ],
)
def test_parameters_are_bounded(
    client: TestClient, url: str, params: dict[str, str], parameter: str
) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert parameters_named(response.json()) == [parameter]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/datasets/" + "p" * (MAX_TEXT + 1),
        "/api/v1/datasets/%00",
        "/api/v1/datasets/%FF",
        "/api/v1/datasets/%25",
        "/api/v1/organisations/gent%0A",
        "/api/v1/organisations/" + "9" * 40,
    ],
)
def test_a_path_that_names_nothing_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.template)
def test_hostile_values_never_break_the_contract(client: TestClient, route: Route) -> None:
    assert sweep(client, route) == []


@pytest.mark.parametrize(
    ("path", "name", "hint"),
    [
        ("/api/v1/datasets?modified_since=2026-01-01T00:00:00Z", "modified_since", "it takes"),
        ("/api/v1/datasets?thema=SOCI", "thema", "'theme'"),
        ("/api/v1/datasets/population-2025?lang=en", "lang", "it takes"),
        ("/api/v1/indicators?datset=population-2025", "datset", "'dataset'"),
        ("/api/v1/indicators/population?version=2024", "version", "it takes"),
        ("/api/v1/organisations?pagesize=5", "pagesize", "'page_size'"),
        ("/api/v1/licences?page_sise=5", "page_sise", "'page_size'"),
        ("/api/v1/search?query=gent", "query", "it takes q"),
    ],
)
def test_the_catalogue_names_an_unknown_parameter(
    world: World, path: str, name: str, hint: str
) -> None:
    """`/api/v1/datasets?modified_since=…` (the DCAT catalogue's parameter) answered every
    dataset, and the reader took them for the recent ones: a parameter the route does not
    take is a 422 naming it, as on the observations and geography routes."""
    response = world.client.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["parameter"] == name
    assert hint in response.json()["detail"]


def test_the_catalogue_keeps_its_parameters_and_cache_busters(world: World) -> None:
    twice = world.client.get("/api/v1/datasets?theme=SOCI&theme=ENER")
    assert twice.status_code == 422, twice.text
    assert twice.json()["parameter"] == "theme"
    for path in (
        "/api/v1/datasets?theme=SOCI&page=1&page_size=5&_=1733480000000",
        "/api/v1/indicators?dataset=population-2025&q=bev",
        "/api/v1/search?q=gent&_=1",
    ):
        response = world.client.get(path)
        assert response.status_code == 200, response.text
