"""Parse the real value files (Statbel, Fluvius, provincies.incijfers.be) into observations.

Pure: no database, no web framework. Each file is read with :func:`app.sources.read_csv_rows`
and turned into :class:`ParsedValue` records (one per indicator, sector and period) plus
:class:`ParseProblem` records for whatever could not be read. Codes are only checked for their
shape here; whether a sector exists in the dataset's geography version is the database layer's
business.

The rules per file follow ``DATAPEDIA_SOURCE_DIR/README.md`` ("values/"):

* a cell with a problem yields no value, except a duplicate, where the first value is kept;
* blank cells become status ``missing`` (``confidential`` for Statbel's suppressed incomes);
* ``…ZZZZ`` sectors have no area: a blank or zero area on such a row yields no value at all;
* Fluvius' ``-99999`` becomes ``not_applicable``; its ``0`` stays a plain ``0`` (see below);
* counts must be non-negative integers; a ``.`` or ``,`` followed by groups of exactly three
  digits is read as a thousands separator (Statbel wrote ``1.030`` for 1030 in the cars file);
  a signed zero (``-00``, in Statbel's cars file) counts as negative: its meaning is unknown;
* units are converted where the indicator's unit differs from the source's: hectares to km²
  for the area, m² to hectares for land use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from app.sources import read_csv_rows

VALUES_DIR = "values"

SECTOR_CODE_RE = re.compile(r"[0-9]{5}[0-9A-Z-]{4}")
UNLOCALISED_SUFFIX = "ZZZZ"
YEAR_RE = re.compile(r"[0-9]{4}")
# Plain decimal notation only: float() would also accept "nan", "inf", "1_000" and " 1".
REAL_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
INTEGER_RE = re.compile(r"-?[0-9]+")
# One separator used consistently, groups of exactly three digits, no leading zero: the only
# shape in which "1.030" cannot be a decimal fraction in a column of whole counts.
GROUPED_INTEGER_RE = re.compile(r"-?[1-9][0-9]{0,2}(?:(?P<sep>[.,])[0-9]{3})(?:(?P=sep)[0-9]{3})*")

# Reasons, kept as constants so that callers and tests can group problems by them.
MISSING_COLUMNS = "missing columns"
NO_ROWS = "no data rows"
FILE_NOT_FOUND = "file not found"
MALFORMED_ROW = "row length differs from the header"
MALFORMED_CODE = "malformed sector code"
MALFORMED_PERIOD = "not a year"
NOT_A_NUMBER = "not a number"
NOT_AN_INTEGER = "not an integer"
NEGATIVE = "negative"
DUPLICATE = "duplicate"
# Statbel writes "-00" in 245 cars cells of TF_CAR_HH_SECTOR 2019 (mostly …ZZZZ sectors). Its
# meaning is not documented; it is not a count we can publish, so it is kept as "missing".
STATBEL_UNKNOWN_MARK = "-00"


@dataclass(frozen=True)
class ParsedValue:
    indicator: str  # indicator id from seeds/indicators.yaml
    code: str  # sector code as in the file (9 chars), stripped
    period: str  # "2025", "2021", "2018", ...
    value: float | None  # None when status is confidential / not_applicable / missing
    status: str  # one of app.stats.models.STATUSES
    line: int  # source line (header = 1)
    # The municipality the file itself gives for the row (Statbel's CD_REFNIS), if any: it
    # places a "…ZZZZ" row whose code keeps the prefix of a municipality merged long ago.
    municipality: str | None = None


@dataclass(frozen=True)
class ParseProblem:
    file: str
    line: int  # 1 = the header; 0 = the file as a whole (not found)
    column: str | None
    value: str | None
    reason: str


@dataclass
class ParseResult:
    dataset: str
    geo_version: str
    values: list[ParsedValue] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)


@dataclass(frozen=True)
class ValueSource:
    dataset: str  # dataset id
    files: tuple[str, ...]  # file names under <source_dir>/values/
    geo_version: str
    # The source describes every sector of the municipalities it covers (a map: each has an
    # area): a sector of those without a row has no value (missing), so that the sums above
    # it are incomplete, not complete and short. Other sources leave out what they have
    # nothing of.
    covers_every_sector: bool = False


class Kind(Enum):
    """What a column may hold; decides how its text is read and what is rejected."""

    COUNT = "count"  # non-negative integer, thousands separators accepted
    QUANTITY = "quantity"  # non-negative real (kWh, m², hectares)
    AMOUNT = "amount"  # any real (euro)


@dataclass(frozen=True)
class ColumnSpec:
    column: str  # header in the file (matched case-insensitively)
    indicator: str
    kind: Kind
    divisor: float = 1.0  # source unit -> indicator unit (value / divisor)
    blank_status: str = "missing"
    # A blank that the source's own totals prove to be 0 (see the census layout).
    blank_is_zero: bool = False
    # Statbel gives '…ZZZZ' sectors (residents not linked to a sector) no real area: the file
    # holds 0 there. Publishing 0 km² would give those sectors an infinite density.
    none_on_unlocalised: bool = False


@dataclass(frozen=True)
class FileLayout:
    """The columns of one file layout of a dataset."""

    code_column: str
    period_column: str | None  # None: the period is fixed (Census 2021 has no year column)
    columns: tuple[ColumnSpec, ...]
    fixed_period: str | None = None
    not_applicable: float | None = None  # sentinel value meaning "not applicable"
    municipality_column: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        names = [self.code_column]
        if self.period_column is not None:
            names.append(self.period_column)
        names.extend(spec.column for spec in self.columns)
        return tuple(names)


VALUE_SOURCES: tuple[ValueSource, ...] = (
    ValueSource("population-2025", ("statbel_population_sector_2025.csv",), "2025"),
    ValueSource(
        "income",
        ("statbel_income_avg_sector_2013_2023.csv", "statbel_income_sector_2021.csv"),
        "2024",
    ),
    ValueSource("age-census-2021", ("statbel_census2021_age65plus_sector.csv",), "2024"),
    ValueSource("cars-households-2019", ("statbel_cars_households_sector_2019.csv",), "2024"),
    ValueSource("energy-fluvius", ("fluvius_energy_consumption_sector_2018_2021.csv",), "2024"),
    ValueSource(
        "land-use-open-space", ("pinc_landgebruik_open_ruimte_sector_2013_2016.csv",), "2024"
    ),
    # The map of 2021 collapsed 41 small sectors of the 2020–2024 list into their neighbours.
    ValueSource(
        "sector-area-2021",
        ("statbel_sector_area_shape2021.csv",),
        "2024",
        covers_every_sector=True,
    ),
)

_INCOME_AVERAGE = "income-average-declaration"
_INCOME_MEDIAN = "income-median-declaration"

# Fluvius file: the v2506_* column -> indicator mapping equals `source_column` in
# seeds/indicators.yaml (a test checks that they agree).
_FLUVIUS_COLUMNS = (
    ("v2506_elek_res_cons", "electricity-consumption-residential", Kind.QUANTITY),
    ("v2506_elek_nietres_cons", "electricity-consumption-non-residential", Kind.QUANTITY),
    ("v2506_elek_res_n", "electricity-connections-residential", Kind.COUNT),
    ("v2506_elek_nietres_n", "electricity-connections-non-residential", Kind.COUNT),
    ("v2506_elek_res_injectie", "electricity-injection", Kind.QUANTITY),
    ("v2506_gas_res_cons", "gas-consumption-residential", Kind.QUANTITY),
    ("v2506_gas_nietres_cons", "gas-consumption-non-residential", Kind.QUANTITY),
    ("v2506_gas_res_n", "gas-connections-residential", Kind.COUNT),
    ("v2506_gas_nietres_n", "gas-connections-non-residential", Kind.COUNT),
)

_OPEN_SPACE_COLUMNS = (
    ("v1591_opp_or_bos", "open-space-forest"),
    ("v1591_opp_or_akker", "open-space-arable"),
    ("v1591_opp_or_grasland", "open-space-grassland"),
    ("v1591_opp_or_struikgewas", "open-space-shrubland"),
    ("v1591_opp_or_braak", "open-space-fallow"),
    ("v1591_opp_or_water", "open-space-water"),
    ("v1591_opp_or_moeras", "open-space-marsh"),
    ("v1591_opp_or_totaal", "open-space-total"),
)

# Per dataset the layouts it may come in; a file is read with the layout its header fits best.
LAYOUTS: dict[str, tuple[FileLayout, ...]] = {
    "population-2025": (
        FileLayout(
            code_column="CD_SECTOR",
            period_column="CD_YEAR",
            municipality_column="CD_REFNIS",
            columns=(
                ColumnSpec("TOTAL", "population", Kind.COUNT),
                # Hectares (hm²) in the file, km² in the Datapedia.
                ColumnSpec(
                    "OPPERVLAKKTE IN HM²",
                    "area",
                    Kind.QUANTITY,
                    divisor=100.0,
                    none_on_unlocalised=True,
                ),
            ),
        ),
    ),
    "income": (
        # 2013/2023 file (ismakt/smart-in): the average only, Statbel's upper-case names.
        FileLayout(
            code_column="CD_SECTOR",
            period_column="CD_YEAR",
            columns=(
                ColumnSpec(
                    "MS_AVG_TOT_NET_TAXABLE_INC",
                    _INCOME_AVERAGE,
                    Kind.AMOUNT,
                    blank_status="confidential",
                ),
            ),
        ),
        # 2021 file (sdaeneki/TravelTime_Hospitals), and Statbel's full TF_PSNL_INC_TAX_SECTOR:
        # average and median. Blank = suppressed by Statbel (too few tax returns).
        FileLayout(
            code_column="cd_sector",
            period_column="cd_year",
            columns=(
                ColumnSpec(
                    "ms_avg_tot_net_taxable_inc",
                    _INCOME_AVERAGE,
                    Kind.AMOUNT,
                    blank_status="confidential",
                ),
                ColumnSpec(
                    "ms_median_net_taxable_inc",
                    _INCOME_MEDIAN,
                    Kind.AMOUNT,
                    blank_status="confidential",
                ),
            ),
        ),
    ),
    "age-census-2021": (
        # prop_65plussers is derived (share-65plus is recomputed from the counts): not read.
        FileLayout(
            code_column="cd_sector",
            period_column=None,
            fixed_period="2021",
            columns=(
                ColumnSpec("x65", "population-65plus", Kind.COUNT),
                # 38 sectors (with 1–10 residents aged 65+) have a blank under-65 count. Read
                # as 0, x65 + rest over all rows equals Statbel's population of 1/1/2021
                # (11,521,238), so the blanks are zeros, not suppressed cells.
                ColumnSpec("rest", "population-under-65", Kind.COUNT, blank_is_zero=True),
            ),
        ),
    ),
    "cars-households-2019": (
        FileLayout(
            code_column="CD_STAT_SECTOR",
            period_column="CD_YEAR",
            municipality_column="CD_REFNIS",
            columns=(
                ColumnSpec("MS_NUM_HH", "households", Kind.COUNT),
                ColumnSpec("MS_NUM_CAR", "cars", Kind.COUNT),
            ),
        ),
    ),
    "energy-fluvius": (
        FileLayout(
            code_column="geoitem",
            period_column="period",
            columns=tuple(ColumnSpec(c, i, k) for c, i, k in _FLUVIUS_COLUMNS),
            # -99999 marks sectors outside Fluvius' area (all of Brussels). A 0 is kept as a
            # normal 0 although the README warns that the processing recoded missing values to
            # 0, so 0 may also mean "suppressed": the file cannot tell the two apart and we do
            # not guess (the indicators' caveats say so).
            not_applicable=-99999.0,
        ),
    ),
    "land-use-open-space": (
        FileLayout(
            code_column="geoitem",
            period_column="period",
            # m² in the file, hectares in the Datapedia.
            columns=tuple(
                ColumnSpec(c, i, Kind.QUANTITY, divisor=10_000.0) for c, i in _OPEN_SPACE_COLUMNS
            ),
        ),
    ),
    "sector-area-2021": (
        # Statbel's sector map of 1 January 2021 (2020–2024 codes), attributes via Sciensano's
        # bemaps. SURFACE.GIS.h is the shapefile's M_AREA_HA (hectares, the unrounded one of
        # the two area columns); the Datapedia gives km². The map has no "…ZZZZ" sectors.
        FileLayout(
            code_column="CD_SECTOR_REFNIS",
            period_column=None,
            fixed_period="2021",
            municipality_column="CD_MUNTY_REFNIS",
            columns=(
                ColumnSpec(
                    "SURFACE.GIS.h",
                    "sector-area",
                    Kind.QUANTITY,
                    divisor=100.0,
                    none_on_unlocalised=True,
                ),
            ),
        ),
    ),
}

_SOURCES_BY_DATASET = {source.dataset: source for source in VALUE_SOURCES}


def parse_source(source: ValueSource, source_dir: Path) -> ParseResult:
    """Parse every file of ``source`` under ``source_dir/values``.

    A missing file is a problem (line 0), not an exception, so that a seed can report what it
    could not find and still load the rest. Duplicates are also detected across files.
    """
    result = ParseResult(dataset=source.dataset, geo_version=source.geo_version)
    result.values.extend(value for _, value in iter_source(source, source_dir, result))
    return result


def iter_source(
    source: ValueSource,
    source_dir: Path,
    result: ParseResult,
    *,
    find_duplicates: bool = True,
) -> Iterator[tuple[int, ParsedValue]]:
    """The values of every file of ``source`` as they are read, with the file's index in
    ``source.files``; problems go to ``result.problems``. Without ``find_duplicates`` the
    keys are not remembered (memory stays flat); the caller finds duplicates itself."""
    parser = _Parser(result, LAYOUTS[source.dataset], find_duplicates=find_duplicates)
    for index, name in enumerate(source.files):
        path = source_dir / VALUES_DIR / name
        if path.is_file():
            yield from ((index, value) for value in parser.values(path))
        else:
            result.problems.append(ParseProblem(name, 0, None, None, FILE_NOT_FOUND))


def parse_file(dataset: str, path: Path) -> ParseResult:
    """Parse one value file of ``dataset``; the layout is chosen by the file's header."""
    try:
        source = _SOURCES_BY_DATASET[dataset]
        layouts = LAYOUTS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}") from None
    result = ParseResult(dataset=dataset, geo_version=source.geo_version)
    result.values.extend(_Parser(result, layouts).values(path))
    return result


class _Parser:
    """Yields values and collects problems into one result; the keys already seen are shared
    by all files parsed with it, so that a duplicate across the files of a dataset is found
    too."""

    def __init__(
        self,
        result: ParseResult,
        layouts: tuple[FileLayout, ...],
        *,
        find_duplicates: bool = True,
    ) -> None:
        self.result = result
        self.layouts = layouts
        self.find_duplicates = find_duplicates
        self.seen: set[tuple[str, str, str]] = set()

    def values(self, path: Path) -> Iterator[ParsedValue]:
        file = path.name
        layout: FileLayout | None = None
        header: dict[str, str] = {}
        any_row = False
        for row in read_csv_rows(path):
            if not any_row:
                any_row = True
                layout, header = self._choose_layout(file, row.values)
                if layout is None:
                    return
            assert layout is not None
            yield from self._parse_row(layout, header, file, row.line, row.values)
        if not any_row:
            self.result.problems.append(ParseProblem(file, 1, None, None, NO_ROWS))

    def _choose_layout(
        self, file: str, first_row: dict[str, str]
    ) -> tuple[FileLayout | None, dict[str, str]]:
        # Header names are matched case-insensitively: the same Statbel column appears as
        # MS_AVG_TOT_NET_TAXABLE_INC in one republication and in lower case in another.
        names = {key.strip().lower(): key for key in first_row if isinstance(key, str)}
        # The layout missing the fewest columns wins; among complete ones the one reading the
        # most columns (the 2021 income file fits the average-only layout too).
        candidates = [
            (layout, [name for name in layout.required if name.lower() not in names])
            for layout in self.layouts
        ]
        layout, missing = min(candidates, key=lambda c: (len(c[1]), -len(c[0].required)))
        if missing:
            self.result.problems.append(
                ParseProblem(
                    file, 1, None, ", ".join(missing), f"{MISSING_COLUMNS}: {', '.join(missing)}"
                )
            )
            return None, {}
        header = {name: names[name.lower()] for name in layout.required}
        optional = layout.municipality_column
        if optional is not None and optional.lower() in names:
            header[optional] = names[optional.lower()]
        return layout, header

    def _parse_row(
        self,
        layout: FileLayout,
        header: dict[str, str],
        file: str,
        line: int,
        values: dict[str, str],
    ) -> Iterator[ParsedValue]:
        problems = self.result.problems
        # csv.DictReader puts surplus fields under the key None and fills short rows with None:
        # in either case the cells may be shifted, so nothing in the row can be trusted.
        if None in values or any(v is None for v in values.values()):
            problems.append(ParseProblem(file, line, None, None, MALFORMED_ROW))
            return

        raw_code = values[header[layout.code_column]]
        code = raw_code.strip()
        if not SECTOR_CODE_RE.fullmatch(code):
            problems.append(ParseProblem(file, line, layout.code_column, raw_code, MALFORMED_CODE))
            return

        if layout.period_column is None:
            assert layout.fixed_period is not None
            period = layout.fixed_period
        else:
            raw_period = values[header[layout.period_column]]
            period = raw_period.strip()
            if not YEAR_RE.fullmatch(period):
                problems.append(
                    ParseProblem(file, line, layout.period_column, raw_period, MALFORMED_PERIOD)
                )
                return

        unlocalised = code.endswith(UNLOCALISED_SUFFIX)
        municipality = None
        if layout.municipality_column is not None and layout.municipality_column in header:
            municipality = values[header[layout.municipality_column]].strip() or None
        for spec in layout.columns:
            raw = values[header[spec.column]]
            text = raw.strip()
            value: float | None
            if not text:
                if spec.none_on_unlocalised and unlocalised:
                    continue
                value, status = (0.0, "normal") if spec.blank_is_zero else (None, spec.blank_status)
            elif text == STATBEL_UNKNOWN_MARK and spec.kind is Kind.COUNT:
                value, status = None, "missing"
            else:
                number, reason = _read_number(text, spec.kind, layout.not_applicable)
                if reason is not None:
                    problems.append(ParseProblem(file, line, spec.column, raw, reason))
                    continue
                if number is None:
                    value, status = None, "not_applicable"
                elif spec.none_on_unlocalised and unlocalised and number == 0:
                    continue
                else:
                    value, status = number / spec.divisor, "normal"

            if self.find_duplicates:
                key = (spec.indicator, code, period)
                if key in self.seen:
                    problems.append(ParseProblem(file, line, spec.column, raw, DUPLICATE))
                    continue
                self.seen.add(key)
            yield ParsedValue(spec.indicator, code, period, value, status, line, municipality)


def _read_number(
    text: str, kind: Kind, not_applicable: float | None
) -> tuple[float | None, str | None]:
    """Read a stripped, non-blank cell: ``(value, None)``, ``(None, None)`` for the
    not-applicable sentinel, or ``(None, reason)``."""
    if not_applicable is not None and REAL_RE.fullmatch(text) and float(text) == not_applicable:
        return None, None
    if kind is Kind.COUNT:
        if INTEGER_RE.fullmatch(text):
            # Checked on the text, not the number: Statbel writes "-00" in some cars cells,
            # which int() would silently turn into a harmless-looking 0.
            if text.startswith("-"):
                return None, NEGATIVE
            return float(int(text)), None
        if GROUPED_INTEGER_RE.fullmatch(text):
            if text.startswith("-"):
                return None, NEGATIVE
            return float(int(text.replace(".", "").replace(",", ""))), None
        if REAL_RE.fullmatch(text):
            return None, NOT_AN_INTEGER
        return None, NOT_A_NUMBER
    if not REAL_RE.fullmatch(text):
        return None, NOT_A_NUMBER
    number = float(text)
    if kind is Kind.QUANTITY and text.startswith("-"):
        return None, NEGATIVE
    return number, None
