"""Names people type for places whose official name (the geography's, in Dutch) differs: the
English and French names of the centre cities, the provinces and the regions. Authored here:
the sources name every unit in Dutch only."""

from __future__ import annotations

import unicodedata

OFFICIAL_NAME = {
    # English
    "antwerp": "Antwerpen",
    "bruges": "Brugge",
    "brussels": "Brussel",
    "brussels capital region": "Brussels Hoofdstedelijk Gewest",
    "east flanders": "Oost-Vlaanderen",
    "flanders": "Vlaams Gewest",
    "flemish brabant": "Vlaams-Brabant",
    "flemish region": "Vlaams Gewest",
    "ghent": "Gent",
    "louvain": "Leuven",
    "ostend": "Oostende",
    "west flanders": "West-Vlaanderen",
    "ypres": "Ieper",
    # French
    "alost": "Aalst",
    "anvers": "Antwerpen",
    "bruxelles": "Brussel",
    "courtrai": "Kortrijk",
    "flandre occidentale": "West-Vlaanderen",
    "flandre orientale": "Oost-Vlaanderen",
    "gand": "Gent",
    "limbourg": "Limburg",
    "malines": "Mechelen",
    "region flamande": "Vlaams Gewest",
    "région flamande": "Vlaams Gewest",
    "roulers": "Roeselare",
    "saint nicolas": "Sint-Niklaas",
    "tirlemont": "Tienen",
}
# Fewer letters than this find nothing by another name: "br" is not yet Bruges.
MIN_PREFIX = 3


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


def official_names(q: str) -> list[str]:
    """The official names of the places whose other name starts with ``q``."""
    typed = spaced(q)
    if len(typed) < MIN_PREFIX:
        return []
    return sorted({name for other, name in OFFICIAL_NAME.items() if other.startswith(typed)})
