"""Serving the catalogue as RDF: formats, content negotiation, Hydra paging, the whole-catalogue
dump, and a cache of rendered documents keyed by what they depend on (the catalogue's change
counter, kept in the database, so every worker sees a change at once), so an unchanged page
is not rendered twice."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from sqlalchemy.orm import Session

from app.api.http import digest_tag
from app.api.negotiation import choose
from app.api.params import plus_restored
from app.catalogue import repository as catalogue_repository
from app.db.queries import as_utc
from app.downloads import service as downloads
from app.errors import InvalidParameter, NotAcceptable
from app.rdf.dcat import Uris, catalog_graph
from app.rdf.serialize import ntriples, rdf_xml, stable_json_ld, turtle
from app.rdf.vocab import HYDRA


@dataclass(frozen=True)
class RdfFormat:
    key: str
    media_type: str
    extension: str


FORMATS: dict[str, RdfFormat] = {
    "turtle": RdfFormat("turtle", "text/turtle", "ttl"),
    "xml": RdfFormat("xml", "application/rdf+xml", "rdf"),
    "json-ld": RdfFormat("json-ld", "application/ld+json", "jsonld"),
    "nt": RdfFormat("nt", "application/n-triples", "nt"),
}
BY_EXTENSION = {f.extension: f for f in FORMATS.values()}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS.values()} | {
    "application/x-turtle": FORMATS["turtle"],
    "application/json": FORMATS["json-ld"],
    "text/n3": FORMATS["turtle"],
    "application/xml": FORMATS["xml"],
    "text/plain": FORMATS["nt"],
}
HTML = "text/html"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


# What a wildcard stands for, in order of preference (HTML only where asked by name: a
# browser says text/html, a harvester's */* gets Turtle).
WILDCARDS = {
    "*/*": ("turtle", "xml", "json-ld", "nt"),
    "text/*": ("turtle",),
    "application/*": ("xml", "json-ld", "nt"),
}


def negotiate(accept: str | None, *, html: bool) -> RdfFormat | None:
    """The RDF format the Accept header prefers; None means HTML (for browsers).

    Raises NotAcceptable listing what we can produce.
    """
    if not accept or not accept.strip():
        return FORMATS["turtle"]
    types = {media: fmt.key for media, fmt in BY_MEDIA_TYPE.items()}
    if html:
        types[HTML] = HTML
    chosen = choose(accept, types, WILDCARDS)
    if chosen == HTML:
        return None
    if chosen is not None:
        return FORMATS[chosen]
    supported = [f.media_type for f in FORMATS.values()] + ([HTML] if html else [])
    raise NotAcceptable(
        f"cannot produce {accept}; supported media types: {', '.join(supported)}",
        supported=supported,
    )


PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "qb": "http://purl.org/linked-data/cube#",
    "hydra": "http://www.w3.org/ns/hydra/core#",
    "adms": "http://www.w3.org/ns/adms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "geodcatap": "http://data.europa.eu/930/",
    "stat": "http://data.europa.eu/m8g/",
    # The EU authority tables (access rights, frequencies, themes, file types, licences) are
    # written as full IRIs: one prefix for all of them would need escaped slashes
    # (`eurovoc:access-right\/PUBLIC`), which readers and harvesters stumble over.
    "spdx": "http://spdx.org/rdf/terms#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "dqv": "http://www.w3.org/ns/dqv#",
}


def render(graph: Graph, fmt: RdfFormat) -> bytes:
    if fmt.key == "turtle":
        return turtle(graph, PREFIXES)
    if fmt.key == "nt":
        return ntriples(graph)
    if fmt.key == "xml":
        return rdf_xml(graph, PREFIXES)
    # The context of the compacted JSON-LD.
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True)
    return stable_json_ld(graph)


@dataclass(frozen=True)
class Document:
    body: bytes
    media_type: str
    etag: str
    last_modified: datetime | None
    links: dict[str, str]


class DocumentCache:
    """A small LRU of rendered documents; keys include the catalogue's fingerprint."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self.items: OrderedDict[str, Document] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0

    def get_or_render(self, key: str, render_document: Callable[[], Document]) -> Document:
        with self.lock:
            document = self.items.get(key)
            if document is not None:
                self.items.move_to_end(key)
                self.hits += 1
                return document
        document = render_document()
        with self.lock:
            self.items[key] = document
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return document


def parse_modified_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    # An unencoded "+02:00" arrives as " 02:00" (a "+" in a query means a space): read it as
    # the offset it was meant to be.
    value = str(plus_restored(value))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidParameter(
            "modified_since",
            f"modified_since must be an ISO 8601 date or date-time, got {value!r} "
            "(encode a '+' in an offset as %2B)",
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_paging(page: int, page_size: int) -> None:
    if page < 1:
        raise InvalidParameter("page", f"page must be 1 or more, got {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidParameter(
            "page_size", f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}"
        )


def _etag(*parts: object) -> str:
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def catalog_page(
    session: Session,
    uris: Uris,
    fmt: RdfFormat,
    *,
    page: int,
    page_size: int,
    modified_since: datetime | None,
    page_url: Callable[[int], str],
    cache: DocumentCache,
) -> Document:
    """One page of the catalogue, with Hydra paging in the graph and as Link relations."""
    check_paging(page, page_size)
    stamps = [
        (dataset_id, as_utc(modified))
        for dataset_id, modified in catalogue_repository.dataset_stamps(session)
        if modified_since is None or as_utc(modified) >= modified_since
    ]
    total = len(stamps)
    last = max(1, -(-total // page_size))
    selected = stamps[(page - 1) * page_size : page * page_size]
    links = {"first": page_url(1), "last": page_url(last)}
    if page > 1:
        links["prev"] = page_url(min(page - 1, last))
    if page < last:
        links["next"] = page_url(page + 1)
    latest = _latest(session, [m for _, m in stamps])
    changes = catalogue_repository.change_count(session)
    written = downloads.written_stamp(session)
    # The links name the URL asked (/catalog or /catalog.ttl): a document per URL, else the
    # first one asked would give its links to the other.
    key = _etag(
        "page", page_url(page), fmt.key, page, page_size, modified_since, changes, written, stamps
    )

    def render_page() -> Document:
        graph = catalog_graph(session, uris, [d for d, _ in selected])
        _add_hydra(graph, uris.catalog(), URIRef(page_url(page)), links, total, page_size)
        return Document(render(graph, fmt), fmt.media_type, key, latest, links)

    return cache.get_or_render(key, render_page)


def _latest(session: Session, dataset_stamps: Sequence[datetime]) -> datetime | None:
    """A catalogue document's Last-Modified: its datasets' last changes, or a stored file
    written since (its size and checksum are in the document): else a harvester asking
    If-Modified-Since would keep the document without them."""
    moments = [*dataset_stamps, downloads.last_written(session)]
    return max((m for m in moments if m is not None), default=None)


def catalog_dump(session: Session, uris: Uris, fmt: RdfFormat, cache: DocumentCache) -> Document:
    key = _etag(
        "dump",
        uris.base,
        fmt.key,
        catalogue_repository.change_count(session),
        downloads.written_stamp(session),
    )

    def render_dump() -> Document:
        stamps = [as_utc(m) for _, m in catalogue_repository.dataset_stamps(session)]
        latest = _latest(session, stamps)
        graph = catalog_graph(session, uris, None)
        return Document(render(graph, fmt), fmt.media_type, key, latest, {})

    return cache.get_or_render(key, render_dump)


def graph_document(graph: Graph, fmt: RdfFormat) -> Document:
    """A thing's description, tagged by its bytes: it states more than any key of the thing
    would follow (the sizes of stored files written since, the names of organisations, the
    geography), and it is rendered for every request anyway."""
    body = render(graph, fmt)
    return Document(body, fmt.media_type, digest_tag(body), None, {})


def _add_hydra(
    graph: Graph,
    collection: URIRef,
    view: URIRef,
    links: dict[str, str],
    total: int,
    page_size: int,
) -> None:
    # The page is a view of the catalogue: a client that finds the catalogue finds its paging.
    graph.add((collection, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, RDF.type, HYDRA.PagedCollection))
    graph.add((view, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    graph.add((view, HYDRA.itemsPerPage, Literal(page_size, datatype=XSD.integer)))
    relations = {
        "first": (HYDRA.first, HYDRA.firstPage),
        "last": (HYDRA.last, HYDRA.lastPage),
        "next": (HYDRA.next, HYDRA.nextPage),
        "prev": (HYDRA.previous, HYDRA.previousPage),
    }
    for rel, url in links.items():
        for predicate in relations[rel]:
            graph.add((view, predicate, URIRef(url)))
