"""The observations query on the real data: formats, paging, filters and bad input."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from jsonstat_validator import validate_jsonstat
from pyjstat import pyjstat

OBS = "/api/v1/datasets/{}/observations"


def get(client: TestClient, dataset: str, **params: object) -> dict[str, object]:
    response = client.get(OBS.format(dataset), params=params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_flat_records(client: TestClient) -> None:
    body = get(client, "population-2025", unit="municipality:44021", indicator="population")
    assert body["total"] == 1
    (item,) = body["items"]  # type: ignore[misc]
    assert set(item) == {
        "indicator",
        "period",
        "level",
        "version",
        "code",
        "name",
        "value",
        "unit_of_measure",
        "status",
        "coverage",
    }
    assert item["name"] == "Gent"
    assert item["unit_of_measure"] == "inhabitants"
    assert item["coverage"] == 1.0


def test_sector_values_have_no_coverage(client: TestClient) -> None:
    body = get(client, "population-2025", unit="sector:44021ZZZZ", indicator="population")
    (item,) = body["items"]  # type: ignore[misc]
    assert item["coverage"] is None
    assert item["value"] > 0


def test_within_and_level(client: TestClient) -> None:
    body = get(
        client,
        "population-2025",
        within="province:40000",
        level="municipality",
        indicator="population",
        page_size=1000,
    )
    codes = {i["code"] for i in body["items"]}  # type: ignore[index]
    assert "44021" in codes
    assert "11002" not in codes
    assert all(i["level"] == "municipality" for i in body["items"])  # type: ignore[index]


def test_2024_data_on_2025_municipalities(client: TestClient) -> None:
    old = get(
        client,
        "cars-households-2019",
        unit=["municipality:11002", "municipality:11007"],
        version="2024",
        indicator="households",
    )
    new = get(
        client,
        "cars-households-2019",
        unit="municipality:11002",
        version="2025",
        indicator="households",
    )
    total = sum(i["value"] for i in old["items"])  # type: ignore[index]
    assert new["items"][0]["value"] == pytest.approx(total)  # type: ignore[index]
    assert new["items"][0]["version"] == "2025"  # type: ignore[index]


def test_ad_hoc_area_is_the_sum_of_its_units(client: TestClient) -> None:
    units = ["municipality:44021", "municipality:44084", "municipality:44088"]
    parts = get(client, "population-2025", unit=units, indicator="population")
    area = get(
        client, "population-2025", area=units, indicator=["population", "population-density"]
    )
    items = {i["indicator"]: i for i in area["items"]}  # type: ignore[index]
    assert items["population"]["value"] == sum(i["value"] for i in parts["items"])  # type: ignore[index]
    assert items["population"]["level"] == "area"
    assert items["population"]["code"] == "+".join(units)
    areas = get(client, "population-2025", unit=units, indicator="area")
    expected = items["population"]["value"] / sum(i["value"] for i in areas["items"])  # type: ignore[index]
    # Density is declared with one decimal: the area's value is rounded to it.
    assert items["population-density"]["value"] == pytest.approx(expected, abs=0.05)


def test_an_ad_hoc_area_of_an_incomplete_unit_is_incomplete(client: TestClient) -> None:
    # Antwerpen's cars are incomplete in 2019 (Statbel's "-00" cells); Aalst's are complete.
    units = ["municipality:41002", "municipality:11002"]
    parts = get(client, "cars-households-2019", unit=units, indicator=["cars", "households"])
    by_unit = {(i["code"], i["indicator"]): i for i in parts["items"]}  # type: ignore[index]
    assert by_unit[("11002", "cars")]["status"] == "incomplete"
    assert by_unit[("41002", "cars")]["status"] == "normal"
    area = get(
        client,
        "cars-households-2019",
        area=units,
        indicator=["cars", "households", "cars-per-household"],
    )
    items = {i["indicator"]: i for i in area["items"]}  # type: ignore[index]
    cars = sum(by_unit[(u.split(":")[1], "cars")]["value"] for u in units)
    # Never a complete-looking total: the units' values, incomplete, with their coverage.
    assert (items["cars"]["value"], items["cars"]["status"]) == (cars, "incomplete")
    assert by_unit[("11002", "cars")]["coverage"] < items["cars"]["coverage"] < 1
    assert (items["households"]["status"], items["households"]["coverage"]) == ("normal", 1)
    # The ratio over both units, not over the complete one alone: Σcars / Σhouseholds over
    # the members with both, so Aalst (cars incomplete) counts by its sectors.
    sectors = get(
        client,
        "cars-households-2019",
        within="municipality:11002",
        level="sector",
        indicator=["cars", "households"],
        page_size=1000,
    )
    by_sector: dict[str, dict[str, float | None]] = {}
    for item in sectors["items"]:  # type: ignore[union-attr]
        by_sector.setdefault(item["code"], {})[item["indicator"]] = item["value"]
    matched = [p for p in by_sector.values() if None not in (p.get("cars"), p.get("households"))]
    ratio = items["cars-per-household"]
    assert ratio["status"] == "incomplete"
    expected = (sum(p["cars"] for p in matched) + by_unit[("41002", "cars")]["value"]) / (  # type: ignore[operator]
        sum(p["households"] for p in matched) + by_unit[("41002", "households")]["value"]  # type: ignore[operator]
    )
    assert ratio["value"] == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(
    ("dataset", "unit", "indicator"),
    [
        ("cars-households-2019", "municipality:11002", "cars-per-household"),  # cars incomplete
        ("cars-households-2019", "municipality:11044", "cars-per-household"),
        ("cars-households-2019", "arrondissement:13000", "cars-per-household"),
        ("population-2025", "municipality:44021", "population-density"),
    ],
)
def test_an_area_of_one_unit_is_that_unit(
    client: TestClient, dataset: str, unit: str, indicator: str
) -> None:
    """A ratio of an area is Σnumerator / Σdenominator over the members with both parts, as
    the unit's own: an area of one unit gives the unit's published cell, also where a part
    is incomplete (its parts' sums are then over different members)."""
    own = get(client, dataset, unit=unit, indicator=indicator)["items"][0]  # type: ignore[index]
    area = get(client, dataset, area=unit, indicator=indicator)["items"][0]  # type: ignore[index]
    assert (area["value"], area["status"], area["coverage"]) == (
        own["value"],
        own["status"],
        own["coverage"],
    )


def test_paging_with_links(client: TestClient) -> None:
    response = client.get(
        OBS.format("population-2025"),
        params={"level": "municipality", "indicator": "population", "page_size": 100, "page": 2},
    )
    body = response.json()
    assert (body["total"], body["page"], len(body["items"])) == (304, 2, 100)
    rels = {
        rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])
    }
    assert {"first", "prev", "next", "last"} == set(rels)
    assert "indicator=population" in rels["next"]


def test_an_area_is_walked_by_its_cursor(client: TestClient) -> None:
    """An area's pages carry next_cursor like every other page: following it gives every
    record once, the same as one page holding them all."""
    params = {"area": ["municipality:44021", "municipality:44088"], "page_size": 2}
    whole = get(client, "population-2025", area=params["area"], page_size=100)
    walked: list[object] = []
    body = get(client, "population-2025", **params)
    while True:
        walked += body["items"]  # type: ignore[operator]
        if body["next_cursor"] is None:
            break
        body = get(client, "population-2025", **params, cursor=body["next_cursor"])
    assert whole["total"] == len(walked) == 3 * 1  # three indicators, one period, one area
    assert walked == whole["items"]
    # In the order of every other route: by indicator id.
    indicators = [item["indicator"] for item in walked]  # type: ignore[index]
    assert indicators == sorted(indicators)


def test_an_area_has_no_provenance(client: TestClient) -> None:
    """Provenance names a value's supplier; an area sums many: 422 naming it, in every format
    (the CSV answered 500)."""
    for fmt in ("json", "csv", "jsonstat"):
        response = client.get(
            OBS.format("population-2025"),
            params={"area": "municipality:44088", "provenance": "true", "format": fmt},
        )
        assert response.status_code == 422, (fmt, response.text)
        assert response.json()["parameter"] == "provenance"


def test_csv_download(client: TestClient) -> None:
    response = client.get(
        OBS.format("population-2025"), params={"level": "province", "format": "csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert len(rows) == 3 * 5  # three indicators, five provinces
    assert {r["level"] for r in rows} == {"province"}
    json_body = get(client, "population-2025", level="province", page_size=1000)
    assert {(r["indicator"], r["code"]) for r in rows} == {
        (i["indicator"], i["code"])
        for i in json_body["items"]  # type: ignore[index]
    }


def test_csv_by_accept_header(client: TestClient) -> None:
    response = client.get(
        OBS.format("population-2025"), params={"level": "region"}, headers={"Accept": "text/csv"}
    )
    assert response.headers["content-type"].startswith("text/csv")


def test_jsonstat_reads_back_with_a_third_party_reader(client: TestClient) -> None:
    response = client.get(
        OBS.format("cars-households-2019"), params={"level": "province", "format": "jsonstat"}
    )
    assert response.status_code == 200
    document = response.json()
    assert validate_jsonstat(document)
    frame = pyjstat.Dataset.read(response.text).write("dataframe", naming="id")
    records = get(client, "cars-households-2019", level="province", page_size=1000)["items"]
    assert len(frame) == len(records)  # type: ignore[arg-type]
    by_key = {(r["indicator"], f"province:{r['code']}", r["period"]): r["value"] for r in records}  # type: ignore[union-attr]
    for row in frame.itertuples():
        assert row.value == pytest.approx(by_key[(row.indicator, row.geography, row.time)])


def test_rule_none_is_served_where_supplied(client: TestClient) -> None:
    body = get(
        client,
        "income",
        indicator="income-median-declaration",
        level="sector",
        period="2021",
        page_size=5,
    )
    assert body["total"] > 9000
    statuses = {i["status"] for i in body["items"]}  # type: ignore[index]
    assert statuses <= {"normal", "confidential"}


@pytest.mark.parametrize(
    ("dataset", "params", "status", "needle"),
    [
        ("no-such-dataset", {}, 404, "no-such-dataset"),
        ("population-2025", {"indicator": "cars"}, 404, "cars"),
        ("population-2025", {"period": "1999"}, 404, "1999"),
        ("population-2025", {"unit": "municipality:00000"}, 404, "municipality:00000"),
        ("population-2025", {"within": "province:99999"}, 404, "province:99999"),
        ("income", {"level": "municipality"}, 400, "cannot be aggregated"),
        ("income", {"area": "municipality:44021"}, 400, "cannot be aggregated"),
        ("income", {"unit": "municipality:44021"}, 400, "cannot be aggregated"),
        ("energy-fluvius", {"level": "sector", "version": "2025"}, 400, "no official conversion"),
        ("energy-fluvius", {"unit": "sector:44021A00-", "version": "2025"}, 400, "conversion"),
        ("population-2025", {"version": "2024"}, 400, "older version"),
        ("population-2025", {"level": "planet"}, 422, "planet"),
        ("population-2025", {"version": "1999"}, 422, "1999"),
        ("population-2025", {"unit": "44021"}, 422, "level:code"),
        ("population-2025", {"format": "xml"}, 422, "format"),
        ("population-2025", {"page_size": 5000}, 422, "page_size"),
        (
            "population-2025",
            {"area": "municipality:44021", "unit": "municipality:44084"},
            422,
            "area",
        ),
        ("population-2025", {"area": ["municipality:44021", "sector:44021ZZZZ"]}, 422, "overlap"),
    ],
)
def test_bad_input(
    client: TestClient, dataset: str, params: dict[str, object], status: int, needle: str
) -> None:
    response = client.get(OBS.format(dataset), params=params)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in response.text


def test_unsupported_accept_is_406(client: TestClient) -> None:
    response = client.get(OBS.format("population-2025"), headers={"Accept": "application/xml"})
    assert response.status_code == 406
    assert "text/csv" in response.json()["detail"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json, text/csv;q=0", "json"),
        ("text/csv;q=0.5, application/json", "json"),
        ("application/vnd.json-stat+json;q=0.9, text/csv;q=0.1", "jsonstat"),
        ("text/*", "csv"),
        ("application/*", "json"),
        ("application/json;q=0, */*", "csv"),
        ("text/html, */*;q=0.8", "json"),
        ("", "json"),
    ],
)
def test_the_format_is_the_most_preferred_one(
    client: TestClient, accept: str, expected: str
) -> None:
    """q-values count, and q=0 means "not this one" (RFC 9110, 12.5.1), also under a wildcard."""
    params = {"level": "region", "indicator": "population"}
    response = client.get(OBS.format("population-2025"), params=params, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    if expected == "csv":
        assert response.headers["content-type"].startswith("text/csv")
    else:  # JSON-stat is served as application/json too
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert ("class" in body and body["class"] == "dataset") == (expected == "jsonstat")


@pytest.mark.parametrize("accept", ["text/csv;q=0", "application/xml, text/html"])
def test_nothing_acceptable_is_406(client: TestClient, accept: str) -> None:
    response = client.get(OBS.format("population-2025"), headers={"Accept": accept})
    assert response.status_code == 406, response.text


def test_indicator_shows_where_it_is_available(client: TestClient) -> None:
    body = client.get("/api/v1/indicators/households").json()
    assert body["levels"][0] == "sector"
    assert "cityregion" in body["levels"]
    assert body["versions"] == ["2024", "2025"]
    assert body["periods"] == ["2019"]
    income = client.get("/api/v1/indicators/income-average-declaration").json()
    assert income["levels"] == ["sector"]
    assert income["periods"] == ["2013", "2021", "2023"]


@pytest.mark.parametrize(
    "params",
    [
        {"dataset": "income", "level": "sector", "period": "2021", "page_size": 1000},
        {"dataset": "population-2025", "level": "cityregion"},
        {"dataset": "cars-households-2019", "version": "2025", "level": "municipality"},
        {"dataset": "population-2025", "unit": "sector:44021ZZZZ", "provenance": "true"},
        {"dataset": "population-2025", "level": "province", "format": "jsonstat"},
    ],
)
def test_real_pages_match_the_openapi_document(client: TestClient, params: dict[str, str]) -> None:
    from tests.contract import assert_conforms

    dataset = params.pop("dataset")
    response = client.get(OBS.format(dataset), params=params)
    assert response.status_code == 200, response.text
    assert_conforms(
        client,
        "/api/v1/datasets/{dataset_id}/observations",
        "get",
        200,
        response.json(),
        "application/json",
    )


def test_provenance_in_csv_leaves_an_aggregates_supplier_empty(client: TestClient) -> None:
    params = {"unit": ["municipality:44021", "sector:44021A00-"], "indicator": "population"}
    params |= {"provenance": "true", "format": "csv"}
    response = client.get(OBS.format("population-2025"), params=params)
    assert response.status_code == 200, response.text
    rows = {r["level"]: r for r in csv.DictReader(io.StringIO(response.text))}
    # As null in JSON: an aggregate has no supplier, submission or revision of its own.
    assert {rows["municipality"][f] for f in ("supplier", "submission", "revision")} == {""}
    assert rows["sector"]["supplier"] and rows["sector"]["submission"].isdigit()
    assert "None" not in response.text


def test_no_last_link_beyond_the_pages_a_number_reaches(client: TestClient) -> None:
    # Over 100,000 pages of one row: the last page has no number the API accepts, so the
    # Link header leads on by cursor and names no last page.
    response = client.get(OBS.format("energy-fluvius"), params={"page_size": 1})
    assert response.status_code == 200
    assert response.json()["total"] > 100_000
    rels = {
        rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])
    }
    assert set(rels) == {"first", "next"} and "cursor=" in rels["next"]
    smaller = client.get(OBS.format("energy-fluvius"), params={"page_size": 1000})
    assert 'rel="last"' in smaller.headers["link"]


def test_a_unit_of_another_version_is_named_with_the_way_there(client: TestClient) -> None:
    """City-regions exist in version 2025: asked of a 2024 dataset, the 404 says how to
    reach them (as level=cityregion does)."""
    response = client.get(
        OBS.format("cars-households-2019"), params={"within": "cityregion:stadsregio-gent"}
    )
    assert response.status_code == 404
    assert "in version 2025 (add version=…)" in response.json()["detail"]


def test_a_merged_municipality_is_not_sent_to_an_older_version(client: TestClient) -> None:
    """Borsbeek (11007) is in version 2024 only; the 2025 dataset's values do not reach it
    there, so the 404 does not send the reader to a version that refuses (400)."""
    response = client.get(OBS.format("population-2025"), params={"unit": "municipality:11007"})
    assert response.status_code == 404
    assert "add version" not in response.json()["detail"]
