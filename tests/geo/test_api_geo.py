"""The geography API on the real data."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings

PROBLEM = "application/problem+json"


def links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


def test_levels_list_every_level_with_counts(client: TestClient) -> None:
    response = client.get("/api/v1/geo/levels")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"]) == (9, 1)
    levels = {item["level"]: item for item in body["items"]}
    assert list(levels) == [
        "sector",
        "wijk",
        "municipality",
        "arrondissement",
        "province",
        "region",
        "referentieregio",
        "vervoerregio",
        "cityregion",
    ]
    assert levels["municipality"]["versions"] == {"2024": 319, "2025": 304}
    assert levels["referentieregio"]["versions"] == {"2024": 15, "2025": 15}
    assert levels["cityregion"]["versions"]["2025"] == 13
    # The ggw7 wijken exist in the 2025 version only (3,070 real ones, dummies skipped).
    assert levels["wijk"]["versions"] == {"2025": 3070}


def test_versions(client: TestClient) -> None:
    body = client.get("/api/v1/geo/versions").json()
    versions = body["items"]
    assert body["total"] == 2
    assert [v["id"] for v in versions] == ["2024", "2025"]
    assert versions[1]["valid_from"] == "2025-01-01"


def test_gent_with_its_context(client: TestClient) -> None:
    response = client.get("/api/v1/geo/units/municipality/44021", params={"version": "2025"})
    assert response.status_code == 200
    gent = response.json()
    assert (gent["id"], gent["name"], gent["version"]) == ("municipality:44021", "Gent", "2025")
    assert gent["uri"] == "https://data.vlaanderen.be/id/gemeente/44021"
    assert gent["parents"]["province"]["code"] == "40000"
    assert gent["parents"]["referentieregio"]["name"] == "Regio Gent"
    assert gent["parents"]["region"]["code"] == "02000"
    assert gent["parents"]["cityregion"]["code"] == "stadsregio-gent"
    assert gent["parent"]["id"] == "arrondissement:44000"
    # 254 sectors and the ZZZZ remainder, and its 25 wijken and the unknown one.
    assert gent["children_count"] == 255 + 26
    assert gent["member_counts"] == {"sector": 255, "wijk": 26}
    assert gent["versions"] == ["2024", "2025"]
    assert [p["version"] for p in gent["predecessors"]] == ["2024"]


def test_without_version_the_latest_is_used(client: TestClient) -> None:
    assert client.get("/api/v1/geo/units/municipality/71072").json()["version"] == "2025"
    assert client.get("/api/v1/geo/units/municipality/71022").json()["version"] == "2024"


def test_borsbeek_successor(client: TestClient) -> None:
    borsbeek = client.get("/api/v1/geo/units/municipality/11007", params={"version": "2024"})
    assert [s["id"] for s in borsbeek.json()["successors"]] == ["municipality:11002"]
    antwerpen = client.get("/api/v1/geo/units/municipality/11002", params={"version": "2025"})
    assert {p["code"] for p in antwerpen.json()["predecessors"]} == {"11002", "11007"}


def test_referentieregio_lists_its_members(client: TestClient) -> None:
    body = client.get("/api/v1/geo/units/referentieregio/REFREG13?version=2025").json()
    members = {m["code"] for m in body["members"]}
    assert "44021" in members and len(members) == body["member_counts"]["municipality"]
    assert body["parents"]["region"]["code"] == "02000"


def test_city_region_shows_its_definition(client: TestClient) -> None:
    body = client.get("/api/v1/geo/units/cityregion/stadsregio-gent").json()
    assert body["definition"] == ["referentieregio:REFREG13"]
    regio = client.get("/api/v1/geo/units/referentieregio/REFREG13?version=2025").json()
    assert {m["code"] for m in body["members"]} == {m["code"] for m in regio["members"]}


def test_units_filtered_and_paged_with_link_headers(client: TestClient) -> None:
    params = {"level": "municipality", "version": "2025", "page_size": 100}
    first = client.get("/api/v1/geo/units", params=params)
    assert first.status_code == 200
    body = first.json()
    assert (body["total"], body["page"], body["page_size"]) == (304, 1, 100)
    assert len(body["items"]) == 100
    rels = links(first.headers["link"])
    assert set(rels) == {"first", "last", "next"}
    assert "page=4" in rels["last"]
    # Absolute, on the public base URL, like the links in the bodies.
    base = get_settings().base_url
    assert all(url.startswith(f"{base}/api/v1/geo/units?") for url in rels.values()), rels
    seen = [u["code"] for u in body["items"]]
    url = rels["next"]
    while url:
        page = client.get(url)
        seen += [u["code"] for u in page.json()["items"]]
        url = links(page.headers["link"]).get("next", "")
    assert len(seen) == len(set(seen)) == 304


def test_units_within_a_unit(client: TestClient) -> None:
    body = client.get(
        "/api/v1/geo/units",
        params={"within": "province:40000", "level": "municipality", "version": "2025"},
    ).json()
    assert "44021" in {u["code"] for u in body["items"]}
    assert all(u["version"] == "2025" for u in body["items"])
    sectors = client.get(
        "/api/v1/geo/units", params={"within": "municipality:44021", "level": "sector"}
    ).json()
    assert sectors["total"] == 255


def test_units_search_by_name(client: TestClient) -> None:
    body = client.get("/api/v1/geo/units", params={"q": "borsbeek", "level": "municipality"}).json()
    assert [(u["code"], u["version"]) for u in body["items"]] == [("11007", "2024")]


def test_page_beyond_the_last_is_empty_with_links(client: TestClient) -> None:
    response = client.get("/api/v1/geo/units", params={"level": "region", "page": 9})
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert "prev" in links(response.headers["link"])


@pytest.mark.parametrize(
    ("url", "status", "needle"),
    [
        ("/api/v1/geo/units/municipality/00000", 404, "municipality:00000"),
        ("/api/v1/geo/units/planet/1", 404, "planet"),
        ("/api/v1/geo/units/municipality/11007?version=2025", 404, "version 2025"),
        ("/api/v1/geo/units/municipality/44021?version=1999", 422, "1999"),
        ("/api/v1/geo/units?level=planet", 422, "planet"),
        ("/api/v1/geo/units?version=1999", 422, "1999"),
        ("/api/v1/geo/units?within=44021", 422, "level:code"),
        ("/api/v1/geo/units?within=municipality:00000", 404, "municipality:00000"),
        ("/api/v1/geo/units?page=0", 422, "page"),
        ("/api/v1/geo/units?page=abc", 422, "page"),
        ("/api/v1/geo/units?page_size=1001", 422, "page_size"),
    ],
)
def test_bad_input_gets_a_problem(client: TestClient, url: str, status: int, needle: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert needle in problem["detail"] or needle == problem.get("parameter")
