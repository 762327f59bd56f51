"""The value-file parsers (app.stats.parsers): small invented fixtures for the rules, and one
pass over the real files in DATAPEDIA_SOURCE_DIR/values checked against facts computed here
independently with the csv module and against the figures in the data README."""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from app.config import SEEDS_DIR, get_settings
from app.stats.models import STATUSES
from app.stats.parsers import (
    DUPLICATE,
    FILE_NOT_FOUND,
    LAYOUTS,
    MALFORMED_CODE,
    MALFORMED_PERIOD,
    MALFORMED_ROW,
    MISSING_COLUMNS,
    NEGATIVE,
    NO_ROWS,
    NOT_A_NUMBER,
    NOT_AN_INTEGER,
    VALUE_SOURCES,
    ParsedValue,
    ParseProblem,
    ParseResult,
    ValueSource,
    parse_file,
    parse_source,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
FIXTURE_VALUES = FIXTURES / "values"

POPULATION_HEADER = (
    "CD_YEAR,CD_REFNIS,CD_SECTOR,TOTAL,DT_STRT_SECTOR,DT_STOP_SECTOR,OPPERVLAKKTE IN HM²,"
    "TX_DESCR_SECTOR_NL,TX_DESCR_SECTOR_FR,TX_DESCR_NL,TX_DESCR_FR"
)
CARS_HEADER = (
    "CD_YEAR,CD_REFNIS,TX_REFNIS_DESCR_FR,TX_REFNIS_DESCR_NL,CD_STAT_SECTOR,MS_NUM_HH,MS_NUM_CAR"
)
FLUVIUS_HEADER = (
    "geoitem,period,v2506_elek_nietres_cons,v2506_elek_res_cons,v2506_elek_nietres_n,"
    "v2506_elek_res_n,v2506_elek_res_injectie,v2506_gas_res_cons,v2506_gas_nietres_cons,"
    "v2506_gas_res_n,v2506_gas_nietres_n,geolevel"
)


def _write(tmp_path: Path, text: str, name: str = "sample.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _by_key(result: ParseResult) -> dict[tuple[str, str, str], ParsedValue]:
    return {(v.indicator, v.code, v.period): v for v in result.values}


def _source(dataset: str) -> ValueSource:
    return next(s for s in VALUE_SOURCES if s.dataset == dataset)


# --- the declared sources agree with the authored seeds ------------------------------------


def test_sources_and_columns_agree_with_the_seeds() -> None:
    indicators = {i["id"]: i for i in yaml.safe_load((SEEDS_DIR / "indicators.yaml").read_text())}
    expected = {
        "population-2025",
        "income",
        "age-census-2021",
        "cars-households-2019",
        "energy-fluvius",
        "land-use-open-space",
        "sector-area-2021",
    }
    assert {s.dataset for s in VALUE_SOURCES} == expected
    assert set(LAYOUTS) == expected
    for source in VALUE_SOURCES:
        dataset = yaml.safe_load((SEEDS_DIR / "datasets" / f"{source.dataset}.yaml").read_text())
        assert dataset["geo_version"] == source.geo_version, source.dataset
        for layout in LAYOUTS[source.dataset]:
            for spec in layout.columns:
                assert spec.indicator in dataset["indicators"], spec.indicator
                # The seeds spell the 2021 income column in upper case; headers match
                # case-insensitively.
                seeded = indicators[spec.indicator]["source_column"]
                assert seeded.lower() == spec.column.lower(), spec.indicator


# --- population-2025 ------------------------------------------------------------------------


def test_population_fixture() -> None:
    result = parse_file("population-2025", FIXTURE_VALUES / "statbel_population_sector_2025.csv")
    assert result.problems == []
    assert (result.dataset, result.geo_version) == ("population-2025", "2025")
    values = _by_key(result)
    # BOM before the header, 125.5 ha -> 1.255 km², header = line 1.
    assert values["population", "44021A00-", "2025"] == ParsedValue(
        "population", "44021A00-", "2025", 1500.0, "normal", 2, municipality="44021"
    )
    assert values["area", "44021A00-", "2025"].value == pytest.approx(1.255)
    # Whitespace around numbers; a quoted name with a comma does not shift the columns.
    assert values["population", "44021A01-", "2025"].value == 320.0
    assert values["area", "44021A01-", "2025"].value == pytest.approx(0.4)
    # '…ZZZZ' rows: population yes, area never (0 or blank in the source).
    assert values["population", "44021ZZZZ", "2025"].value == 12.0
    assert ("area", "44021ZZZZ", "2025") not in values
    assert ("area", "21004ZZZZ", "2025") not in values
    # A blank area on a real sector is missing; a population of 0 is a real 0.
    assert values["area", "44021A02-", "2025"] == ParsedValue(
        "area", "44021A02-", "2025", None, "missing", 5, municipality="44021"
    )
    assert values["population", "44021A02-", "2025"].value == 0.0
    assert len(result.values) == 5 + 3


def test_population_problems_name_line_column_and_value(tmp_path: Path) -> None:
    rows = [
        "2025,44021,44021A00-,n.b.,,,10,A,A,Gent,Gand",  # line 2: population not a number
        "2025,44021,4402A01-,100,,,10,A,A,Gent,Gand",  # line 3: malformed code
        "2025,44021,44021a02-,100,,,10,A,A,Gent,Gand",  # line 4: lower case is malformed
        "2025,44021,44021A03-,-4,,,10,A,A,Gent,Gand",  # line 5: negative count
        "2025,44021,44021A04-,12.5,,,10,A,A,Gent,Gand",  # line 6: not an integer
        "2025,44021,44021A05-,100,,,-3,A,A,Gent,Gand",  # line 7: negative area
        "25,44021,44021A06-,100,,,10,A,A,Gent,Gand",  # line 8: period is not a year
        "2025,44021,44021A07-,100,,,10,A,A,Gent",  # line 9: one field short
        "2025,44021,44021A08-,100,,,10,A,A,Gent,Gand,extra",  # line 10: one field too many
    ]
    path = _write(tmp_path, "\n".join([POPULATION_HEADER, *rows]) + "\n")
    result = parse_file("population-2025", path)
    assert result.problems == [
        ParseProblem("sample.csv", 2, "TOTAL", "n.b.", NOT_A_NUMBER),
        ParseProblem("sample.csv", 3, "CD_SECTOR", "4402A01-", MALFORMED_CODE),
        ParseProblem("sample.csv", 4, "CD_SECTOR", "44021a02-", MALFORMED_CODE),
        ParseProblem("sample.csv", 5, "TOTAL", "-4", NEGATIVE),
        ParseProblem("sample.csv", 6, "TOTAL", "12.5", NOT_AN_INTEGER),
        ParseProblem("sample.csv", 7, "OPPERVLAKKTE IN HM²", "-3", NEGATIVE),
        ParseProblem("sample.csv", 8, "CD_YEAR", "25", MALFORMED_PERIOD),
        ParseProblem("sample.csv", 9, None, None, MALFORMED_ROW),
        ParseProblem("sample.csv", 10, None, None, MALFORMED_ROW),
    ]
    # A bad cell costs only that cell: the rest of its row is still read.
    assert sorted((v.indicator, v.code, v.line) for v in result.values) == [
        ("area", "44021A00-", 2),
        ("area", "44021A03-", 5),
        ("area", "44021A04-", 6),
        ("population", "44021A05-", 7),
    ]


def test_missing_columns_give_one_problem_and_no_values(tmp_path: Path) -> None:
    header = POPULATION_HEADER.replace("TOTAL,", "INWONERS,").replace("CD_YEAR,", "JAAR,")
    path = _write(tmp_path, header + "\n2025,44021,44021A00-,1500,,,125.5,A,A,Gent,Gand\n")
    result = parse_file("population-2025", path)
    assert result.values == []
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert (problem.file, problem.line) == ("sample.csv", 1)
    assert problem.reason.startswith(MISSING_COLUMNS)
    assert "CD_YEAR" in problem.reason
    assert "TOTAL" in problem.reason
    assert "CD_SECTOR" not in problem.reason


def test_header_is_matched_case_insensitively_and_stripped(tmp_path: Path) -> None:
    header = "\ufeff cd_year , cd_sector,ms_avg_tot_net_taxable_inc, TX_SECTOR_DESCR_FR"
    path = _write(tmp_path, header + "\n2023,44021A00-,31000,KOUTER\n")
    result = parse_file("income", path)
    assert result.problems == []
    assert [(v.indicator, v.code, v.period, v.value) for v in result.values] == [
        ("income-average-declaration", "44021A00-", "2023", 31000.0)
    ]


def test_header_only_file_is_reported(tmp_path: Path) -> None:
    result = parse_file("population-2025", _write(tmp_path, POPULATION_HEADER + "\n"))
    assert result.values == []
    assert result.problems == [ParseProblem("sample.csv", 1, None, None, NO_ROWS)]


def test_unknown_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        parse_file("no-such-dataset", _write(tmp_path, POPULATION_HEADER + "\n"))


# --- income -----------------------------------------------------------------------------------


def test_income_source_reads_both_files() -> None:
    result = parse_source(_source("income"), FIXTURES)
    assert result.problems == []
    values = _by_key(result)
    avg, median = "income-average-declaration", "income-median-declaration"
    assert values[avg, "44021A00-", "2013"].value == 28500.0
    assert values[avg, "44021A00-", "2023"].value == 36250.0
    assert values[avg, "44021ZZZZ", "2013"].value == 19000.0
    # Blank = suppressed by Statbel.
    assert values[avg, "44021A01-", "2013"].status == "confidential"
    assert values[avg, "44021A01-", "2013"].value is None
    # The 2021 file carries the median as well: it must not be read with the average-only
    # layout, whose columns it also has.
    assert values[avg, "44021A00-", "2021"].value == 33100.0
    assert values[median, "44021A00-", "2021"].value == 27800.0
    assert values[avg, "44021A01-", "2021"].status == "confidential"
    assert values[median, "44021A01-", "2021"] == ParsedValue(
        median, "44021A01-", "2021", 26500.0, "normal", 3
    )
    assert values[median, "44021A02-", "2021"].status == "confidential"
    assert len(result.values) == 5 + 3 * 2
    assert {v.period for v in result.values if v.indicator == median} == {"2021"}


def test_duplicate_in_one_file_keeps_the_first(tmp_path: Path) -> None:
    text = (
        "CD_YEAR,CD_SECTOR,MS_AVG_TOT_NET_TAXABLE_INC,TX_SECTOR_DESCR_FR\n"
        "2023,44021A00-,31000,KOUTER\n"
        "2023,44021A01-,29000,CHAMP\n"
        "2023, 44021A00-,35000,KOUTER\n"
    )
    result = parse_file("income", _write(tmp_path, text))
    assert result.problems == [
        ParseProblem("sample.csv", 4, "MS_AVG_TOT_NET_TAXABLE_INC", "35000", DUPLICATE)
    ]
    assert _by_key(result)["income-average-declaration", "44021A00-", "2023"].value == 31000.0
    assert len(result.values) == 2


def test_duplicate_across_files_of_a_source(tmp_path: Path) -> None:
    (tmp_path / "values").mkdir()
    _write(
        tmp_path / "values",
        "CD_YEAR,CD_SECTOR,MS_AVG_TOT_NET_TAXABLE_INC,TX_SECTOR_DESCR_FR\n"
        "2021,44021A00-,31000,KOUTER\n",
        "first.csv",
    )
    _write(
        tmp_path / "values",
        "cd_year,cd_sector,tx_sector_descr_nl,ms_avg_tot_net_taxable_inc,"
        "ms_median_net_taxable_inc\n"
        "2021,44021A00-,KOUTER,32000,27000\n",
        "second.csv",
    )
    source = ValueSource("income", ("first.csv", "second.csv", "absent.csv"), "2024")
    result = parse_source(source, tmp_path)
    assert result.problems == [
        ParseProblem("second.csv", 2, "ms_avg_tot_net_taxable_inc", "32000", DUPLICATE),
        ParseProblem("absent.csv", 0, None, None, FILE_NOT_FOUND),
    ]
    values = _by_key(result)
    assert values["income-average-declaration", "44021A00-", "2021"].value == 31000.0
    assert values["income-median-declaration", "44021A00-", "2021"].value == 27000.0


# --- age-census-2021 --------------------------------------------------------------------------


def test_census_fixture() -> None:
    result = parse_file(
        "age-census-2021", FIXTURE_VALUES / "statbel_census2021_age65plus_sector.csv"
    )
    assert result.problems == []
    assert {v.period for v in result.values} == {"2021"}  # no year column in the file
    assert {v.indicator for v in result.values} == {"population-65plus", "population-under-65"}
    values = _by_key(result)
    assert values["population-65plus", "44021A00-", "2021"].value == 300.0
    assert values["population-under-65", "44021A00-", "2021"].value == 1150.0
    assert values["population-65plus", "44021A01-", "2021"].value == 0.0
    assert values["population-65plus", "44021A3MA", "2021"].value == 4.0
    # A blank under-65 count is a 0 (the source's own population total proves it).
    assert values["population-under-65", "44021A3MA", "2021"] == ParsedValue(
        "population-under-65", "44021A3MA", "2021", 0.0, "normal", 4
    )
    assert len(result.values) == 8


# --- cars-households-2019 ---------------------------------------------------------------------


def test_cars_fixture() -> None:
    result = parse_file(
        "cars-households-2019", FIXTURE_VALUES / "statbel_cars_households_sector_2019.csv"
    )
    values = _by_key(result)
    assert values["cars", "44021A00-", "2019"].value == 1030.0  # "1.030"
    assert values["households", "44021A01-", "2019"].value == 1204.0  # "1,204"
    assert values["households", "44021ZZZZ", "2019"].value == 7.0
    # Statbel's "-00": a signed zero whose meaning is undocumented; kept as "missing".
    assert values["cars", "44021ZZZZ", "2019"].value is None
    assert values["cars", "44021ZZZZ", "2019"].status == "missing"
    assert result.problems == []


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1030", 1030.0),
        ("1.030", 1030.0),
        ('"1,030"', 1030.0),
        ("1.030.400", 1030400.0),
        ("0", 0.0),
        ("007", 7.0),
        ("1.03", NOT_AN_INTEGER),
        ("12.0", NOT_AN_INTEGER),
        ("0.500", NOT_AN_INTEGER),
        ("1.0300", NOT_AN_INTEGER),
        ('"1.030,5"', NOT_A_NUMBER),
        ('"1.030,400"', NOT_A_NUMBER),
        ("1 030", NOT_A_NUMBER),
        ("nan", NOT_A_NUMBER),
        ("x", NOT_A_NUMBER),
        ("-7", NEGATIVE),
        ("-1.030", NEGATIVE),
    ],
)
def test_count_cells(tmp_path: Path, cell: str, expected: float | str) -> None:
    path = _write(tmp_path, f"{CARS_HEADER}\n2019,44021,Gand,Gent,44021A00-,10,{cell}\n")
    result = parse_file("cars-households-2019", path)
    cars = [v for v in result.values if v.indicator == "cars"]
    if isinstance(expected, float):
        assert result.problems == []
        assert [(v.value, v.status) for v in cars] == [(expected, "normal")]
    else:
        assert cars == []
        assert [(p.line, p.column, p.reason) for p in result.problems] == [
            (2, "MS_NUM_CAR", expected)
        ]


# --- energy-fluvius ---------------------------------------------------------------------------


def test_energy_fixture() -> None:
    result = parse_file(
        "energy-fluvius", FIXTURE_VALUES / "fluvius_energy_consumption_sector_2018_2021.csv"
    )
    assert result.problems == []
    values = _by_key(result)
    # Each column lands on its own indicator (the fixture has a distinct value per column).
    expected_2018 = {
        "electricity-consumption-non-residential": 1000.5,
        "electricity-consumption-residential": 2000.25,
        "electricity-connections-non-residential": 11.0,
        "electricity-connections-residential": 22.0,
        "electricity-injection": 0.0,
        "gas-consumption-residential": 3000.75,
        "gas-consumption-non-residential": 4000.0,
        "gas-connections-residential": 33.0,
        "gas-connections-non-residential": 44.0,
    }
    for indicator, value in expected_2018.items():
        assert values[indicator, "44021A00-", "2018"].value == value, indicator
        assert values[indicator, "44021A00-", "2018"].status == "normal"
    assert values["electricity-injection", "44021A00-", "2019"].value == 15.5
    # 0 stays a normal 0 (it may also mean "suppressed", which the file cannot tell).
    assert values["gas-consumption-residential", "44021ZZZZ", "2018"].value == 0.0
    assert values["gas-consumption-residential", "44021ZZZZ", "2018"].status == "normal"
    # -99999 and -99999.0: not applicable (Brussels).
    brussels = [v for v in result.values if v.code == "21004A00-"]
    assert len(brussels) == 9
    assert {(v.value, v.status, v.line) for v in brussels} == {(None, "not_applicable", 5)}
    assert len(result.values) == 4 * 9


def test_energy_negative_other_than_sentinel_is_a_problem(tmp_path: Path) -> None:
    row = "44021A00-,2020,-5.5,10,1,1,0,0,0,0,0,statsec2019"
    result = parse_file("energy-fluvius", _write(tmp_path, f"{FLUVIUS_HEADER}\n{row}\n"))
    assert result.problems == [
        ParseProblem("sample.csv", 2, "v2506_elek_nietres_cons", "-5.5", NEGATIVE)
    ]
    assert len(result.values) == 8


def test_sentinel_means_not_applicable_only_for_fluvius(tmp_path: Path) -> None:
    path = _write(tmp_path, f"{CARS_HEADER}\n2019,44021,Gand,Gent,44021A00-,10,-99999\n")
    result = parse_file("cars-households-2019", path)
    assert [p.reason for p in result.problems] == [NEGATIVE]


# --- land-use-open-space ----------------------------------------------------------------------


def test_land_use_fixture_in_hectares() -> None:
    result = parse_file(
        "land-use-open-space", FIXTURE_VALUES / "pinc_landgebruik_open_ruimte_sector_2013_2016.csv"
    )
    assert result.problems == []
    values = _by_key(result)
    assert values["open-space-forest", "44021A00-", "2013"].value == pytest.approx(0.25)
    assert values["open-space-forest", "44021A00-", "2016"].value == pytest.approx(0.24)
    assert values["open-space-arable", "44021A01-", "2013"].value == pytest.approx(12.0)
    assert values["open-space-total", "44021A01-", "2013"].value == pytest.approx(15.55)
    assert len(result.values) == 3 * 8


# --- every source from the fixture folder -----------------------------------------------------


def test_every_source_parses_from_the_fixture_folder() -> None:
    for source in VALUE_SOURCES:
        result = parse_source(source, FIXTURES)
        assert result.values, source.dataset
        assert {v.status for v in result.values} <= set(STATUSES)
        statuses_without_value = {"confidential", "not_applicable", "missing"}
        for v in result.values:
            assert (v.value is None) == (v.status in statuses_without_value), v
    problems = [p for s in VALUE_SOURCES for p in parse_source(s, FIXTURES).problems]
    assert problems == []


# --- the real files ---------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# No database: the same answer in both suites, and a minute of CPU (every real value file).
@pytest.mark.only_on("sqlite")
@pytest.mark.costly(11)
def test_real_value_files() -> None:
    source_dir = get_settings().source_dir
    values_dir = source_dir / "values"
    if not values_dir.is_dir():
        pytest.fail(f"the real value files are missing: {values_dir} not found")
    results = {s.dataset: parse_source(s, source_dir) for s in VALUE_SOURCES}
    code_re = re.compile(r"^\d{5}[0-9A-Z-]{4}$")

    for dataset, result in results.items():
        assert {v.status for v in result.values} <= set(STATUSES), dataset
        keys = [(v.indicator, v.code, v.period) for v in result.values]
        assert len(keys) == len(set(keys)), dataset
        assert all(code_re.match(v.code) for v in result.values), dataset
        if dataset != "cars-households-2019":
            assert result.problems == [], (dataset, result.problems[:5])

    def sums(dataset: str) -> dict[str, float]:
        total: dict[str, float] = defaultdict(float)
        for v in results[dataset].values:
            total[v.indicator] += v.value or 0
        return total

    def count(dataset: str, indicator: str, status: str) -> int:
        return sum(
            1 for v in results[dataset].values if v.indicator == indicator and v.status == status
        )

    # population-2025: every row read; Belgium and Flemish Region totals from the README.
    rows = _csv_rows(values_dir / "statbel_population_sector_2025.csv")
    assert len(rows) == 21_183
    unlocalised = sum(1 for r in rows if r["CD_SECTOR"].endswith("ZZZZ"))
    assert unlocalised == 402
    assert count("population-2025", "population", "normal") == 21_183
    assert count("population-2025", "area", "normal") == 21_183 - unlocalised
    assert not any(
        v.indicator == "area" and v.code.endswith("ZZZZ") for v in results["population-2025"].values
    )
    population = sums("population-2025")
    assert population["population"] == 11_825_551
    csv_area_ha = sum(float(r["OPPERVLAKKTE IN HM²"] or 0) for r in rows)
    assert population["area"] == pytest.approx(csv_area_ha / 100)
    assert population["area"] == pytest.approx(30_689.6, abs=1)  # Belgium, km²
    geo = _csv_rows(source_dir / "geo" / "pinc_statsec2025_alle_gebiedsniveaus.csv")
    flemish = {r["statsec"] for r in geo if r["gewest"] == "2000"}
    assert (
        sum(
            v.value or 0
            for v in results["population-2025"].values
            if v.indicator == "population" and v.code in flemish
        )
        == 6_864_519
    )

    # income: blank = confidential, as many as the files have blanks; median only for 2021.
    avg, median = "income-average-declaration", "income-median-declaration"
    rows_13_23 = _csv_rows(values_dir / "statbel_income_avg_sector_2013_2023.csv")
    rows_21 = _csv_rows(values_dir / "statbel_income_sector_2021.csv")
    assert (len(rows_13_23), len(rows_21)) == (39_938, 19_396)
    blank_avg = sum(1 for r in rows_13_23 if not r["MS_AVG_TOT_NET_TAXABLE_INC"].strip())
    blank_avg += sum(1 for r in rows_21 if not r["ms_avg_tot_net_taxable_inc"].strip())
    blank_median = sum(1 for r in rows_21 if not r["ms_median_net_taxable_inc"].strip())
    assert count("income", avg, "confidential") == blank_avg
    assert count("income", avg, "normal") == 39_938 + 19_396 - blank_avg
    assert count("income", median, "confidential") == blank_median
    assert count("income", median, "normal") == 19_396 - blank_median
    assert {v.period for v in results["income"].values if v.indicator == avg} == {
        "2013",
        "2021",
        "2023",
    }
    assert {v.period for v in results["income"].values if v.indicator == median} == {"2021"}

    # age-census-2021: x65 + rest = Belgian population on 1/1/2021 (README).
    rows = _csv_rows(values_dir / "statbel_census2021_age65plus_sector.csv")
    assert len(rows) == 19_786
    census = sums("age-census-2021")
    assert census["population-65plus"] + census["population-under-65"] == 11_521_238
    blank_rest = sum(1 for r in rows if not r["rest"].strip())
    assert blank_rest == 38
    assert count("age-census-2021", "population-under-65", "normal") == 19_786
    assert count("age-census-2021", "population-65plus", "normal") == 19_786

    # cars-households-2019: Belgian totals (README); the "-00" cells are "missing".
    rows = _csv_rows(values_dir / "statbel_cars_households_sector_2019.csv")
    assert len(rows) == 19_824
    cars = sums("cars-households-2019")
    assert cars["households"] == 4_955_225
    assert cars["cars"] == 5_310_848
    signed_zero_lines = {
        line for line, r in enumerate(rows, start=2) if r["MS_NUM_CAR"].strip() == "-00"
    }
    assert results["cars-households-2019"].problems == []
    assert count("cars-households-2019", "cars", "missing") == len(signed_zero_lines) == 245
    assert count("cars-households-2019", "cars", "normal") == 19_824 - len(signed_zero_lines)

    # energy-fluvius: no negative value left; -99999 rows (Brussels) are not applicable.
    rows = _csv_rows(values_dir / "fluvius_energy_consumption_sector_2018_2021.csv")
    assert len(rows) == 40_932
    energy = results["energy-fluvius"].values
    assert all(v.value is None or v.value >= 0 for v in energy)
    sentinel_rows = [r for r in rows if float(r["v2506_elek_res_n"]) == -99999]
    assert all(r["geoitem"].startswith("21") for r in sentinel_rows)
    not_applicable = [v for v in energy if v.status == "not_applicable"]
    assert len(not_applicable) == 9 * len(sentinel_rows)
    assert len(energy) == 9 * 40_932
    zero_injection = sum(1 for r in rows if float(r["v2506_elek_res_injectie"]) == 0)
    assert sum(1 for v in energy if v.indicator == "electricity-injection" and v.value == 0) == (
        zero_injection
    )

    # land-use-open-space: the seven categories add up to the total, in hectares.
    rows = _csv_rows(values_dir / "pinc_landgebruik_open_ruimte_sector_2013_2016.csv")
    assert len(rows) == 18_388
    land = results["land-use-open-space"].values
    assert len(land) == 8 * 18_388
    parts: dict[tuple[str, str], float] = defaultdict(float)
    totals: dict[tuple[str, str], float] = {}
    for v in land:
        assert v.value is not None
        if v.indicator == "open-space-total":
            totals[v.code, v.period] = v.value
        else:
            parts[v.code, v.period] += v.value
    assert all(math.isclose(parts[k], totals[k], abs_tol=1e-6) for k in totals)
    m2_2016 = sum(float(r["v1591_opp_or_totaal"]) for r in rows if r["period"] == "2016")
    assert sum(v for (_, period), v in totals.items() if period == "2016") == pytest.approx(
        m2_2016 / 10_000
    )

    # sector-area-2021: every row read, in km²; the Flemish Region's sectors add up to ~13,623 km².
    rows = _csv_rows(values_dir / "statbel_sector_area_shape2021.csv")
    assert len(rows) == 19_478
    areas = results["sector-area-2021"].values
    assert len(areas) == 19_478
    assert {(v.indicator, v.period, v.status) for v in areas} == {("sector-area", "2021", "normal")}
    flemish_ha = sum(float(r["SURFACE.GIS.h"]) for r in rows if r["CD_RGN_REFNIS"] == "02000")
    flemish_codes = {r["CD_SECTOR_REFNIS"] for r in rows if r["CD_RGN_REFNIS"] == "02000"}
    flemish_km2 = sum(v.value or 0 for v in areas if v.code in flemish_codes)
    assert flemish_km2 == pytest.approx(flemish_ha / 100)
    assert flemish_km2 == pytest.approx(13_623, abs=1)


def test_sector_area_fixture() -> None:
    result = parse_file("sector-area-2021", FIXTURE_VALUES / "statbel_sector_area_shape2021.csv")
    assert result.problems == []
    assert (result.dataset, result.geo_version) == ("sector-area-2021", "2024")
    values = _by_key(result)
    kuip = values["sector-area", "44021A00-", "2021"]
    assert kuip.municipality == "44021" and kuip.status == "normal"
    with (FIXTURE_VALUES / "statbel_sector_area_shape2021.csv").open(encoding="utf-8") as f:
        hectares = float(
            next(r for r in csv.DictReader(f) if r["CD_SECTOR_REFNIS"] == "44021A00-")[
                "SURFACE.GIS.h"
            ]
        )
    assert kuip.value == pytest.approx(hectares / 100)
