"""Metadata quality of each dataset by the Metadata Quality Assessment (MQA) of data.europa.eu,
computed from the dataset's DCAT graph (what a harvester sees), not from the database. No
FastAPI here.

The method (data.europa.eu, "Metadata quality dashboard", in the data provider manual:
https://dataeuropa.gitlab.io/data-provider-manual/metadata-quality-dashboard/ and
https://data.europa.eu/mqa/methodology) scores five dimensions derived from the FAIR
principles, 405 points in all:

=================  ============================================  ======  ============
dimension          indicator (property)                          points  computed on
=================  ============================================  ======  ============
findability        keywords (``dcat:keyword``)                       30  dataset
                   categories (``dcat:theme``)                       30  dataset
                   geo search (``dct:spatial``)                      20  dataset
                   time-based search (``dct:temporal``)              20  dataset
accessibility      access URL answers 200 (``dcat:accessURL``)       50  distribution
                   download URL given (``dcat:downloadURL``)         20  distribution
                   download URL answers 200                          30  distribution
interoperability   format given (``dct:format``)                     20  distribution
                   media type given (``dcat:mediaType``)             10  distribution
                   format and media type from a vocabulary           10  distribution
                   non-proprietary format                            20  distribution
                   machine-readable format                           20  distribution
                   DCAT-AP compliance                                30  dataset
reusability        licence given (``dct:license``)                   20  distribution
                   licence from the EU vocabulary                    10  distribution
                   access restrictions (``dct:accessRights``)        10  dataset
                   access restrictions from the EU vocabulary         5  dataset
                   contact point (``dcat:contactPoint``)             20  dataset
                   publisher (``dct:publisher``)                     10  dataset
contextuality      rights (``dct:rights``)                            5  distribution
                   file size (``dcat:byteSize``)                      5  distribution
                   date of issue (``dct:issued``)                     5  distribution
                   modification date (``dct:modified``)               5  distribution
=================  ============================================  ======  ============

How a dataset's points are counted, as the method says: a dataset-level indicator earns its
points when the property is there; a distribution-level one earns the share of the dataset's
distributions that meet it (3 of 4 distributions with a licence: 15 of 20); for
interoperability only the best distribution counts ("identical content with several
distributions"). Ratings: excellent 351–405, good 221–350, sufficient 121–220, bad 0–120.

Where the method needs more than the graph, this module says what it takes:

- *Answers 200*: the MQA requests each URL. Here a ``UrlStatus`` function says what a URL
  answers; :func:`served_status` answers for the URLs this service serves (the observations
  API and the stored downloads) from the same rules the routes apply (a restricted dataset's
  data answer 401 without a key), and gives ``None`` (not checked: no points) for any other
  URL. The test suite requests every URL through the app to check that it agrees.
- *Vocabularies*: file types from the EU file-type authority table, media types from IANA,
  licences and access rights from the EU authority tables (a licence under another URI counts
  when the graph links it with ``skos:exactMatch`` to an EU licence URI). Non-proprietary and
  machine-readable are the formats the EU file-type table flags so; the lists below hold the
  open formats we may publish.
- *DCAT-AP compliance*: the MQA validates with the DCAT-AP SHACL shapes. Running pyshacl per
  request is too slow for the catalogue, so the live check is DCAT-AP 3.0.1's mandatory
  properties (dataset: ``dct:title``, ``dct:description``; distribution:
  ``dcat:accessURL``) and the classes ``range.ttl`` asks of the linked nodes this method
  reads; the full shapes run over every dataset in the test suite and in
  ``datapedia dcat validate``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rdflib import Graph, URIRef
from rdflib.term import Node

from app.downloads import service as downloads
from app.rdf.schemas import DimensionScore, IndicatorScore, Quality
from app.rdf.vocab import DCAT, DCTERMS, FOAF, RDF, SKOS, VCARD

MAXIMUM = 405
METHOD = "https://data.europa.eu/mqa/methodology"
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
EU_FILE_TYPE = EU_AUTHORITY + "file-type/"
EU_LICENCE = EU_AUTHORITY + "licence/"
EU_ACCESS_RIGHT = EU_AUTHORITY + "access-right/"
IANA = (
    "https://www.iana.org/assignments/media-types/",
    "http://www.iana.org/assignments/media-types/",
)
# Open, documented formats of the EU file-type table (its "non-proprietary" flag) and the
# formats it flags machine-readable, for the formats a statistics catalogue publishes.
NON_PROPRIETARY = frozenset(
    {
        "CSV",
        "TSV",
        "JSON",
        "JSON_LD",
        "GEOJSON",
        "XML",
        "RDF",
        "RDF_XML",
        "RDF_TURTLE",
        "RDF_N_TRIPLES",
        "N3",
        "GML",
        "KML",
        "ODS",
        "TXT",
        "HTML",
        "SDMX",
    }
)
MACHINE_READABLE = frozenset(
    {
        "CSV",
        "TSV",
        "JSON",
        "JSON_LD",
        "GEOJSON",
        "XML",
        "RDF",
        "RDF_XML",
        "RDF_TURTLE",
        "RDF_N_TRIPLES",
        "N3",
        "GML",
        "KML",
        "ODS",
        "XLS",
        "XLSX",
        "SDMX",
    }
)

DIMENSIONS: Mapping[str, str] = {
    "findability": "Findability",
    "accessibility": "Accessibility",
    "interoperability": "Interoperability",
    "reusability": "Reusability",
    "contextuality": "Contextuality",
}
SCORE_METRIC = "score"


@dataclass(frozen=True)
class Metric:
    key: str  # also the last part of its URI, /id/metric/{key}
    dimension: str
    label: str
    maximum: int
    on: str  # "dataset" or "distribution"


METRICS = (
    Metric("keyword", "findability", "Keywords (dcat:keyword)", 30, "dataset"),
    Metric("theme", "findability", "Categories (dcat:theme)", 30, "dataset"),
    Metric("spatial", "findability", "Geo search (dct:spatial)", 20, "dataset"),
    Metric("temporal", "findability", "Time-based search (dct:temporal)", 20, "dataset"),
    Metric("access-url-status", "accessibility", "Access URL answers 200", 50, "distribution"),
    Metric("download-url", "accessibility", "Download URL (dcat:downloadURL)", 20, "distribution"),
    Metric("download-url-status", "accessibility", "Download URL answers 200", 30, "distribution"),
    Metric("format", "interoperability", "Format (dct:format)", 20, "distribution"),
    Metric("media-type", "interoperability", "Media type (dcat:mediaType)", 10, "distribution"),
    Metric(
        "format-media-type-vocabulary",
        "interoperability",
        "Format and media type from a vocabulary",
        10,
        "distribution",
    ),
    Metric("non-proprietary", "interoperability", "Non-proprietary format", 20, "distribution"),
    Metric("machine-readable", "interoperability", "Machine-readable format", 20, "distribution"),
    Metric("dcat-ap-compliance", "interoperability", "DCAT-AP compliance", 30, "dataset"),
    Metric("licence", "reusability", "Licence (dct:license)", 20, "distribution"),
    Metric(
        "licence-vocabulary", "reusability", "Licence from the EU vocabulary", 10, "distribution"
    ),
    Metric("access-rights", "reusability", "Access restrictions (dct:accessRights)", 10, "dataset"),
    Metric(
        "access-rights-vocabulary",
        "reusability",
        "Access restrictions from the EU vocabulary",
        5,
        "dataset",
    ),
    Metric("contact-point", "reusability", "Contact point (dcat:contactPoint)", 20, "dataset"),
    Metric("publisher", "reusability", "Publisher (dct:publisher)", 10, "dataset"),
    Metric("rights", "contextuality", "Rights (dct:rights)", 5, "distribution"),
    Metric("byte-size", "contextuality", "File size (dcat:byteSize)", 5, "distribution"),
    Metric("issued", "contextuality", "Date of issue (dct:issued)", 5, "distribution"),
    Metric("modified", "contextuality", "Modification date (dct:modified)", 5, "distribution"),
)
METRIC_KEYS = frozenset(m.key for m in METRICS) | {SCORE_METRIC, *DIMENSIONS}
assert sum(m.maximum for m in METRICS) == MAXIMUM

UrlStatus = Callable[[str], int | None]
"""What a URL answers to a GET without credentials; None when it was not checked."""

# A check of one node: None when met, else the reason it is not.
_Check = Callable[[Graph, URIRef, UrlStatus], str | None]


def _has(predicate: URIRef, name: str) -> _Check:
    def check(graph: Graph, node: URIRef, status: UrlStatus) -> str | None:
        return None if (node, predicate, None) in graph else f"no {name}"

    return check


def _answers(predicate: URIRef, name: str) -> _Check:
    def check(graph: Graph, node: URIRef, status: UrlStatus) -> str | None:
        urls = [str(o) for o in graph.objects(node, predicate)]
        if not urls:
            return f"no {name}"
        for url in urls:
            code = status(url)
            if code is None:
                return f"{name} {url} was not checked (not served here)"
            if code != 200:
                return f"{name} {url} answers {code}"
        return None

    return check


def _file_type_code(graph: Graph, node: URIRef) -> str | None:
    for value in graph.objects(node, DCTERMS.format):
        if str(value).startswith(EU_FILE_TYPE):
            return str(value).removeprefix(EU_FILE_TYPE)
    return None


def _vocabulary_format(graph: Graph, node: URIRef, status: UrlStatus) -> str | None:
    reasons = []
    if _file_type_code(graph, node) is None:
        reasons.append("dct:format is not from the EU file-type table")
    if not any(str(v).startswith(IANA) for v in graph.objects(node, DCAT.mediaType)):
        reasons.append("dcat:mediaType is not an IANA media type")
    return "; ".join(reasons) or None


def _format_in(formats: frozenset[str], what: str) -> _Check:
    def check(graph: Graph, node: URIRef, status: UrlStatus) -> str | None:
        code = _file_type_code(graph, node)
        if code is None:
            return "no dct:format from the EU file-type table"
        return None if code in formats else f"format {code} is not {what}"

    return check


def _licence_vocabulary(graph: Graph, node: URIRef, status: UrlStatus) -> str | None:
    licences = list(graph.objects(node, DCTERMS.license))
    if not licences:
        return "no dct:license"
    for licence in licences:
        known = [licence, *graph.objects(licence, SKOS.exactMatch)]
        if not any(str(uri).startswith(EU_LICENCE) for uri in known):
            return f"licence {licence} is not in the EU licence vocabulary (nor linked to it)"
    return None


def _access_rights_vocabulary(graph: Graph, node: URIRef, status: UrlStatus) -> str | None:
    values = list(graph.objects(node, DCTERMS.accessRights))
    if not values:
        return "no dct:accessRights"
    wrong = [str(v) for v in values if not str(v).startswith(EU_ACCESS_RIGHT)]
    return f"{', '.join(wrong)} is not from the EU access-right table" if wrong else None


# What DCAT-AP 3.0.1 asks that this method reads: mandatory properties and linked classes.
_DATASET_MANDATORY = ((DCTERMS.title, "dct:title"), (DCTERMS.description, "dct:description"))
_RANGES = (
    (DCTERMS.publisher, FOAF.Agent, "foaf:Agent"),
    (DCAT.contactPoint, VCARD.Kind, "vcard:Kind"),
    (DCTERMS.accessRights, DCTERMS.RightsStatement, "dct:RightsStatement"),
)
_DISTRIBUTION_RANGES = (
    (DCTERMS.license, DCTERMS.LicenseDocument, "dct:LicenseDocument"),
    (DCTERMS.format, DCTERMS.MediaTypeOrExtent, "dct:MediaTypeOrExtent"),
    (DCTERMS.rights, DCTERMS.RightsStatement, "dct:RightsStatement"),
)


def _compliance(graph: Graph, dataset: URIRef, distributions: Sequence[URIRef]) -> str | None:
    problems = []
    if (dataset, RDF.type, DCAT.Dataset) not in graph:
        problems.append("the dataset is not typed dcat:Dataset")
    problems += [f"no {name}" for p, name in _DATASET_MANDATORY if (dataset, p, None) not in graph]
    checks = [(dataset, p, cls, name) for p, cls, name in _RANGES]
    for distribution in distributions:
        if (distribution, DCAT.accessURL, None) not in graph:
            problems.append(f"{distribution} has no dcat:accessURL")
        checks += [(distribution, p, cls, name) for p, cls, name in _DISTRIBUTION_RANGES]
    for subject, predicate, cls, name in checks:
        for value in graph.objects(subject, predicate):
            if (value, RDF.type, cls) not in graph:
                problems.append(f"{value} ({predicate}) is not typed {name}")
    return "; ".join(problems) or None


_CHECKS: Mapping[str, _Check] = {
    "keyword": _has(DCAT.keyword, "dcat:keyword"),
    "theme": _has(DCAT.theme, "dcat:theme"),
    "spatial": _has(DCTERMS.spatial, "dct:spatial"),
    "temporal": _has(DCTERMS.temporal, "dct:temporal"),
    "access-url-status": _answers(DCAT.accessURL, "dcat:accessURL"),
    "download-url": _has(DCAT.downloadURL, "dcat:downloadURL"),
    "download-url-status": _answers(DCAT.downloadURL, "dcat:downloadURL"),
    "format": _has(DCTERMS.format, "dct:format"),
    "media-type": _has(DCAT.mediaType, "dcat:mediaType"),
    "format-media-type-vocabulary": _vocabulary_format,
    "non-proprietary": _format_in(NON_PROPRIETARY, "non-proprietary"),
    "machine-readable": _format_in(MACHINE_READABLE, "machine-readable"),
    "licence": _has(DCTERMS.license, "dct:license"),
    "licence-vocabulary": _licence_vocabulary,
    "access-rights": _has(DCTERMS.accessRights, "dct:accessRights"),
    "access-rights-vocabulary": _access_rights_vocabulary,
    "contact-point": _has(DCAT.contactPoint, "dcat:contactPoint"),
    "publisher": _has(DCTERMS.publisher, "dct:publisher"),
    "rights": _has(DCTERMS.rights, "dct:rights"),
    "byte-size": _has(DCAT.byteSize, "dcat:byteSize"),
    "issued": _has(DCTERMS.issued, "dct:issued"),
    "modified": _has(DCTERMS.modified, "dct:modified"),
}


def rating(total: float) -> str:
    if total >= 351:
        return "excellent"
    if total >= 221:
        return "good"
    if total >= 121:
        return "sufficient"
    return "bad"


def _points(maximum: int, met: int, of: int) -> float:
    return round(maximum * met / of, 2) if of else 0.0


def assess(
    graph: Graph, dataset: URIRef, status: UrlStatus, metric_uri: Callable[[str], str]
) -> Quality:
    """The dataset's MQA score from ``graph`` (which holds the dataset and its distributions)."""
    distributions = sorted(
        (d for d in graph.objects(dataset, DCAT.distribution) if isinstance(d, URIRef)), key=str
    )
    # Interoperability counts the best distribution only: find it first.
    interoperable = [m for m in METRICS if m.dimension == "interoperability" and m.on != "dataset"]
    best: URIRef | None = None
    best_points = -1
    for distribution in distributions:
        earned = sum(
            m.maximum for m in interoperable if _CHECKS[m.key](graph, distribution, status) is None
        )
        if earned > best_points:
            best, best_points = distribution, earned

    scores: dict[str, list[IndicatorScore]] = {d: [] for d in DIMENSIONS}
    for metric in METRICS:
        reasons: list[str] = []
        if metric.key == "dcat-ap-compliance":
            reason = _compliance(graph, dataset, distributions)
            met, of = (0 if reason else 1), 1
            reasons = [reason] if reason else []
        elif metric.on == "dataset":
            reason = _CHECKS[metric.key](graph, dataset, status)
            met, of = (0 if reason else 1), 1
            reasons = [reason] if reason else []
        else:
            nodes: list[URIRef] = distributions
            if metric.dimension == "interoperability":
                nodes = [best] if best is not None else []
            met, of = 0, len(nodes)
            for node in nodes:
                reason = _CHECKS[metric.key](graph, node, status)
                if reason is None:
                    met += 1
                else:
                    reasons.append(f"{_short(node)}: {reason}")
            if not nodes:
                reasons.append("the dataset has no distribution")
        points = _points(metric.maximum, met, of)
        scores[metric.dimension].append(
            IndicatorScore(
                metric=metric.key,
                uri=metric_uri(metric.key),
                label=metric.label,
                computed_on=metric.on,
                points=points,
                maximum=metric.maximum,
                met=met,
                of=of,
                lost=None if points == metric.maximum else "; ".join(reasons),
            )
        )
    dimensions = [
        DimensionScore(
            dimension=key,
            uri=metric_uri(key),
            label=label,
            points=round(sum(i.points for i in scores[key]), 2),
            maximum=sum(i.maximum for i in scores[key]),
            indicators=scores[key],
        )
        for key, label in DIMENSIONS.items()
    ]
    total = round(sum(d.points for d in dimensions), 2)
    return Quality(
        dataset=_short(dataset),
        uri=str(dataset),
        method=METHOD,
        total=total,
        maximum=MAXIMUM,
        rating=rating(total),
        dimensions=dimensions,
    )


def _short(node: Node) -> str:
    """A node's key for people: a dataset's id, a distribution's ``dataset/format``."""
    text = str(node)
    for marker in ("/id/dataset/", "/id/distribution/"):
        if marker in text:
            return text.split(marker, 1)[1]
    return text


_SERVED = re.compile(
    r"^/api/v1/datasets/(?P<dataset>[^/?#]+)/(?:(?P<observations>observations)|downloads/(?P<file>[^/?#]+))$"
    # The Data Cube dumps (app.rdf.cube) follow the same access rules.
    r"|^/catalog/datasets/(?P<cube>[^/?#]+)/observations\.(?:ttl|nt)$"
)


def served_status(base: str, access_levels: Mapping[str, str]) -> UrlStatus:
    """What the URLs this service serves answer to a GET without a key, by the routes' own
    rules: the observations API, the stored downloads and the Data Cube dumps of a known
    dataset answer 200 when its data are public and 401 otherwise; an unknown dataset or file
    404. ``access_levels`` maps dataset ids to their access level. Other URLs are not checked
    (None)."""
    prefix = base.rstrip("/")

    def status(url: str) -> int | None:
        if not url.startswith(prefix + "/"):
            return None
        match = _SERVED.match(url[len(prefix) :])
        if match is None:
            return None
        level = access_levels.get(match["dataset"] or match["cube"])
        if level is None:
            return 404
        if match["file"] is not None and match["file"] not in downloads.FILES:
            return 404
        return 200 if level == "public" else 401

    return status
