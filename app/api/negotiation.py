"""Reading the preference headers (``Accept``, ``Accept-Language``) shared by content and
language negotiation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar


def by_preference(header: str | None) -> list[tuple[str, float]]:
    """The header's values (lower case, parameters dropped) with their q-values, most preferred
    first and ties in the order given; a malformed q counts as 0 (not acceptable)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        fields = [f.strip() for f in part.split(";")]
        quality = 1.0
        for field in fields[1:]:
            if field.startswith("q="):
                try:
                    quality = float(field[2:])
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, fields[0].lower()))
    return [(value, -negative) for negative, _, value in sorted(ranked)]


T = TypeVar("T")


def choose(accept: str, types: Mapping[str, T], wildcards: Mapping[str, Sequence[T]]) -> T | None:
    """The most preferred of what we make (``types`` by media type, ``wildcards`` by
    ``*/*``, ``text/*``… in our order of preference), or None when nothing is acceptable:
    q-values count, and ``q=0`` excludes a type, also from a wildcard (RFC 9110 §12.5.1)."""
    preferences = by_preference(accept)
    excluded = {types[m] for m, q in preferences if q <= 0 and m in types}
    for media, quality in preferences:
        if quality <= 0:
            continue
        if media in types and types[media] not in excluded:
            return types[media]
        for candidate in wildcards.get(media, ()):
            if candidate not in excluded:
                return candidate
    return None
