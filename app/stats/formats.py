"""Serialising observation records: CSV (RFC 4180, streamed) and JSON-stat 2.0."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.catalogue.models import Dataset, Indicator
from app.db import queries
from app.stats.schemas import Record

CSV_BATCH = 2000
# A spreadsheet would run a cell starting with these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Coverage is a share of members: four places tell 99.99 % from complete.
COVERAGE_DECIMALS = 4


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
    indicator_ids = [i.id for i in indicators if any(r["indicator"] == i.id for r in rows)]
    geographies: dict[str, str] = {}
    for r in rows:
        geographies.setdefault(f"{r['level']}:{r['code']}", r["name"])
    periods = sorted({r["period"] for r in rows})
    geo_index = {g: n for n, g in enumerate(geographies)}
    ind_index = {i: n for n, i in enumerate(indicator_ids)}
    time_index = {p: n for n, p in enumerate(periods)}
    size = [len(indicator_ids), len(geographies), len(periods)]
    total = size[0] * size[1] * size[2]
    values: list[float | None] = [None] * total
    status: dict[str, str] = {}
    coverage: dict[str, float] = {}
    for r in rows:
        position = (
            ind_index[r["indicator"]] * size[1] + geo_index[f"{r['level']}:{r['code']}"]
        ) * size[2] + time_index[r["period"]]
        values[position] = r["value"]
        if r["status"] != "normal":
            status[str(position)] = r["status"]
        if r["coverage"] is not None:
            coverage[str(position)] = r["coverage"]
    by_id = {i.id: i for i in indicators}
    return {
        "version": "2.0",
        "class": "dataset",
        "label": dataset.title_en,
        "source": (dataset.source or {}).get("attribution") or dataset.title_en,
        "updated": queries.as_utc(dataset.modified).isoformat().replace("+00:00", "Z"),
        "id": ["indicator", "geography", "time"],
        "size": size,
        "role": {"metric": ["indicator"], "geo": ["geography"], "time": ["time"]},
        "dimension": {
            "indicator": {
                "label": "indicator",
                "category": {
                    "index": ind_index,
                    "label": {i: by_id[i].label_en for i in indicator_ids},
                    "unit": {
                        i: {"label": by_id[i].unit_of_measure, "decimals": by_id[i].decimals}
                        for i in indicator_ids
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
        "extension": {"coverage": coverage},
    }
