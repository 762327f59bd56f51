"""CSV and JSON-stat serialisation on records of our own."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from jsonstat_validator import validate_jsonstat
from pyjstat import pyjstat

from app.catalogue.models import Dataset, Indicator
from app.stats.formats import csv_lines, jsonstat, neutralise
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
    document = jsonstat(dataset, indicators, records)
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
