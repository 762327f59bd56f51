"""The observations API on the real data, checked against an independent computation.

The expectations are computed with DuckDB straight from the source files under
``DATAPEDIA_SOURCE_DIR`` (``values/`` and ``geo/``), never through the project's parsers,
importers or aggregation code: each CSV is read once per module as text and typed explicitly
in SQL (codes stay VARCHAR, so leading zeros and suffixes survive). The API side is read
page by page (``page_size=1000``, following the ``next`` link) from the session-scoped
``client`` over the database seeded with all real data; disclosure control and the
coverage semantics are checked on the ``published_value`` table through ``real_session``.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.config import SEEDS_DIR
from app.geo.models import GeoSuccessor, GeoUnit, GeoUnitAncestor
from app.stats.models import PublishedValue
from tests.conftest import real_source_dir

PAGE_SIZE = 1000
REL = 1e-9
LEVELS_ABOVE_SECTOR = (
    "municipality",
    "arrondissement",
    "province",
    "region",
    "referentieregio",
    "vervoerregio",
    "cityregion",
)
REGIONALISATIONS = ("referentieregio", "vervoerregio", "cityregion")
NO_VALUE = ("confidential", "missing", "not_applicable")
ENERGY_INDICATORS = {
    "electricity-consumption-residential",
    "electricity-consumption-non-residential",
    "electricity-connections-residential",
    "electricity-connections-non-residential",
    "electricity-injection",
    "gas-consumption-residential",
    "gas-consumption-non-residential",
    "gas-connections-residential",
    "gas-connections-non-residential",
    "electricity-per-residential-connection",
    "gas-per-residential-connection",
}
# Indicators with a disclosure rule: (reference indicator, minimum of the reference).
DISCLOSURE_RULES = {
    "cars-per-household": ("households", 5.0),
    "electricity-per-residential-connection": ("electricity-connections-residential", 10.0),
    "gas-per-residential-connection": ("gas-connections-residential", 10.0),
}


# --------------------------------------------------------------------------------------------
# The independent side: DuckDB over the source files
# --------------------------------------------------------------------------------------------

_TABLES = {
    # Statbel population 2025 (2025 sector version). CD_REFNIS is the file's own municipality.
    "population": (
        "values/statbel_population_sector_2025.csv",
        """
        SELECT lpad(trim(CD_REFNIS), 5, '0') AS municipality,
               trim(CD_SECTOR) AS sector,
               CAST(TOTAL AS BIGINT) AS total,
               CAST("OPPERVLAKKTE IN HM²" AS DOUBLE) AS area_ha
        FROM {src}
        """,
    ),
    # Census 2021: a blank under-65 count is 0 (x65 + rest over all rows = 11,521,238).
    "census": (
        "values/statbel_census2021_age65plus_sector.csv",
        """
        SELECT trim(cd_sector) AS sector,
               CAST(x65 AS BIGINT) AS x65,
               CAST(coalesce(nullif(trim(rest), ''), '0') AS BIGINT) AS rest
        FROM {src}
        """,
    ),
    # Cars 2019: Statbel's '-00' in the cars column is not a count (missing).
    "cars": (
        "values/statbel_cars_households_sector_2019.csv",
        """
        SELECT lpad(trim(CD_REFNIS), 5, '0') AS municipality,
               trim(CD_STAT_SECTOR) AS sector,
               CAST(MS_NUM_HH AS BIGINT) AS households,
               CASE WHEN trim(MS_NUM_CAR) = '-00' THEN NULL
                    ELSE CAST(MS_NUM_CAR AS BIGINT) END AS cars
        FROM {src}
        """,
    ),
    # Fluvius: -99999 = not applicable (Brussels).
    "energy": (
        "values/fluvius_energy_consumption_sector_2018_2021.csv",
        """
        SELECT trim(geoitem) AS sector,
               trim(period) AS period,
               nullif(CAST(v2506_elek_res_cons AS DOUBLE), -99999) AS elek_res_cons,
               nullif(CAST(v2506_elek_res_n AS DOUBLE), -99999) AS elek_res_n
        FROM {src}
        """,
    ),
    # Land use of open space, m².
    "landuse": (
        "values/pinc_landgebruik_open_ruimte_sector_2013_2016.csv",
        """
        SELECT trim(geoitem) AS sector,
               trim(period) AS period,
               CAST(v1591_opp_or_bos AS DOUBLE) AS bos_m2,
               CAST(v1591_opp_or_totaal AS DOUBLE) AS totaal_m2
        FROM {src}
        """,
    ),
    # 2025 sector version: one row per sector; dummy 9999x codes are no real units; regions
    # are written 2000/4000; Brussels' pseudo-province 4000 is no province.
    "geo2025": (
        "geo/pinc_statsec2025_alle_gebiedsniveaus.csv",
        """
        SELECT trim(statsec) AS sector,
               lpad(trim(gemeente), 5, '0') AS municipality,
               lpad(trim(arrondiss), 5, '0') AS arrondissement,
               CASE WHEN trim(provincie) = '4000' THEN NULL
                    ELSE lpad(trim(provincie), 5, '0') END AS province,
               CASE trim(gewest) WHEN '2000' THEN '02000' WHEN '4000' THEN '04000' END
                   AS region,
               CASE WHEN REFREG IN ('REFREG91', 'REFREG99') THEN NULL ELSE REFREG END
                   AS referentieregio,
               CASE WHEN vervoerregio IN ('91', '99') THEN NULL ELSE vervoerregio END
                   AS vervoerregio
        FROM {src}
        WHERE gemeente NOT LIKE '9999%'
        """,
    ),
    # 2024 sector version (2020–2024 codes); `gemeente` is the 2025 municipality.
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
}


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    """Every source file read once, as text, then typed explicitly."""
    source: Path = real_source_dir()
    con = duckdb.connect()
    for table, (relative, select_sql) in _TABLES.items():
        path = source / relative
        assert path.is_file(), f"missing source file {path}"
        reader = "read_csv(?, header = true, delim = ',', quote = '\"', all_varchar = true)"
        con.execute(f"CREATE TABLE {table} AS {select_sql.format(src=reader)}", [str(path)])
    # Municipality → its units (one row per municipality, checked below).
    con.execute(
        """
        CREATE TABLE municipality2025 AS
        SELECT DISTINCT municipality, arrondissement, province, region, referentieregio,
                        vervoerregio
        FROM geo2025
        """
    )
    con.execute(
        """
        CREATE TABLE municipality2024 AS
        SELECT DISTINCT municipality, municipality2025, arrondissement, province, region,
                        referentieregio, vervoerregio
        FROM geo2024
        """
    )
    # The documented placement of a code the 2024 geography does not list (a Statbel code the
    # provinces' list replaced, a remainder of a municipality merged long ago): the one
    # municipality holding every listed sector with the same five-character prefix.
    con.execute(
        """
        CREATE TABLE prefix2024 AS
        SELECT substr(sector, 1, 5) AS prefix, min(municipality) AS municipality
        FROM geo2024 GROUP BY 1 HAVING count(DISTINCT municipality) = 1
        """
    )
    for name in ("census", "energy"):
        con.execute(
            f"""
            CREATE VIEW {name}_placed AS
            SELECT t.*, m.municipality, m.municipality2025, m.arrondissement, m.province,
                   m.region, m.referentieregio, m.vervoerregio
            FROM {name} t
            LEFT JOIN geo2024 g ON g.sector = t.sector
            LEFT JOIN prefix2024 p ON p.prefix = substr(t.sector, 1, 5)
            JOIN municipality2024 m ON m.municipality = coalesce(g.municipality, p.municipality)
            """
        )
    for table in ("municipality2025", "municipality2024"):
        rows, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT municipality) FROM {table}"
        ).fetchone() or (0, 0)
        assert rows == distinct, f"{table}: a municipality lies in two units of one level"
    yield con
    con.close()


def duck_map(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> dict[Any, float]:
    """``SELECT key..., value``: the last column is the value, the others form the key."""
    result: dict[Any, float] = {}
    for row in con.execute(sql, list(params)).fetchall():
        key = row[0] if len(row) == 2 else tuple(row[:-1])
        assert key not in result, f"duplicate key {key}"
        result[key] = float(row[-1])
    return result


def duck_value(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> float:
    row = con.execute(sql, list(params)).fetchone()
    assert row is not None and row[0] is not None, sql
    return float(row[0])


# --------------------------------------------------------------------------------------------
# The API side
# --------------------------------------------------------------------------------------------


def fetch(client: TestClient, dataset: str, **params: Any) -> list[dict[str, Any]]:
    """All records of a query, page by page (page_size 1000), following ``Link: next``."""
    url = f"/api/v1/datasets/{dataset}/observations"
    response = client.get(url, params={**params, "page_size": PAGE_SIZE})
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["page_size"] == PAGE_SIZE
        items.extend(body["items"])
        pages += 1
        next_url = response.links.get("next", {}).get("url")
        if next_url is None:
            break
        assert len(body["items"]) == PAGE_SIZE
        response = client.get(next_url)
    assert len(items) == body["total"], (dataset, params)
    assert pages == max(1, -(-body["total"] // PAGE_SIZE))
    return items


def fetch_csv(client: TestClient, dataset: str, **params: Any) -> list[dict[str, str]]:
    response = client.get(
        f"/api/v1/datasets/{dataset}/observations", params={**params, "format": "csv"}
    )
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def keyed(
    items: list[dict[str, Any]], *fields: str, level: str | None = None
) -> dict[Any, dict[str, Any]]:
    """Records by ``code`` (or by (code, field...)); each key occurs once."""
    result: dict[Any, dict[str, Any]] = {}
    for item in items:
        if level is not None:
            assert item["level"] == level, item
        key = (item["code"], *(item[f] for f in fields)) if fields else item["code"]
        assert key not in result, f"duplicate record for {key}"
        result[key] = item
    return result


def _decimals() -> dict[str, int]:
    entries = yaml.safe_load((SEEDS_DIR / "indicators.yaml").read_text(encoding="utf-8"))
    return {entry["id"]: int(entry.get("decimals") or 0) for entry in entries}


DECIMALS = _decimals()


def _same(record: dict[str, Any], value: float) -> bool:
    """The API's value is the independent one rounded to the indicator's declared decimals
    (half a unit of the last decimal apart at most), and has no more decimals than that."""
    places = DECIMALS[record["indicator"]]
    served = record["value"]
    half = 0.5 * 10.0**-places
    return bool(
        abs(served - value) <= half * (1 + REL) + REL * abs(value)
        and served == pytest.approx(round(served, places), rel=REL)
    )


def assert_matches(
    api: dict[Any, dict[str, Any]],
    expected: dict[Any, float],
    what: str,
    *,
    complete: bool = True,
) -> None:
    """Same units, and each value equal to the independent one (rel 1e-9). ``complete``:
    every member had a value, so the record is ``normal`` with coverage 1."""
    assert expected, f"{what}: the independent computation is empty"
    missing = sorted(set(expected) - set(api))
    extra = sorted(set(api) - set(expected))
    assert not missing and not extra, (
        f"{what}: units differ; missing in the API {missing[:20]}, not expected {extra[:20]}"
    )
    wrong = [
        f"{key}: expected {value!r}, API {api[key]['value']!r} ({api[key]['status']})"
        for key, value in sorted(expected.items())
        if api[key]["value"] is None or not _same(api[key], value)
    ]
    assert not wrong, f"{what}: {len(wrong)} of {len(expected)} values differ:\n" + "\n".join(
        wrong[:40]
    )
    if complete:
        flagged = [
            f"{key}: {record['status']} coverage {record['coverage']}"
            for key, record in sorted(api.items())
            if record["status"] != "normal" or record["coverage"] != 1.0
        ]
        assert not flagged, f"{what}: complete aggregates not flagged normal/1.0: {flagged[:20]}"


# --------------------------------------------------------------------------------------------
# 1–3. population-2025
# --------------------------------------------------------------------------------------------


def test_population_per_municipality_is_the_sum_over_the_files_own_municipality(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    expected = duck_map(
        duck,
        """
        SELECT p.municipality, sum(p.total)
        FROM population p
        WHERE p.municipality IN (SELECT municipality FROM municipality2025)
        GROUP BY ALL
        """,
    )
    assert len(expected) == 285 + 19
    api = keyed(
        fetch(
            client,
            "population-2025",
            indicator="population",
            level="municipality",
            version="2025",
        ),
        level="municipality",
    )
    assert len(api) == 304
    assert_matches(api, expected, "population per municipality (2025)")


def test_gent_includes_its_not_localisable_residents(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    remainder = duck_value(
        duck,
        "SELECT total FROM population WHERE sector = '44021ZZZZ' AND municipality = ?",
        "44021",
    )
    localised = duck_value(
        duck,
        "SELECT sum(total) FROM population WHERE municipality = ? AND sector <> '44021ZZZZ'",
        "44021",
    )
    assert remainder > 0
    items = fetch(
        client,
        "population-2025",
        indicator="population",
        unit=["municipality:44021", "sector:44021ZZZZ"],
    )
    records = {(i["level"], i["code"]): i for i in items}
    assert records[("municipality", "44021")]["value"] == pytest.approx(
        localised + remainder, rel=REL
    )
    assert records[("municipality", "44021")]["status"] == "normal"
    assert records[("sector", "44021ZZZZ")]["value"] == pytest.approx(remainder, rel=REL)


@pytest.mark.parametrize(
    "level", ["province", "arrondissement", "region", "referentieregio", "vervoerregio"]
)
def test_population_per_higher_unit(
    client: TestClient, duck: duckdb.DuckDBPyConnection, level: str
) -> None:
    expected = duck_map(
        duck,
        f"""
        SELECT m.{level}, sum(p.total)
        FROM population p JOIN municipality2025 m USING (municipality)
        WHERE m.{level} IS NOT NULL
        GROUP BY ALL
        """,
    )
    api = keyed(
        fetch(client, "population-2025", indicator="population", level=level, version="2025"),
        level=level,
    )
    assert_matches(api, expected, f"population per {level} (2025)")
    if level == "region":
        assert set(expected) == {"02000", "04000"}
        # The source README's total for the Flemish Region (6,864,519) sums the rows whose
        # sector code is in the 2025 list; the file's own municipality column also places 18
        # "…ZZZZ" rows that keep the code of a former municipality (247 residents).
        listed = duck_value(
            duck,
            """
            SELECT sum(p.total) FROM population p JOIN geo2025 g USING (sector)
            WHERE g.region = '02000'
            """,
        )
        assert listed == 6_864_519
        unlisted = duck_value(
            duck,
            """
            SELECT sum(p.total) FROM population p JOIN municipality2025 m USING (municipality)
            WHERE m.region = '02000' AND p.sector NOT IN (SELECT sector FROM geo2025)
            """,
        )
        assert expected["02000"] == listed + unlisted
    if level == "province":
        assert set(expected) == {"10000", "20001", "30000", "40000", "70000"}


@pytest.mark.parametrize("level", ["municipality", "province"])
def test_population_density(
    client: TestClient, duck: duckdb.DuckDBPyConnection, level: str
) -> None:
    # Residents of the '…ZZZZ' rows count; their area is 0 (hectares → km²: / 100).
    expected = duck_map(
        duck,
        f"""
        SELECT m.{level}, sum(p.total) / (sum(p.area_ha) / 100)
        FROM population p JOIN municipality2025 m USING (municipality)
        WHERE m.{level} IS NOT NULL
        GROUP BY ALL
        """,
    )
    zero_area = duck_value(
        duck, "SELECT count(*) FROM population WHERE sector LIKE '%ZZZZ' AND area_ha <> 0"
    )
    assert zero_area == 0
    api = keyed(
        fetch(
            client,
            "population-2025",
            indicator="population-density",
            level=level,
            version="2025",
        ),
        level=level,
    )
    assert_matches(api, expected, f"population density per {level} (2025)")


def test_sectors_the_2021_map_lacks_have_no_area_and_their_sums_say_so(
    client: TestClient, real_session: Session
) -> None:
    """The 2021 sector map collapsed small sectors of the 2020–2024 list into their
    neighbours: those have no area (missing), and the areas above them are incomplete, not
    complete and short (their residents still counted in the 2021 density)."""
    area_file = real_source_dir() / "values" / "statbel_sector_area_shape2021.csv"
    with area_file.open(encoding="utf-8") as f:
        mapped = {row["CD_SECTOR_REFNIS"] for row in csv.DictReader(f)}
    listed = set(
        real_session.scalars(
            select(GeoUnit.code).where(
                GeoUnit.version == "2024",
                GeoUnit.level == "sector",
                GeoUnit.not_localisable.is_(False),
            )
        )
    )
    lacking = sorted(listed - mapped)
    assert lacking, "the 2024 list has sectors the 2021 map lacks"
    sectors = keyed(fetch(client, "sector-area-2021", level="sector"), level="sector")
    assert {code: sectors[code]["status"] for code in lacking} == dict.fromkeys(lacking, "missing")
    hemiksem = fetch(client, "sector-area-2021", unit="municipality:11018")
    assert [(r["status"], r["coverage"] < 1) for r in hemiksem] == [("incomplete", True)]
    density = fetch(
        client,
        "climate-energy-monitor",
        indicator="population-density-2021",
        unit="municipality:11018",
    )
    assert [r["status"] for r in density] == ["incomplete"]


# --------------------------------------------------------------------------------------------
# 4. age-census-2021 (2024 sector codes, also expressed on the 2025 municipalities)
# --------------------------------------------------------------------------------------------


def test_census_file_is_read_as_statbel_counts(duck: duckdb.DuckDBPyConnection) -> None:
    assert duck_value(duck, "SELECT sum(x65 + rest) FROM census") == 11_521_238


def test_share_65plus_on_2025_municipalities(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    expected = duck_map(
        duck,
        """
        SELECT c.municipality2025, 100.0 * sum(c.x65) / sum(c.x65 + c.rest)
        FROM census_placed c
        GROUP BY ALL
        """,
    )
    assert len(expected) == 304
    api = keyed(
        fetch(
            client,
            "age-census-2021",
            indicator="share-65plus",
            level="municipality",
            version="2025",
        ),
        level="municipality",
    )
    assert_matches(api, expected, "share-65plus per 2025 municipality")

    # Antwerpen 2025 = Antwerpen 2024 + Borsbeek (11007).
    antwerpen = duck_value(
        duck,
        """
        SELECT 100.0 * sum(c.x65) / sum(c.x65 + c.rest)
        FROM census_placed c
        WHERE c.municipality IN ('11002', '11007')
        """,
    )
    antwerpen_2024 = duck_value(
        duck,
        """
        SELECT 100.0 * sum(c.x65) / sum(c.x65 + c.rest)
        FROM census_placed c
        WHERE c.municipality = '11002'
        """,
    )
    assert _same(api["11002"], antwerpen)
    assert antwerpen != pytest.approx(antwerpen_2024, rel=1e-6)
    old = keyed(
        fetch(
            client,
            "age-census-2021",
            indicator="share-65plus",
            unit=["municipality:11002", "municipality:11007"],
            version="2024",
        )
    )
    assert _same(old["11002"], antwerpen_2024)


def test_population_65plus_on_2024_municipalities(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    expected = duck_map(
        duck,
        """
        SELECT c.municipality, sum(c.x65)
        FROM census_placed c
        GROUP BY ALL
        """,
    )
    assert len(expected) == 300 + 19
    api = keyed(
        fetch(
            client,
            "age-census-2021",
            indicator="population-65plus",
            level="municipality",
            version="2024",
        ),
        level="municipality",
    )
    assert_matches(api, expected, "population-65plus per 2024 municipality")


# --------------------------------------------------------------------------------------------
# 5. energy-fluvius
# --------------------------------------------------------------------------------------------


def _negative(records: list[dict[str, Any]]) -> list[str]:
    bad = []
    for record in records:
        value = record["value"]
        if value is not None and value != "" and float(value) < 0:
            bad.append(
                f"{record['version']} {record['level']}:{record['code']} "
                f"{record['indicator']} {record['period']} = {value}"
            )
    return bad


@pytest.mark.costly(3)
def test_energy_has_no_negative_value_anywhere(client: TestClient) -> None:
    checked: Counter[str] = Counter()
    bad: list[str] = []
    # Sectors (version 2024 only: sectors do not convert between versions): 408k records,
    # read as one streamed CSV rather than 400+ JSON pages.
    sectors = fetch_csv(client, "energy-fluvius", level="sector", version="2024")
    assert sectors
    bad += _negative(sectors)
    checked["2024 sector"] = len(sectors)
    for version in ("2024", "2025"):
        for level in LEVELS_ABOVE_SECTOR:
            if version == "2024" and level == "cityregion":
                continue  # city-regions exist in the 2025 geography only (a 400 says so)
            records = fetch(client, "energy-fluvius", level=level, version=version)
            bad += _negative(records)
            checked[f"{version} {level}"] = len(records)
    assert not bad, f"{len(bad)} negative values: {bad[:20]}"
    for level in LEVELS_ABOVE_SECTOR:
        assert checked[f"2025 {level}"] > 0, level
        if level != "cityregion":
            assert checked[f"2024 {level}"] > 0, level


def test_residential_electricity_per_province(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    expected = duck_map(
        duck,
        """
        SELECT e.province, e.period, sum(e.elek_res_cons)
        FROM energy_placed e
        WHERE e.region = '02000' AND e.elek_res_cons IS NOT NULL
        GROUP BY ALL
        """,
    )
    assert len(expected) == 5 * 4
    api = keyed(
        fetch(
            client,
            "energy-fluvius",
            indicator="electricity-consumption-residential",
            level="province",
            version="2024",
        ),
        "period",
        level="province",
    )
    assert_matches(api, expected, "residential electricity per province (2024)")


def test_flemish_residential_electricity_keeps_every_row_of_the_file(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    """Fluvius covers Flanders only (Brussels rows are -99999): the Flemish Region's total is
    the sum of every other row of the file, whatever its sector code. The file also uses
    Statbel sector codes that the 2024 geography lists under other codes (12 Antwerp
    sectors) and "…ZZZZ" rows with the code of a former municipality (12030ZZZZ)."""
    expected = duck_map(
        duck,
        """
        SELECT period, sum(elek_res_cons) FROM energy
        WHERE elek_res_cons IS NOT NULL
        GROUP BY ALL
        """,
    )
    unplaced = duck_map(
        duck,
        """
        SELECT period, sum(elek_res_cons) FROM energy
        WHERE elek_res_cons IS NOT NULL AND sector NOT IN (SELECT sector FROM geo2024)
        GROUP BY ALL
        """,
    )
    api = {
        r["period"]: r
        for r in fetch(
            client,
            "energy-fluvius",
            indicator="electricity-consumption-residential",
            unit="region:02000",
            version="2024",
        )
    }
    wrong = [
        f"{period}: expected {value!r} kWh, API {api[period]['value']!r} "
        f"({api[period]['status']}, coverage {api[period]['coverage']}); rows with a sector "
        f"code not in the 2024 geography hold {unplaced.get(period, 0.0)!r} kWh"
        for period, value in sorted(expected.items())
        if not _same(api[period], value)
    ]
    assert set(api) == set(expected)
    assert not wrong, "Flemish residential electricity (2024):\n" + "\n".join(wrong)


@pytest.mark.parametrize("version", ["2024", "2025"])
def test_brussels_is_not_applicable_for_energy(client: TestClient, version: str) -> None:
    records = fetch(client, "energy-fluvius", unit="region:04000", version=version)
    assert {r["indicator"] for r in records} == ENERGY_INDICATORS
    assert {r["period"] for r in records} == {"2018", "2019", "2020", "2021"}
    wrong = [r for r in records if r["status"] != "not_applicable" or r["value"] is not None]
    assert not wrong, wrong[:5]


# --------------------------------------------------------------------------------------------
# 6. land-use-open-space
# --------------------------------------------------------------------------------------------


def test_open_space_total_per_referentieregio_2016(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    expected = duck_map(
        duck,
        """
        SELECT g.referentieregio, sum(l.totaal_m2) / 10000
        FROM landuse l JOIN geo2024 g USING (sector)
        WHERE l.period = '2016' AND g.referentieregio IS NOT NULL
        GROUP BY ALL
        """,
    )
    assert len(expected) == 15
    api = keyed(
        fetch(
            client,
            "land-use-open-space",
            indicator="open-space-total",
            level="referentieregio",
            version="2024",
            period="2016",
        ),
        level="referentieregio",
    )
    assert_matches(api, expected, "open-space-total (ha) per referentieregio 2016")


def test_share_forest_in_open_space_per_province(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    expected = duck_map(
        duck,
        """
        SELECT g.province, l.period, 100.0 * sum(l.bos_m2) / sum(l.totaal_m2)
        FROM landuse l JOIN geo2024 g USING (sector)
        WHERE g.province IS NOT NULL
        GROUP BY ALL
        """,
    )
    assert len(expected) == 5 * 2
    api = keyed(
        fetch(
            client,
            "land-use-open-space",
            indicator="share-forest-in-open-space",
            level="province",
            version="2024",
        ),
        "period",
        level="province",
    )
    assert_matches(api, expected, "share-forest-in-open-space per province")


# --------------------------------------------------------------------------------------------
# 7. cars-households-2019
# --------------------------------------------------------------------------------------------


def test_cars_file_is_read_as_statbel_counts(duck: duckdb.DuckDBPyConnection) -> None:
    # Belgian totals from the source README ('-00' read as 0 for this check only).
    assert duck_value(duck, "SELECT sum(households) FROM cars") == 4_955_225
    assert duck_value(duck, "SELECT sum(coalesce(cars, 0)) FROM cars") == 5_310_848


def test_households_per_arrondissement(client: TestClient, duck: duckdb.DuckDBPyConnection) -> None:
    """Households by the file's own municipality (CD_REFNIS), like the population: every
    household Statbel places in a municipality counts in its arrondissement, whatever its
    sector code (a sector code the geography does not know must not make households vanish
    from the totals while the total still says normal, coverage 1)."""
    expected = duck_map(
        duck,
        """
        SELECT m.arrondissement, sum(c.households)
        FROM cars c JOIN municipality2024 m USING (municipality)
        GROUP BY ALL
        """,
    )
    # For the message only: rows with a sector code the 2024 geography lacks, and rows that
    # share one "…ZZZZ" remainder of their municipality.
    suspects = duck.execute(
        """
        WITH placed AS (
            SELECT c.sector, c.households, m.arrondissement,
                   CASE WHEN c.sector IN (SELECT sector FROM geo2024) THEN c.sector
                        WHEN c.sector LIKE '%ZZZZ' THEN c.municipality || 'ZZZZ'
                        ELSE 'not in the geography' END AS target
            FROM cars c JOIN municipality2024 m USING (municipality)
        )
        SELECT arrondissement, target, list(sector || '=' || households ORDER BY sector)
        FROM placed
        WHERE target IN (SELECT target FROM placed GROUP BY target HAVING count(*) > 1)
        GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    api = keyed(
        fetch(
            client,
            "cars-households-2019",
            indicator="households",
            level="arrondissement",
            version="2024",
        ),
        level="arrondissement",
    )
    assert len(expected) == 23
    assert_matches(
        api,
        expected,
        "households per arrondissement (2024); rows the 2024 geography has no sector of "
        f"their own for (arrondissement, unit, rows): {suspects}",
    )


def test_cars_per_household_of_the_gent_city_region(client: TestClient) -> None:
    records = fetch(
        client,
        "cars-households-2019",
        indicator="cars-per-household",
        version="2025",
        unit=["cityregion:stadsregio-gent", "referentieregio:REFREG13"],
    )
    by_level = {r["level"]: r for r in records}
    assert set(by_level) == {"cityregion", "referentieregio"}
    city, refreg = by_level["cityregion"], by_level["referentieregio"]
    assert city["value"] is not None
    assert city["value"] == pytest.approx(refreg["value"], rel=REL)
    assert (city["status"], city["coverage"]) == (refreg["status"], refreg["coverage"])


# --------------------------------------------------------------------------------------------
# 8. Disclosure control on the published values
# --------------------------------------------------------------------------------------------


def _published(
    session: Session, indicators: list[str]
) -> dict[tuple[str, str, str], dict[int, tuple[float | None, str]]]:
    cells: dict[tuple[str, str, str], dict[int, tuple[float | None, str]]] = defaultdict(dict)
    stmt = select(
        PublishedValue.dataset_id,
        PublishedValue.indicator_id,
        PublishedValue.period,
        PublishedValue.unit_id,
        PublishedValue.value,
        PublishedValue.status,
    ).where(PublishedValue.indicator_id.in_(indicators))
    for dataset, indicator, period, unit, value, status in session.execute(stmt):
        cells[(dataset, indicator, period)][unit] = (value, status)
    return cells


def _groups(session: Session) -> list[tuple[str, int, list[int]]]:
    """(kind, head unit, members): a unit and its administrative children; a regionalisation
    and its member municipalities (same version); a 2025 municipality and its 2024
    predecessors."""
    groups: list[tuple[str, int, list[int]]] = []
    level_of: dict[int, str] = {}
    children: dict[int, list[int]] = defaultdict(list)
    for unit, level, parent in session.execute(
        select(GeoUnit.id, GeoUnit.level, GeoUnit.parent_id)
    ):
        level_of[unit] = level
        if parent is not None:
            children[parent].append(unit)
    groups += [(f"parent:{level_of[head]}", head, kids) for head, kids in children.items()]

    member, region = aliased(GeoUnit), aliased(GeoUnit)
    members: dict[int, list[int]] = defaultdict(list)
    for municipality, regionalisation in session.execute(
        select(GeoUnitAncestor.unit_id, GeoUnitAncestor.ancestor_id)
        .join(member, member.id == GeoUnitAncestor.unit_id)
        .join(region, region.id == GeoUnitAncestor.ancestor_id)
        .where(
            member.level == "municipality",
            region.level.in_(REGIONALISATIONS),
            member.version == region.version,
        )
    ):
        members[regionalisation].append(municipality)
    groups += [(f"member:{level_of[head]}", head, units) for head, units in members.items()]

    old, new = aliased(GeoUnit), aliased(GeoUnit)
    predecessors: dict[int, list[int]] = defaultdict(list)
    for predecessor, successor in session.execute(
        select(GeoSuccessor.predecessor_id, GeoSuccessor.successor_id)
        .join(old, old.id == GeoSuccessor.predecessor_id)
        .join(new, new.id == GeoSuccessor.successor_id)
        .where(old.version == "2024", new.version == "2025", old.level == "municipality")
    ):
        predecessors[successor].append(predecessor)
    groups += [("predecessor:municipality", head, units) for head, units in predecessors.items()]
    return groups


def test_disclosure_control(real_session: Session) -> None:
    references = {reference for reference, _ in DISCLOSURE_RULES.values()}
    cells = _published(real_session, [*DISCLOSURE_RULES, *references])
    groups = _groups(real_session)
    report: dict[str, Counter[str]] = {}
    problems: list[str] = []
    combos = 0
    for (dataset, indicator, period), values in sorted(cells.items()):
        if indicator not in DISCLOSURE_RULES:
            continue
        combos += 1
        what = f"{dataset}/{indicator}/{period}"
        reference_id, minimum = DISCLOSURE_RULES[indicator]
        reference = cells.get((dataset, reference_id, period), {})
        assert reference, f"{what}: reference {reference_id} not published"

        # (a) Primary suppression: the true reference value below the minimum never leaves
        # a value; suppressed cells never carry one.
        primary = 0
        for unit, (value, status) in values.items():
            size = reference.get(unit, (None, ""))[0]
            if status == "confidential":
                if value is not None:
                    problems.append(f"{what}: unit {unit} confidential with value {value}")
                if size is not None and size < minimum:
                    primary += 1
            elif size is not None and size < minimum and value is not None:
                problems.append(
                    f"{what}: unit {unit} published {value} ({status}) although its "
                    f"{reference_id} is {size} < {minimum}"
                )
        if primary == 0:
            problems.append(f"{what}: no primary suppression at all")

        # (b) Secondary suppression: no group with exactly one confidential member.
        checked: Counter[str] = Counter()
        for kind, head, units in groups:
            if head not in values:
                continue
            published = [u for u in units if u in values]
            if not published:
                continue
            checked[kind] += 1
            hidden = [u for u in published if values[u][1] == "confidential"]
            if len(hidden) == 1:
                problems.append(
                    f"{what}: {kind} group of unit {head} ({values[head][1]}) has exactly one "
                    f"confidential member {hidden[0]} of {len(published)}"
                )
        report[what] = checked
        for kind in (
            "parent:municipality",
            "parent:arrondissement",
            "parent:province",
            "parent:region",
            "member:referentieregio",
            "member:vervoerregio",
            "member:cityregion",
            "predecessor:municipality",
        ):
            if checked[kind] == 0:
                problems.append(f"{what}: no {kind} group checked")
    print("\ndisclosure groups checked:")
    for what, checked in report.items():
        print(f"  {what}: {dict(sorted(checked.items()))}")
    assert combos == 1 + 4 + 4  # cars 2019; electricity and gas 2018–2021
    assert not problems, f"{len(problems)} disclosure problems:\n" + "\n".join(problems[:40])


# --------------------------------------------------------------------------------------------
# 9. Status and coverage of every derived record
# --------------------------------------------------------------------------------------------


def _examples(session: Session, condition: Any) -> list[tuple[Any, ...]]:
    stmt = (
        select(
            PublishedValue.dataset_id,
            PublishedValue.indicator_id,
            PublishedValue.period,
            PublishedValue.version,
            PublishedValue.level,
            PublishedValue.unit_id,
            PublishedValue.value,
            PublishedValue.status,
            PublishedValue.coverage,
        )
        .where(condition)
        .limit(10)
    )
    return [tuple(row) for row in session.execute(stmt)]


def test_status_and_coverage_of_derived_records(real_session: Session) -> None:
    pv = PublishedValue
    derived = pv.level != "sector"
    valued = pv.status.not_in(NO_VALUE)
    rules = {
        "derived coverage outside [0, 1]": and_(
            derived, pv.coverage.is_not(None), or_(pv.coverage < 0, pv.coverage > 1)
        ),
        "derived value without coverage": and_(derived, valued, pv.coverage.is_(None)),
        "incomplete with coverage 1": and_(derived, pv.status == "incomplete", pv.coverage >= 1),
        "complete status with coverage < 1": and_(
            derived, valued, pv.status != "incomplete", pv.coverage < 1
        ),
        "value-bearing status without value": and_(valued, pv.value.is_(None)),
        "confidential/missing/not applicable with a value": and_(
            pv.status.in_(NO_VALUE), pv.value.is_not(None)
        ),
        "sector with status incomplete or a coverage": and_(
            pv.level == "sector", or_(pv.status == "incomplete", pv.coverage.is_not(None))
        ),
    }
    problems = {
        name: _examples(real_session, condition)
        for name, condition in rules.items()
        if real_session.scalar(select(func.count()).select_from(pv).where(condition))
    }
    assert not problems, problems

    per_dataset = dict(
        real_session.execute(
            select(pv.dataset_id, func.count()).where(derived).group_by(pv.dataset_id)
        ).all()
    )
    aggregated = {
        "population-2025",
        "age-census-2021",
        "cars-households-2019",
        "energy-fluvius",
        "land-use-open-space",
    }
    assert aggregated <= {d for d, n in per_dataset.items() if n > 0}, per_dataset
    # The rule is exercised: some aggregates are incomplete (cars with Statbel's '-00').
    incomplete = real_session.scalar(
        select(func.count()).select_from(pv).where(derived, pv.status == "incomplete")
    )
    assert incomplete


def test_sector_values_are_the_files_own(
    client: TestClient, duck: duckdb.DuckDBPyConnection
) -> None:
    """At the finest level the API serves exactly what the file says, sector by sector.
    ("…ZZZZ" remainders may also hold rows of former municipalities: they are checked through
    the municipal totals above.)"""
    expected = duck_map(
        duck,
        "SELECT p.sector, p.total FROM population p JOIN geo2025 g USING (sector) "
        "WHERE p.sector NOT LIKE '%ZZZZ'",
    )
    records = fetch_csv(client, "population-2025", indicator="population", level="sector")
    served = {r["code"]: float(r["value"]) for r in records}
    assert len(expected) > 10_000
    # Every sector of the file that the geography knows, with the file's own number.
    assert {code: served.get(code) for code in expected} == {
        code: float(total) for code, total in expected.items()
    }


RATIO_NUMERATORS = {
    "cars-per-household": "cars",
    "electricity-per-residential-connection": "electricity-consumption-residential",
    "gas-per-residential-connection": "gas-consumption-residential",
}


def test_a_rule_on_a_ratio_hides_its_numerator_where_it_hides_the_ratio(
    real_session: Session,
) -> None:
    """Cars per household hidden where there are fewer than 5 households would be cars ÷
    households if both counts were published beside it (all 322 such sectors of 2019 were):
    the numerator is hidden in the same cells, and the denominator the rule measures stays.
    Where the numerator is hidden the ratio is too (ratio × denominator would give it back),
    and the numerator's own groups never hold exactly one hidden cell."""
    cells = _published(real_session, [*RATIO_NUMERATORS, *RATIO_NUMERATORS.values()])
    groups = _groups(real_session)
    problems: list[str] = []
    hidden_numerators = 0
    for (dataset, ratio, period), values in sorted(cells.items()):
        if ratio not in RATIO_NUMERATORS:
            continue
        numerator = cells[(dataset, RATIO_NUMERATORS[ratio], period)]
        what = f"{dataset}/{ratio}/{period}"
        for unit, (value, status) in values.items():
            part_value, part_status = numerator.get(unit, (None, "absent"))
            if status == "confidential" and part_value is not None:
                problems.append(f"{what}: unit {unit} hidden, its numerator {part_value} shown")
            if part_status == "confidential" and value is not None:
                problems.append(f"{what}: unit {unit} numerator hidden, ratio {value} shown")
        hidden = {u for u, (_, status) in numerator.items() if status == "confidential"}
        hidden_numerators += len(hidden)
        for kind, head, units in groups:
            if head in numerator and len([u for u in units if u in hidden]) == 1:
                problems.append(f"{what}: numerator {kind} group of {head} hides one cell")
    assert hidden_numerators > 322  # every hidden ratio cell of 2019 cars, and the energy
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize(
    ("ratio_id", "numerator_id", "reference_id"),
    [
        (
            "electricity-residential-per-inhabitant",
            "electricity-consumption-residential",
            "electricity-connections-residential",
        ),
        (
            "gas-residential-per-inhabitant",
            "gas-consumption-residential",
            "gas-connections-residential",
        ),
    ],
)
def test_a_derived_ratio_is_hidden_where_its_numerators_source_hides_it(
    real_session: Session, ratio_id: str, numerator_id: str, reference_id: str
) -> None:
    """Electricity per inhabitant was published in 70 cells of 2021 where energy-fluvius
    hides the residential consumption (its own rule found another pattern in the derived
    dataset's groups): consumption = ratio × inhabitants, both published. And the other way
    round: gas per inhabitant hid the sectors of fewer than 10 gas connections, whose gas
    consumption energy-fluvius published (no rule protected it there), so each was
    consumption ÷ inhabitants, both public."""
    derived = _published(real_session, [ratio_id])
    source = _published(real_session, [numerator_id])
    numerator = source[("energy-fluvius", numerator_id, "2021")]
    hidden = {unit for unit, (_, status) in numerator.items() if status == "confidential"}
    ratio = derived[("climate-energy-monitor", ratio_id, "2021")]
    assert len(hidden & ratio.keys()) > 400
    shown = sorted(u for u in hidden & ratio.keys() if ratio[u][0] is not None)
    assert shown == []
    # A sector the derived rule protects (1 to 9 connections; none consume nothing, and a
    # published 0 there tells of nobody) has its consumption hidden at the source too. (The derived dataset's other hidden cells only shield those
    # within its own groups: the source's pattern shields the consumption there.)
    connections = _published(real_session, [reference_id])[("energy-fluvius", reference_id, "2021")]
    sectors = set(real_session.scalars(select(GeoUnit.id).where(GeoUnit.level == "sector")))
    protected = {
        u
        for u, (count, _) in connections.items()
        if u in sectors and u in ratio and count is not None and 0 < count < 10
    }
    assert len(protected) > 200
    assert all(ratio[u][1] == "confidential" for u in protected)
    published = sorted(u for u in protected if numerator.get(u, (None, ""))[0] is not None)
    assert published == []
