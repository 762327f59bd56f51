"""Turtle and N-Triples with pyoxigraph (Oxigraph's Rust writers): rdflib's Turtle serializer
analyses the whole graph to pretty-print it and is slow on big graphs; Oxigraph writes
straight through, well-kept and correct on escapes and prefixed names. RDF/XML and JSON-LD
still come from rdflib (they are asked for less and are not on a hot path).

rdflib terms are converted once each (a graph repeats its predicates, classes and concepts
many times), so the conversion stays a small part of the cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

Triples = Iterable[tuple[Node, Node, Node]]


class _Terms:
    """rdflib → Oxigraph terms, memoised; blank nodes keep their labels."""

    def __init__(self) -> None:
        self.cache: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] = {}

    def __call__(self, node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        term = self.cache.get(node)
        if term is None:
            term = self.cache[node] = self._convert(node)
        return term

    @staticmethod
    def _convert(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        if isinstance(node, URIRef):
            return ox.NamedNode(str(node))
        if isinstance(node, BNode):
            return ox.BlankNode(str(node))
        if isinstance(node, Literal):
            if node.language:
                return ox.Literal(str(node), language=node.language)
            if node.datatype is not None and node.datatype != XSD.string:
                return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
            return ox.Literal(str(node))
        raise TypeError(f"cannot write {node!r}")


def _oxigraph(triples: Triples) -> list[ox.Triple]:
    term = _Terms()
    return [ox.Triple(term(s), term(p), term(o)) for s, p, o in triples]  # type: ignore[arg-type]


def _serialize(
    triples: Triples, fmt: ox.RdfFormat, prefixes: Mapping[str, str] | None = None
) -> bytes:
    written = ox.serialize(_oxigraph(triples), format=fmt, prefixes=dict(prefixes or {}))
    assert written is not None  # no output given: the bytes are returned
    return written


def turtle(triples: Triples, prefixes: Mapping[str, str]) -> bytes:
    return _serialize(triples, ox.RdfFormat.TURTLE, prefixes)


def ntriples(triples: Triples) -> bytes:
    return _serialize(triples, ox.RdfFormat.N_TRIPLES)
