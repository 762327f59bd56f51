"""Monitors and comparisons as flat CSV rows (RFC 4180) and as JSON-stat 2.0."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

from app.monitors.schemas import IndicatorSeries, UnitValue
from app.stats.formats import format_number, neutralise

CSV_FIELDS = (
    "indicator",
    "dataset",
    "period",
    "role",
    "level",
    "code",
    "name",
    "value",
    "unit_of_measure",
    "status",
    "coverage",
    "rank",
    "previous_period",
    "previous_value",
    "change",
    "change_pct",
)
NUMBERS = {"value", "coverage", "rank", "previous_value", "change", "change_pct"}


def flat_rows(all_series: Sequence[IndicatorSeries]) -> Iterator[dict[str, Any]]:
    """One row per indicator, period and unit: the set's units (`role` member), then the
    reference (`role` reference)."""
    for one in all_series:
        for values in one.periods:
            shown: list[tuple[str, UnitValue]] = [("member", u) for u in values.units]
            if values.reference is not None:
                shown.append(("reference", values.reference))
            for role, unit in shown:
                yield {
                    "indicator": one.indicator,
                    "dataset": one.dataset,
                    "period": values.period,
                    "role": role,
                    "unit_of_measure": one.unit_of_measure,
                    **unit.model_dump(exclude={"id"}),
                }


def csv_text(all_series: Sequence[IndicatorSeries]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for row in flat_rows(all_series):
        writer.writerow(
            [
                format_number(row[name])
                if name in NUMBERS
                else ("" if row[name] is None else neutralise(str(row[name])))
                for name in CSV_FIELDS
            ]
        )
    return buffer.getvalue()


def jsonstat(label: str, all_series: Sequence[IndicatorSeries]) -> dict[str, Any]:
    """A JSON-stat 2.0 dataset (indicator × geography × time); the status of each value in
    ``status``; coverage, rank and change in the extension."""
    rows = list(flat_rows(all_series))
    indicators = {s.indicator: s for s in all_series}
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
    extra: dict[str, dict[str, Any]] = {"coverage": {}, "rank": {}, "change": {}, "change_pct": {}}
    for r in rows:
        position = (
            ind_index[r["indicator"]] * size[1] + geo_index[f"{r['level']}:{r['code']}"]
        ) * size[2] + time_index[r["period"]]
        values[position] = r["value"]
        if r["status"] != "normal":
            status[str(position)] = r["status"]
        for name, found in extra.items():
            if r[name] is not None:
                found[str(position)] = r[name]
    return {
        "version": "2.0",
        "class": "dataset",
        "label": label,
        "id": ["indicator", "geography", "time"],
        "size": size,
        "role": {"metric": ["indicator"], "geo": ["geography"], "time": ["time"]},
        "dimension": {
            "indicator": {
                "label": "indicator",
                "category": {
                    "index": ind_index,
                    "label": {i: s.label.en for i, s in indicators.items()},
                    "unit": {
                        i: {"label": s.unit_of_measure, "decimals": s.decimals}
                        for i, s in indicators.items()
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
        "extension": extra,
    }
