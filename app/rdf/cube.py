"""A dataset's published values as an RDF Data Cube (W3C ``qb:``), streamed.

The DCAT dataset node is also the ``qb:DataSet`` (as StatDCAT-AP does); its structure is the
``qb:DataStructureDefinition`` the catalogue already names (``…/id/dataset/{id}/structure``),
here with what the Data Cube's integrity constraints ask of it: a range on every dimension,
code lists for the concept-valued ones (indicator, geography, observation status), and every
code of those lists that the observations use typed ``skos:Concept`` with ``skos:inScheme``.

One ``qb:Observation`` per published cell (indicator × geographic unit × period) of the
dataset's geography version, with the value, the status, the unit of measure and (derived
values) the coverage. A cell the statistics API publishes without a value (confidential,
missing, not applicable) is no observation here: the Data Cube requires every observation to
carry its measure (IC-14), and a value the API withholds is not invented. The observation's
URI is a fragment of the dump's own document, so it dereferences to the dump.

Streaming: the small head (structure, code lists) is built as an rdflib graph; the
observations are read from the database in order and written chunk by chunk with
pyoxigraph's writers (Turtle or N-Triples), never as one graph in memory; app.rdf.cubefiles
stores what is written, and the routes serve the stored files. No FastAPI here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from sqlalchemy.orm import Session

from app.api.negotiation import choose
from app.catalogue import repository as catalogue_repository
from app.catalogue.models import Dataset
from app.errors import NotAcceptable, NotFound
from app.rdf import dcat, vocab
from app.rdf.dcat import Uris
from app.rdf.serialize import _Terms
from app.rdf.vocab import DCTERMS, OWL, QB, RDF, RDFS, SKOS, XSD
from app.stats import repository as stats_repository
from app.stats import service as stats_service
from app.stats.models import PUBLISHED_STATUSES
from app.stats.schemas import Record

GEOGRAPHY_SCHEME = "geography"
STATUS_SCHEME = "observation-status"
STATUS_KIND = "observation-status"
SCHEME_KEYS = (GEOGRAPHY_SCHEME, STATUS_SCHEME)
# Observations per written chunk: big enough for the writers to run at full speed, small
# enough that a chunk is a few hundred kilobytes.
CHUNK = 2000

TURTLE = "text/turtle"
N_TRIPLES = "application/n-triples"


@dataclass(frozen=True)
class CubeFormat:
    extension: str
    media_type: str
    rdf_format: ox.RdfFormat


FORMATS = {
    "ttl": CubeFormat("ttl", TURTLE, ox.RdfFormat.TURTLE),
    "nt": CubeFormat("nt", N_TRIPLES, ox.RdfFormat.N_TRIPLES),
}
# The catalogue's kin too: every Turtle document is N3.
BY_MEDIA_TYPE = {
    TURTLE: FORMATS["ttl"],
    "application/x-turtle": FORMATS["ttl"],
    "text/n3": FORMATS["ttl"],
    N_TRIPLES: FORMATS["nt"],
    "text/plain": FORMATS["nt"],
}
WILDCARDS = {
    "*/*": (FORMATS["ttl"], FORMATS["nt"]),
    "text/*": (FORMATS["ttl"],),
    "application/*": (FORMATS["nt"],),
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "normal": ("normal", "normaal"),
    "provisional": ("provisional", "voorlopig"),
    "estimated": ("estimated", "geschat"),
    "confidential": ("confidential: not published", "vertrouwelijk: niet gepubliceerd"),
    "not_applicable": ("not applicable", "niet van toepassing"),
    "missing": ("missing", "ontbrekend"),
    "incomplete": (
        "incomplete: the sum of the members that had a value (see coverage)",
        "onvolledig: de som van de deeleenheden met een waarde (zie dekking)",
    ),
}
assert set(STATUS_LABELS) == set(PUBLISHED_STATUSES)

GEOGRAPHY_SCHEME_TITLE = {
    "nl": "Datapedia: geografische eenheden",
    "en": "Datapedia: geographic units",
}
STATUS_SCHEME_TITLE = {
    "nl": "Datapedia: status van een waarneming",
    "en": "Datapedia: observation status",
}

# What the Data Cube asks of each component property besides the catalogue's description.
_RANGES: dict[str, URIRef] = {
    "indicator": SKOS.Concept,
    "geography": SKOS.Concept,
    "period": RDFS.Literal,
    "value": XSD.decimal,
    "status": SKOS.Concept,
    "unit-of-measure": RDFS.Literal,
    "coverage": XSD.decimal,
}
assert set(_RANGES) == set(dcat.COMPONENT_NAMES)

PREFIXES = {
    "qb": str(QB),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "skos": str(SKOS),
    "xsd": str(XSD),
    "dct": str(DCTERMS),
    "owl": str(OWL),
    "sdmx-concept": str(vocab.SDMX_CONCEPT),
}


def negotiate(accept: str | None) -> CubeFormat:
    """Turtle or N-Triples by ``Accept`` (Turtle when anything goes); NotAcceptable else."""
    if not accept or not accept.strip():
        return FORMATS["ttl"]
    chosen = choose(accept, BY_MEDIA_TYPE, WILDCARDS)
    if chosen is not None:
        return chosen
    raise NotAcceptable(
        f"cannot produce {accept}; supported media types: {TURTLE}, {N_TRIPLES}",
        supported=[TURTLE, N_TRIPLES],
    )


def format_of(extension: str) -> CubeFormat:
    fmt = FORMATS.get(extension)
    if fmt is None:
        raise NotFound(
            f"no observations in format {extension!r}; available: {', '.join(sorted(FORMATS))}"
        )
    return fmt


def scheme_uri(uris: Uris, key: str) -> URIRef:
    return URIRef(f"{uris.base}/id/conceptscheme/{key}")


def status_uri(uris: Uris, status: str) -> URIRef:
    return URIRef(f"{uris.base}/id/{STATUS_KIND}/{status}")


def document_url(base: str, dataset_id: str, extension: str | None = None) -> str:
    """Where the dataset's cube is served; without an extension, by content negotiation."""
    path = f"{base}/catalog/datasets/{quote(dataset_id, safe='')}/observations"
    return f"{path}.{extension}" if extension else path


def observation_uri(document: str, record: Record) -> str:
    """An observation's URI: a fragment of the cube's document, keyed by its dimensions."""
    key = "/".join(
        _part(part)
        for part in (record["indicator"], record["level"], record["code"], record["period"])
    )
    return f"{document}#{key}"


# --- the Data Cube's additions to the catalogue's description -------------------------------


def add_component_details(graph: Graph, uris: Uris) -> None:
    """Ranges and code lists of the component properties (in any graph that describes them)."""
    for name in dcat.COMPONENT_NAMES:
        node = uris.component_property(name)
        graph.add((node, RDFS.range, _RANGES[name]))
    graph.add(
        (uris.component_property("geography"), QB.codeList, scheme_uri(uris, GEOGRAPHY_SCHEME))
    )
    graph.add((uris.component_property("status"), QB.codeList, scheme_uri(uris, STATUS_SCHEME)))
    _describe_scheme(graph, uris, GEOGRAPHY_SCHEME)
    _describe_scheme(graph, uris, STATUS_SCHEME)


def _describe_scheme(graph: Graph, uris: Uris, key: str) -> URIRef:
    node = scheme_uri(uris, key)
    titles = GEOGRAPHY_SCHEME_TITLE if key == GEOGRAPHY_SCHEME else STATUS_SCHEME_TITLE
    graph.add((node, RDF.type, SKOS.ConceptScheme))
    for language, text in titles.items():
        graph.add((node, DCTERMS.title, Literal(text, lang=language)))
        graph.add((node, SKOS.prefLabel, Literal(text, lang=language)))
    return node


def _describe_status(graph: Graph, uris: Uris, status: str) -> URIRef:
    node = status_uri(uris, status)
    scheme = scheme_uri(uris, STATUS_SCHEME)
    en, nl = STATUS_LABELS[status]
    graph.add((node, RDF.type, SKOS.Concept))
    graph.add((node, SKOS.inScheme, scheme))
    graph.add((scheme, SKOS.hasTopConcept, node))
    graph.add((node, SKOS.topConceptOf, scheme))
    graph.add((node, SKOS.notation, Literal(status)))
    graph.add((node, SKOS.prefLabel, Literal(en, lang="en")))
    graph.add((node, SKOS.prefLabel, Literal(nl, lang="nl")))
    return node


def in_geography_scheme(graph: Graph, uris: Uris, unit: URIRef) -> Graph:
    """A geographic unit's own document, with the unit in the geography code list."""
    graph.add((unit, SKOS.inScheme, scheme_uri(uris, GEOGRAPHY_SCHEME)))
    _describe_scheme(graph, uris, GEOGRAPHY_SCHEME)
    return graph


# --- documents of the code lists and of the component properties ----------------------------


def scheme_graph(uris: Uris, key: str) -> Graph:
    """A code list of the cube: the geography (its members are the geographic units, each
    saying ``skos:inScheme`` in its own document) or the observation statuses (all listed)."""
    if key not in SCHEME_KEYS:
        raise NotFound(f"no concept scheme {key!r}")
    graph = _graph()
    _describe_scheme(graph, uris, key)
    if key == STATUS_SCHEME:
        for status in STATUS_LABELS:
            _describe_status(graph, uris, status)
    return graph


def status_graph(uris: Uris, status: str) -> Graph:
    if status not in STATUS_LABELS:
        raise NotFound(
            f"no observation status {status!r}; known: {', '.join(STATUS_LABELS)}",
        )
    graph = _graph()
    _describe_scheme(graph, uris, STATUS_SCHEME)
    _describe_status(graph, uris, status)
    return graph


def with_component_details(graph: Graph, uris: Uris) -> Graph:
    add_component_details(graph, uris)
    return graph


def _graph() -> Graph:
    graph = Graph()
    for prefix, namespace in vocab.PREFIXES.items():
        graph.bind(prefix, namespace, override=True)
    return graph


# --- the cube of one dataset ----------------------------------------------------------------


def head_graph(session: Session, uris: Uris, dataset: Dataset) -> Graph:
    """Everything but the observations: the data set, its structure with the component
    properties, and the code lists with the indicator and status concepts."""
    builder = dcat._Builder(session, uris)
    graph = builder.graph
    node = uris.dataset(dataset.id)
    graph.add((node, RDF.type, QB.DataSet))
    graph.add((node, QB.structure, builder.structure(dataset)))
    for language, text in {"nl": dataset.title_nl, "en": dataset.title_en}.items():
        graph.add((node, RDFS.label, Literal(text, lang=language)))
    graph.add((node, DCTERMS.identifier, Literal(dataset.id)))
    add_component_details(graph, uris)
    for indicator in catalogue_repository.indicators_of_dataset(session, dataset.id):
        builder.indicator(indicator)
    for status in STATUS_LABELS:
        _describe_status(graph, uris, status)
    return graph


_PERIOD_TYPES = (
    (re.compile(r"^\d{4}$"), XSD.gYear),
    (re.compile(r"^\d{4}-\d{2}$"), XSD.gYearMonth),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), XSD.date),
)


def period_literal(period: str) -> ox.Literal:
    for pattern, datatype in _PERIOD_TYPES:
        if pattern.match(period):
            return ox.Literal(period, datatype=ox.NamedNode(str(datatype)))
    return ox.Literal(period)


def decimal_text(value: float) -> str:
    """A value as an ``xsd:decimal`` lexical form (no exponent)."""
    if value == int(value) and abs(value) < 1e18:
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(value, "f").rstrip("0").rstrip(".")
    return text


class _Observations:
    """The observations of one dataset as N-Triples text, read row by row from the published
    values, with each code's concept description the first time it is used. Every term is
    written by pyoxigraph (``str`` of an Oxigraph term is its N-Triples form); the terms that
    repeat (predicates, indicators, units, periods, statuses) are written once and reused."""

    def __init__(self, session: Session, uris: Uris, dataset: Dataset, document: str) -> None:
        self.session = session
        self.uris = uris
        self.dataset = dataset
        self.document = document
        self.query = stats_service.whole_dataset_query(session, dataset.id)

        def nt(uri: object) -> str:
            return str(ox.NamedNode(str(uri)))

        # An observation's two fixed triples, after its subject.
        self.typed = f" {nt(RDF.type)} {nt(QB.Observation)} .\n"
        self.in_dataset = f" {nt(QB.dataSet)} {nt(uris.dataset(dataset.id))} .\n"
        self.p = {name: nt(uris.component_property(name)) for name in dcat.COMPONENT_NAMES}
        self.decimal = ox.NamedNode(str(XSD.decimal))
        self.unit_triples = (
            nt(RDF.type),
            nt(SKOS.Concept),
            nt(DCTERMS.Location),
            nt(SKOS.inScheme),
            nt(scheme_uri(uris, GEOGRAPHY_SCHEME)),
            nt(SKOS.prefLabel),
            nt(SKOS.notation),
            nt(OWL.sameAs),
        )
        self.indicators: dict[str, str] = {}
        self.units: dict[tuple[str, str], tuple[str, str]] = {}
        self.periods: dict[str, tuple[str, str]] = {}
        self.statuses = {s: nt(status_uri(uris, s)) for s in STATUS_LABELS}
        self.measures = {i.id: str(ox.Literal(i.unit_of_measure)) for i in self.query.indicators}
        self.skipped = 0

    def rows(self) -> Iterator[Any]:
        """The published rows, in the records' order (indicator, period, level, unit)."""
        wanted = stats_service.published_filter(self.query, None)
        # Core rows (not ORM ones): a third faster on a whole dataset. The options go on the
        # statement: on the connection they would stay for every later statement of the
        # session (PostgreSQL would wrap even a ROLLBACK TO SAVEPOINT in a cursor).
        stmt = stats_repository.published_query(wanted).execution_options(
            stream_results=True, yield_per=5000
        )
        return iter(self.session.connection().execute(stmt))

    def _unit(self, level: str, code: str, name: str, out: list[str]) -> tuple[str, str]:
        """The unit's term and key part; its concept's triples the first time."""
        node = str(ox.NamedNode(str(self.uris.geo_unit(level, code))))
        a, concept, location, in_scheme, scheme, label, notation, same_as = self.unit_triples
        out.append(
            f"{node} {a} {concept} .\n{node} {a} {location} .\n"
            f"{node} {in_scheme} {scheme} .\n"
            f"{node} {label} {ox.Literal(name, language='nl')} .\n"
            f"{node} {notation} {ox.Literal(code)} .\n"
        )
        if level == "municipality":
            registry = vocab.municipality_uri(code)
            if registry is not None:
                out.append(f"{node} {same_as} {ox.NamedNode(str(registry))} .\n")
        found = self.units[(level, code)] = (node, f"{_part(level)}/{_part(code)}")
        return found

    def chunks(self) -> Iterator[str]:
        """N-Triples text, one chunk per CHUNK observations."""
        out: list[str] = []
        count = 0
        p = self.p
        p_indicator, p_geography, p_period = p["indicator"], p["geography"], p["period"]
        p_value, p_status, p_unit, p_coverage = (
            p["value"],
            p["status"],
            p["unit-of-measure"],
            p["coverage"],
        )
        typed, in_dataset = self.typed, self.in_dataset
        decimal, statuses, measures = self.decimal, self.statuses, self.measures
        indicators, units, periods = self.indicators, self.units, self.periods
        document = ox.NamedNode(self.document).value
        for indicator_id, period, level, _, code, name, value, status, coverage, _ in self.rows():
            if value is None:
                self.skipped += 1
                continue
            indicator = indicators.get(indicator_id)
            if indicator is None:
                indicator = indicators[indicator_id] = str(
                    ox.NamedNode(str(self.uris.indicator(indicator_id)))
                )
            unit = units.get((level, code)) or self._unit(level, code, name, out)
            period_term = periods.get(period)
            if period_term is None:
                period_term = periods[period] = (str(period_literal(period)), _part(period))
            key = f"{_part(indicator_id)}/{unit[1]}/{period_term[1]}"
            # The document's IRI was checked by Oxigraph, the key is percent-encoded.
            s = f"<{document}#{key}>"
            number = ox.Literal(decimal_text(value), datatype=decimal)
            out.append(
                f"{s}{typed}{s}{in_dataset}"
                f"{s} {p_indicator} {indicator} .\n{s} {p_geography} {unit[0]} .\n"
                f"{s} {p_period} {period_term[0]} .\n{s} {p_value} {number} .\n"
                f"{s} {p_status} {statuses[status]} .\n{s} {p_unit} {measures[indicator_id]} .\n"
            )
            if coverage is not None:
                share = ox.Literal(decimal_text(coverage), datatype=decimal)
                out.append(f"{s} {p_coverage} {share} .\n")
            count += 1
            if count >= CHUNK:
                yield "".join(out)
                out, count = [], 0
        if out:
            yield "".join(out)


_PARTS: dict[str, str] = {}


def _part(text: str) -> str:
    """A key part of an observation's fragment, percent-encoded (memoised: parts repeat)."""
    found = _PARTS.get(text)
    if found is None:
        found = quote(text, safe="-_.")
        if len(_PARTS) < 100_000:
            _PARTS[text] = found
    return found


def dataset_of(session: Session, dataset_id: str) -> Dataset:
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    return dataset


def stream(session: Session, uris: Uris, dataset: Dataset, fmt: CubeFormat) -> Iterator[bytes]:
    """The dataset's cube in chunks of bytes: the head, then the observations as read."""
    document = document_url(uris.base, dataset.id)
    terms = _Terms()
    head = [
        ox.Triple(terms(s), terms(p), terms(o))  # type: ignore[arg-type]
        for s, p, o in head_graph(session, uris, dataset)
    ]
    observations = _Observations(session, uris, dataset, document)
    if fmt.rdf_format == ox.RdfFormat.N_TRIPLES:
        yield ox.serialize(head, format=fmt.rdf_format) or b""
        for text in observations.chunks():
            yield text.encode()
        return
    writer = _TurtleChunks(PREFIXES)
    yield writer.write(head)
    for text in observations.chunks():
        yield writer.write(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES))


class _TurtleChunks:
    """Turtle written chunk by chunk by pyoxigraph: each chunk is a complete Turtle text with
    the ``@prefix`` lines it uses; those already declared by an earlier chunk are dropped, so
    the whole is one valid document."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes
        self.declared: set[bytes] = set()

    def write(self, triples: Iterable[ox.Triple]) -> bytes:
        text = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=self.prefixes) or b""
        start = 0
        kept: list[bytes] = []
        while text.startswith(b"@prefix ", start):
            end = text.index(b"\n", start) + 1
            line = text[start:end]
            if line not in self.declared:
                self.declared.add(line)
                kept.append(line)
            start = end
        return b"".join(kept) + text[start:]
