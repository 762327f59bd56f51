"""Reading and validating a supplier's upload against its dataset's Table Schema.

Pure functions over bytes and plain lookups (no database, no FastAPI): every problem is
collected with row, column, value and reason, so the supplier can fix the file in one go.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.stats.models import STATUSES

MAX_COLUMNS = 50
MAX_CELL = 1000
MAX_REPORTED_ERRORS = 1000
NO_VALUE_STATUSES = ("confidential", "not_applicable", "missing")
COLUMNS = ("sector", "indicator", "period", "value", "status")
REQUIRED = ("sector", "indicator", "period")
SECTOR_RE = re.compile(r"^[0-9]{5}[0-9A-Z-]{4}$")
PERIOD_RE = re.compile(r"^[0-9]{4}$")
OUTSIDE_TERRITORY = "outside your territory for this dataset"
NUMBER_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


@dataclass(frozen=True)
class RowError:
    row: int  # data row number, 1 = the first row after the header; 0 = the file itself
    column: str | None
    value: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


class UploadRow(NamedTuple):
    row: int
    sector: str
    indicator: str
    period: str
    value: float | None
    status: str


@dataclass
class UploadResult:
    rows: list[UploadRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def error(self, row: int, column: str | None, value: str | None, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            shown = value if value is None or len(value) <= 100 else value[:100] + "…"
            self.errors.append(RowError(row, column, shown, reason))


@dataclass(frozen=True)
class Rules:
    """What the dataset accepts, resolved by the caller from the database."""

    indicators: Mapping[str, str]  # supplied indicator id → aggregation rule
    derived: frozenset[str]  # indicators computed by Datapedia: not to be uploaded
    geo_version: str
    sector_exists: Callable[[str], bool]
    other_version_of: Callable[[str], str | None]  # a version in which the code does exist
    in_territory: Callable[[str], bool]


Cells = tuple[str, str, str, str, str]  # sector, indicator, period, value, status (stripped)


def read_csv(body: bytes, result: UploadResult) -> Iterator[tuple[int, Cells]]:
    """Rows of a CSV upload: UTF-8 (a BOM is fine), ',' or ';', LF or CRLF."""
    if b"\x00" in body:
        result.error(0, None, None, "the file contains a NUL byte; is it a CSV text file?")
        return
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.error(
            0, None, None, f"the file is not valid UTF-8 (byte {exc.start}); save it as UTF-8"
        )
        return
    if not text.strip():
        result.error(0, None, None, "the file is empty; expected a header and rows")
        return
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        result.error(0, None, None, f"the header is not valid CSV: {exc}")
        return
    names = _check_header([h.strip() for h in header], result)
    if names is None:
        return
    number = 0
    width = len(names)
    positions = [names.index(c) if c in names else -1 for c in COLUMNS]
    try:
        for number, cells in enumerate(reader, start=1):
            if not cells or cells == [""]:
                continue
            if len(cells) != width:
                result.error(
                    number,
                    None,
                    None,
                    f"{len(cells)} fields where the header has {len(names)}",
                )
                continue
            if max(map(len, cells)) > MAX_CELL:
                result.error(number, None, None, f"a cell is longer than {MAX_CELL} characters")
                continue
            yield number, _pick(cells, positions)
    except csv.Error as exc:
        result.error(number + 1, None, None, f"not valid CSV here: {exc}")
    if number == 0:
        result.error(0, None, None, "the file has a header but no rows")


def _pick(cells: list[str], positions: list[int]) -> Cells:
    sector, indicator, period, value, status = (
        cells[p].strip() if p >= 0 else "" for p in positions
    )
    return sector, indicator, period, value, status


def read_json(body: bytes, result: UploadResult) -> Iterator[tuple[int, Cells]]:
    """Rows of a JSON upload: a list of objects, or ``{"rows": [...]}``."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        result.error(0, None, None, f"the body is not valid UTF-8 JSON: {exc}")
        return
    rows = document.get("rows") if isinstance(document, dict) else document
    if not isinstance(rows, list) or not rows:
        result.error(0, None, None, 'expected a non-empty list of rows, or {"rows": [...]}')
        return
    for number, item in enumerate(rows, start=1):
        if not isinstance(item, dict):
            result.error(number, None, None, "a row must be an object")
            continue
        unknown = [str(k) for k in item if k not in COLUMNS]
        if unknown:
            result.error(number, None, None, f"unknown field(s): {', '.join(unknown[:10])}")
            continue
        cells = [("" if item.get(c) is None else str(item[c])) for c in COLUMNS]
        if max(map(len, cells)) > MAX_CELL:
            result.error(number, None, None, f"a value is longer than {MAX_CELL} characters")
            continue
        yield number, _pick(cells, list(range(len(COLUMNS))))


def _check_header(header: list[str], result: UploadResult) -> list[str] | None:
    if len(header) > MAX_COLUMNS:
        result.error(
            0,
            None,
            None,
            f"the header has {len(header)} columns; expected {', '.join(COLUMNS)}",
        )
        return None
    problems = []
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        problems.append(f"duplicate column(s): {', '.join(duplicates)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(u[:50] for u in unknown)}")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        result.error(
            0,
            None,
            None,
            "; ".join(problems) + f". Expected the columns {', '.join(COLUMNS)} "
            "(see the dataset's Table Schema)",
        )
        return None
    return header


def validate(rows: Iterator[tuple[int, Cells]], rules: Rules, result: UploadResult) -> None:
    seen: dict[tuple[str, str, str], int] = {}
    sector_checks: dict[str, str | None] = {}
    for number, (sector, indicator, period, raw_value, given_status) in rows:
        status = given_status or "normal"
        ok = True
        # The same sector comes back for every indicator and period: check it once.
        if sector not in sector_checks:
            sector_checks[sector] = _check_sector(sector, rules)
        sector_problem = sector_checks[sector]
        if sector_problem is not None:
            result.error(number, "sector", sector, sector_problem)
            ok = False
        if indicator in rules.derived:
            result.error(
                number,
                "indicator",
                indicator,
                "computed by Datapedia from other indicators; upload its parts instead",
            )
            ok = False
        elif indicator not in rules.indicators:
            result.error(
                number,
                "indicator",
                indicator,
                f"not an indicator of this dataset; expected one of {', '.join(rules.indicators)}",
            )
            ok = False
        if not PERIOD_RE.match(period):
            result.error(number, "period", period, "not a year (4 digits)")
            ok = False
        if status not in STATUSES:
            result.error(number, "status", status, f"not one of {', '.join(STATUSES)}")
            ok = False
        value: float | None = None
        if status in NO_VALUE_STATUSES:
            if raw_value:
                result.error(number, "value", raw_value, f"must be empty when status is {status}")
                ok = False
        elif not raw_value:
            result.error(number, "value", raw_value, "missing; give a number or a status")
            ok = False
        elif not NUMBER_RE.match(raw_value):
            result.error(number, "value", raw_value, "not a number (use '.' for decimals)")
            ok = False
        else:
            value = float(raw_value)
            if not math.isfinite(value):
                result.error(number, "value", raw_value, "not a finite number")
                ok = False
            elif value < 0 and rules.indicators.get(indicator) == "sum":
                result.error(number, "value", raw_value, "a count or quantity cannot be negative")
                ok = False
        key = (sector, indicator, period)
        if key in seen:
            result.error(number, None, None, f"duplicate of row {seen[key]} ({', '.join(key)})")
            ok = False
        else:
            seen[key] = number
        if ok:
            result.rows.append(UploadRow(number, sector, indicator, period, value, status))


def _check_sector(sector: str, rules: Rules) -> str | None:
    if not SECTOR_RE.match(sector):
        return "not a statistical sector code (9 characters)"
    if not rules.sector_exists(sector):
        other = rules.other_version_of(sector)
        hint = f" (it is a sector of version {other})" if other else ""
        return f"not a sector of geography version {rules.geo_version}{hint}"
    if not rules.in_territory(sector):
        return OUTSIDE_TERRITORY
    return None


def table_schema(
    dataset_id: str, indicators: Mapping[str, str], geo_version: str
) -> dict[str, Any]:
    """The Frictionless Table Schema of a dataset's uploads."""
    return {
        "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
        "name": dataset_id,
        "title": f"Upload of {dataset_id} (sector level, geography version {geo_version})",
        "fields": [
            {
                "name": "sector",
                "type": "string",
                "description": f"Statbel statistical sector code of geography version "
                f"{geo_version}, inside the supplier's territory.",
                "constraints": {"required": True, "pattern": SECTOR_RE.pattern[1:-1]},
            },
            {
                "name": "indicator",
                "type": "string",
                "description": "Indicator id (see /api/v1/indicators).",
                "constraints": {"required": True, "enum": sorted(indicators)},
            },
            {
                "name": "period",
                "type": "string",
                "description": "Year of the value.",
                "constraints": {"required": True, "pattern": PERIOD_RE.pattern[1:-1]},
            },
            {
                "name": "value",
                "type": "number",
                "description": "The value; empty when status is confidential, not_applicable "
                "or missing. Counts and quantities are not negative.",
            },
            {
                "name": "status",
                "type": "string",
                "description": "SDMX-like observation status; empty means normal.",
                "constraints": {"enum": list(STATUSES)},
            },
        ],
        "primaryKey": ["sector", "indicator", "period"],
        "missingValues": [""],
    }
