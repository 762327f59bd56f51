"""Names people type for places whose official name (the geography's, in Dutch) differs: the
English and French names of the centre cities, the provinces and the regions. Authored here:
the sources name every unit in Dutch only."""

from __future__ import annotations

from app.geo.names import spaced

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


def official_names(q: str) -> list[str]:
    """The official names of the places whose other name starts with ``q``."""
    typed = spaced(q)
    if len(typed) < MIN_PREFIX:
        return []
    return sorted({name for other, name in OFFICIAL_NAME.items() if other.startswith(typed)})
