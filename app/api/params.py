"""Bounded text parameters for paths and queries.

A code, an id or a search text is short, printable text: anything longer than
:data:`MAX_TEXT` characters or holding a control character (PostgreSQL refuses NUL in text, a
newline has no place in a name) is refused before it reaches the database — 422 in a query,
404 in a path (a path that does not parse names nothing).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Path, Query

MAX_TEXT = 200
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def text_query(description: str, *, examples: list[str] | None = None) -> Any:
    """``Query(...)`` for a short printable text."""
    return Query(
        description=f"{description} At most {MAX_TEXT} characters, no control characters.",
        max_length=MAX_TEXT,
        pattern=PRINTABLE,
        examples=examples,
    )


def text_path(description: str = "", *, examples: list[str] | None = None) -> Any:
    """``Path(...)`` for a short printable text (a code or an id)."""
    return Path(
        description=description or None,
        min_length=1,
        max_length=MAX_TEXT,
        pattern=PRINTABLE,
        examples=examples,
    )


# A space before an offset that follows a complete time ("…T10:00:00 02:00"), not the space
# some write between the date and the time ("2026-01-01 12:30").
_SPACE_FOR_PLUS = re.compile(r"([Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def plus_restored(value: object) -> object:
    """A date-time whose unencoded "+02:00" arrived as " 02:00" (a "+" in a query means a
    space), with the offset it was meant to have."""
    return _SPACE_FOR_PLUS.sub(r"\1+\2", value) if isinstance(value, str) else value


# A bare number: pydantic reads it as seconds (or milliseconds) since 1970.
_NUMBER = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def date_time_text(value: object) -> object:
    """A query's date-time as text (:func:`plus_restored`), never a bare number: pydantic
    would take ``as_of=2025`` (a year) for 2025 seconds after 1970 and answer for
    1970-01-01T00:33:45Z, where the reader meant another moment altogether."""
    restored = plus_restored(value)
    if isinstance(restored, str) and _NUMBER.match(restored):
        raise ValueError(
            f"{restored.strip()!r} is a number, not a date-time: give an RFC 3339 date-time "
            "such as 2025-01-01T00:00:00Z (or a date, 2025-01-01)"
        )
    return restored
