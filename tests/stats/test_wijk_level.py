"""The wijk level (ggw7, 2025 sector version): 2025 values are published per wijk, derived
from the sectors like every other level, and disclosure control treats a wijk's sectors as a
group of their own."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.geo import repository as geo_repository
from app.stats import repository
from app.stats.publish import _disclosure_groups, build_targets

OBS = "/api/v1/datasets/{}/observations"


def test_2025_population_per_wijk_adds_up_to_the_municipality(client: TestClient) -> None:
    params = {"indicator": "population", "level": "wijk", "within": "municipality:44021"}
    body = client.get(OBS.format("population-2025"), params={**params, "page_size": 1000}).json()
    wijken = {item["code"]: item for item in body["items"]}
    assert len(wijken) == 26  # 25 wijken and the unknown one (the ZZZZ remainder)
    assert all(item["level"] == "wijk" and item["version"] == "2025" for item in wijken.values())
    gent = client.get(
        OBS.format("population-2025"),
        params={"indicator": "population", "unit": "municipality:44021"},
    ).json()["items"][0]
    assert sum(item["value"] for item in wijken.values()) == gent["value"]
    # Density is a ratio of sums at the wijk too, not an average of sector densities.
    density = client.get(
        OBS.format("population-2025"),
        params={"indicator": "population-density", "unit": "wijk:44021WONB"},
    )
    assert density.status_code == 200


def test_2024_datasets_have_no_wijk_values(client: TestClient) -> None:
    # Their sectors are 2024 sectors; the wijken group 2025 sectors only.
    response = client.get(OBS.format("income"), params={"level": "wijk", "page_size": 1})
    if response.status_code == 200:
        assert response.json()["total"] == 0
    else:
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"] == "application/problem+json"


def test_a_wijks_sectors_form_a_disclosure_group(real_session: Session) -> None:
    geo = repository.load_geography(real_session, ["2025"])
    wijk = geo_repository.get_unit(real_session, "wijk", "11001W01", "2025")
    municipality = geo_repository.get_unit(real_session, "municipality", "11001", "2025")
    assert wijk is not None and municipality is not None
    sectors = {u.id for u in geo_repository.members(real_session, wijk.id, "sector")}
    members = {u.id for u in geo_repository.members(real_session, municipality.id, "sector")}
    targets = build_targets(geo, {}, members)
    groups = [set(g) for g in _disclosure_groups(geo, {}, targets.of_member)]
    # Each group with its total: wijk = Σ its sectors, municipality = Σ its wijken.
    assert sectors | {wijk.id} in groups
    wijken = {u.id for u in geo_repository.members(real_session, municipality.id, "wijk")}
    assert (
        wijken | {municipality.id} in groups
    )  # the wijken of a municipality, apart from its sectors
    assert members | {municipality.id} in groups
    mixed = [g for g in groups if g & wijken and g & members]
    assert all(len(g & wijken) == 1 for g in mixed)  # only a wijk as the total of its sectors


@pytest.mark.parametrize("parameter", ["unit", "area", "within"])
def test_a_wijk_is_not_asked_of_another_version(client: TestClient, parameter: str) -> None:
    """A wijk groups 2025 sectors: a 2024 dataset asked for one in version 2025 is a 400 with
    the reason, as a sector is (it was an empty list, read as "no data here")."""
    response = client.get(
        OBS.format("cars-households-2019"),
        params={parameter: "wijk:44021W01", "version": "2025", "indicator": "cars"},
    )
    assert response.status_code == 400, response.text
    assert "wijken" in response.json()["detail"]


@pytest.mark.parametrize(
    "area",
    [
        ["set:centrumsteden", "municipality:44021"],
        ["municipality:44021", "municipality:44021"],
    ],
)
def test_an_area_names_each_unit_once(client: TestClient, area: list[str]) -> None:
    """Gent in the set and alone again would count twice: a 422 naming it (it was counted
    once, silently), as overlapping units are."""
    response = client.get(
        OBS.format("population-2025"), params={"area": area, "indicator": "population"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == "area"
    assert "municipality:44021" in response.json()["detail"]
