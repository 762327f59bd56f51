"""Reading and validating a supplier's upload against its dataset's Table Schema.

Pure functions over bytes and plain lookups (no database, no FastAPI): every problem is
collected with row, column, value and reason, so the supplier can fix the file in one go.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import itertools
import math
import operator
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

import orjson

from app.api.text import control_character
from app.ingest.schemas import FieldConstraints, TableField, TableSchema
from app.stats.models import STATUSES

MAX_COLUMNS = 50
MAX_CELL = 1000
MAX_REPORTED_ERRORS = 1000
NO_VALUE_STATUSES = ("confidential", "not_applicable", "missing")
COLUMNS = ("sector", "indicator", "period", "value", "status")
REQUIRED = ("sector", "indicator", "period")
# Frictionless patterns match the whole cell (they carry no anchors); checked with fullmatch.
# Statbel sector codes: the municipality's NIS code, then three letters or digits and a
# letter, digit or '-' (44021A00-, 44021A01K, 4402110PQ, and 44021ZZZZ for "unknown").
SECTOR_PATTERN = "[0-9]{5}[0-9A-Z]{3}[0-9A-Z-]"
# A year of this or the last century: no statistical sector existed before 1970, and a
# typo such as 0025 or 2205 must not open a period of its own.
PERIOD_PATTERN = "(19|20)[0-9]{2}"
FIRST_YEAR, LAST_YEAR = 1900, 2099
INDICATOR_PATTERN = "[a-z0-9]+(-[a-z0-9]+)*"
# No count, area or amount in these datasets comes near this; sums of many stay finite.
VALUE_LIMIT = 10**15
OUTSIDE_TERRITORY = "outside your territory for this dataset"
NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
HALF_NUMBER_RE = re.compile(r"-?([0-9]+\.|\.[0-9]+)([eE][-+]?[0-9]+)?")
# 2.976 or 12.500: how a number with a '.' between its thousands reads (Dutch and German
# spreadsheets write 2.976 for two thousand nine hundred and seventy-six).
THOUSANDS_RE = re.compile(r"-?[1-9][0-9]{0,2}\.[0-9]{3}")
# What a schema constraint means, said the way a supplier fixes it.
PATTERN_REASONS = {
    "sector": "not a statistical sector code (5 digits and 4 letters, digits or '-', "
    "e.g. 44021A00-)",
    "period": f"not a year from {FIRST_YEAR} to {LAST_YEAR} (4 digits)",
    "indicator": "not an indicator id",
}
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: a code or
# a number never holds one, and a quoted line break would pass unseen in a spreadsheet.
VERDICT_MEMO = 100_000


@dataclass(frozen=True)
class RowError:
    # Data row number, 1 = the first row after the header (a blank row counts); 0 = the file
    # itself. ``line``: of a CSV file, the line the row starts on (the header is line 1), as
    # an editor shows it.
    row: int
    column: str | None
    value: str | None
    reason: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}
        return found if self.line is None else {**found, "line": self.line}


class UploadRow(NamedTuple):
    row: int
    sector: str
    indicator: str
    period: str
    value: float | None
    status: str


@dataclass
class UploadResult:
    """The problems found (the first :data:`MAX_REPORTED_ERRORS`, and their total); the
    rows themselves stream past, so memory does not grow with the file."""

    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    outside_count: int = 0  # of them, rows outside the supplier's territory
    # Of a CSV file: (first row, lines before it beyond the header and the rows) wherever a
    # row spans several lines (a quoted line break), so that a row's line is known without
    # keeping one number per row.
    line_shifts: list[tuple[int, int]] | None = None
    # Lines before the header (Excel's "sep=;"), which the rows' line numbers count.
    lines_before_header: int = 0
    # What was accepted but looks wrong (a file cut off?): said in the answer.
    warnings: list[str] = field(default_factory=list)

    def error(self, row: int, column: str | None, value: str | None, reason: str) -> None:
        self.error_count += 1
        self.outside_count += reason == OUTSIDE_TERRITORY
        if len(self.errors) < MAX_REPORTED_ERRORS:
            shown = value if value is None or len(value) <= 100 else value[:100] + "…"
            self.errors.append(RowError(row, column, shown, reason, self._line(row)))

    def _line(self, row: int) -> int | None:
        if self.line_shifts is None or row == 0:
            return None
        shift = next((extra for first, extra in reversed(self.line_shifts) if first <= row), 0)
        return row + 1 + shift + self.lines_before_header

    def sort(self) -> None:
        """Problems in row order (those found later, such as duplicates, included)."""
        self.errors.sort(key=lambda e: e.row)


@dataclass(frozen=True)
class Rules:
    """What the dataset accepts beyond its Table Schema, resolved by the caller from the
    database."""

    indicators: Mapping[str, str]  # supplied indicator id → aggregation rule
    derived: frozenset[str]  # indicators computed by Datapedia: not to be uploaded
    whole_numbers: frozenset[str]  # counts of things: no fractions
    geo_version: str
    sector_exists: Callable[[str], bool]
    other_version_of: Callable[[str], str | None]  # a version in which the code does exist
    in_territory: Callable[[str], bool]
    # Decimals each supplied indicator is published with (none: no check of separators).
    decimals: Mapping[str, int] = field(default_factory=dict)


Cells = tuple[str, str, str, str, str]  # sector, indicator, period, value, status


CHUNK_BYTES = 1 << 20
NEWLINE = b"\n"  # of LF and CRLF files alike
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SEPARATORS = (",", ";", "\t")
# Excel's first line naming the separator (when saved for another locale): "sep=;".
EXCEL_SEPARATOR_LINE = re.compile(r"sep=([,;\t])\r?\n?")
# What a spreadsheet's own file begins with: a workbook sent instead of its CSV export.
WORKBOOKS = {
    b"PK\x03\x04": "a ZIP archive (an Excel workbook, .xlsx, or an OpenDocument sheet, .ods)",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an Excel 97-2003 workbook (.xls)",
}


def check_bytes(body: IO[bytes], result: UploadResult) -> str:
    """Read the whole upload once, in chunks: refuse a NUL byte, invalid UTF-8 or an empty
    file (as errors of the file itself, row 0), and return its SHA-256."""
    body.seek(0)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    lines = 1  # the line the chunk starts on
    blank = True
    problem: str | None = None
    last = b""
    while chunk := body.read(CHUNK_BYTES):
        digest.update(chunk)
        if problem is None and offset == 0 and chunk.startswith(UTF16_BOMS):
            problem = (
                'the file is UTF-16 (Excel\'s "Unicode text"); save it as '
                '"CSV UTF-8 (comma delimited)"'
            )
        kind = next((name for start, name in WORKBOOKS.items() if chunk.startswith(start)), "")
        if problem is None and offset == 0 and kind:
            problem = (
                f"the file is {kind}, not a CSV file; open it in your spreadsheet and save "
                'it as "CSV UTF-8 (comma delimited)"'
            )
        if problem is None:
            if b"\x00" in chunk:
                line = lines + chunk.count(NEWLINE, 0, chunk.index(b"\x00"))
                problem = f"the file contains a NUL byte (line {line}); is it a CSV text file?"
            else:
                try:
                    blank = not decoder.decode(chunk).strip() and blank
                except UnicodeDecodeError as exc:
                    at = max(exc.start, 0)
                    line = lines + chunk.count(NEWLINE, 0, at)
                    problem = (
                        f"the file is not valid UTF-8 (line {line}, byte {offset + at}); "
                        "save it as UTF-8"
                    )
        offset += len(chunk)
        lines += chunk.count(NEWLINE)
        last = chunk
    if problem is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            problem = (
                f"the file is not valid UTF-8 (line {lines}, byte {offset - 1}); save it as UTF-8"
            )
    if problem is None and blank:
        problem = "the file is empty; expected a header and rows"
    if problem is not None:
        result.error(0, None, None, problem)
    elif lines > 2 and not last.endswith((b"\n", b"\r")):
        # Every other line ends, the last does not: what a file cut off looks like, and a
        # row cut in its value is still a valid row (the status column is optional).
        result.warnings.append(
            f"the last line (line {lines}) has no line end, unlike the others: if the file was "
            "cut off, its last row may be incomplete; check it and send the file again if so"
        )
    body.seek(0)
    return digest.hexdigest()


def read_csv(body: IO[bytes], result: UploadResult) -> Iterator[tuple[int, Cells]]:
    """Rows of a CSV upload: UTF-8 (a BOM is fine), ',', ';' or a tab (or what Excel's first
    line "sep=;" names), LF or CRLF. Read as a stream (memory does not grow with the file);
    :func:`check_bytes` has vouched for the bytes."""
    body.seek(0)
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="")
    try:
        yield from _read_csv_text(text, result)
    finally:
        text.detach()  # the caller owns the file


def _read_csv_text(text: io.TextIOWrapper, result: UploadResult) -> Iterator[tuple[int, Cells]]:
    first_line = text.readline()
    separator_line = EXCEL_SEPARATOR_LINE.fullmatch(first_line)
    if separator_line is not None:
        delimiter = separator_line.group(1)
        first_line = text.readline()
        result.lines_before_header = 1
    else:
        delimiter = max(SEPARATORS, key=first_line.count)  # ties: the first, ","
    reader = csv.reader(itertools.chain([first_line], text), delimiter=delimiter, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        result.error(0, None, None, f"the header is not valid CSV: {exc}")
        return
    # Empty columns after the last one (a spreadsheet's "sector;…;status;;;"): no column.
    named = len(header)
    while named and not header[named - 1]:
        named -= 1
    unnamed = len(header) - named
    names = _check_header(header[:named] or header, result)
    if names is None:
        return
    number = 0
    blank_lines = 0
    shifts: list[tuple[int, int]] = []
    result.line_shifts = shifts
    extra_lines = 0  # so far, beyond one line per row
    width = len(names)
    # A column the file leaves out (value, status) reads as the empty cell appended last.
    pick = operator.itemgetter(*(names.index(c) if c in names else width for c in COLUMNS))
    complete = all(c in names for c in COLUMNS)
    try:
        for number, cells in enumerate(reader, start=1):
            if reader.line_num > number + 1 + extra_lines:
                # This row spans lines: the next one starts further down.
                extra_lines = reader.line_num - number - 1
                shifts.append((number + 1, extra_lines))
            if not any(cells):  # a blank line, or Excel's ";;;;" below the last row
                blank_lines += 1
                continue
            if len(cells) != width:
                if unnamed and width < len(cells) <= width + unnamed:
                    extra = next((c for c in cells[width:] if c.strip(" ")), None)
                    if extra is None:
                        del cells[width:]
                    else:
                        result.error(
                            number,
                            None,
                            extra,
                            "a value in a column without a name, after the last column",
                        )
                        continue
                else:
                    result.error(
                        number,
                        None,
                        None,
                        f"{len(cells)} fields where the header has {len(names)}",
                    )
                    continue
            if max(map(len, cells)) > MAX_CELL:
                long = next(n for n, cell in zip(names, cells, strict=True) if len(cell) > MAX_CELL)
                result.error(number, long, None, f"the cell is longer than {MAX_CELL} characters")
                continue
            if not complete:
                cells.append("")
            # Spaces around a cell are a spreadsheet's habit and harmless; anything else (a
            # tab, a line break) stays in the cell, where the checks refuse it.
            yield number, tuple(map(_strip_spaces, pick(cells)))
    except csv.Error as exc:
        result.error(number + 1, None, None, f"not valid CSV here: {exc}")
        return
    if number == blank_lines:
        result.error(0, None, None, "the file has a header but no rows")


_strip_spaces = operator.methodcaller("strip", " ")


def _pick(cells: list[str], positions: list[int]) -> Cells:
    sector, indicator, period, value, status = (
        cells[p].strip(" ") if p >= 0 else "" for p in positions
    )
    return sector, indicator, period, value, status


def read_json(upload: IO[bytes], result: UploadResult) -> Iterator[tuple[int, Cells]]:
    """Rows of a JSON upload: a list of objects, or ``{"rows": [...]}``. A JSON document is
    parsed whole (bounded by the upload limit); large files are better sent as CSV.

    orjson refuses what would exhaust the parser or the number types (nesting deeper than
    1,024, integers beyond 64 bits, numbers that are infinite as a double) as invalid JSON.
    """
    upload.seek(0)
    body = upload.read()
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.strip():
        result.error(0, None, None, "the body is empty; expected a list of rows")
        return
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
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
        cells: list[str] = []
        for column in COLUMNS:
            cell = _json_cell(item.get(column))
            if cell is None:
                # The offending value as JSON (shortened), so the supplier sees what was sent.
                shown = orjson.dumps(item.get(column), default=str).decode()[:100]
                result.error(number, column, shown, "must be a string, a number or null")
                break
            if len(cell) > MAX_CELL:
                result.error(number, column, None, f"longer than {MAX_CELL} characters")
                break
            cells.append(cell)
        else:
            yield number, _pick(cells, list(range(len(COLUMNS))))


def _json_cell(value: object) -> str | None:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return value if isinstance(value, str) else repr(value)


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
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(u[:50] for u in unknown)}")
        if cased := [h for h in unknown if h.lower() in COLUMNS]:
            # The Table Schema's names are case-sensitive (and so are its validators).
            problems.append(
                f"column names are lower case: write {', '.join(h.lower() for h in cased)}"
            )
    if "" in header:
        problems.append("a column without a name (two separators in a row?)")
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


def sha256_of(body: IO[bytes]) -> str:
    body.seek(0)
    digest = hashlib.sha256()
    while chunk := body.read(CHUNK_BYTES):
        digest.update(chunk)
    body.seek(0)
    return digest.hexdigest()


def validate(
    rows: Iterator[tuple[int, Cells]], schema: TableSchema, rules: Rules, result: UploadResult
) -> Iterator[UploadRow]:
    """Check every row against the Table Schema the API serves for the dataset, then against
    what the database knows (the sectors of its version, the supplier's territory), and
    yield the rows that pass. Duplicate keys are the caller's to find (a file of any size
    does not fit a set of its keys; see :func:`app.stats.repository.staged_duplicates`)."""
    fields = [_field(schema, column) for column in COLUMNS]
    sector_checks: dict[str, str | None] = {}
    # Codes, indicators and periods repeat on every row: each distinct cell of a column is
    # judged once (a bounded memo, so a file of any size keeps memory flat), and a row whose
    # cells were all judged good before passes on a few set lookups.
    verdicts: list[dict[str, str | None]] = [{} for _ in COLUMNS]
    good: list[set[str]] = [set() for _ in COLUMNS]
    good_sectors, good_indicators, good_periods, good_values, good_statuses = good
    sums = {indicator for indicator, rule in rules.indicators.items() if rule == "sum"}
    whole = rules.whole_numbers
    value_field = fields[COLUMNS.index("value")]
    # Values that read like thousands with a '.' (learned as values are first judged; few),
    # and per indicator published with fewer decimals: (rows, first row, its value).
    thousands_like: set[str] = set()
    # A count takes whole numbers only, so 2.976 inhabitants is refused; 2.000 is a whole
    # number, read as 2 — the thousands of a Dutch spreadsheet, silently a thousandth.
    fewer_decimals = {i for i, d in rules.decimals.items() if d < 3}
    suspects: dict[str, tuple[int, int, str]] = {}

    def good_value(cell: str) -> bool:
        # Values repeat less than the other cells: a new one is judged here, not by the
        # slow path, and remembered like the others.
        if _cell_problem(value_field, cell, rules) is not None:
            return False
        if len(good_values) >= VERDICT_MEMO:
            good_values.clear()
        good_values.add(cell)
        if THOUSANDS_RE.fullmatch(cell) and len(thousands_like) < VERDICT_MEMO:
            thousands_like.add(cell)
        return True

    def suspect(number: int, indicator: str, cell: str) -> None:
        if indicator in fewer_decimals:
            rows, first, first_cell = suspects.get(indicator, (0, number, cell))
            suspects[indicator] = (rows + 1, first, first_cell)

    for number, cells in rows:
        sector, indicator, period, raw_value, given_status = cells
        if (
            sector in good_sectors
            and indicator in good_indicators
            and period in good_periods
            and given_status in good_statuses
            and (raw_value in good_values or good_value(raw_value))
        ):
            status = given_status or "normal"
            if status in NO_VALUE_STATUSES:
                if not raw_value:
                    yield UploadRow(number, sector, indicator, period, None, status)
                    continue
            elif raw_value:
                number_value = float(raw_value)
                if (number_value >= 0 or indicator not in sums) and (
                    indicator not in whole or number_value.is_integer()
                ):
                    if raw_value in thousands_like:
                        suspect(number, indicator, raw_value)
                    yield UploadRow(number, sector, indicator, period, number_value, status)
                    continue
        row = _checked_row(number, cells, fields, verdicts, good, sector_checks, rules, result)
        if row is not None:
            if THOUSANDS_RE.fullmatch(raw_value):
                if len(thousands_like) < VERDICT_MEMO:
                    thousands_like.add(raw_value)
                suspect(number, indicator, raw_value)
            yield row
    for indicator, (count, first, cell) in sorted(suspects.items()):
        decimals = rules.decimals[indicator]
        whole_cell = cell.replace(".", "")
        read_as = (
            f"they were read with '.' as the decimal point ({cell} as {float(cell):g})"
            if indicator in whole
            else "they were read with '.' as the decimal point and are published rounded"
        )
        result.warnings.append(
            f"{count} value(s) of {indicator} have three decimals where it is published with "
            f"{decimals} (first: row {first}, {cell}): {read_as}. If a '.' separates thousands "
            f"there ({whole_cell} was meant), write the numbers without it and send the file "
            "again."
        )


def _checked_row(
    number: int,
    cells: Cells,
    fields: list[TableField],
    verdicts: list[dict[str, str | None]],
    good: list[set[str]],
    sector_checks: dict[str, str | None],
    rules: Rules,
    result: UploadResult,
) -> UploadRow | None:
    """One row checked cell by cell, each problem reported (the slow path of
    :func:`validate`, which also learns the good cells)."""
    bad: set[str] = set()
    for column, table_field, cell, memo, known_good in zip(
        COLUMNS, fields, cells, verdicts, good, strict=True
    ):
        if cell in memo:
            problem = memo[cell]
        else:
            problem = _cell_problem(table_field, cell, rules)
            if len(memo) >= VERDICT_MEMO:
                memo.clear()
            memo[cell] = problem
        if problem is not None:
            result.error(number, column, cell, problem)
            bad.add(column)
        elif column != "sector":
            if len(known_good) >= VERDICT_MEMO:
                known_good.clear()
            known_good.add(cell)
    ok = not bad
    sector, indicator, period, raw_value, given_status = cells
    status = given_status or "normal"
    if "sector" not in bad:
        # The same sector comes back for every indicator and period: check it once.
        if sector not in sector_checks:
            sector_checks[sector] = _check_sector(sector, rules)
        sector_problem = sector_checks[sector]
        if sector_problem is not None:
            result.error(number, "sector", sector, sector_problem)
            ok = False
        else:
            good[0].add(sector)  # bounded by the sectors of the geography
    value: float | None = None
    if "value" in bad or "status" in bad:
        pass
    elif status in NO_VALUE_STATUSES:
        if raw_value:
            result.error(number, "value", raw_value, f"must be empty when status is {status}")
            ok = False
    elif not raw_value:
        result.error(number, "value", raw_value, "missing; give a number or a status")
        ok = False
    else:
        value = float(raw_value)
        if value < 0 and rules.indicators.get(indicator) == "sum":
            result.error(number, "value", raw_value, "a count or quantity cannot be negative")
            ok = False
        elif indicator in rules.whole_numbers and not value.is_integer():
            reason = f"{indicator} is a count: give a whole number"
            if THOUSANDS_RE.fullmatch(raw_value):
                reason += (
                    f" ('.' is the decimal point; if it separates thousands here, write "
                    f"{raw_value.replace('.', '')})"
                )
            result.error(number, "value", raw_value, reason)
            ok = False
    return UploadRow(number, sector, indicator, period, value, status) if ok else None


def _field(schema: TableSchema, column: str) -> TableField:
    found = schema.field(column)
    if found is None:
        raise ValueError(f"the Table Schema {schema.name!r} has no field {column!r}")
    return found


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _cell_problem(table_field: TableField, cell: str, rules: Rules) -> str | None:
    """Why a cell breaks its field's constraints (None: it does not)."""
    control = control_character(cell)
    if control is not None:
        return (
            f"contains a control character (U+{ord(control):04X}, e.g. a line break or a tab); "
            "a cell holds one code or number"
        )
    constraints = table_field.constraints or FieldConstraints()
    if not cell:
        return "missing; required by the Table Schema" if constraints.required else None
    if table_field.name == "indicator" and cell in rules.derived:
        return "computed by Datapedia from other indicators; upload its parts instead"
    if (
        constraints.enum is not None
        and cell not in constraints.enum
        and cell.lower() in constraints.enum
    ):
        return f"written in lower case: {cell.lower()}"
    if constraints.pattern is not None and not _compiled(constraints.pattern).fullmatch(cell):
        return PATTERN_REASONS.get(
            table_field.name, f"does not match the pattern {constraints.pattern}"
        )
    if constraints.enum is not None and cell not in constraints.enum:
        if table_field.name == "indicator":
            return (
                f"not an indicator of this dataset; expected one of {', '.join(constraints.enum)}"
            )
        return f"not one of {', '.join(constraints.enum)}"
    if table_field.type == "number":
        if not NUMBER_RE.fullmatch(cell):
            if HALF_NUMBER_RE.fullmatch(cell):
                return "write a digit on both sides of the '.' (0.5, 5.0)"
            return "not a number (use '.' for decimals)"
        number = float(cell)
        if not math.isfinite(number):
            return "not a finite number"
        if constraints.minimum is not None and number < constraints.minimum:
            return f"below the minimum of the Table Schema ({constraints.minimum:g})"
        if constraints.maximum is not None and number > constraints.maximum:
            return f"above the maximum of the Table Schema ({constraints.maximum:g})"
    return None


def _check_sector(sector: str, rules: Rules) -> str | None:
    if not rules.sector_exists(sector):
        other = rules.other_version_of(sector)
        hint = f" (it is a sector of version {other})" if other else ""
        return f"not a sector of geography version {rules.geo_version}{hint}"
    if not rules.in_territory(sector):
        return OUTSIDE_TERRITORY
    return None


def table_schema(
    dataset_id: str,
    indicators: Mapping[str, str],
    geo_version: str,
    whole_numbers: Collection[str] = (),
) -> TableSchema:
    """The Frictionless Table Schema of a dataset's uploads: served by the API, written to
    ``schemas/tables/``, and what :func:`validate` checks every cell against."""
    return TableSchema.model_validate(
        {
            "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
            "name": dataset_id,
            "title": f"Upload of {dataset_id} (sector level, geography version {geo_version})",
            "fields": [
                {
                    "name": "sector",
                    "type": "string",
                    "description": f"Statbel statistical sector code of geography version "
                    f"{geo_version}, inside the supplier's territory.",
                    "constraints": {"required": True, "pattern": SECTOR_PATTERN},
                },
                {
                    "name": "indicator",
                    "type": "string",
                    "description": "Indicator id (see /api/v1/indicators).",
                    "constraints": {
                        "required": True,
                        "pattern": INDICATOR_PATTERN,
                        "enum": sorted(indicators),
                    },
                },
                {
                    "name": "period",
                    "type": "string",
                    "description": f"Year of the value ({FIRST_YEAR}–{LAST_YEAR}).",
                    "constraints": {"required": True, "pattern": PERIOD_PATTERN},
                },
                {
                    "name": "value",
                    "type": "number",
                    "description": "The value ('.' for decimals); empty when status is "
                    "confidential, not_applicable or missing. Counts and quantities are not "
                    "negative"
                    + (
                        f"; counts are whole numbers ({', '.join(sorted(whole_numbers))})."
                        if whole_numbers
                        else "."
                    ),
                    "constraints": {"minimum": -VALUE_LIMIT, "maximum": VALUE_LIMIT},
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
    )
