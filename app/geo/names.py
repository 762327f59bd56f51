"""How people type place names: case, hyphens, spaces, punctuation and accents that the
official (Dutch) names of the geography do not have, or have otherwise."""

from __future__ import annotations

import unicodedata

# Punctuation around a word is not part of a name: "Gent." and "Gent?" are Gent.
_AROUND_WORDS = '.,;:!?"()[]“”‘’'


def spaced(text: str) -> str:
    """Lower case, hyphens as spaces, one space between words, no punctuation around them:
    "Sint-Niklaas", "sint  niklaas" and "sint-niklaas" are the same search."""
    words = (word.strip(_AROUND_WORDS) for word in text.lower().replace("-", " ").split())
    return " ".join(word for word in words if word)


def without_accents(text: str) -> str:
    """ "Gënt" as "Gent": the official names of Flemish places carry almost no accents, the
    names people type sometimes do."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
