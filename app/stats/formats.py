"""Serialising observation records: CSV (RFC 4180, streamed) and JSON-stat 2.0."""

from __future__ import annotations

import csv
import io
import math
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any, Literal

import orjson

from app.api.negotiation import choose
from app.catalogue.models import Dataset, Indicator
from app.db import queries
from app.errors import NotAcceptable
from app.stats.schemas import Record

Format = Literal["json", "csv", "jsonstat"]
SUPPORTED = ("application/json", "text/csv", "application/vnd.json-stat+json")

CSV_BATCH = 2000
# A spreadsheet would run a cell starting with these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Coverage is a share of members: four places tell 99.99 % from complete.
COVERAGE_DECIMALS = 4


MEDIA_TYPES: dict[str, Format] = {
    "application/json": "json",
    "text/csv": "csv",
    "application/vnd.json-stat+json": "jsonstat",
}
# What a wildcard stands for, in order of preference: JSON unless it is excluded.
WILDCARDS: dict[str, tuple[Format, ...]] = {
    "*/*": ("json", "csv", "jsonstat"),
    "application/*": ("json", "jsonstat"),
    "text/*": ("csv",),
}


def negotiate(accept: str, requested: Format | None) -> Format:
    """The table format asked for by ``format=`` or else by the ``Accept`` header: its most
    preferred type we make (q-values count; ``q=0`` excludes a type, also from a wildcard)."""
    if requested is not None:
        return requested
    if not accept.strip():
        return "json"
    chosen = choose(accept, MEDIA_TYPES, WILDCARDS)
    if chosen is not None:
        return chosen
    raise NotAcceptable(
        f"cannot produce {accept}; supported media types: {', '.join(SUPPORTED)}",
        supported=list(SUPPORTED),
    )


def rounded(value: float | None, decimals: int) -> float | None:
    """``value`` read at 15 significant digits, then rounded half away from zero to
    ``decimals`` places, as the database rounds published values
    (:mod:`app.stats.repository`); a whole number for no decimals."""
    if value is None or not math.isfinite(value):
        return value
    fifteen = Decimal(format(value, ".15g"))
    exact = fifteen.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return int(exact) if decimals == 0 else float(exact)


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def format_number(value: float | None) -> str:
    if value is None:
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def csv_lines(fields: tuple[str, ...], records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The header and the records as CSV text, in batches (memory stays flat)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(fields)
    for count, record in enumerate(records, start=1):
        writer.writerow(
            [
                format_number(record[name])
                if name in ("value", "coverage")
                else ("" if record[name] is None else neutralise(str(record[name])))
                for name in fields
            ]
        )
        if count % CSV_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonstat_chunks(
    dataset: Dataset,
    indicators: Sequence[Indicator],
    records: Iterable[Record],
    updated: datetime,
) -> Iterator[bytes]:
    """A JSON-stat 2.0 dataset with the dimensions indicator, geography and time, as bytes in
    pieces; each value's status in ``status`` and the coverage of derived values in an
    extension. The records (grouped by indicator, as :func:`app.stats.service.iter_records`
    orders them) are never held: a dataset of a million observations as record objects is
    more than a gigabyte. ``updated``: when the values last changed (see
    :func:`app.stats.service.updated_at`)."""
    by_id = {i.id: i for i in indicators}
    head = {
        "label": dataset.title_en,
        "source": (dataset.source or {}).get("attribution") or dataset.title_en,
        "updated": queries.as_utc(updated).isoformat().replace("+00:00", "Z"),
    }
    return jsonstat_stream(
        head,
        lambda present: {
            i: JsonStatIndicator(by_id[i].label_en, by_id[i].unit_of_measure, by_id[i].decimals)
            for i in present
        },
        records,
    )


@dataclass(frozen=True)
class JsonStatIndicator:
    label: str
    unit_of_measure: str
    decimals: int


def _jsonstat_structure(
    head: Mapping[str, Any],
    indicators: Mapping[str, JsonStatIndicator],
    geographies: Mapping[str, str],
    periods: Sequence[str],
) -> dict[str, Any]:
    """Everything of a JSON-stat 2.0 cube (indicator × geography × time) but its values."""
    return {
        "version": "2.0",
        "class": "dataset",
        **head,
        "id": ["indicator", "geography", "time"],
        "size": [len(indicators), len(geographies), len(periods)],
        "role": {"metric": ["indicator"], "geo": ["geography"], "time": ["time"]},
        "dimension": {
            "indicator": {
                "label": "indicator",
                "category": {
                    "index": {i: n for n, i in enumerate(indicators)},
                    "label": {i: d.label for i, d in indicators.items()},
                    "unit": {
                        i: {"label": d.unit_of_measure, "decimals": d.decimals}
                        for i, d in indicators.items()
                    },
                },
            },
            "geography": {
                "label": "geography",
                "category": {
                    "index": {g: n for n, g in enumerate(geographies)},
                    "label": dict(geographies),
                },
            },
            "time": {
                "label": "period",
                "category": {"index": {p: n for n, p in enumerate(periods)}},
            },
        },
    }


def _geography(row: Mapping[str, Any]) -> str:
    return f"{row['level']}:{row['code']}"


def jsonstat_document(
    head: Mapping[str, Any],
    indicators: Mapping[str, JsonStatIndicator],
    rows: Sequence[Mapping[str, Any]],
    extensions: Sequence[str],
) -> dict[str, Any]:
    """The JSON-stat 2.0 cube (indicator × geography × time) of flat rows held in memory (a
    few, such as a monitor's) with the keys ``indicator``, ``level``, ``code``, ``name``,
    ``period``, ``value`` and ``status``: a status other than normal in ``status``, and the
    row fields named in ``extensions`` (where not null) in the extension, by cell position.
    ``head`` holds the label and such."""
    geographies: dict[str, str] = {}
    for r in rows:
        geographies.setdefault(_geography(r), r["name"])
    periods = sorted({r["period"] for r in rows})
    document = _jsonstat_structure(head, indicators, geographies, periods)
    dimension = document["dimension"]
    ind_index = dimension["indicator"]["category"]["index"]
    geo_index = dimension["geography"]["category"]["index"]
    time_index = dimension["time"]["category"]["index"]
    ind_size, geo_size, time_size = document["size"]
    values: list[float | None] = [None] * (ind_size * geo_size * time_size)
    status: dict[str, str] = {}
    extension: dict[str, dict[str, Any]] = {name: {} for name in extensions}
    for r in rows:
        position = (
            ind_index[r["indicator"]] * geo_size + geo_index[_geography(r)]
        ) * time_size + time_index[r["period"]]
        values[position] = r["value"]
        if r["status"] != "normal":
            status[str(position)] = r["status"]
        for name, found in extension.items():
            if r[name] is not None:
                found[str(position)] = r[name]
    return {**document, "value": values, "status": status, "extension": extension}


# A streamed cube's rows wait in a spool (a temporary file beyond this size), packed, until
# the categories are known; its status and coverage entries too, until the values are written.
_SPOOL_IN_MEMORY_BYTES = 4 << 20
# A spooled row: indicator, geography, period and status (indexes of their first appearance),
# flags (value and coverage not null, value a whole number), value, coverage.
_ROW = struct.Struct("<IIIHBdd")
_HAS_VALUE, _HAS_COVERAGE, _WHOLE = 1, 2, 4


def jsonstat_stream(
    head: Mapping[str, Any],
    indicators: Callable[[Sequence[str]], Mapping[str, JsonStatIndicator]],
    rows: Iterable[Mapping[str, Any]],
) -> Iterator[bytes]:
    """:func:`jsonstat_document` of rows too many to hold (with a coverage extension), as the
    bytes of its JSON in pieces. The rows are read once (one statement: one state of the
    database) into a spool, packed, and must give an indicator's rows together; indicators
    and geographies are indexed in the order they first appear, and ``indicators`` describes
    those that do. Memory holds the categories and one indicator's values (geographies ×
    periods) at a time."""
    with (
        tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY_BYTES) as spool,
        tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY_BYTES) as status_spool,
        tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY_BYTES) as coverage_spool,
    ):
        present: dict[str, int] = {}
        geographies: dict[str, str] = {}
        geo_index: dict[str, int] = {}
        seen_periods: dict[str, int] = {}
        statuses: dict[str, int] = {}
        for r in rows:
            geography = _geography(r)
            if geography not in geo_index:
                geo_index[geography] = len(geo_index)
                geographies[geography] = r["name"]
            value, coverage = r["value"], r["coverage"]
            spool.write(
                _ROW.pack(
                    present.setdefault(r["indicator"], len(present)),
                    geo_index[geography],
                    seen_periods.setdefault(r["period"], len(seen_periods)),
                    statuses.setdefault(r["status"], len(statuses)),
                    (value is not None) * _HAS_VALUE
                    | (coverage is not None) * _HAS_COVERAGE
                    | isinstance(value, int) * _WHOLE,
                    value or 0.0,
                    coverage or 0.0,
                )
            )
        periods = sorted(seen_periods)
        time_of = [0] * len(periods)  # first-appearance index -> index in time order
        for n, period in enumerate(periods):
            time_of[seen_periods[period]] = n
        status_of = list(statuses)
        normal = statuses.get("normal")
        structure = _jsonstat_structure(head, indicators(list(present)), geographies, periods)
        yield orjson.dumps(structure)[:-1] + b',"value":['
        block = len(geographies) * len(periods)
        values: list[float | int | None] = [None] * block
        current = 0
        spool.seek(0)
        while packed := spool.read(_ROW.size * 4096):
            for indicator, geo, period, status, flags, value, coverage in _ROW.iter_unpack(packed):
                if indicator != current:
                    if indicator != current + 1:
                        raise RuntimeError("JSON-stat rows must give an indicator's rows together")
                    yield orjson.dumps(values)[1:-1] + b","
                    values, current = [None] * block, indicator
                offset = geo * len(periods) + time_of[period]
                position = str(current * block + offset)
                if flags & _HAS_VALUE:
                    values[offset] = int(value) if flags & _WHOLE else value
                if status != normal:
                    _spool_entry(status_spool, position, status_of[status])
                if flags & _HAS_COVERAGE:
                    _spool_entry(coverage_spool, position, coverage)
        if present:
            yield orjson.dumps(values)[1:-1]
        yield b'],"status":{'
        yield from _spooled(status_spool)
        yield b'},"extension":{"coverage":{'
        yield from _spooled(coverage_spool)
        yield b"}}}"


def _spool_entry(spool: IO[bytes], key: str, value: object) -> None:
    # An object's members, each preceded by a comma but the first.
    entry = orjson.dumps({key: value})[1:-1]
    spool.write(entry if spool.tell() == 0 else b"," + entry)


def _spooled(spool: IO[bytes]) -> Iterator[bytes]:
    spool.seek(0)
    while piece := spool.read(1 << 20):
        yield piece
