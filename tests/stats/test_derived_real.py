"""Derived indicators across datasets on the real data, against an independent computation.

Residential electricity per inhabitant 2021 (Fluvius ÷ Census 2021) and population density
2021 (Census 2021 ÷ the 2021 sector map) are computed with DuckDB straight from the source
CSVs — never through the project's parsers, importers or aggregation — at every level: the
2024 municipalities, arrondissements, provinces, the Flemish Region, referentieregio's and
vervoerregio's, the 2025 municipalities and the city-regions (``cityregion:stadsregio-gent``
is Regio Gent, REFREG13 of the 2025 geography), and Gent's sectors. The API side is the
session-scoped ``client`` over the database seeded with all real data (which ran the derived
publication as part of the seed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
import yaml
from fastapi.testclient import TestClient

from app.config import SEEDS_DIR
from tests.conftest import real_source_dir
from tests.stats.test_stats_real import fetch, keyed

DATASET = "climate-energy-monitor"
ELECTRICITY = "electricity-residential-per-inhabitant"
DENSITY = "population-density-2021"
REL = 1e-9
DECIMALS = {
    entry["id"]: int(entry["decimals"])
    for entry in yaml.safe_load((SEEDS_DIR / "derived.yaml").read_text(encoding="utf-8"))
}

_SOURCES = {
    "energy": (
        "values/fluvius_energy_consumption_sector_2018_2021.csv",
        """
        SELECT trim(geoitem) AS sector,
               nullif(CAST(v2506_elek_res_cons AS DOUBLE), -99999) AS elek,
               nullif(CAST(v2506_elek_res_n AS DOUBLE), -99999) AS connections
        FROM {src} WHERE trim(period) = '2021'
        """,
    ),
    "census": (
        "values/statbel_census2021_age65plus_sector.csv",
        """
        SELECT trim(cd_sector) AS sector,
               CAST(x65 AS BIGINT) + CAST(coalesce(nullif(trim(rest), ''), '0') AS BIGINT)
                   AS population
        FROM {src}
        """,
    ),
    "area": (
        "values/statbel_sector_area_shape2021.csv",
        """
        SELECT trim(CD_SECTOR_REFNIS) AS sector,
               lpad(trim(CD_MUNTY_REFNIS), 5, '0') AS own_municipality,
               CAST("SURFACE.GIS.h" AS DOUBLE) / 100 AS km2
        FROM {src}
        """,
    ),
    "geo2024": (
        "geo/pinc_statsec2024_alle_gebiedsniveaus.csv",
        """
        SELECT trim(statsec2024) AS sector,
               lpad(trim(gemeente2024), 5, '0') AS municipality,
               lpad(trim(gemeente), 5, '0') AS municipality2025,
               lpad(trim(arrondiss2024), 5, '0') AS arrondissement,
               CASE WHEN trim(provincie2024) = '4000' THEN NULL
                    ELSE lpad(trim(provincie2024), 5, '0') END AS province,
               CASE trim(gewest) WHEN '2000' THEN '02000' WHEN '4000' THEN '04000' END
                   AS region,
               CASE WHEN REFREG IN ('REFREG91', 'REFREG99') THEN NULL ELSE REFREG END
                   AS referentieregio,
               CASE WHEN vervoerregio IN ('91', '99') THEN NULL ELSE vervoerregio END
                   AS vervoerregio
        FROM {src}
        WHERE gemeente2024 NOT LIKE '9999%'
        """,
    ),
    # Regio Gent (the members of cityregion:stadsregio-gent, seeds/cityregions.yaml) and the
    # other referentieregio's of the 2025 municipalities.
    "refreg2025": (
        "geo/pinc_gemeente2025_referentieregio.csv",
        "SELECT * FROM {src}",
    ),
}


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    source = real_source_dir()
    con = duckdb.connect()
    for table, (relative, select_sql) in _SOURCES.items():
        reader = "read_csv(?, header = true, delim = ',', quote = '\"', all_varchar = true)"
        con.execute(
            f"CREATE TABLE {table} AS {select_sql.format(src=reader)}",
            [str(source / relative)],
        )
    columns = [r[0] for r in con.execute("DESCRIBE refreg2025").fetchall()]
    code = next(c for c in columns if c.lower() in ("gemeente", "code", "nis", "niscode"))
    region = next(c for c in columns if "refreg" in c.lower())
    con.execute(
        f"""CREATE TABLE municipality2025 AS
            SELECT DISTINCT lpad(trim("{code}"), 5, '0') AS municipality2025,
                   trim("{region}") AS refreg2025 FROM refreg2025"""
    )
    con.execute(
        """CREATE TABLE municipality2024 AS
           SELECT DISTINCT municipality, municipality2025, arrondissement, province, region,
                  referentieregio, vervoerregio FROM geo2024"""
    )
    # A code the 2024 list lacks counts in the one municipality holding every listed sector
    # with its five-character prefix (the importers' documented placement); the area file
    # names its own municipality.
    con.execute(
        """CREATE TABLE prefix2024 AS
           SELECT substr(sector, 1, 5) AS prefix, min(municipality) AS municipality
           FROM geo2024 GROUP BY 1 HAVING count(DISTINCT municipality) = 1"""
    )
    con.execute(
        """CREATE TABLE rows2021 AS
           SELECT coalesce(e.sector, c.sector) AS sector, e.elek, e.connections, c.population
           FROM energy e FULL OUTER JOIN census c ON c.sector = e.sector"""
    )
    con.execute(
        """CREATE VIEW placed AS
           SELECT t.*, m.*, r.refreg2025 FROM rows2021 t
           LEFT JOIN geo2024 g ON g.sector = t.sector
           LEFT JOIN prefix2024 p ON p.prefix = substr(t.sector, 1, 5)
           JOIN municipality2024 m ON m.municipality = coalesce(g.municipality, p.municipality)
           LEFT JOIN municipality2025 r ON r.municipality2025 = m.municipality2025"""
    )
    yield con
    con.close()


def _expected(duck: duckdb.DuckDBPyConnection, unit: str) -> dict[str, float]:
    """Σ residential electricity / Σ census population over the Flemish rows of each unit."""
    rows = duck.execute(
        f"""SELECT {unit}, sum(coalesce(elek, 0)) / sum(coalesce(population, 0))
            FROM placed WHERE region = '02000' AND {unit} IS NOT NULL GROUP BY 1"""
    ).fetchall()
    return {str(code): float(value) for code, value in rows}


def _same(indicator: str, served: float | None, value: float) -> bool:
    places = DECIMALS[indicator]
    half = 0.5 * 10.0**-places
    return served is not None and abs(served - value) <= half * (1 + REL) + REL * abs(value)


def _check(records: list[dict[str, Any]], expected: dict[str, float], what: str) -> None:
    api = keyed(records)
    assert expected, what
    missing = sorted(set(expected) - set(api))
    assert not missing, f"{what}: not served {missing[:10]}"
    wrong = [
        f"{code}: expected {value}, API {api[code]['value']} ({api[code]['status']})"
        for code, value in sorted(expected.items())
        if not _same(api[code]["indicator"], api[code]["value"], value)
        or api[code]["status"] != "normal"
    ]
    assert not wrong, f"{what}: {len(wrong)} of {len(expected)} differ:\n" + "\n".join(wrong[:20])


@pytest.mark.parametrize(
    ("level", "column"),
    [
        ("municipality", "municipality"),
        ("arrondissement", "arrondissement"),
        ("province", "province"),
        ("region", "region"),
        ("referentieregio", "referentieregio"),
        ("vervoerregio", "vervoerregio"),
    ],
)
def test_electricity_per_inhabitant_2021_at_every_2024_level(
    client: TestClient, duck: duckdb.DuckDBPyConnection, level: str, column: str
) -> None:
    records = fetch(client, DATASET, indicator=ELECTRICITY, period="2021", level=level)
    _check(records, _expected(duck, column), f"{level} 2024")
    if level == "municipality":
        gent = keyed(records)["44021"]
        assert gent["unit_of_measure"] == "kWh/inhabitant"
        # Gent's own figure, stated: about 1,220 kWh per inhabitant in 2021.
        assert 1_100 < gent["value"] < 1_350


def test_electricity_per_inhabitant_2021_on_2025_units_and_city_regions(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    municipalities = fetch(
        client, DATASET, indicator=ELECTRICITY, period="2021", level="municipality", version="2025"
    )
    _check(municipalities, _expected(duck, "municipality2025"), "municipality 2025")
    regions = fetch(
        client, DATASET, indicator=ELECTRICITY, period="2021", level="cityregion", version="2025"
    )
    expected = _expected(duck, "refreg2025")
    gent = keyed(regions)["stadsregio-gent"]
    assert _same(ELECTRICITY, gent["value"], expected["REFREG13"]), (gent, expected["REFREG13"])
    assert gent["status"] == "normal" and gent["coverage"] == 1.0
    assert len(regions) == 13
    named = fetch(
        client,
        DATASET,
        indicator=ELECTRICITY,
        period="2021",
        unit=["municipality:44021", "region:02000", "cityregion:stadsregio-gent"],
        version="2025",
    )
    assert {r["code"] for r in named} == {"44021", "02000", "stadsregio-gent"}
    flanders = keyed(named)["02000"]
    assert _same(ELECTRICITY, flanders["value"], _expected(duck, "region")["02000"])


def test_electricity_per_inhabitant_2021_of_gents_sectors(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    records = fetch(
        client,
        DATASET,
        indicator=ELECTRICITY,
        period="2021",
        level="sector",
        within="municipality:44021",
    )
    sectors = {
        str(code): (elek, connections, population)
        for code, elek, connections, population in duck.execute(
            """SELECT t.sector, elek, connections, population FROM rows2021 t
               JOIN geo2024 g ON g.sector = t.sector
               WHERE g.municipality = '44021' AND t.sector NOT LIKE '%ZZZZ'"""
        ).fetchall()
    }
    api = keyed(records)
    shown = 0
    for code, (elek, connections, population) in sectors.items():
        if code not in api or not population:
            continue
        record = api[code]
        if connections is not None and connections < 10:
            # Fewer than 10 residential connections: never shown (disclosure control).
            assert record["value"] is None and record["status"] == "confidential", record
        elif record["value"] is not None:
            assert _same(ELECTRICITY, record["value"], (elek or 0) / population), record
            shown += 1
    assert shown > 100


def test_population_density_2021_per_municipality(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    duck.execute(
        """CREATE OR REPLACE VIEW area_placed AS
           SELECT a.km2, m.municipality FROM area a
           LEFT JOIN geo2024 g ON g.sector = a.sector
           JOIN municipality2024 m ON m.municipality = coalesce(g.municipality,
                                                              a.own_municipality)
           WHERE m.region = '02000'"""
    )
    # The sectors of the 2024 list that the 2021 map collapsed have no area: they are left out
    # of both sums (their residents too), and their municipality's density is incomplete.
    duck.execute(
        """CREATE OR REPLACE VIEW without_area AS
           SELECT sector, municipality FROM geo2024
           WHERE sector NOT LIKE '%ZZZZ' AND sector NOT IN (SELECT sector FROM area)"""
    )
    expected = {
        str(code): float(value)
        for code, value in duck.execute(
            """SELECT p.municipality, p.population / a.km2 FROM
                 (SELECT municipality, sum(coalesce(population, 0)) AS population
                  FROM placed WHERE region = '02000'
                    AND sector NOT IN (SELECT sector FROM without_area) GROUP BY 1) p
               JOIN (SELECT municipality, sum(km2) AS km2 FROM area_placed GROUP BY 1) a
                 ON a.municipality = p.municipality"""
        ).fetchall()
    }
    incomplete = {
        str(code)
        for (code,) in duck.execute("SELECT DISTINCT municipality FROM without_area").fetchall()
    }
    assert incomplete, "the map collapsed sectors of the list"
    records = fetch(client, DATASET, indicator=DENSITY, period="2021", level="municipality")
    api = keyed(records)
    assert not set(expected) - set(api)
    wrong = [
        f"{code}: expected {value}, API {api[code]['value']} ({api[code]['status']})"
        for code, value in sorted(expected.items())
        if not _same(DENSITY, api[code]["value"], value)
        or api[code]["status"] != ("incomplete" if code in incomplete else "normal")
    ]
    assert not wrong, f"density per municipality: {len(wrong)} differ:\n" + "\n".join(wrong[:20])
    # Gent: about 1,670 inhabitants per km² (262,000 residents on 156 km²).
    assert 1_600 < api["44021"]["value"] < 1_750
