"""Reading the preference headers (``Accept``, ``Accept-Language``) shared by content and
language negotiation."""

from __future__ import annotations


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
