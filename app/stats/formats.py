"""Serialising observation records: CSV (RFC 4180, streamed) and JSON-stat 2.0."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

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


def negotiate(accept: str, requested: Format | None) -> Format:
    """The table format asked for by ``format=`` or else by the ``Accept`` header."""
    if requested is not None:
        return requested
    accept = accept.lower()
    if "text/csv" in accept:
        return "csv"
    if "json-stat" in accept:
        return "jsonstat"
    if "json" in accept or "*/*" in accept or not accept.strip():
        return "json"
    raise NotAcceptable(
        f"cannot produce {accept}; supported media types: {', '.join(SUPPORTED)}",
        supported=list(SUPPORTED),
    )


def rounded(value: float | None, decimals: int) -> float | None:
    """``value`` rounded half away from zero to ``decimals`` places, as the database rounds
    published values (:mod:`app.stats.repository`); a whole number for no decimals."""
    if value is None or not math.isfinite(value):
        return value
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
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
                else neutralise(str(record[name]))
                for name in fields
            ]
        )
        if count % CSV_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonstat(
    dataset: Dataset, indicators: list[Indicator], records: Iterable[Record]
) -> dict[str, Any]:
    """A JSON-stat 2.0 dataset with the dimensions indicator, geography and time; each
    value's status in ``status`` and the coverage of derived values in an extension."""
    rows = list(records)
    present = [i for i in indicators if any(r["indicator"] == i.id for r in rows)]
    return jsonstat_document(
        {
            "label": dataset.title_en,
            "source": (dataset.source or {}).get("attribution") or dataset.title_en,
            "updated": queries.as_utc(dataset.modified).isoformat().replace("+00:00", "Z"),
        },
        {i.id: JsonStatIndicator(i.label_en, i.unit_of_measure, i.decimals) for i in present},
        rows,
        extensions=("coverage",),
    )


@dataclass(frozen=True)
class JsonStatIndicator:
    label: str
    unit_of_measure: str
    decimals: int


def jsonstat_document(
    head: Mapping[str, Any],
    indicators: Mapping[str, JsonStatIndicator],
    rows: Sequence[Mapping[str, Any]],
    extensions: Sequence[str],
) -> dict[str, Any]:
    """The JSON-stat 2.0 cube (indicator × geography × time) of flat rows with the keys
    ``indicator``, ``level``, ``code``, ``name``, ``period``, ``value`` and ``status``: a
    status other than normal in ``status``, and the row fields named in ``extensions`` (where
    not null) in the extension, by cell position. ``head`` holds the label and such."""
    geographies: dict[str, str] = {}
    for r in rows:
        geographies.setdefault(f"{r['level']}:{r['code']}", r["name"])
    periods = sorted({r["period"] for r in rows})
    ind_index = {i: n for n, i in enumerate(indicators)}
    geo_index = {g: n for n, g in enumerate(geographies)}
    time_index = {p: n for n, p in enumerate(periods)}
    size = [len(ind_index), len(geo_index), len(time_index)]
    values: list[float | None] = [None] * (size[0] * size[1] * size[2])
    status: dict[str, str] = {}
    extension: dict[str, dict[str, Any]] = {name: {} for name in extensions}
    for r in rows:
        position = (
            ind_index[r["indicator"]] * size[1] + geo_index[f"{r['level']}:{r['code']}"]
        ) * size[2] + time_index[r["period"]]
        values[position] = r["value"]
        if r["status"] != "normal":
            status[str(position)] = r["status"]
        for name, found in extension.items():
            if r[name] is not None:
                found[str(position)] = r[name]
    return {
        "version": "2.0",
        "class": "dataset",
        **head,
        "id": ["indicator", "geography", "time"],
        "size": size,
        "role": {"metric": ["indicator"], "geo": ["geography"], "time": ["time"]},
        "dimension": {
            "indicator": {
                "label": "indicator",
                "category": {
                    "index": ind_index,
                    "label": {i: d.label for i, d in indicators.items()},
                    "unit": {
                        i: {"label": d.unit_of_measure, "decimals": d.decimals}
                        for i, d in indicators.items()
                    },
                },
            },
            "geography": {
                "label": "geography",
                "category": {"index": geo_index, "label": geographies},
            },
            "time": {"label": "period", "category": {"index": time_index}},
        },
        "value": values,
        "status": status,
        "extension": extension,
    }
