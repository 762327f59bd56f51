"""Monitors and the comparison on the real data: values equal the observations API, ranks,
changes, formats and bad input (what a cache must know of the formats, on a world)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from jsonstat_validator import validate_jsonstat

from app.monitors.service import load_definitions
from tests.factories import World

OBS = "/api/v1/datasets/{}/observations"
MONITORS = "/api/v1/monitors"
COMPARE = "/api/v1/compare"


def observed(client: TestClient, dataset: str, indicator: str, refs: list[str]) -> dict[Any, Any]:
    """(period, level:code) → record, from the observations API."""
    response = client.get(
        OBS.format(dataset),
        params={"indicator": indicator, "unit": refs, "version": "2025", "page_size": 1000},
    )
    assert response.status_code == 200, response.text
    return {(r["period"], f"{r['level']}:{r['code']}"): r for r in response.json()["items"]}


def test_monitors_are_listed(client: TestClient) -> None:
    response = client.get(MONITORS)
    assert response.status_code == 200
    body = response.json()
    ids = [m["id"] for m in body["items"]]
    assert ids[:2] == ["klimaat-energie", "demografie"]
    assert body["total"] == len(ids)
    assert body["items"][0]["title"]["nl"] == "Klimaat en energie"
    assert client.head(MONITORS).status_code == 200


def test_klimaat_energie_equals_the_observations_api(client: TestClient) -> None:
    response = client.get(f"{MONITORS}/klimaat-energie")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unit_set"] == "centrumsteden"
    assert len(body["units"]) == 13
    assert body["reference_unit"]["id"] == "region:02000"
    assert body["withheld"] == []
    assert [s["indicator"] for s in body["series"]] == body["indicators"]
    refs = [u["id"] for u in body["units"]] + ["region:02000"]
    checked = 0
    for one in body["series"]:
        records = observed(client, one["dataset"], one["indicator"], refs)
        assert [p["period"] for p in one["periods"]] == sorted({p for p, _ in records})
        for values in one["periods"]:
            for unit in [*values["units"], values["reference"]]:
                record = records[(values["period"], unit["id"])]
                assert unit["value"] == record["value"]
                assert type(unit["value"]) is type(record["value"])
                assert unit["status"] == record["status"]
                assert unit["coverage"] == record["coverage"]
                checked += 1
    assert checked > 13 * 7


def test_ranks_and_changes(client: TestClient) -> None:
    body = client.get(f"{MONITORS}/klimaat-energie").json()
    electricity = next(
        s for s in body["series"] if s["indicator"] == "electricity-consumption-residential"
    )
    periods = [p["period"] for p in electricity["periods"]]
    assert periods == ["2018", "2019", "2020", "2021"]
    first, second = electricity["periods"][0], electricity["periods"][1]
    assert all(u["change"] is None and u["previous_period"] is None for u in first["units"])
    values = {u["id"]: u["value"] for u in first["units"]}
    for unit in second["units"]:
        assert unit["previous_period"] == "2018"
        assert unit["previous_value"] == values[unit["id"]]
        assert unit["change"] == unit["value"] - unit["previous_value"]
        expected = round((unit["value"] - unit["previous_value"]) / unit["previous_value"] * 100, 2)
        assert abs(unit["change_pct"] - expected) < 0.006
    ranked = sorted((u for u in second["units"] if u["value"] is not None), key=lambda u: u["rank"])
    assert ranked[0]["rank"] == 1
    assert [u["value"] for u in ranked] == sorted((u["value"] for u in ranked), reverse=True)
    assert second["ranked"] == len(ranked) == 13
    assert ranked[0]["name"] == "Antwerpen"  # the largest city uses the most
    assert second["reference"]["rank"] is None
    assert second["reference"]["value"] > ranked[0]["value"]


def test_a_period_a_part_lacks_is_a_404_naming_it(client: TestClient) -> None:
    response = client.get(f"{MONITORS}/klimaat-energie", params={"period": "2021"})
    assert response.status_code == 404
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["indicator"] in {"open-space-total", "share-forest-in-open-space",
                                    "cars-per-household"}  # fmt: skip
    assert problem["periods"] and "2021" not in problem["periods"]
    assert problem["indicator"] in problem["detail"]
    demography = client.get(f"{MONITORS}/demografie", params={"period": "1999"})
    assert demography.status_code == 404
    assert demography.json()["indicator"] == "population"


def test_an_unknown_monitor_is_a_404_listing_them(client: TestClient) -> None:
    response = client.get(f"{MONITORS}/nergens")
    assert response.status_code == 404
    assert "klimaat-energie" in response.json()["detail"]
    assert response.json()["monitors"][:2] == ["klimaat-energie", "demografie"]


def test_csv_and_jsonstat(client: TestClient) -> None:
    body = client.get(f"{MONITORS}/demografie").json()
    cells = sum(len(p["units"]) + 1 for s in body["series"] for p in s["periods"])
    as_csv = client.get(f"{MONITORS}/demografie", params={"format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == cells
    gent = next(r for r in rows if r["code"] == "44021" and r["indicator"] == "population")
    assert gent["role"] == "member" and gent["rank"] == "2"
    json_gent = next(
        u for s in body["series"] if s["indicator"] == "population"
        for p in s["periods"] for u in p["units"] if u["code"] == "44021"
    )  # fmt: skip
    assert gent["value"] == str(json_gent["value"])
    assert {r["role"] for r in rows if r["code"] == "02000"} == {"reference"}
    by_accept = client.get(f"{MONITORS}/demografie", headers={"Accept": "text/csv"})
    assert by_accept.text == as_csv.text
    stat = client.get(
        f"{MONITORS}/demografie", headers={"Accept": "application/vnd.json-stat+json"}
    )
    assert stat.status_code == 200
    document = stat.json()
    assert validate_jsonstat(document)
    assert document["size"][1] == 14
    refused = client.get(f"{MONITORS}/demografie", headers={"Accept": "image/png"})
    assert refused.status_code == 406


def test_compare_answers_the_latest_period_by_default(client: TestClient) -> None:
    params = {"indicator": "gas-consumption-residential", "unit": "set:centrumsteden"}
    latest = client.get(COMPARE, params=params)
    assert latest.status_code == 200, latest.text
    body = latest.json()
    (values,) = body["series"]["periods"]
    assert values["period"] == "2021"
    assert values["reference"]["id"] == "region:02000"
    records = observed(
        client,
        "energy-fluvius",
        "gas-consumption-residential",
        [u["id"] for u in body["units"]] + ["region:02000"],
    )
    for unit in values["units"]:
        assert unit["value"] == records[("2021", unit["id"])]["value"]
    earlier = client.get(COMPARE, params={**params, "period": "2019"})
    assert earlier.json()["series"]["periods"][0]["period"] == "2019"
    assert earlier.json()["series"]["periods"][0]["units"][0]["previous_period"] == "2018"
    assert client.head(COMPARE, params=params).status_code == 200
    as_csv = client.get(COMPARE, params={**params, "format": "csv"})
    assert len(as_csv.text.strip().splitlines()) == 1 + 14


def test_compare_bad_input(client: TestClient) -> None:
    base = {"indicator": "gas-consumption-residential", "unit": "set:centrumsteden"}
    lacking = client.get(COMPARE, params={**base, "period": "2025"})
    assert lacking.status_code == 404
    assert lacking.json()["indicator"] == "gas-consumption-residential"
    assert lacking.json()["periods"] == ["2018", "2019", "2020", "2021"]
    unknown_set = client.get(COMPARE, params={**base, "unit": "set:nergens"})
    assert unknown_set.status_code == 404
    assert "centrumsteden" in unknown_set.json()["sets"]
    unknown = client.get(COMPARE, params={**base, "indicator": "geluk"})
    assert unknown.status_code == 404
    assert unknown.json()["indicator"] == "geluk"
    for params in (
        {"indicator": "population"},
        {**base, "unit": "nergens"},
        {**base, "version": "1999"},
        {**base, "format": "xml"},
    ):
        response = client.get(COMPARE, params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
    no_unit = client.get(COMPARE, params={**base, "unit": "municipality:99998"})
    assert no_unit.status_code == 404


def test_every_monitor_seed_is_one_line_per_indicator(tmp_path: Any) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text(
        "- id: m\n  title: {nl: M, en: M}\n  unit_set: centrumsteden\n"
        "  indicators:\n    - population\n    - {indicator: cars, dataset: cars-households-2019}\n",
        encoding="utf-8",
    )
    (monitor,) = load_definitions(path)
    assert [(p.indicator, p.dataset) for p in monitor.indicators] == [
        ("population", None),
        ("cars", "cars-households-2019"),
    ]
    assert monitor.reference == "region:02000"


def test_every_seeded_monitor_resolves_in_the_real_catalogue(real_session: Any) -> None:
    from app.monitors.service import definitions, find_part
    from app.unitsets.service import resolve

    for monitor in definitions():
        assert len(resolve(real_session, monitor.unit_set)) > 0
        for part in monitor.indicators:
            found = find_part(real_session, part.indicator, part.dataset)
            assert found.indicator.id == part.indicator


def test_a_unit_of_another_version_is_a_404_saying_where_it_is(client: TestClient) -> None:
    """Hasselt (71022) merged into 71072 in 2025; the compare route said only "not found in
    version 2025", where the observations route names the version that has it."""
    answer = client.get(
        "/api/v1/compare",
        params={"indicator": "population", "unit": "municipality:71022", "version": "2025"},
    )
    assert answer.status_code == 404, answer.text
    detail = answer.json()["detail"]
    assert "not found in version 2025" in detail
    assert "it exists in version 2024" in detail
    assert "in version 2025 it is part of municipality:71072" in detail


def test_monitor_and_compare_vary_by_accept(world: World) -> None:
    """The same URL answers JSON, CSV or JSON-stat by ``Accept``: a cache (the browser's, a
    proxy's) must not hand the CSV it kept to an app that asks for JSON."""
    submitted = world.client.post(
        "/api/v1/datasets/population-2025/submissions",
        content="sector,indicator,period,value\n44021A00-,population,2025,1000\n",
        headers=world.headers("gent"),
    )
    assert submitted.status_code == 201, submitted.text
    for path, params in (
        (f"{MONITORS}/demografie", {}),
        (COMPARE, {"indicator": "population", "unit": "municipality:44021"}),
    ):
        for accept in ("application/json", "text/csv", "application/vnd.json-stat+json"):
            answer = world.client.get(path, params=params, headers={"Accept": accept})
            assert answer.status_code == 200, answer.text
            vary = {v.strip().lower() for v in answer.headers.get("vary", "").split(",")}
            assert "accept" in vary, (path, accept, answer.headers.get("vary"))
