"""Namespaces, and the external code lists that Datapedia's own codes map to.

Every concept here carries its labels and its scheme, because the official shapes need them as
data in our own output: DCAT-AP requires a ``skos:prefLabel`` on every ``skos:Concept`` and a
``dct:title`` on every ``skos:ConceptScheme``, and the controlled-vocabulary shapes
(``mdr-vocabularies.shape.ttl``) check ``skos:inScheme`` on the concept itself. Nothing is
fetched at run time; labels follow the EU Vocabularies (English and Dutch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rdflib import Namespace, URIRef
from rdflib.namespace import (
    DCAT,
    DCTERMS,
    FOAF,
    GEO,
    OWL,
    PROV,
    QB,
    RDF,
    RDFS,
    SKOS,
    XSD,
)

__all__ = [
    "ADMS",
    "DCAT",
    "DCATAP",
    "DCAT_VERSION",
    "DCTERMS",
    "DQV",
    "FOAF",
    "GEO",
    "GEODCATAP",
    "HYDRA",
    "OWL",
    "PREFIXES",
    "PROV",
    "QB",
    "RDF",
    "RDFS",
    "SDMX_CONCEPT",
    "SKOS",
    "STAT",
    "VCARD",
    "XSD",
]

# --- namespaces that rdflib does not ship ------------------------------------------------

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
# StatDCAT-AP 1.0.1 puts stat:dimension, stat:attribute and stat:numSeries in the Core
# Vocabularies namespace (see ../shared/shacl/StatDCAT-AP_1.0.1.ttl), not in a stat# one.
STAT = Namespace("http://data.europa.eu/m8g/")
GEODCATAP = Namespace("http://data.europa.eu/930/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
# W3C Data Quality Vocabulary: the MQA score per dataset (app.rdf.quality).
DQV = Namespace("http://www.w3.org/ns/dqv#")
SPDX_SHA256 = "https://spdx.org/rdf/terms#checksumAlgorithm_sha256"
SDMX_CONCEPT = Namespace("http://purl.org/linked-data/sdmx/2009/concept#")
# DCAT 3 added dcat:version; rdflib's closed DCAT namespace predates it and would warn.
DCAT_VERSION = URIRef(f"{DCAT}version")

# Prefixes bound on every graph we build, so rdflib's own writers (RDF/XML, JSON-LD) use
# readable names instead of ns1, ns2, ….
PREFIXES: dict[str, str] = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "prov": str(PROV),
    "skos": str(SKOS),
    "qb": str(QB),
    "vcard": str(VCARD),
    "adms": str(ADMS),
    "stat": str(STAT),
    "geodcatap": str(GEODCATAP),
    "dcatap": str(DCATAP),
    "hydra": str(HYDRA),
    "geo": str(GEO),
    "owl": str(OWL),
    "sdmx-concept": str(SDMX_CONCEPT),
    "dqv": str(DQV),
}

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
INSPIRE_ROLES = "http://inspire.ec.europa.eu/metadata-codelist/ResponsiblePartyRole"
NUTS_CODE = "http://data.europa.eu/nuts/code/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
GEMEENTE = "https://data.vlaanderen.be/id/gemeente/"

Labels = Mapping[str, str]
"""Text per language tag, e.g. ``{"nl": "Energie", "en": "Energy"}``."""


@dataclass(frozen=True)
class Scheme:
    uri: URIRef
    title: Labels


@dataclass(frozen=True)
class Concept:
    """A concept of an external code list, with the classes the shapes expect on it besides
    ``skos:Concept`` (e.g. ``dct:Frequency`` for a frequency)."""

    uri: URIRef
    label: Labels
    scheme: Scheme
    types: tuple[URIRef, ...] = ()
    notation: str | None = None


@dataclass(frozen=True)
class Resource:
    """A labelled external resource that is not a concept (a media type, a standard)."""

    uri: URIRef
    label: Labels
    version: str | None = None


@dataclass(frozen=True)
class Place:
    """A ``dct:Location``: bounding box and centroid as WKT (CRS84 longitude latitude)."""

    uri: URIRef
    label: Labels
    bbox: str | None = None
    centroid: str | None = None


def _scheme(path: str, en: str, nl: str) -> Scheme:
    return Scheme(URIRef(EU_AUTHORITY + path), {"en": en, "nl": nl})


def _concepts(
    scheme: Scheme, labels: Mapping[str, tuple[str, str]], types: tuple[URIRef, ...]
) -> dict[str, Concept]:
    return {
        code: Concept(URIRef(f"{scheme.uri}/{code}"), {"en": en, "nl": nl}, scheme, types, code)
        for code, (en, nl) in labels.items()
    }


def _lookup(
    table: Mapping[str, Concept], scheme: Scheme, code: str, types: tuple[URIRef, ...]
) -> Concept:
    # A code the table does not know still gets a valid node (its code as label), so a new
    # seed value never breaks the catalogue; the table is the place to add its real labels.
    found = table.get(code)
    if found is not None:
        return found
    return Concept(URIRef(f"{scheme.uri}/{code}"), {"en": code}, scheme, types, code)


# --- EU authority tables -------------------------------------------------------------------

ACCESS_RIGHT_SCHEME = _scheme("access-right", "Access right", "Toegangsrecht")
_ACCESS_RIGHT_TYPES = (DCTERMS.RightsStatement,)
ACCESS_RIGHTS: dict[str, Concept] = {
    level: Concept(
        URIRef(f"{ACCESS_RIGHT_SCHEME.uri}/{code}"),
        {"en": en, "nl": nl},
        ACCESS_RIGHT_SCHEME,
        _ACCESS_RIGHT_TYPES,
        code,
    )
    for level, (code, en, nl) in {
        "public": ("PUBLIC", "public", "publiek"),
        "restricted": ("RESTRICTED", "restricted", "beperkt"),
        "non_public": ("NON_PUBLIC", "non-public", "niet-publiek"),
    }.items()
}

FREQUENCY_SCHEME = _scheme("frequency", "Frequency", "Frequentie")
_FREQUENCY_TYPES = (DCTERMS.Frequency,)
FREQUENCIES = _concepts(
    FREQUENCY_SCHEME,
    {
        "HOURLY": ("hourly", "elk uur"),
        "DAILY": ("daily", "dagelijks"),
        "WEEKLY": ("weekly", "wekelijks"),
        "BIWEEKLY": ("biweekly", "tweewekelijks"),
        "MONTHLY": ("monthly", "maandelijks"),
        "BIMONTHLY": ("bimonthly", "tweemaandelijks"),
        "QUARTERLY": ("quarterly", "driemaandelijks"),
        "ANNUAL_2": ("semiannual", "halfjaarlijks"),
        "ANNUAL": ("annual", "jaarlijks"),
        "BIENNIAL": ("biennial", "tweejaarlijks"),
        "TRIENNIAL": ("triennial", "driejaarlijks"),
        "QUADRENNIAL": ("quadrennial", "vierjaarlijks"),
        "QUINQUENNIAL": ("quinquennial", "vijfjaarlijks"),
        "DECENNIAL": ("decennial", "tienjaarlijks"),
        "CONT": ("continuous", "voortdurend"),
        "UPDATE_CONT": ("continuously updated", "voortdurend bijgewerkt"),
        "IRREG": ("irregular", "onregelmatig"),
        "NEVER": ("never", "nooit"),
        "OTHER": ("other", "andere"),
        "UNKNOWN": ("unknown", "onbekend"),
    },
    _FREQUENCY_TYPES,
)

LANGUAGE_SCHEME = _scheme("language", "Language", "Taal")
_LANGUAGE_TYPES = (DCTERMS.LinguisticSystem,)
LANGUAGES: dict[str, Concept] = {
    tag: Concept(
        URIRef(f"{LANGUAGE_SCHEME.uri}/{code}"),
        {"en": en, "nl": nl},
        LANGUAGE_SCHEME,
        _LANGUAGE_TYPES,
        code,
    )
    for tag, (code, en, nl) in {
        "nl": ("NLD", "Dutch", "Nederlands"),
        "en": ("ENG", "English", "Engels"),
        "fr": ("FRA", "French", "Frans"),
        "de": ("DEU", "German", "Duits"),
    }.items()
}

DATA_THEME_SCHEME = _scheme("data-theme", "Data theme", "Gegevensthema")
DATA_THEMES = _concepts(
    DATA_THEME_SCHEME,
    {
        "AGRI": (
            "Agriculture, fisheries, forestry and food",
            "Landbouw, visserij, bosbouw en voeding",
        ),
        "ECON": ("Economy and finance", "Economie en financiën"),
        "EDUC": ("Education, culture and sport", "Onderwijs, cultuur en sport"),
        "ENER": ("Energy", "Energie"),
        "ENVI": ("Environment", "Milieu"),
        "GOVE": ("Government and public sector", "Overheid en publieke sector"),
        "HEAL": ("Health", "Gezondheid"),
        "INTR": ("International issues", "Internationale vraagstukken"),
        "JUST": (
            "Justice, legal system and public safety",
            "Justitie, rechtsstelsel en openbare veiligheid",
        ),
        "OP_DATPRO": ("Provisional data", "Voorlopige gegevens"),
        "REGI": ("Regions and cities", "Regio's en steden"),
        "SOCI": ("Population and society", "Bevolking en samenleving"),
        "TECH": ("Science and technology", "Wetenschap en technologie"),
        "TRAN": ("Transport", "Vervoer"),
    },
    (),
)

FILE_TYPE_SCHEME = _scheme("file-type", "File type", "Bestandstype")
# DCAT-AP types dct:format as dct:MediaTypeOrExtent, DCAT-AP-VL as skos:Concept: both.
_FILE_TYPE_TYPES = (DCTERMS.MediaTypeOrExtent,)
FILE_TYPES = _concepts(
    FILE_TYPE_SCHEME,
    {
        "CSV": ("CSV", "CSV"),
        "JSON": ("JSON", "JSON"),
        "RDF_TURTLE": ("RDF Turtle", "RDF Turtle"),
        "RDF_N_TRIPLES": ("RDF N-Triples", "RDF N-Triples"),
    },
    _FILE_TYPE_TYPES,
)

AVAILABILITY_SCHEME = _scheme(
    "planned-availability", "Planned availability", "Geplande beschikbaarheid"
)
AVAILABILITY_STABLE = _concepts(AVAILABILITY_SCHEME, {"STABLE": ("stable", "stabiel")}, ())[
    "STABLE"
]

DATASET_TYPE_SCHEME = _scheme("dataset-type", "Dataset type", "Datasettype")
DATASET_TYPE_STATISTICAL = _concepts(
    DATASET_TYPE_SCHEME, {"STATISTICAL": ("Statistical", "Statistisch")}, ()
)["STATISTICAL"]


def access_right(level: str) -> Concept:
    """``public`` / ``restricted`` / ``non_public`` → the EU access-right concept."""
    return ACCESS_RIGHTS[level]


def frequency(code: str) -> Concept:
    return _lookup(FREQUENCIES, FREQUENCY_SCHEME, code, _FREQUENCY_TYPES)


def language(tag: str) -> Concept:
    return LANGUAGES[tag]


def data_theme(code: str) -> Concept:
    return _lookup(DATA_THEMES, DATA_THEME_SCHEME, code, ())


def file_type(code: str) -> Concept:
    return _lookup(FILE_TYPES, FILE_TYPE_SCHEME, code, _FILE_TYPE_TYPES)


# --- IANA media types (dct:MediaType; the shapes only check the URL pattern) ---------------

MEDIA_TYPES: dict[str, Resource] = {
    media_type: Resource(URIRef(IANA_MEDIA_TYPES + media_type), {"en": media_type})
    for media_type in ("text/csv", "application/json", "text/turtle", "application/n-triples")
}

# --- INSPIRE responsible-party roles (dcat:hadRole) ----------------------------------------

ROLE_SCHEME = Scheme(
    URIRef(INSPIRE_ROLES),
    {"en": "Responsible party role", "nl": "Rol van de verantwoordelijke organisatie"},
)
_ROLE_TYPES = (DCAT.Role,)
# Our role names → INSPIRE codes; a supplier delivers data for its territory, which is what
# INSPIRE calls a resource provider.
ROLE_CODES: dict[str, str] = {
    "owner": "owner",
    "publisher": "publisher",
    "supplier": "resourceProvider",
    "originator": "originator",
    "custodian": "custodian",
}
_ROLE_LABELS: dict[str, tuple[str, str]] = {
    "owner": ("Owner", "Eigenaar"),
    "publisher": ("Publisher", "Uitgever"),
    "resourceProvider": ("Resource provider", "Verstrekker"),
    "originator": ("Originator", "Maker"),
    "custodian": ("Custodian", "Beheerder"),
}
ROLES: dict[str, Concept] = {
    role: Concept(
        URIRef(f"{INSPIRE_ROLES}/{code}"),
        {"en": _ROLE_LABELS[code][0], "nl": _ROLE_LABELS[code][1]},
        ROLE_SCHEME,
        _ROLE_TYPES,
        code,
    )
    for role, code in ROLE_CODES.items()
}


def role(name: str) -> Concept:
    return ROLES[name]


# --- ADMS vocabularies ---------------------------------------------------------------------

PUBLISHER_TYPE_SCHEME = Scheme(
    URIRef("http://purl.org/adms/publishertype/1.0"),
    {"en": "Publisher type", "nl": "Type uitgever"},
)
_PUBLISHER_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "LocalAuthority": ("Local authority", "Lokaal bestuur"),
    "RegionalAuthority": ("Regional authority", "Regionale overheid"),
    "NationalAuthority": ("National authority", "Nationale overheid"),
    "Company": ("Company", "Bedrijf"),
    "NonProfitOrganisation": ("Non-profit organisation", "Non-profitorganisatie"),
}
# Organisation kinds (seeds/organisations.yaml) → ADMS publisher type. The VGC governs the
# Flemish community matters of one city-region, so it sits with the cities; a Flemish agency
# and a province act above the municipality, which ADMS calls regional; the Kenniscentrum
# Vlaamse Steden is a non-profit association of the cities.
_KIND_TO_PUBLISHER_TYPE: dict[str, str] = {
    "city": "LocalAuthority",
    "community_commission": "LocalAuthority",
    "province": "RegionalAuthority",
    "agency": "RegionalAuthority",
    "statistical_office": "NationalAuthority",
    "utility": "Company",
    "knowledge_centre": "NonProfitOrganisation",
}


def publisher_type(kind: str) -> Concept | None:
    code = _KIND_TO_PUBLISHER_TYPE.get(kind)
    if code is None:
        return None
    en, nl = _PUBLISHER_TYPE_LABELS[code]
    return Concept(
        URIRef(f"http://purl.org/adms/publishertype/{code}"),
        {"en": en, "nl": nl},
        PUBLISHER_TYPE_SCHEME,
        (),
        code,
    )


# The same licences under the Flemish portal's URIs and in the EU licence vocabulary (the
# authority table data.europa.eu's quality assessment checks), by our licence id; only where
# the register holds the licence.
VL_LICENCE = "https://data.vlaanderen.be/id/licentie/"
EU_LICENCE = EU_AUTHORITY + "licence/"
LICENCE_EQUIVALENTS: Mapping[str, tuple[str | None, str | None]] = {
    "cc0-1.0": (VL_LICENCE + "creative-commons-zero-verklaring/v1.0", EU_LICENCE + "CC0"),
    "cc-by-4.0": (None, EU_LICENCE + "CC_BY_4_0"),
    "mgh-1.0": (VL_LICENCE + "modellicentie-gratis-hergebruik/v1.0", None),
}
ORGANISATION_REGISTER = "https://data.vlaanderen.be/id/organisatie/"


def organisation_uri(ovo_code: str) -> URIRef:
    """The Flemish organisation register's URI of an organisation with an OVO code."""
    return URIRef(ORGANISATION_REGISTER + ovo_code)


LICENCE_TYPE_SCHEME = Scheme(
    URIRef("http://purl.org/adms/licencetype/1.0"),
    {"en": "Licence type", "nl": "Type licentie"},
)


def licence_type(attribution_required: bool) -> Concept:
    """Attribution for licences that ask for credit, public domain for the others (CC0)."""
    code, en, nl = (
        ("Attribution", "Attribution", "Naamsvermelding")
        if attribution_required
        else ("PublicDomain", "Public domain", "Publiek domein")
    )
    return Concept(
        URIRef(f"http://purl.org/adms/licencetype/{code}"),
        {"en": en, "nl": nl},
        LICENCE_TYPE_SCHEME,
        (),
        code,
    )


CHANGE_TYPE_SCHEME = Scheme(
    URIRef("http://purl.org/adms/changetype/1.0"),
    {"en": "Change type", "nl": "Type wijziging"},
)


def change_type(updated: bool) -> Concept:
    """The catalogue record's status (ADMS change type: created / updated)."""
    code, en, nl = (
        ("updated", "updated", "gewijzigd") if updated else ("created", "created", "aangemaakt")
    )
    return Concept(
        URIRef(f"http://purl.org/adms/changetype/{code}"),
        {"en": en, "nl": nl},
        CHANGE_TYPE_SCHEME,
        (),
        code,
    )


# --- standards -----------------------------------------------------------------------------

DCAT_AP_VL = Resource(
    URIRef("https://data.vlaanderen.be/doc/applicatieprofiel/DCAT-AP-VL"),
    {"nl": "DCAT-AP Vlaanderen", "en": "DCAT-AP Flanders"},
    "3.0",
)
JSON_STAT = Resource(URIRef("https://json-stat.org/format/"), {"en": "JSON-stat 2.0"}, "2.0")
CSV_RFC4180 = Resource(
    URIRef("https://www.rfc-editor.org/rfc/rfc4180"),
    {"en": "RFC 4180: Common Format and MIME Type for Comma-Separated Values (CSV) Files"},
)
DATA_PACKAGE = Resource(
    URIRef("https://specs.frictionlessdata.io/tabular-data-package/"),
    {"en": "Frictionless Tabular Data Package"},
    "1.0",
)
DATA_CUBE = Resource(
    URIRef("http://www.w3.org/TR/vocab-data-cube/"),
    {"en": "The RDF Data Cube Vocabulary (W3C Recommendation)"},
)
OPENAPI = Resource(
    URIRef("https://spec.openapis.org/oas/v3.1.0"), {"en": "OpenAPI Specification 3.1.0"}, "3.1.0"
)

# --- places --------------------------------------------------------------------------------


def _box(west: float, south: float, east: float, north: float) -> str:
    return f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))"


def _nuts(
    code: str, en: str, nl: str, box: tuple[float, float, float, float], centre: tuple[float, float]
) -> Place:
    return Place(
        URIRef(NUTS_CODE + code),
        {"en": en, "nl": nl},
        _box(*box),
        f"POINT({centre[0]} {centre[1]})",
    )


# Bounding boxes (west, south, east, north) and area centroids computed once from
# ../shared/data/boundaries/provinces_2025.geojson (Statbel geometry, WGS84); regions and
# provinces do not move, so they are kept here rather than recomputed on every request.
PLACES: dict[str, Place] = {
    "region:02000": _nuts(
        "BE2",
        "Flemish Region",
        "Vlaams Gewest",
        (2.54133, 50.68749, 5.9102, 51.50511),
        (4.23655, 51.03864),
    ),
    "region:04000": _nuts(
        "BE1",
        "Brussels-Capital Region",
        "Brussels Hoofdstedelijk Gewest",
        (4.24447, 50.76374, 4.48159, 50.91332),
        (4.37062, 50.83606),
    ),
    "province:10000": _nuts(
        "BE21",
        "Province of Antwerp",
        "Provincie Antwerpen",
        (4.17232, 50.99015, 5.26225, 51.50511),
        (4.72256, 51.22968),
    ),
    "province:70000": _nuts(
        "BE22",
        "Province of Limburg",
        "Provincie Limburg",
        (4.98012, 50.69543, 5.9102, 51.30016),
        (5.42918, 50.99149),
    ),
    "province:40000": _nuts(
        "BE23",
        "Province of East Flanders",
        "Provincie Oost-Vlaanderen",
        (3.33136, 50.7211, 4.3573, 51.35397),
        (3.81969, 51.03772),
    ),
    "province:20001": _nuts(
        "BE24",
        "Province of Flemish Brabant",
        "Provincie Vlaams-Brabant",
        (3.88965, 50.68749, 5.188, 51.04982),
        (4.59065, 50.87271),
    ),
    "province:30000": _nuts(
        "BE25",
        "Province of West Flanders",
        "Provincie West-Vlaanderen",
        (2.54133, 50.70828, 3.52335, 51.373),
        (3.05627, 51.01352),
    ),
}


def place(unit: str) -> Place | None:
    """An external place for a ``level:code`` unit (regions → NUTS), or None."""
    return PLACES.get(unit)


def municipality_uri(nis_code: str) -> URIRef | None:
    """The Flemish base registry's URI of a Flemish municipality; None elsewhere (the
    registry covers Flanders only: provinces 1, 23/24 Flemish Brabant, 3, 4, 7)."""
    if nis_code[:1] in ("1", "3", "4", "7") or nis_code[:2] in ("23", "24"):
        return URIRef(GEMEENTE + nis_code)
    return None
