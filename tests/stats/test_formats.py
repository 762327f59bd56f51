"""CSV and JSON-stat serialisation on records of our own."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pytest
from jsonstat_validator import validate_jsonstat
from pyjstat import pyjstat

from app.catalogue.models import Dataset, Indicator
from app.stats import formats
from app.stats.formats import (
    JsonStatIndicator,
    csv_lines,
    jsonstat_chunks,
    jsonstat_document,
    jsonstat_stream,
    neutralise,
)
from app.stats.service import RECORD_FIELDS


def record(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "indicator": "population",
        "period": "2025",
        "level": "municipality",
        "version": "2025",
        "code": "44021",
        "name": "Gent",
        "value": 272657.0,
        "unit_of_measure": "inhabitants",
        "status": "normal",
        "coverage": 1.0,
    }
    return base | overrides


def test_csv_is_rfc4180_with_a_header_and_crlf() -> None:
    text = "".join(csv_lines(RECORD_FIELDS, [record(), record(name='Sint-"Niklaas", stad')]))
    assert text.startswith(",".join(RECORD_FIELDS) + "\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1][RECORD_FIELDS.index("value")] == "272657"
    assert rows[2][RECORD_FIELDS.index("name")] == 'Sint-"Niklaas", stad'
    assert text.count("\r\n") == 3


def test_csv_neutralises_formulas_in_text_cells() -> None:
    text = "".join(
        csv_lines(RECORD_FIELDS, [record(name='=HYPERLINK("http://x")', code="+32", value=-5.5)])
    )
    row = list(csv.reader(io.StringIO(text, newline="")))[1]
    assert row[RECORD_FIELDS.index("name")].startswith("'=")
    assert row[RECORD_FIELDS.index("code")] == "'+32"
    assert row[RECORD_FIELDS.index("value")] == "-5.5"  # numbers are ours, not formulas
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("Gent") == "Gent"


def test_csv_streams_in_batches() -> None:
    chunks = list(csv_lines(RECORD_FIELDS, (record(code=str(n)) for n in range(5000))))
    assert len(chunks) >= 3
    assert sum(chunk.count("\r\n") for chunk in chunks) == 5001


def test_jsonstat_is_valid_and_reads_back() -> None:
    dataset = Dataset(
        id="population-2025",
        title_en="Population",
        title_nl="Bevolking",
        source={"attribution": "Statbel"},
        modified=datetime(2026, 1, 1, tzinfo=UTC),
    )
    indicators = [
        Indicator(
            id="population", label_en="Population", unit_of_measure="inhabitants", decimals=0
        ),
        Indicator(id="area", label_en="Area", unit_of_measure="km2", decimals=2),
    ]
    records = [
        record(),
        record(code="11002", name="Antwerpen", value=None, status="confidential"),
        record(
            indicator="area", value=157.77, unit_of_measure="km2", status="incomplete", coverage=0.5
        ),
    ]
    document = json.loads(b"".join(jsonstat_chunks(dataset, indicators, records, dataset.modified)))
    assert validate_jsonstat(document)
    assert document["size"] == [2, 2, 1]
    assert document["id"] == ["indicator", "geography", "time"]
    frame = pyjstat.Dataset.read(json.dumps(document)).write("dataframe")
    assert len(frame) == 4
    gent = frame[(frame["geography"] == "Gent") & (frame["indicator"] == "Population")]
    assert gent["value"].iloc[0] == 272657.0
    positions = {v: k for k, v in document["status"].items()}
    assert "confidential" in positions and "incomplete" in positions
    assert document["value"][int(positions["confidential"])] is None


def cube_rows(indicators: int, places: int, periods: int) -> list[dict[str, object]]:
    """Rows grouped by indicator, with gaps, statuses, null values and coverages, whole and
    fractional values, periods out of order and geographies appearing late."""
    rows: list[dict[str, object]] = []
    for i in range(indicators):
        for p in reversed(range(periods)):
            for g in range(places):
                n = i * 1000 + g * 10 + p
                if n % 7 == 3:
                    continue  # a cell without a row: null in the cube
                rows.append(
                    record(
                        indicator=f"ind-{i}",
                        period=str(2000 + p),
                        level="sector" if g % 2 else "municipality",
                        code=f"{g:05d}",
                        name=f"Place {g}",
                        value=None if n % 11 == 0 else (n if i % 2 else n / 8),
                        status=("confidential" if n % 11 == 0 else "normal")
                        if n % 5
                        else "incomplete",
                        coverage=None if g % 3 == 0 else round((n % 100) / 100, 4),
                    )
                )
    return rows


def described(present: Sequence[str]) -> dict[str, JsonStatIndicator]:
    return {i: JsonStatIndicator(f"Label {i}", "units", 2) for i in present}


def test_the_streamed_cube_is_the_document_built_in_memory_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Large cubes are streamed through a spool (here spilled to disk after 64 bytes); the
    bytes are those of the in-memory document, which small cubes (monitors) still build."""
    monkeypatch.setattr(formats, "_SPOOL_IN_MEMORY_BYTES", 64)
    rows = cube_rows(indicators=3, places=40, periods=4)
    head = {"label": "A cube"}
    streamed = b"".join(jsonstat_stream(head, described, iter(rows)))
    present = list(dict.fromkeys(str(r["indicator"]) for r in rows))
    built = jsonstat_document(head, described(present), rows, extensions=("coverage",))
    assert streamed == orjson.dumps(built)
    assert validate_jsonstat(json.loads(streamed))
    assert built["status"] and built["extension"]["coverage"] and None in built["value"]


def test_a_cube_of_no_rows_is_an_empty_cube() -> None:
    streamed = json.loads(b"".join(jsonstat_stream({"label": "None"}, described, iter([]))))
    assert streamed["size"] == [0, 0, 0] and streamed["value"] == []
    assert streamed["status"] == {} and streamed["extension"] == {"coverage": {}}


def test_rows_of_an_indicator_apart_are_refused() -> None:
    rows = [record(indicator="a"), record(indicator="b"), record(indicator="a", code="1")]
    with pytest.raises(RuntimeError, match="together"):
        b"".join(jsonstat_stream({"label": "x"}, described, iter(rows)))
