"""Opening source files: a path under ``DATAPEDIA_SOURCE_DIR`` or an official download URL."""

from __future__ import annotations

import csv
import io
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from app.errors import SourceDataError


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
    return _decoded(raw, Path(text_location).name)


def _decoded(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceDataError(
            [
                f"{name}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x} cannot be read); save "
                "the file as UTF-8 (Excel: CSV UTF-8)"
            ]
        ) from exc


def read_csv_rows(location: str | Path, delimiter: str = ",") -> Iterator[SourceRow]:
    """Yield the rows of a CSV file with their line number (header is line 1)."""
    name = Path(str(location)).name
    if str(location).startswith(("http://", "https://")):
        text: TextIO = io.StringIO(read_text(location), newline="")
    else:  # a local file is read as a stream: memory does not grow with the file
        text = Path(location).open(encoding="utf-8-sig", newline="")  # noqa: SIM115
    with text:
        reader = csv.DictReader(text, delimiter=delimiter)
        try:
            for values in reader:
                yield SourceRow(file=name, line=reader.line_num, values=values)
        except UnicodeDecodeError:
            # Decoded a block at a time: the whole file says on which line the byte is.
            _decoded(Path(location).read_bytes(), name)
            raise
