"""Monitors and comparisons as flat CSV rows (RFC 4180) and as JSON-stat 2.0."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

from app.monitors.schemas import IndicatorSeries, UnitValue
from app.stats.formats import (
    JsonStatIndicator,
    format_number,
    jsonstat_document,
    neutralise,
)

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
    return jsonstat_document(
        {"label": label},
        {
            s.indicator: JsonStatIndicator(s.label.en, s.unit_of_measure, s.decimals)
            for s in all_series
        },
        list(flat_rows(all_series)),
        extensions=("coverage", "rank", "change", "change_pct"),
    )
