"""The catalogue as an RDF graph: DCAT-AP 3.0.1 and DCAT-AP-VL 3, with StatDCAT-AP and an RDF
Data Cube structure definition per dataset. Read side only; no FastAPI here.

The official shapes decide much of the form (see ``../shared/shacl/README.md``):

- ``range.ttl`` checks classes with ``sh:class``, so every linked node carries its ``rdf:type``
  in our own output, and where DCAT-AP and DCAT-AP-VL name different classes for the same node
  both are given (``foaf:Agent`` and ``dct:Agent``; ``dct:MediaTypeOrExtent`` and
  ``skos:Concept``; ``dct:RightsStatement`` and ``skos:Concept``).
- The controlled-vocabulary shapes need each EU concept's label and scheme as data; the
  concepts come from :mod:`app.rdf.vocab`.
- DCAT-AP-VL wants exactly one ``dct:identifier``, ``dct:publisher`` and ``dcat:contactPoint``
  on catalogue, datasets and data service, language-tagged titles and names, and
  ``xsd:dateTime`` on catalogue records.
- ``dct:source`` would have to point at a ``dcat:Dataset``; the source's web page is linked
  with ``prov:wasDerivedFrom`` instead, and described in a ``dct:ProvenanceStatement``.

Nodes get URIs under the base URL rather than blank nodes, so harvesters can match them across
pages and the dump.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalogue import repository
from app.catalogue.models import Dataset, DatasetRole, Indicator, Licence, Organisation
from app.catalogue.service import derived_out
from app.db.queries import as_utc
from app.downloads import service as downloads
from app.errors import NotFound
from app.geo import repository as geo_repository
from app.geo.schemas import UnitDetail, UnitOut
from app.rdf import cubestamps, quality, vocab
from app.rdf.schemas import Quality
from app.rdf.vocab import (
    ADMS,
    DCAT,
    DCAT_VERSION,
    DCATAP,
    DCTERMS,
    DQV,
    FOAF,
    GEO,
    GEODCATAP,
    OWL,
    PROV,
    QB,
    RDF,
    RDFS,
    SDMX_CONCEPT,
    SKOS,
    SPDX,
    STAT,
    VCARD,
    XSD,
    Concept,
    Labels,
    Resource,
    Scheme,
)

# --- the catalogue's own description --------------------------------------------------------

CATALOG_IDENTIFIER = "datapedia"
SERVICE_IDENTIFIER = "datapedia-api-v1"
CATALOG_PUBLISHER = "kenniscentrum-vlaamse-steden"
CATALOG_PUBLISHER_NAME: Labels = {
    "nl": "Kenniscentrum Vlaamse Steden",
    "en": "Knowledge Centre for Flemish Cities",
}
# The catalogue's metadata are published under CC0, as the Flemish open-data portal asks.
CATALOG_LICENCE = "cc0-1.0"
CATALOG_CONTACT_NAME = "Datapedia, Kenniscentrum Vlaamse Steden"
CATALOG_CONTACT_EMAIL = "datapedia@kenniscentrumvlaamsesteden.be"
# Datapedia's geography holds Flanders and Brussels.
CATALOG_SPATIAL = ("region:02000", "region:04000")
CATALOG_TITLE: Labels = {
    "nl": "Datapedia – open data van de Vlaamse centrumsteden",
    "en": "Datapedia – open data of the Flemish centre cities",
}
CATALOG_DESCRIPTION: Labels = {
    "nl": (
        "Catalogus van statistische datasets over de Vlaamse centrumsteden en hun stadsregio's, "
        "van statistische sector tot gewest, met de definities van de indicatoren (de "
        "Datapedia). Uitgegeven door het Kenniscentrum Vlaamse Steden; de steden zijn "
        "mede-eigenaar en leverancier van hun gegevens."
    ),
    "en": (
        "Catalogue of statistical datasets on the Flemish centre cities and their city-regions, "
        "from statistical sector to region, with the definitions of the indicators (the "
        "Datapedia). Published by the Knowledge Centre for Flemish Cities; the cities co-own "
        "and supply their data."
    ),
}
SERVICE_TITLE: Labels = {"nl": "Datapedia-API", "en": "Datapedia API"}
SERVICE_DESCRIPTION: Labels = {
    "nl": (
        "HTTP/JSON-API voor de catalogus en de waarnemingen (JSON, CSV en JSON-stat), "
        "geaggregeerd naar elk geografisch niveau en naar stadsregio's."
    ),
    "en": (
        "HTTP/JSON API for the catalogue and the observations (JSON, CSV and JSON-stat), "
        "aggregated to any geographic level and to city-regions."
    ),
}
SERVICE_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "nl": ("statistiek", "open data", "centrumsteden", "statistische sector"),
    "en": ("statistics", "open data", "centre cities", "statistical sector"),
}
# The service's standing theme; the themes of the datasets it serves are added to it.
SERVICE_THEME = "REGI"
INDICATOR_SCHEME_TITLE: Labels = {
    "nl": "Datapedia: definities van de indicatoren",
    "en": "Datapedia: indicator definitions",
}
INDICATOR_SCHEME_DESCRIPTION: Labels = {
    "nl": "De indicatoren van de Datapedia, met hun definitie, eenheid en aggregatieregel.",
    "en": "The Datapedia's indicators, with their definition, unit and aggregation rule.",
}
# The language of the data themselves (unit names are Dutch); the metadata are bilingual.
DATASET_LANGUAGE = "nl"
CATALOG_LANGUAGES = ("nl", "en")
BRUSSELS = ZoneInfo("Europe/Brussels")


# What one may do with a dataset's values, by access level (README: access levels).
RIGHTS: dict[str, dict[str, str]] = {
    "public": {
        "nl": "Open data: vrij te hergebruiken onder de licentie van de distributie.",
        "en": "Open data: free to reuse under the distribution's licence.",
    },
    "restricted": {
        "nl": "Waarden alleen met een API-sleutel en toegangsrecht; de metadata zijn open.",
        "en": "Values only with an API key and a grant; the metadata are open.",
    },
    "non_public": {
        "nl": "Waarden alleen voor de eigenaars en leveranciers van de dataset; geen "
        "toegangsrecht opent ze. De metadata zijn open.",
        "en": "Values only for the dataset's owners and suppliers; no grant opens them. The "
        "metadata are open.",
    },
}


@dataclass(frozen=True)
class Uris:
    """The URIs Datapedia mints, under ``base`` (``settings.base_url``, no trailing slash)."""

    base: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", self.base.rstrip("/"))

    def catalog(self) -> URIRef:
        return URIRef(f"{self.base}/id/catalog")

    def dataset(self, dataset_id: str) -> URIRef:
        return URIRef(f"{self.base}/id/dataset/{dataset_id}")

    def record(self, dataset_id: str) -> URIRef:
        return URIRef(f"{self.base}/id/record/{dataset_id}")

    def distribution(self, dataset_id: str, fmt: str) -> URIRef:
        return URIRef(f"{self.base}/id/distribution/{dataset_id}/{fmt}")

    def data_service(self) -> URIRef:
        return URIRef(f"{self.base}/id/service/api")

    def organisation(self, organisation_id: str) -> URIRef:
        return URIRef(f"{self.base}/id/organisation/{organisation_id}")

    def indicator(self, indicator_id: str) -> URIRef:
        return URIRef(f"{self.base}/id/indicator/{indicator_id}")

    def indicator_scheme(self) -> URIRef:
        return URIRef(f"{self.base}/id/conceptscheme/datapedia")

    def structure(self, dataset_id: str) -> URIRef:
        return URIRef(f"{self.base}/id/dataset/{dataset_id}/structure")

    def component_property(self, name: str) -> URIRef:
        return URIRef(f"{self.base}/id/property/{name}")

    def metric(self, key: str) -> URIRef:
        """A metric or dimension of the metadata quality assessment (app.rdf.quality)."""
        return URIRef(f"{self.base}/id/metric/{key}")

    def geo_unit(self, level: str, code: str) -> URIRef:
        # One URI per level:code across geography versions (the Flemish registry does the
        # same for municipalities); its document describes the latest version holding it.
        return URIRef(f"{self.base}/id/{level}/{code}")


# --- public API -----------------------------------------------------------------------------


def catalog_graph(session: Session, uris: Uris, dataset_ids: Sequence[str] | None = None) -> Graph:
    """The catalogue node, its data service, and the given datasets (all when None) with
    their records, distributions, agents, structure and every linked node typed as the shapes
    require. The catalogue node lists only the given datasets/records (a page)."""
    if dataset_ids is None:
        datasets = repository.all_datasets(session, repository.datasets_query())
    else:
        datasets = _datasets_by_id(session, dataset_ids)
    builder = _Builder(session, uris)
    # A page (or an incremental harvest) describes the source datasets its derived ones
    # cite: dct:source's range is dcat:Dataset, and the document must conform on its own.
    builder.datasets(datasets, describe_sources=dataset_ids is not None)
    builder.catalog(datasets)
    return builder.graph


def dataset_graph(session: Session, uris: Uris, dataset_id: str) -> Graph:
    """One dataset with everything it links to (for dereferencing ``/id/dataset/{id}``): its
    record, distributions, the data service, agents, structure, indicators and concepts."""
    dataset = repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    builder = _Builder(session, uris)
    builder.datasets([dataset], describe_sources=True)
    return builder.graph


def dataset_quality(session: Session, uris: Uris, dataset_id: str) -> Quality:
    """The dataset's MQA score, computed from its graph (the one ``/id/dataset/{id}``
    dereferences to)."""
    dataset = repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    builder = _Builder(session, uris)
    builder.datasets([dataset])
    return builder.scores[dataset.id]


def metric_graph(session: Session, uris: Uris, key: str) -> Graph:
    """A metric of the metadata quality assessment (``dqv:Metric``), a dimension
    (``dqv:Dimension``) or the total score."""
    if key not in quality.METRIC_KEYS:
        raise NotFound(f"no metric {key!r}; known: {', '.join(sorted(quality.METRIC_KEYS))}")
    builder = _Builder(session, uris)
    builder.metric(key)
    return builder.graph


def organisation_graph(session: Session, uris: Uris, organisation_id: str) -> Graph:
    """An organisation as ``foaf:Agent`` / ``dct:Agent``, and its roles on datasets."""
    organisation = repository.get_organisation(session, organisation_id)
    if organisation is None:
        raise NotFound(f"organisation {organisation_id!r} not found", organisation=organisation_id)
    builder = _Builder(session, uris)
    agent = builder.agent(organisation)
    for dataset_id, role in repository.roles_of_organisation(session, organisation_id):
        predicate = _ROLE_PROPERTIES.get(role)
        if predicate is not None:
            builder.add(uris.dataset(dataset_id), predicate, agent)
    return builder.graph


def indicator_graph(session: Session, uris: Uris, indicator_id: str) -> Graph:
    """An indicator as a ``skos:Concept`` in the Datapedia scheme, with the datasets that
    carry it (``dct:subject``, as in the catalogue)."""
    indicator = repository.get_indicator(session, indicator_id)
    if indicator is None:
        raise NotFound(f"indicator {indicator_id!r} not found", indicator=indicator_id)
    builder = _Builder(session, uris)
    concept = builder.indicator(indicator)
    for dataset_id in repository.datasets_of_indicator(session, indicator_id):
        builder.add(uris.dataset(dataset_id), DCTERMS.subject, concept)
    return builder.graph


def service_graph(session: Session, uris: Uris) -> Graph:
    """The data service with every dataset it serves (for ``/id/service/api``)."""
    builder = _Builder(session, uris)
    datasets = repository.all_datasets(session, repository.datasets_query())
    builder.themes.update(theme for d in datasets for theme in d.themes or [])
    builder.service([d.id for d in datasets])
    return builder.graph


def indicator_scheme_graph(session: Session, uris: Uris) -> Graph:
    """The Datapedia concept scheme with all its indicators."""
    builder = _Builder(session, uris)
    builder.indicator_scheme()
    for indicator in session.scalars(repository.indicators_query()):
        builder.indicator(indicator)
    return builder.graph


def component_property_graph(session: Session, uris: Uris, name: str) -> Graph:
    """One Data Cube component property (dimension, measure or attribute)."""
    component = next((c for c in _COMPONENTS if c.name == name), None)
    if component is None:
        raise NotFound(
            f"no component property {name!r}; known: {', '.join(COMPONENT_NAMES)}",
        )
    builder = _Builder(session, uris)
    builder.component_property(component)
    return builder.graph


def geo_unit_graph(session: Session, uris: Uris, unit: UnitDetail) -> Graph:
    """A geographic unit as ``dct:Location`` and ``skos:Concept``, linked to the units that
    contain it, to its predecessors and successors, and (for a Flemish municipality) to the
    Flemish base registry's URI with ``owl:sameAs``."""
    builder = _Builder(session, uris)
    node = uris.geo_unit(unit.level, unit.code)
    builder.types(node, DCTERMS.Location, SKOS.Concept)
    labels: Labels = {"nl": unit.name}
    builder.texts(node, SKOS.prefLabel, labels)
    builder.texts(node, RDFS.label, labels)
    builder.add(node, SKOS.notation, Literal(unit.code))
    builder.add(node, DCTERMS.identifier, Literal(unit.id))
    if unit.level == "municipality":
        registry = vocab.municipality_uri(unit.code)
        if registry is not None:
            builder.add(node, OWL.sameAs, registry)
    for parent in unit.parents.values():
        builder.add(node, SKOS.broader, _unit_node(builder, parent))
    # A unit that kept its code is one URI in every version: it neither replaces nor is
    # replaced by itself.
    for successor in unit.successors:
        if (later := _unit_node(builder, successor)) != node:
            builder.add(node, DCTERMS.isReplacedBy, later)
    for predecessor in unit.predecessors:
        if (earlier := _unit_node(builder, predecessor)) != node:
            builder.add(node, DCTERMS.replaces, earlier)
    return builder.graph


def _unit_node(builder: _Builder, unit: UnitOut) -> URIRef:
    node = builder.uris.geo_unit(unit.level, unit.code)
    if builder.first_time(node):
        builder.types(node, DCTERMS.Location, SKOS.Concept)
        builder.texts(node, SKOS.prefLabel, {"nl": unit.name})
    return node


def _zoned(day: date, *, end: bool = False) -> Literal:
    """A day of a period as a date-time with its time zone (the Flemish portal wants one on
    every date): its first moment, or for an end its last, in Belgian time."""
    moment = time(23, 59, 59) if end else time(0, 0)
    return Literal(datetime.combine(day, moment, tzinfo=BRUSSELS))


# --- queries ----------------------------------------------------------------------------------
# The repository answers one dataset at a time (get_dataset, roles_of_dataset); a catalogue
# page needs up to hundreds, so these fetch what a page needs in one query each. Everything
# else comes from app.catalogue.repository.


def _datasets_by_id(session: Session, dataset_ids: Sequence[str]) -> list[Dataset]:
    """The datasets in the order asked; unknown ids are left out."""
    if not dataset_ids:
        return []
    found = {
        d.id: d for d in session.scalars(select(Dataset).where(Dataset.id.in_(list(dataset_ids))))
    }
    return [found[i] for i in dataset_ids if i in found]


def _roles_by_dataset(
    session: Session, dataset_ids: Sequence[str]
) -> dict[str, list[tuple[str, Organisation]]]:
    """Every role on the given datasets, with its organisation, per dataset."""
    result: dict[str, list[tuple[str, Organisation]]] = {}
    if not dataset_ids:
        return result
    stmt = (
        select(DatasetRole.dataset_id, DatasetRole.role, Organisation)
        .join(Organisation, Organisation.id == DatasetRole.organisation_id)
        .where(DatasetRole.dataset_id.in_(list(dataset_ids)))
        .order_by(DatasetRole.dataset_id, DatasetRole.role, Organisation.id)
    )
    for dataset_id, role, organisation in session.execute(stmt):
        result.setdefault(dataset_id, []).append((role, organisation))
    return result


def _catalogue_dates(session: Session) -> tuple[datetime | None, datetime | None]:
    """First issue and last modification over the whole catalogue (not only the page), so
    every page states the same dates for the one catalogue node."""
    row = session.execute(select(func.min(Dataset.issued), func.max(Dataset.modified))).one()
    return row[0], row[1]


# --- building ---------------------------------------------------------------------------------

# Our roles → the direct GeoDCAT-AP / DCAT properties that say the same as the qualified
# attribution, for harvesters that read only the simple form.
_ROLE_PROPERTIES: dict[str, URIRef] = {
    "owner": DCTERMS.rightsHolder,
    "publisher": DCTERMS.publisher,
    "supplier": GEODCATAP.resourceProvider,
    "originator": GEODCATAP.originator,
    "custodian": GEODCATAP.custodian,
}


@dataclass(frozen=True)
class _Format:
    key: str
    label: str
    media_type: str
    file_type: str
    standard: Resource | None
    description: Labels
    stored: str  # the stored download file (app.downloads; the cube dumps: app.rdf.cubefiles)
    # Served elsewhere than the stored downloads: the download URL's path under the base,
    # with {id} for the dataset id (the Data Cube dumps, app.rdf.cube).
    path: str | None = None


_FORMATS = (
    _Format(
        "csv",
        "CSV",
        "text/csv",
        "CSV",
        vocab.CSV_RFC4180,
        {
            "nl": "Alle gepubliceerde waarden als CSV (RFC 4180): één vlak record per regel, "
            "volgens het Table Schema van de download.",
            "en": "Every published value as CSV (RFC 4180): one flat record per line, "
            "following the download's Table Schema.",
        },
        downloads.CSV,
    ),
    _Format(
        "json",
        "JSON",
        "application/json",
        "JSON",
        None,
        {
            "nl": "Alle gepubliceerde waarden als JSON: een lijst van vlakke records.",
            "en": "Every published value as JSON: a list of flat records.",
        },
        downloads.JSON,
    ),
    _Format(
        "jsonstat",
        "JSON-stat",
        "application/json",
        "JSON",
        vocab.JSON_STAT,
        {
            "nl": "De waarnemingen als JSON-stat 2.0 (dimensies indicator, geografie, periode).",
            "en": "The observations as JSON-stat 2.0 (dimensions indicator, geography, period).",
        },
        downloads.JSONSTAT,
    ),
    _Format(
        "datapackage",
        "Data Package",
        "application/json",
        "JSON",
        vocab.DATA_PACKAGE,
        {
            "nl": "Frictionless Data Package: de CSV-download met zijn Table Schema en de "
            "metadata van de dataset.",
            "en": "Frictionless Data Package: the CSV download with its Table Schema and the "
            "dataset's metadata.",
        },
        downloads.PACKAGE,
    ),
    _Format(
        "cube-turtle",
        "RDF Data Cube, Turtle",
        "text/turtle",
        "RDF_TURTLE",
        vocab.DATA_CUBE,
        {
            "nl": "Alle gepubliceerde waarden als RDF Data Cube (qb:Observation) in Turtle, met "
            "de datastructuur en de codelijsten.",
            "en": "Every published value as an RDF Data Cube (qb:Observation) in Turtle, with "
            "the data structure and the code lists.",
        },
        downloads.CUBE_FILES["ttl"],
        "/catalog/datasets/{id}/observations.ttl",
    ),
    _Format(
        "cube-ntriples",
        "RDF Data Cube, N-Triples",
        "application/n-triples",
        "RDF_N_TRIPLES",
        vocab.DATA_CUBE,
        {
            "nl": "Alle gepubliceerde waarden als RDF Data Cube (qb:Observation) in N-Triples.",
            "en": "Every published value as an RDF Data Cube (qb:Observation) in N-Triples.",
        },
        downloads.CUBE_FILES["nt"],
        "/catalog/datasets/{id}/observations.nt",
    ),
)


@dataclass(frozen=True)
class _Component:
    name: str
    kind: URIRef  # qb:dimension, qb:measure or qb:attribute
    label: Labels
    comment: Labels
    concept: URIRef | None
    required: bool = True


_COMPONENTS = (
    _Component(
        "geography",
        QB.dimension,
        {"nl": "geografische eenheid", "en": "geographic unit"},
        {
            "nl": "De eenheid (niveau:code) in de geografische versie van de dataset.",
            "en": "The unit (level:code) in the dataset's version of the geography.",
        },
        SDMX_CONCEPT.refArea,
    ),
    _Component(
        "period",
        QB.dimension,
        {"nl": "periode", "en": "period"},
        {
            "nl": "De referentieperiode: een jaar, of een datum voor een stand.",
            "en": "The reference period: a year, or a date for a stock.",
        },
        SDMX_CONCEPT.refPeriod,
    ),
    _Component(
        "indicator",
        QB.dimension,
        {"nl": "indicator", "en": "indicator"},
        {
            "nl": "De indicator uit de Datapedia.",
            "en": "The indicator from the Datapedia.",
        },
        None,
    ),
    _Component(
        "value",
        QB.measure,
        {"nl": "waarde", "en": "value"},
        {"nl": "De waarde van de indicator.", "en": "The indicator's value."},
        SDMX_CONCEPT.obsValue,
    ),
    _Component(
        "status",
        QB.attribute,
        {"nl": "status", "en": "observation status"},
        {
            "nl": "Normaal, voorlopig, geschat, vertrouwelijk, niet van toepassing of ontbrekend.",
            "en": "Normal, provisional, estimated, confidential, not applicable or missing.",
        },
        SDMX_CONCEPT.obsStatus,
    ),
    _Component(
        "unit-of-measure",
        QB.attribute,
        {"nl": "meeteenheid", "en": "unit of measure"},
        {"nl": "De eenheid van de waarde.", "en": "The unit of the value."},
        SDMX_CONCEPT.unitMeasure,
    ),
    _Component(
        "coverage",
        QB.attribute,
        {"nl": "dekking", "en": "coverage"},
        {
            "nl": "Voor afgeleide waarden: het aandeel van de deeleenheden met een waarde.",
            "en": "For derived values: the share of member units that had a value.",
        },
        None,
        required=False,
    ),
)


COMPONENT_NAMES = tuple(component.name for component in _COMPONENTS)
DISTRIBUTION_KEYS = tuple(fmt.key for fmt in _FORMATS)


class _Builder:
    """Adds nodes to one graph; describes each shared node (agent, concept, place) once."""

    def __init__(self, session: Session, uris: Uris) -> None:
        self.session = session
        self.uris = uris
        self.graph = Graph()
        for prefix, namespace in vocab.PREFIXES.items():
            self.graph.bind(prefix, namespace, override=True)
        self._described: set[URIRef] = set()
        self._places: dict[tuple[str, str], URIRef] = {}
        self._licences: dict[str, Licence] | None = None
        self.files: dict[tuple[str, str], downloads.StoredFile] = {}
        self.scores: dict[str, Quality] = {}
        self.themes: set[str] = set()
        self.sources: dict[str, list[str]] = {}

    # -- primitives --

    def add(self, subject: Node, predicate: Node, obj: Node) -> None:
        self.graph.add((subject, predicate, obj))

    def first_time(self, node: URIRef) -> bool:
        if node in self._described:
            return False
        self._described.add(node)
        return True

    def texts(self, subject: Node, predicate: Node, labels: Labels) -> None:
        for language, text in labels.items():
            if text:
                self.add(subject, predicate, Literal(text, lang=language))

    def types(self, subject: Node, *classes: URIRef) -> None:
        for cls in classes:
            self.add(subject, RDF.type, cls)

    # -- vocabulary --

    def scheme(self, scheme: Scheme) -> URIRef:
        if self.first_time(scheme.uri):
            self.types(scheme.uri, SKOS.ConceptScheme)
            self.texts(scheme.uri, DCTERMS.title, scheme.title)
            self.texts(scheme.uri, SKOS.prefLabel, scheme.title)
        return scheme.uri

    def concept(self, concept: Concept) -> URIRef:
        if self.first_time(concept.uri):
            self.types(concept.uri, SKOS.Concept, *concept.types)
            self.texts(concept.uri, SKOS.prefLabel, concept.label)
            self.add(concept.uri, SKOS.inScheme, self.scheme(concept.scheme))
            if concept.notation:
                self.add(concept.uri, SKOS.notation, Literal(concept.notation))
        return concept.uri

    def standard(self, standard: Resource) -> URIRef:
        if self.first_time(standard.uri):
            self.types(standard.uri, DCTERMS.Standard)
            self.texts(standard.uri, DCTERMS.title, standard.label)
            if standard.version:
                self.add(standard.uri, OWL.versionInfo, Literal(standard.version))
        return standard.uri

    def media_type(self, media_type: str) -> URIRef:
        resource = vocab.MEDIA_TYPES[media_type]
        if self.first_time(resource.uri):
            self.types(resource.uri, DCTERMS.MediaType)
            self.texts(resource.uri, RDFS.label, resource.label)
        return resource.uri

    def document(self, url: str) -> URIRef:
        node = self.web(url)
        self.types(node, FOAF.Document)
        return node

    def web(self, url: str) -> URIRef:
        """A URL value (download, access, landing page, e-mail, endpoint), typed
        ``rdfs:Resource``: DCAT-AP-VL's shapes ask for that class, and Metadata Vlaanderen
        validates without the RDFS inference that would add it."""
        node = URIRef(url)
        self.add(node, RDF.type, RDFS.Resource)
        return node

    # -- agents, contacts, licences, places --

    def agent(self, organisation: Organisation) -> URIRef:
        """The organisation under the Flemish organisation register's URI where its OVO code
        is known (what the Flemish portal matches publishers on), our own URI otherwise;
        either way linked to our URI, whose document lists its roles."""
        own = self.uris.organisation(organisation.id)
        node = vocab.organisation_uri(organisation.ovo_code) if organisation.ovo_code else own
        if not self.first_time(node):
            return node
        if node != own:
            # Both ways: whoever dereferences either URI finds the other as a subject.
            self.add(node, OWL.sameAs, own)
            self.add(own, OWL.sameAs, node)
        self.types(node, FOAF.Agent, DCTERMS.Agent, FOAF.Organization)
        self.texts(node, FOAF.name, {"nl": organisation.name_nl, "en": organisation.name_en})
        self.add(node, DCTERMS.identifier, Literal(organisation.id))
        kind = vocab.publisher_type(organisation.kind)
        if kind is not None:
            self.add(node, DCTERMS.type, self.concept(kind))
        if organisation.homepage:
            self.add(node, FOAF.homepage, URIRef(organisation.homepage))
        if organisation.email:
            self.add(node, FOAF.mbox, URIRef(f"mailto:{organisation.email}"))
        if organisation.ovo_code:
            self._identifier(node, "ovo", organisation.ovo_code, "Organisatieregister Vlaanderen")
        if organisation.nis_code:
            self._identifier(node, "nis", organisation.nis_code, "Statbel (REFNIS)")
        return node

    def _identifier(self, owner: URIRef, key: str, notation: str, agency: str) -> None:
        node = URIRef(f"{owner}#{key}")
        self.add(owner, ADMS.identifier, node)
        self.types(node, ADMS.Identifier)
        self.add(node, SKOS.notation, Literal(notation))
        self.add(node, ADMS.schemaAgency, Literal(agency))

    def publisher_fallback(self) -> URIRef:
        """The catalogue's publisher, from the database, or from the constants when the
        organisation is not loaded (a bare test database)."""
        organisation = repository.get_organisation(self.session, CATALOG_PUBLISHER)
        if organisation is not None:
            return self.agent(organisation)
        node = self.uris.organisation(CATALOG_PUBLISHER)
        if self.first_time(node):
            self.types(node, FOAF.Agent, DCTERMS.Agent, FOAF.Organization)
            self.texts(node, FOAF.name, CATALOG_PUBLISHER_NAME)
            self.add(node, DCTERMS.identifier, Literal(CATALOG_PUBLISHER))
        return node

    def contact(self, node: URIRef, name: str, email: str | None) -> URIRef:
        self.types(node, VCARD.Organization, VCARD.Kind)
        self.add(node, VCARD.fn, Literal(name))
        if email:
            self.add(node, VCARD.hasEmail, self.web(f"mailto:{email}"))
        return node

    def licence(self, licence_id: str) -> URIRef | None:
        if self._licences is None:
            self._licences = {lic.id: lic for lic in repository.list_licences(self.session)}
        licence = self._licences.get(licence_id)
        if licence is None:
            return None
        flemish, european = vocab.LICENCE_EQUIVALENTS.get(licence.id, (None, None))
        # The Flemish portal keeps its own licence URIs; the others name the same licence.
        node = URIRef(flemish or european or licence.uri)
        if self.first_time(node):
            self.types(node, DCTERMS.LicenseDocument)
            # Sorted: a set's order changes with each process's hash seed, and so would the
            # document's bytes and its ETag from one worker to the next.
            for same in sorted({u for u in (licence.uri, european) if u and u != str(node)}):
                self.add(node, SKOS.exactMatch, URIRef(str(same)))
            titles = {"nl": licence.title_nl, "en": licence.title_en}
            self.texts(node, DCTERMS.title, titles)
            self.texts(node, RDFS.label, titles)
            self.texts(
                node,
                DCTERMS.description,
                {"nl": licence.description_nl or "", "en": licence.description_en or ""},
            )
            self.add(
                node,
                DCTERMS.type,
                self.concept(vocab.licence_type(licence.attribution_required)),
            )
        return node

    def place(self, unit: str, version: str) -> URIRef:
        """A ``level:code`` unit as a ``dct:Location``: NUTS for regions and provinces, the
        Flemish registry for municipalities, our own geo URI for the rest."""
        key = (unit, version)
        cached = self._places.get(key)
        if cached is not None:
            return cached
        known = vocab.place(unit)
        if known is not None:
            node, labels = known.uri, dict(known.label)
            bbox, centroid = known.bbox, known.centroid
        else:
            level, _, code = unit.partition(":")
            geo = geo_repository.get_unit(self.session, level, code, version)
            external = vocab.municipality_uri(code) if level == "municipality" else None
            node = external or self.uris.geo_unit(level, code)
            # Unit names are the official (Dutch) names.
            labels = {"nl": geo.name if geo is not None else unit}
            bbox = centroid = None
        if self.first_time(node):
            self.types(node, DCTERMS.Location)
            self.texts(node, RDFS.label, labels)
            self.texts(node, SKOS.prefLabel, labels)
            if bbox:
                self.add(node, DCAT.bbox, Literal(bbox, datatype=GEO.wktLiteral))
            if centroid:
                self.add(node, DCAT.centroid, Literal(centroid, datatype=GEO.wktLiteral))
        self._places[key] = node
        return node

    # -- indicators and structure --

    def indicator_scheme(self) -> URIRef:
        node = self.uris.indicator_scheme()
        if self.first_time(node):
            self.types(node, SKOS.ConceptScheme)
            self.texts(node, DCTERMS.title, INDICATOR_SCHEME_TITLE)
            self.texts(node, SKOS.prefLabel, INDICATOR_SCHEME_TITLE)
            self.texts(node, DCTERMS.description, INDICATOR_SCHEME_DESCRIPTION)
        return node

    def indicator(self, indicator: Indicator) -> URIRef:
        node = self.uris.indicator(indicator.id)
        if not self.first_time(node):
            return node
        scheme = self.indicator_scheme()
        self.types(node, SKOS.Concept)
        self.texts(node, SKOS.prefLabel, {"nl": indicator.label_nl, "en": indicator.label_en})
        self.texts(
            node, SKOS.definition, {"nl": indicator.definition_nl, "en": indicator.definition_en}
        )
        self.texts(
            node,
            SKOS.scopeNote,
            {"nl": indicator.caveats_nl or "", "en": indicator.caveats_en or ""},
        )
        self.add(node, SKOS.inScheme, scheme)
        self.add(node, SKOS.topConceptOf, scheme)
        self.add(scheme, SKOS.hasTopConcept, node)
        self.add(node, SKOS.notation, Literal(indicator.id))
        self.add(node, DCTERMS.identifier, Literal(indicator.id))
        if indicator.formula:
            self.add(node, SKOS.note, Literal(indicator.formula))
        derived = derived_out(self.session, indicator)
        if derived is None:
            if indicator.source_id:
                source = repository.get_organisation(self.session, indicator.source_id)
                if source is not None:
                    self.add(node, PROV.wasAttributedTo, self.agent(source))
            return node
        # A derived indicator across datasets: the formula in words, its parts (as concepts,
        # read from the datasets named in the words), the sources of all parts.
        self.texts(
            node,
            SKOS.note,
            {"nl": derived.formula_text.nl or "", "en": derived.formula_text.en or ""},
        )
        for part in [*derived.formula.numerator, *derived.formula.denominator]:
            described = repository.get_indicator(self.session, part.indicator)
            if described is None:
                continue
            concept = self.indicator(described)
            self.add(node, SKOS.related, concept)
            self.add(node, PROV.wasDerivedFrom, concept)
        for ref in derived.sources:
            organisation = repository.get_organisation(self.session, ref.id)
            if organisation is not None:
                self.add(node, PROV.wasAttributedTo, self.agent(organisation))
        return node

    def component_property(self, component: _Component) -> URIRef:
        node = self.uris.component_property(component.name)
        if self.first_time(node):
            kind = {
                QB.dimension: QB.DimensionProperty,
                QB.measure: QB.MeasureProperty,
                QB.attribute: QB.AttributeProperty,
            }[component.kind]
            self.types(node, kind, QB.ComponentProperty, RDF.Property)
            self.texts(node, RDFS.label, component.label)
            self.texts(node, RDFS.comment, component.comment)
            if component.concept is not None:
                self.add(node, QB.concept, component.concept)
            if component.name == "indicator":
                self.add(node, QB.codeList, self.indicator_scheme())
        return node

    def structure(self, dataset: Dataset) -> URIRef:
        node = self.uris.structure(dataset.id)
        # DCAT-AP's dct:conformsTo wants a dct:Standard; the structure is one.
        self.types(node, QB.DataStructureDefinition, DCTERMS.Standard)
        titles = {
            "nl": f"Datastructuur van {dataset.title_nl}",
            "en": f"Data structure of {dataset.title_en}",
        }
        self.texts(node, DCTERMS.title, titles)
        self.texts(node, RDFS.label, titles)
        order = 0
        for component in _COMPONENTS:
            spec = URIRef(f"{node}#{component.name}")
            self.add(node, QB.component, spec)
            self.types(spec, QB.ComponentSpecification)
            self.add(spec, component.kind, self.component_property(component))
            if component.kind == QB.dimension:
                order += 1
                self.add(spec, QB.order, Literal(order, datatype=XSD.integer))
            elif component.kind == QB.attribute:
                self.add(spec, QB.componentRequired, Literal(component.required))
        return node

    # -- datasets --

    def datasets(self, datasets: Sequence[Dataset], *, describe_sources: bool = False) -> None:
        """The datasets with their records and distributions, then the data service that
        serves them; a handful of queries whatever the number of datasets."""
        ids = [d.id for d in datasets]
        # A dataset of derived indicators cites its source datasets (dct:source, whose range
        # is dcat:Dataset): a document that lacks them describes them in full (listed as the
        # catalogue's only on their own page).
        self.sources = repository.derived_sources_by_dataset(self.session) if ids else {}
        cited = (
            sorted({s for d in ids for s in self.sources.get(d, []) if s not in ids})
            if describe_sources
            else []
        )
        described = [*datasets, *_datasets_by_id(self.session, cited)]
        every = [d.id for d in described]
        roles = _roles_by_dataset(self.session, every)
        # Writes the files not yet written for the current revision, so that every
        # distribution states its byteSize and checksum (the seed writes them after an import).
        # Only files already written: a read never writes them (see refresh_stored_files).
        self.files = downloads.current_sizes(self.session, described, write_stale=False)
        # The Data Cube dumps are stored files too.
        self.files.update(cubestamps.stored_sizes(self.session, self.uris.base, described))
        indicator_ids = repository.indicator_ids_by_dataset(self.session) if ids else {}
        indicators = (
            {i.id: i for i in self.session.scalars(repository.indicators_query())} if ids else {}
        )
        for dataset in described:
            carried = [indicators[i] for i in indicator_ids.get(dataset.id, []) if i in indicators]
            self.dataset(dataset, roles.get(dataset.id, []), carried)
        # Records of the page's datasets only: a harvester counting dcat:CatalogRecord met
        # more of them than itemsPerPage (a cited source's record is on its own page).
        for dataset in datasets:
            self.record(dataset)
        self.service(ids)
        # Last, once the graph holds everything a harvester would read of each dataset.
        for dataset in datasets:
            self.quality(dataset)

    def dataset(
        self,
        dataset: Dataset,
        roles: Sequence[tuple[str, Organisation]],
        indicators: Sequence[Indicator],
    ) -> URIRef:
        node = self.uris.dataset(dataset.id)
        self.types(node, DCAT.Dataset)
        self.add(node, DCTERMS.identifier, Literal(dataset.id))
        self.texts(node, DCTERMS.title, {"nl": dataset.title_nl, "en": dataset.title_en})
        self.texts(
            node,
            DCTERMS.description,
            {"nl": dataset.description_nl, "en": dataset.description_en},
        )
        for language, keywords in (dataset.keywords or {}).items():
            for keyword in keywords:
                self.add(node, DCAT.keyword, Literal(keyword, lang=language))
        for theme in dataset.themes or []:
            self.themes.add(theme)
            self.add(node, DCAT.theme, self.concept(vocab.data_theme(theme)))
        self.add(node, DCTERMS.type, self.concept(vocab.DATASET_TYPE_STATISTICAL))
        self.add(
            node, DCAT.landingPage, self.document(f"{self.uris.base}/doc/dataset/{dataset.id}")
        )

        self._roles(node, roles)

        contact = URIRef(f"{node}#contact")
        self.add(node, DCAT.contactPoint, contact)
        self.contact(
            contact,
            dataset.contact_name or CATALOG_CONTACT_NAME,
            dataset.contact_email or (None if dataset.contact_name else CATALOG_CONTACT_EMAIL),
        )
        self.add(node, DCTERMS.accessRights, self.concept(vocab.access_right(dataset.access_level)))
        if dataset.frequency:
            self.add(
                node, DCTERMS.accrualPeriodicity, self.concept(vocab.frequency(dataset.frequency))
            )
        self.add(node, DCTERMS.language, self.concept(vocab.language(DATASET_LANGUAGE)))
        start, end = dataset.temporal_coverage
        if start or end:
            period = URIRef(f"{node}#temporal")
            self.add(node, DCTERMS.temporal, period)
            self.types(period, DCTERMS.PeriodOfTime)
            if start:
                self.add(period, DCAT.startDate, _zoned(start))
            if end:
                self.add(period, DCAT.endDate, _zoned(end, end=True))
        for unit in dataset.spatial or []:
            self.add(node, DCTERMS.spatial, self.place(unit, dataset.geo_version))
        self._provenance(node, dataset.source or {})
        for source in self.sources.get(dataset.id, []):
            self.add(node, DCTERMS.source, self.uris.dataset(source))
            self.add(node, PROV.wasDerivedFrom, self.uris.dataset(source))
        if dataset.version:
            self.add(node, DCAT_VERSION, Literal(dataset.version))
        self.add(node, DCTERMS.issued, Literal(as_utc(dataset.issued)))
        self.add(node, DCTERMS.modified, Literal(as_utc(dataset.modified)))

        # StatDCAT-AP and the Data Cube structure.
        self.add(node, DCTERMS.conformsTo, self.structure(dataset))
        for component in _COMPONENTS:
            if component.kind == QB.dimension:
                self.add(node, STAT.dimension, self.component_property(component))
            elif component.kind == QB.attribute:
                self.add(node, STAT.attribute, self.component_property(component))
        self.add(node, STAT.numSeries, Literal(len(indicators), datatype=XSD.integer))
        for indicator in indicators:
            self.add(node, DCTERMS.subject, self.indicator(indicator))

        self.add(node, RDFS.seeAlso, self.upload_schema(dataset))

        licence = self.licence(dataset.licence_id)
        for fmt in _FORMATS:
            self.add(node, DCAT.distribution, self.distribution(dataset, fmt, licence))
        return node

    def _roles(self, node: URIRef, roles: Sequence[tuple[str, Organisation]]) -> None:
        publisher: URIRef | None = None
        for role, organisation in roles:
            agent = self.agent(organisation)
            if role == "publisher":
                # Both profiles allow one publisher; the seeds guarantee one, and a second
                # would still be listed below as a qualified attribution.
                if publisher is None:
                    publisher = agent
                    self.add(node, DCTERMS.publisher, agent)
            else:
                self.add(node, _ROLE_PROPERTIES[role], agent)
            attribution = URIRef(f"{node}#attribution-{role}-{organisation.id}")
            self.add(node, PROV.qualifiedAttribution, attribution)
            self.types(attribution, PROV.Attribution)
            self.add(attribution, PROV.agent, agent)
            self.add(attribution, DCAT.hadRole, self.concept(vocab.role(role)))
        if publisher is None:
            self.add(node, DCTERMS.publisher, self.publisher_fallback())

    def _provenance(self, node: URIRef, source: Mapping[str, object]) -> None:
        title, url, attribution = source.get("title"), source.get("url"), source.get("attribution")
        text = str(attribution or title or "").strip()
        if text:
            statement = URIRef(f"{node}#provenance")
            self.add(node, DCTERMS.provenance, statement)
            self.types(statement, DCTERMS.ProvenanceStatement)
            # A citation as the source asks for it, quoted as is (it mixes languages).
            self.add(statement, RDFS.label, Literal(" ".join(text.split())))
            if url:
                self.add(statement, RDFS.seeAlso, URIRef(str(url)))
        if url:
            self.add(node, PROV.wasDerivedFrom, URIRef(str(url)))

    def distribution(self, dataset: Dataset, fmt: _Format, licence: URIRef | None) -> URIRef:
        node = self.uris.distribution(dataset.id, fmt.key)
        api = f"{self.uris.base}/api/v1/datasets/{dataset.id}/observations"
        files = downloads.downloads_path(self.uris.base, dataset.id)
        download = URIRef(
            f"{self.uris.base}{fmt.path.format(id=dataset.id)}"
            if fmt.path
            else f"{files}/{fmt.stored}"
        )
        self.types(node, DCAT.Distribution)
        self.add(node, DCTERMS.identifier, Literal(f"{dataset.id}/{fmt.key}"))
        self.texts(
            node,
            DCTERMS.title,
            {"nl": f"{dataset.title_nl} ({fmt.label})", "en": f"{dataset.title_en} ({fmt.label})"},
        )
        self.texts(node, DCTERMS.description, fmt.description)
        # Access: the API that also selects (indicator, level, unit, …); download: the file.
        self.add(node, DCAT.accessURL, self.web(api))
        self.add(node, DCAT.downloadURL, self.web(download))
        self.add(node, DCAT.mediaType, self.media_type(fmt.media_type))
        self.add(node, DCTERMS.format, self.concept(vocab.file_type(fmt.file_type)))
        if licence is not None:
            self.add(node, DCTERMS.license, licence)
        self.add(node, DCATAP.availability, self.concept(vocab.AVAILABILITY_STABLE))
        self.add(node, DCTERMS.issued, Literal(as_utc(dataset.issued)))
        self.add(node, DCTERMS.modified, Literal(as_utc(dataset.modified)))
        self.add(node, DCTERMS.rights, self.rights(dataset))
        stored = self.files.get((dataset.id, fmt.stored))
        # A file not yet written for this revision has no size yet. Nor is one stated of a
        # closed dataset: its size counts the values its pages do not count, and whoever
        # held the file once (a grant since revoked) could test a guessed change against
        # its checksum.
        if stored is not None and dataset.access_level == "public":
            self.add(
                node, DCAT.byteSize, Literal(stored.byte_size, datatype=XSD.nonNegativeInteger)
            )
            checksum = URIRef(f"{node}#checksum")
            self.add(node, SPDX.checksum, checksum)
            self.types(checksum, SPDX.Checksum)
            self.add(checksum, SPDX.algorithm, self.checksum_algorithm())
            self.add(checksum, SPDX.checksumValue, Literal(stored.sha256, datatype=XSD.hexBinary))
        if fmt.standard is not None:
            self.add(node, DCTERMS.conformsTo, self.standard(fmt.standard))
        if fmt.key == "csv":
            self.add(node, DCTERMS.conformsTo, self.download_schema(dataset))
        self.add(node, DCAT.accessService, self.uris.data_service())
        return node

    def checksum_algorithm(self) -> URIRef:
        # DCAT-AP 3.0.1's vocabulary shape wants the algorithm under https://spdx.org/rdf/terms
        # (the SPDX terms' own namespace is http://) and typed spdx:ChecksumAlgorithm.
        node = URIRef(vocab.SPDX_SHA256)
        if self.first_time(node):
            self.types(node, SPDX.ChecksumAlgorithm)
            self.texts(node, RDFS.label, {"en": "SHA-256"})
        return node

    def rights(self, dataset: Dataset) -> URIRef:
        """What one may do with the data, in words: the licence, and who may read it."""
        node = URIRef(f"{self.uris.dataset(dataset.id)}#rights")
        if self.first_time(node):
            self.types(node, DCTERMS.RightsStatement)
            self.texts(node, RDFS.label, RIGHTS[dataset.access_level])
        return node

    def download_schema(self, dataset: Dataset) -> URIRef:
        """The Frictionless Table Schema of the CSV download (schemas/downloads/)."""
        node = URIRef(f"{downloads.downloads_path(self.uris.base, dataset.id)}/{downloads.SCHEMA}")
        self.types(node, DCTERMS.Standard)
        self.texts(
            node,
            DCTERMS.title,
            {
                "nl": f"Table Schema van de CSV-download van {dataset.id}",
                "en": f"Table Schema of the CSV download of {dataset.id}",
            },
        )
        return node

    def upload_schema(self, dataset: Dataset) -> URIRef:
        """The Frictionless Table Schema suppliers upload against (schemas/tables/): how to
        supply the dataset, not what its distributions conform to."""
        node = URIRef(f"{self.uris.base}/api/v1/datasets/{dataset.id}/schema")
        self.types(node, DCTERMS.Standard)
        self.texts(
            node,
            DCTERMS.title,
            {
                "nl": f"Table Schema voor het aanleveren van {dataset.id}",
                "en": f"Table Schema for supplying {dataset.id}",
            },
        )
        return node

    def record(self, dataset: Dataset) -> URIRef:
        node = self.uris.record(dataset.id)
        issued, modified = as_utc(dataset.issued), as_utc(dataset.modified)
        self.types(node, DCAT.CatalogRecord)
        self.add(node, FOAF.primaryTopic, self.uris.dataset(dataset.id))
        self.add(node, DCTERMS.identifier, Literal(dataset.id))
        self.add(node, DCTERMS.issued, Literal(issued))
        self.add(node, DCTERMS.modified, Literal(modified))
        self.add(node, DCTERMS.conformsTo, self.standard(vocab.DCAT_AP_VL))
        self.add(node, ADMS.status, self.concept(vocab.change_type(modified > issued)))
        return node

    # -- metadata quality (DQV) --

    def metric(self, key: str) -> URIRef:
        """A metric of the assessment, in its dimension; a dimension; or the total score."""
        node = self.uris.metric(key)
        if not self.first_time(node):
            return node
        if key in quality.DIMENSIONS:
            self.types(node, DQV.Dimension)
            self.texts(node, SKOS.prefLabel, {"en": quality.DIMENSIONS[key]})
            self.add(
                node, SKOS.definition, Literal(f"MQA dimension, see {quality.METHOD}", lang="en")
            )
            return node
        self.types(node, DQV.Metric)
        self.add(node, DQV.expectedDataType, XSD.decimal)
        if key == quality.SCORE_METRIC:
            self.texts(node, SKOS.prefLabel, {"en": "MQA score (of 405 points)"})
            self.add(
                node,
                SKOS.definition,
                Literal(f"The sum of the MQA indicators' points, see {quality.METHOD}", lang="en"),
            )
            return node
        metric = next(m for m in quality.METRICS if m.key == key)
        self.texts(node, SKOS.prefLabel, {"en": metric.label})
        self.add(
            node,
            SKOS.definition,
            Literal(
                f"MQA indicator, at most {metric.maximum} points, computed on the "
                f"{metric.on}; see {quality.METHOD}",
                lang="en",
            ),
        )
        self.add(node, DQV.inDimension, self.metric(metric.dimension))
        return node

    def quality(self, dataset: Dataset) -> Quality:
        """The dataset's MQA score from the graph built so far, added to it as DQV quality
        measurements (one per indicator and one for the total)."""
        node = self.uris.dataset(dataset.id)
        status = quality.served_status(self.uris.base, {dataset.id: dataset.access_level})
        score = quality.assess(self.graph, node, status, lambda key: str(self.uris.metric(key)))
        self.scores[dataset.id] = score
        values = [(quality.SCORE_METRIC, score.total)] + [
            (indicator.metric, indicator.points)
            for dimension in score.dimensions
            for indicator in dimension.indicators
        ]
        for key, points in values:
            measurement = URIRef(f"{node}#quality-{key}")
            self.add(node, DQV.hasQualityMeasurement, measurement)
            self.types(measurement, DQV.QualityMeasurement)
            self.add(measurement, DQV.computedOn, node)
            self.add(measurement, DQV.isMeasurementOf, self.metric(key))
            self.add(
                measurement, DQV.value, Literal(Decimal(f"{points:.2f}"), datatype=XSD.decimal)
            )
        return score

    # -- service and catalogue --

    def service(self, dataset_ids: Iterable[str]) -> URIRef:
        node = self.uris.data_service()
        base = self.uris.base
        self.types(node, DCAT.DataService)
        self.add(node, DCTERMS.identifier, Literal(SERVICE_IDENTIFIER))
        self.texts(node, DCTERMS.title, SERVICE_TITLE)
        self.texts(node, DCTERMS.description, SERVICE_DESCRIPTION)
        for language, keywords in SERVICE_KEYWORDS.items():
            for keyword in keywords:
                self.add(node, DCAT.keyword, Literal(keyword, lang=language))
        self.add(node, DCAT.endpointURL, self.web(f"{base}/api/v1"))
        self.add(node, DCAT.endpointDescription, self.web(f"{base}/openapi.json"))
        self.add(node, DCAT.landingPage, self.document(f"{base}/docs"))
        self.add(node, DCTERMS.conformsTo, self.standard(vocab.OPENAPI))
        for code in ("JSON", "CSV"):
            self.add(node, DCTERMS.format, self.concept(vocab.file_type(code)))
        for theme in sorted(self.themes | {SERVICE_THEME}):
            self.add(node, DCAT.theme, self.concept(vocab.data_theme(theme)))
        for dataset_id in dataset_ids:
            self.add(node, DCAT.servesDataset, self.uris.dataset(dataset_id))
        self.add(node, DCTERMS.publisher, self.publisher_fallback())
        self.add(
            node,
            DCAT.contactPoint,
            self.contact(URIRef(f"{node}#contact"), CATALOG_CONTACT_NAME, CATALOG_CONTACT_EMAIL),
        )
        self.add(node, DCTERMS.accessRights, self.concept(vocab.access_right("public")))
        # The service adds no terms of its own: each dataset's licence is on its
        # distributions; the service description itself is open like the catalogue's.
        licence = self.licence(CATALOG_LICENCE)
        if licence is not None:
            self.add(node, DCTERMS.license, licence)
        return node

    def catalog(self, datasets: Sequence[Dataset]) -> URIRef:
        node = self.uris.catalog()
        base = self.uris.base
        self.types(node, DCAT.Catalog)
        self.add(node, DCTERMS.identifier, Literal(CATALOG_IDENTIFIER))
        self.texts(node, DCTERMS.title, CATALOG_TITLE)
        self.texts(node, DCTERMS.description, CATALOG_DESCRIPTION)
        self.add(node, DCTERMS.publisher, self.publisher_fallback())
        self.add(
            node,
            DCAT.contactPoint,
            self.contact(URIRef(f"{node}#contact"), CATALOG_CONTACT_NAME, CATALOG_CONTACT_EMAIL),
        )
        self.add(node, FOAF.homepage, self.document(f"{base}/"))
        for language in CATALOG_LANGUAGES:
            self.add(node, DCTERMS.language, self.concept(vocab.language(language)))
        licence = self.licence(CATALOG_LICENCE)
        if licence is not None:
            self.add(node, DCTERMS.license, licence)
        for unit in CATALOG_SPATIAL:
            self.add(node, DCTERMS.spatial, self.place(unit, ""))
        self.add(node, DCAT.themeTaxonomy, self.scheme(vocab.DATA_THEME_SCHEME))
        issued, modified = _catalogue_dates(self.session)
        if issued is not None:
            self.add(node, DCTERMS.issued, Literal(as_utc(issued)))
        if modified is not None:
            self.add(node, DCTERMS.modified, Literal(as_utc(modified)))
        self.add(node, DCAT.service, self.uris.data_service())
        for dataset in datasets:
            self.add(node, DCAT.dataset, self.uris.dataset(dataset.id))
            self.add(node, DCAT.record, self.uris.record(dataset.id))
        return node
