"""The geography API under bad and hostile input: list envelopes, literal search, bounds on
every parameter, and answers that keep the OpenAPI contract."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.params import MAX_TEXT
from app.geo.models import GeoUnit
from tests.contract import PROBLEM, Route, contract_violations, parameters_named, sweep
from tests.factories import World
from tests.geo.test_api_geo import links

ROUTES = [
    Route("/api/v1/geo/levels", query=("page", "page_size")),
    Route("/api/v1/geo/versions", query=("page", "page_size")),
    Route("/api/v1/geo/units", query=("level", "version", "within", "q", "page", "page_size")),
    Route(
        "/api/v1/geo/units/{level}/{code}",
        path={"level": "municipality", "code": "44021"},
        query=("version",),
    ),
]


def test_levels_are_a_paged_list(client: TestClient) -> None:
    first = client.get("/api/v1/geo/levels", params={"page_size": 3})
    assert first.status_code == 200
    body = first.json()
    assert (body["total"], body["page"], body["page_size"]) == (9, 1, 3)
    assert [i["level"] for i in body["items"]] == ["sector", "wijk", "municipality"]
    rels = links(first.headers["link"])
    assert set(rels) == {"first", "last", "next"}
    last = client.get(rels["last"]).json()
    assert (last["page"], [i["level"] for i in last["items"]]) == (
        3,
        ["referentieregio", "vervoerregio", "cityregion"],
    )
    assert contract_violations(client, "/api/v1/geo/levels", first) == []


def test_versions_are_a_paged_list(client: TestClient) -> None:
    response = client.get("/api/v1/geo/versions", params={"page": 2, "page_size": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"]) == (2, 2)
    assert body["items"] == [
        {
            "id": "2025",
            "label": body["items"][0]["label"],
            "valid_from": "2025-01-01",
            "valid_to": None,
        }
    ]
    assert set(links(response.headers["link"])) == {"first", "last", "prev"}


@pytest.mark.parametrize("text", ["%", "_", "\\", "%%", "_0", "4_0"])
def test_q_matches_literally(client: TestClient, text: str) -> None:
    response = client.get("/api/v1/geo/units", params={"q": text, "page_size": 1000})
    assert response.status_code == 200
    body = response.json()
    # No unit has these characters in its name or code: a wildcard would match thousands.
    assert body["total"] == 0, [u["id"] for u in body["items"][:5]]


def test_q_still_finds_parts_of_codes_in_any_case(client: TestClient) -> None:
    body = client.get(
        "/api/v1/geo/units", params={"q": "44021a00", "level": "sector", "version": "2025"}
    ).json()
    assert body["total"] >= 1
    assert all("44021A00" in u["code"] for u in body["items"])


@pytest.mark.parametrize("typed", ["sint niklaas", "Sint-Niklaas", "SINT  NIKLAAS", "sïnt-niklaas"])
def test_q_finds_a_name_as_people_type_it(client: TestClient, typed: str) -> None:
    """As the search box does: hyphens or spaces, case and accents are not the name's."""
    body = client.get(
        "/api/v1/geo/units", params={"q": typed, "level": "municipality", "version": "2025"}
    ).json()
    assert [u["id"] for u in body["items"]] == ["municipality:46021"], typed


def test_q_finds_wildcard_characters_literally(world: World) -> None:
    with world.factory.begin() as session:
        unit = session.scalar(
            select(GeoUnit).where(
                GeoUnit.level == "municipality", GeoUnit.code == "44021", GeoUnit.version == "2025"
            )
        )
        assert unit is not None
        unit.name = "Gent 100%_echt \\ stad"
    for text in ("%", "_", "\\", "0%_e", "100%_ECHT \\"):
        body = world.client.get("/api/v1/geo/units", params={"q": text}).json()
        assert [u["id"] for u in body["items"]] == ["municipality:44021"], text
    assert world.client.get("/api/v1/geo/units", params={"q": "0%e"}).json()["total"] == 0


@pytest.mark.parametrize(
    "within", ["level:", ":", "municipality:", "44021", ":44021", "planet:1", "a" * MAX_TEXT]
)
def test_a_malformed_within_is_refused_naming_it(client: TestClient, within: str) -> None:
    response = client.get("/api/v1/geo/units", params={"within": within})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["parameter"] == "within"
    assert "level:code" in problem["detail"] or "unknown level" in problem["detail"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"q": "x" * (MAX_TEXT + 1)}, "q"),
        ({"q": "gent\x00"}, "q"),
        ({"level": "municipality\n"}, "level"),
        ({"version": "2025" * 100}, "version"),
        ({"within": "municipality:" + "4" * MAX_TEXT}, "within"),
        ({"page": str(10**30)}, "page"),
        ({"page": "100001"}, "page"),
        ({"page_size": str(2**64)}, "page_size"),
        ({"page_size": "-1"}, "page_size"),
    ],
)
def test_parameters_are_bounded(client: TestClient, params: dict[str, str], parameter: str) -> None:
    response = client.get("/api/v1/geo/units", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert parameters_named(response.json()) == [parameter]


def test_the_longest_q_allowed_is_served(client: TestClient) -> None:
    response = client.get("/api/v1/geo/units", params={"q": "x" * MAX_TEXT})
    assert (response.status_code, response.json()["total"]) == (200, 0)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/geo/units/municipality/" + "4" * (MAX_TEXT + 1),
        "/api/v1/geo/units/municipality/%00",
        "/api/v1/geo/units/municipality/%FF",
        "/api/v1/geo/units/municipality/%ED%A0%80",
        "/api/v1/geo/units/" + "m" * 1000 + "/44021",
        "/api/v1/geo/units/municipality/%25",
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
        ("/api/v1/geo/units?level=municipality&versoin=2024", "versoin", "'version'"),
        ("/api/v1/geo/units/municipality/44021?year=2024", "year", "it takes version"),
        ("/api/v1/geo/units/municipality/44021/profile?verison=2024", "verison", "'version'"),
        ("/api/v1/geo/units/municipality/44021/geometry?versions=2025", "versions", "'version'"),
        ("/api/v1/geo/boundaries?levle=sector", "levle", "'level'"),
        ("/api/v1/geo/levels?pagesize=1", "pagesize", "'page_size'"),
        ("/api/v1/geo/sets/centrumsteden?verison=2025", "verison", "'version'"),
    ],
)
def test_an_unknown_parameter_is_named(world: World, path: str, name: str, hint: str) -> None:
    """A mistyped parameter was answered as if it were not there: `verison=2024` gave the
    profile of the latest version, and the reader took it for 2024's. It is a 422 naming it,
    as on the observations, compare and monitor routes."""
    response = world.client.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["parameter"] == name
    assert hint in response.json()["detail"]


def test_geography_keeps_one_value_parameters_and_cache_busters(world: World) -> None:
    twice = world.client.get("/api/v1/geo/units?level=sector&level=municipality")
    assert twice.status_code == 422, twice.text
    assert twice.json()["parameter"] == "level"
    for path in (
        "/api/v1/geo/units?level=municipality&_=1733480000000",
        "/api/v1/geo/units/municipality/44021/profile?version=2025&_=1",
    ):
        response = world.client.get(path)
        assert response.status_code == 200, response.text
