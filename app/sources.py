"""Opening source files: a path under ``DATAPEDIA_SOURCE_DIR`` or an official download URL."""

from __future__ import annotations

import csv
import io
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class SourceRow:
    file: str
    line: int
    values: dict[str, str]


def read_text(location: str | Path) -> str:
    """Read a UTF-8 text source (a BOM is accepted) from a path or an http(s) URL."""
    text_location = str(location)
    if text_location.startswith(("http://", "https://")):
        with urllib.request.urlopen(text_location, timeout=120) as response:
            raw: bytes = response.read()
    else:
        raw = Path(location).read_bytes()
    return raw.decode("utf-8-sig")


def read_csv_rows(location: str | Path, delimiter: str = ",") -> Iterator[SourceRow]:
    """Yield the rows of a CSV file with their line number (header is line 1)."""
    name = Path(str(location)).name
    if str(location).startswith(("http://", "https://")):
        text: TextIO = io.StringIO(read_text(location), newline="")
    else:  # a local file is read as a stream: memory does not grow with the file
        text = Path(location).open(encoding="utf-8-sig", newline="")  # noqa: SIM115
    with text:
        reader = csv.DictReader(text, delimiter=delimiter)
        for values in reader:
            yield SourceRow(file=name, line=reader.line_num, values=values)
