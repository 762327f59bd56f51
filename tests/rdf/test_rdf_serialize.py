"""The Turtle and N-Triples writers (pyoxigraph) produce the same graph rdflib reads back."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD

from app.rdf.serialize import ntriples, turtle

EX = Namespace("http://example.org/id/")
PREFIXES = {"dcat": str(DCAT), "dct": str(DCTERMS), "ex": str(EX)}


def tricky_graph() -> Graph:
    graph = Graph()
    dataset = EX["dataset/population-2025"]  # a path-like local name: not a prefixed name
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.title, Literal('Bevolking "2025"\nper sector', lang="nl")))
    graph.add((dataset, DCTERMS.title, Literal("Population \\ 2025 — Ω", lang="en")))
    graph.add((dataset, DCTERMS.identifier, Literal("population-2025")))
    graph.add((dataset, DCAT.keyword, Literal("tab\there")))
    graph.add((dataset, EX["count"], Literal(3, datatype=XSD.integer)))
    graph.add((dataset, EX["share"], Literal("16.4", datatype=XSD.decimal)))
    graph.add((dataset, EX["when"], Literal("2025-01-01", datatype=XSD.date)))
    graph.add((dataset, EX["page"], URIRef("http://example.org/catalog.ttl?page=2&page_size=100")))
    graph.add((dataset, EX["odd"], URIRef("http://example.org/gemeente/Zwijndrecht-é")))
    node = BNode()
    graph.add((dataset, DCTERMS.temporal, node))
    graph.add((node, RDF.type, DCTERMS.PeriodOfTime))
    graph.add((EX["simple"], RDF.type, DCAT.Catalog))
    return graph


def test_turtle_round_trips() -> None:
    original = tricky_graph()
    text = turtle(original, PREFIXES).decode()
    parsed = Graph().parse(data=text, format="turtle")
    assert isomorphic(original, parsed)
    assert "ex:simple a dcat:Catalog" in text


def test_ntriples_round_trip() -> None:
    original = tricky_graph()
    text = ntriples(original).decode()
    assert len(text.splitlines()) == len(original)
    parsed = Graph().parse(data=text, format="nt")
    assert isomorphic(original, parsed)
