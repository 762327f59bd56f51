"""Named unit sets on the real geography: as data, in /geo/sets and as `unit=set:NAME`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.errors import SourceDataError
from app.unitsets.service import load_definitions
from tests.conftest import real_source_dir

OBS = "/api/v1/datasets/{}/observations"
SETS = "/api/v1/geo/sets"


def centre_city_codes() -> list[str]:
    """The 13 centre cities as the real file lists them (independent of the seeds)."""
    path = real_source_dir() / "geo" / "centrumsteden_2025.csv"
    with path.open(encoding="utf-8") as handle:
        return sorted(row["nis_2025"] for row in csv.DictReader(handle))


def test_centrumsteden_are_the_13_of_the_real_file(client: TestClient) -> None:
    response = client.get(f"{SETS}/centrumsteden")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == "2025"
    assert sorted(u["code"] for u in body["units"]) == centre_city_codes()
    assert len(body["units"]) == 13
    assert {u["level"] for u in body["units"]} == {"municipality"}
    assert "Gent" in [u["name"] for u in body["units"]]


def test_the_sets_are_listed_in_the_list_envelope(client: TestClient) -> None:
    response = client.get(SETS)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "total", "page", "page_size"}
    by_id = {s["id"]: s for s in body["items"]}
    assert set(by_id) >= {"centrumsteden", "stadsregios", "vlaams-gewest", "provincies"}
    assert body["total"] == len(body["items"])
    assert len(by_id["stadsregios"]["units"]) == 13
    assert {u["id"] for u in by_id["vlaams-gewest"]["units"]} == {"region:02000"}
    provinces = {u["code"] for u in by_id["provincies"]["units"]}
    assert provinces == {"10000", "20001", "30000", "40000", "70000"}
    assert "Link" in response.headers
    assert client.head(SETS).status_code == 200


def test_an_unknown_set_is_a_404_listing_the_sets(client: TestClient) -> None:
    for response in (
        client.get(f"{SETS}/nergens"),
        client.get(OBS.format("population-2025"), params={"unit": "set:nergens"}),
        client.get(OBS.format("population-2025"), params={"area": "set:nergens"}),
    ):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert "centrumsteden" in problem["detail"]
        assert "provincies" in problem["sets"]


def test_unit_set_in_the_observations_equals_the_units_listed(client: TestClient) -> None:
    codes = centre_city_codes()
    by_set = client.get(
        OBS.format("population-2025"),
        params={"unit": "set:centrumsteden", "indicator": "population", "page_size": 100},
    )
    listed = client.get(
        OBS.format("population-2025"),
        params={
            "unit": [f"municipality:{c}" for c in codes],
            "indicator": "population",
            "page_size": 100,
        },
    )
    assert by_set.status_code == listed.status_code == 200
    assert by_set.json()["total"] == 13
    assert sorted(by_set.json()["items"], key=str) == sorted(listed.json()["items"], key=str)
    # A set mixes with single units.
    mixed = client.get(
        OBS.format("population-2025"),
        params={"unit": ["set:vlaams-gewest", "municipality:44021"], "indicator": "population"},
    )
    assert {i["code"] for i in mixed.json()["items"]} == {"02000", "44021"}


def test_an_area_of_the_provinces_is_the_flemish_region(client: TestClient) -> None:
    params = {"indicator": "population"}
    area = client.get(OBS.format("population-2025"), params={**params, "area": "set:provincies"})
    region = client.get(OBS.format("population-2025"), params={**params, "unit": "region:02000"})
    assert area.status_code == region.status_code == 200
    assert area.json()["items"][0]["value"] == region.json()["items"][0]["value"]


def test_centre_cities_exist_only_in_the_city_regions_version(client: TestClient) -> None:
    response = client.get(
        OBS.format("cars-households-2019"),
        params={"unit": "set:centrumsteden", "version": "2024"},
    )
    assert response.status_code == 422
    assert response.json()["parameter"] == "unit"
    assert "2025" in response.json()["detail"]
    # The same data asked on the 2025 municipalities answers.
    ok = client.get(
        OBS.format("cars-households-2019"),
        params={"unit": "set:centrumsteden", "version": "2025", "indicator": "cars"},
    )
    assert ok.status_code == 200 and ok.json()["total"] == 13


@pytest.mark.parametrize("parameter", ["unit", "area"])
def test_a_set_of_a_level_the_version_lacks_is_refused(client: TestClient, parameter: str) -> None:
    """The city-regions exist in version 2025 only: on a 2024 dataset the set is empty, and an
    empty set filtered nothing (every unit came back). A 422 naming the version instead."""
    response = client.get(OBS.format("cars-households-2019"), params={parameter: "set:stadsregios"})
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == parameter
    assert "version 2024" in response.json()["detail"]
    assert "version=" in response.json()["detail"]


def test_a_bad_definition_is_refused_with_file_and_entry(tmp_path: Path) -> None:
    path = tmp_path / "unit_sets.yaml"
    path.write_text(
        "- id: ok\n  name: {nl: A, en: A}\n  members: ['region:02000']\n"
        "- id: twee\n  name: {nl: B, en: B}\n  members: ['region:02000']\n  level: province\n"
        "- id: ok\n  name: {nl: C, en: C}\n  level: province\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceDataError) as raised:
        load_definitions(path)
    problems = raised.value.problems
    assert any("unit_sets.yaml: entry 2" in p and "exactly one" in p for p in problems)
    assert any("entry 3" in p and "duplicate" in p for p in problems)


def test_the_seeded_sets_parse() -> None:
    from app.config import SEEDS_DIR

    ids = [d.id for d in load_definitions(SEEDS_DIR / "unit_sets.yaml")]
    assert ids[0] == "centrumsteden"
