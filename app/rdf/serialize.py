"""Turtle, N-Triples and RDF/XML with pyoxigraph (Oxigraph's Rust writers): rdflib's Turtle
serializer analyses the whole graph to pretty-print it and is slow on big graphs; Oxigraph
writes straight through, well-kept and correct on escapes and prefixed names, and in the
order it is given the triples (rdflib's RDF/XML and JSON-LD writers go through sets, whose
order changes with each process's hash seed: each worker wrote other bytes, so another
ETag). JSON-LD still comes from rdflib, which compacts it with a context, and is put in a
stable order here.

Where the time goes (profiled on the 1,000-dataset dump, ``benchmarks/rdf_bench.py``): not in
Oxigraph's writer but in handing it the graph — iterating an rdflib graph through
``Graph.triples`` costs a generator step and a context lookup per triple, and a memo keyed on
rdflib terms calls their Python ``__eq__``/``__hash__`` on every hit. So:

- an rdflib ``Memory`` store (what ``Graph()`` uses) is read through its subject → predicate →
  object index, each subject and predicate converted once per group, not once per triple;
  any other store or iterable goes through the public iteration;
- terms are converted by exact type (``URIRef`` is a ``str``: Oxigraph takes it as is), and
  objects are memoised by identity (the graph holds them, so an id is not reused meanwhile).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.plugins.stores.memory import Memory
from rdflib.term import Node

Triples = Iterable[tuple[Node, Node, Node]]
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal
_XSD_STRING = XSD.string


class _Terms:
    """rdflib → Oxigraph terms, memoised by object identity."""

    def __init__(self) -> None:
        self.cache: dict[int, OxTerm] = {}
        self.datatypes: dict[str, ox.NamedNode] = {}

    def __call__(self, node: Node) -> OxTerm:
        key = id(node)
        term = self.cache.get(key)
        if term is None:
            term = self.cache[key] = self._convert(node)
        return term

    def _convert(self, node: Node) -> OxTerm:
        kind = type(node)
        if kind is URIRef:
            return ox.NamedNode(node)  # type: ignore[arg-type]  # a URIRef is a str
        if kind is Literal or isinstance(node, Literal):
            literal: Literal = node  # type: ignore[assignment]
            if literal.language:
                return ox.Literal(literal, language=literal.language)
            datatype = literal.datatype
            if datatype is None or datatype == _XSD_STRING:
                return ox.Literal(literal)
            named = self.datatypes.get(datatype)
            if named is None:
                named = self.datatypes[datatype] = ox.NamedNode(datatype)
            return ox.Literal(literal, datatype=named)
        if isinstance(node, URIRef):
            return ox.NamedNode(str(node))
        if isinstance(node, BNode):
            return ox.BlankNode(str(node))
        raise TypeError(f"cannot write {node!r}")


def _memory_index(triples: Triples) -> dict[Any, dict[Any, Any]] | None:
    """The subject → predicate → objects index of a plain graph in rdflib's ``Memory``
    store (a name-mangled attribute: checked, with the public iteration as fallback)."""
    if type(triples) is not Graph or type(triples.store) is not Memory:
        return None
    if len(list(triples.store.contexts())) > 1:  # a store shared with other graphs
        return None
    index = getattr(triples.store, "_Memory__spo", None)
    return index if isinstance(index, dict) else None


def _oxigraph(triples: Triples) -> Iterator[ox.Triple]:
    term = _Terms()
    index = _memory_index(triples)
    if index is None:
        for s, p, o in triples:
            yield ox.Triple(term(s), term(p), term(o))  # type: ignore[arg-type]
        return
    for s, by_predicate in index.items():
        subject = term(s)
        for p, objects in by_predicate.items():
            predicate = term(p)
            for o in objects:
                yield ox.Triple(subject, predicate, term(o))  # type: ignore[arg-type]


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


def rdf_xml(triples: Triples, prefixes: Mapping[str, str]) -> bytes:
    return _serialize(triples, ox.RdfFormat.RDF_XML, prefixes)


def stable_json_ld(graph: Graph) -> bytes:
    """rdflib's compacted JSON-LD with its nodes in the order of their ids and each
    property's values in one order (a property's values are a set in RDF; a ``@list`` keeps
    its order): the same graph gives the same bytes in every process."""
    document = orjson.loads(graph.serialize(format="json-ld", auto_compact=True))
    nodes = document.get("@graph") if isinstance(document, dict) else document
    if isinstance(nodes, list):
        for node in nodes:
            _sort_values(node)
        nodes.sort(key=_canonical)
    else:
        _sort_values(document)
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def _canonical(value: object) -> bytes:
    if isinstance(value, dict) and isinstance(value.get("@id"), str):
        return b"0" + str(value["@id"]).encode()  # nodes by id, before anything without one
    return b"1" + orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _sort_values(value: object) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, list) and key not in ("@list", "@context"):
                for item in inner:
                    _sort_values(item)
                inner.sort(key=_canonical)
            else:
                _sort_values(inner)
