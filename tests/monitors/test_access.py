"""Monitors and the comparison respect access levels as the observations API does."""

from __future__ import annotations

import pytest

from tests.factories import World

DATASET = "population-2025"


@pytest.fixture
def world(world: World) -> World:
    """The fresh world (real geography) with a value from Gent, population made restricted."""
    submitted = world.client.post(
        f"/api/v1/datasets/{DATASET}/submissions",
        content="sector,indicator,period,value\n44021A00-,population,2025,1000\n",
        headers=world.headers("gent"),
    )
    assert submitted.status_code == 201, submitted.text
    world.set_access_level(DATASET, "restricted")
    return world


def test_restricted_indicators_are_withheld_from_a_monitor(world: World) -> None:
    anonymous = world.client.get("/api/v1/monitors/demografie")
    assert anonymous.status_code == 200, anonymous.text
    body = anonymous.json()
    withheld = {w["indicator"]: w for w in body["withheld"]}
    assert set(withheld) == {"population", "population-density"}
    assert withheld["population"]["status"] == 401
    assert "access_request" in withheld["population"]["reason"]
    assert {s["indicator"] for s in body["series"]}.isdisjoint(withheld)
    analyst = world.client.get("/api/v1/monitors/demografie", headers=world.auth("analyst"))
    assert {w["status"] for w in analyst.json()["withheld"]} == {403}
    owner = world.client.get("/api/v1/monitors/demografie", headers=world.auth("gent"))
    body = owner.json()
    assert body["withheld"] == []
    population = next(s for s in body["series"] if s["indicator"] == "population")
    gent = next(u for u in population["periods"][0]["units"] if u["code"] == "44021")
    assert gent["value"] == 1000
    assert gent["rank"] == 1  # the only city with a value in this world


def test_compare_of_a_restricted_indicator_needs_access(world: World) -> None:
    params = {"indicator": "population", "unit": "set:centrumsteden"}
    assert world.client.get("/api/v1/compare", params=params).status_code == 401
    refused = world.client.get("/api/v1/compare", params=params, headers=world.auth("analyst"))
    assert refused.status_code == 403
    assert refused.json()["missing_right"] == f"grant:{DATASET}"
    allowed = world.client.get("/api/v1/compare", params=params, headers=world.auth("gent"))
    assert allowed.status_code == 200


def test_the_profile_shows_public_indicators_only(world: World) -> None:
    body = world.client.get(
        "/api/v1/geo/units/municipality/44021/profile", headers=world.auth("gent")
    ).json()
    assert "population" not in {r["indicator"] for r in body["indicators"]}
