"""A unit's profile on the real data: latest values beside its city-region and region, equal
to the observations API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.monitors.schemas import IndicatorSeries, PeriodValues, UnitValue
from app.monitors.service import latest_complete

PROFILE = "/api/v1/geo/units/{}/{}/profile"
OBS = "/api/v1/datasets/{}/observations"


def test_gent_beside_its_city_region_and_the_flemish_region(client: TestClient) -> None:
    response = client.get(PROFILE.format("municipality", "44021"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unit"]["name"] == "Gent"
    assert body["cityregion"]["id"] == "cityregion:stadsregio-gent"
    assert body["region"]["id"] == "region:02000"
    rows = {r["indicator"]: r for r in body["indicators"]}
    # Every public indicator with a value for Gent; income (published only per sector) not.
    assert {"population", "share-65plus", "cars-per-household", "open-space-total"} <= set(rows)
    assert "income-median-declaration" not in rows
    for row in body["indicators"]:
        records = client.get(row["api_url"]).json()["items"]
        by_ref = {f"{r['level']}:{r['code']}": r for r in records}
        assert {r["period"] for r in records} == {row["period"]}
        for key, ref in (
            ("value", "municipality:44021"),
            ("cityregion", "cityregion:stadsregio-gent"),
            ("region", "region:02000"),
        ):
            assert row[key]["value"] == by_ref[ref]["value"], (row["indicator"], key)
            assert row[key]["status"] == by_ref[ref]["status"]
        # The latest period the observations API has for Gent.
        every = client.get(
            OBS.format(row["dataset"]),
            params={"indicator": row["indicator"], "unit": "municipality:44021",
                    "version": "2025"},
        ).json()["items"]  # fmt: skip
        assert row["period"] == max(r["period"] for r in every)
    electricity = rows["electricity-consumption-residential"]
    assert electricity["period"] == "2021"
    assert electricity["value"]["previous_period"] == "2020"
    assert electricity["value"]["change"] == (
        electricity["value"]["value"] - electricity["value"]["previous_value"]
    )
    assert client.head(PROFILE.format("municipality", "44021")).status_code == 200


def test_a_sector_has_its_municipalitys_comparison_and_sector_only_indicators(
    client: TestClient,
) -> None:
    body = client.get(PROFILE.format("sector", "44021A00-")).json()
    assert body["region"]["id"] == "region:02000"
    assert body["cityregion"]["level"] == "cityregion"
    rows = {r["indicator"] for r in body["indicators"]}
    assert "population" in rows


def test_the_region_and_brussels(client: TestClient) -> None:
    region = client.get(PROFILE.format("region", "02000")).json()
    assert region["cityregion"] is None and region["region"] is None
    assert any(r["indicator"] == "population" for r in region["indicators"])
    brussels = client.get(PROFILE.format("municipality", "21004")).json()
    assert brussels["region"]["id"] == "region:04000"
    assert brussels["cityregion"] is None


def test_a_city_region_beside_the_flemish_region(client: TestClient) -> None:
    """A city-region is a regionalisation: no region among its ancestors, but its sectors
    lie in one. Its profile compares it with the Flemish Region (it said null)."""
    body = client.get(PROFILE.format("cityregion", "stadsregio-gent")).json()
    assert body["region"]["id"] == "region:02000"
    population = next(r for r in body["indicators"] if r["indicator"] == "population")
    region = client.get(
        OBS.format(population["dataset"]),
        params={"indicator": "population", "unit": "region:02000", "period": population["period"]},
    ).json()["items"][0]
    assert population["region"]["value"] == region["value"]


def test_an_unknown_unit_or_level_is_a_404(client: TestClient) -> None:
    for path in (
        PROFILE.format("municipality", "99998"),
        PROFILE.format("planet", "44021"),
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert (
        client.get(PROFILE.format("municipality", "44021"), params={"version": "1999"}).status_code
        == 422
    )


def _period(period: str, *cells: tuple[float | None, str, float | None]) -> PeriodValues:
    units = [
        UnitValue(
            id=f"municipality:{n}",
            level="municipality",
            code=str(n),
            name=str(n),
            value=value,
            status=status,
            coverage=coverage,
            previous_period=None,
            previous_value=None,
            change=None,
            change_pct=None,
        )
        for n, (value, status, coverage) in enumerate(cells)
    ]
    return PeriodValues(period=period, reference=None, units=units, ranked=0)


def test_without_a_complete_year_the_best_covered_one_is_shown() -> None:
    """One confidential sector keeps every year of a municipality incomplete; a year that
    two sectors have supplied so far (coverage 0.8 %) is not the one to show."""
    found = IndicatorSeries(
        indicator="population",
        dataset="population-2025",
        label={"nl": "Bevolking", "en": "Population"},
        unit_of_measure="persons",
        decimals=0,
        periods=[
            _period("2024", (262_000, "incomplete", 0.995)),
            _period("2025", (272_000, "incomplete", 0.996)),
            _period("2026", (1_945, "incomplete", 0.008)),
        ],
        api_url="/",
    )
    shown = latest_complete(found)
    assert shown is not None and shown.period == "2025"
    complete = found.model_copy(
        update={"periods": [*found.periods, _period("2027", (280_000, "normal", None))]}
    )
    assert latest_complete(complete).period == "2027"  # type: ignore[union-attr]
