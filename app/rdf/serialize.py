"""Fast writers for Turtle and N-Triples.

rdflib's Turtle serializer analyses the whole graph to pretty-print it and slows down badly
with many path-like URIs; harvesters do not need that. These writers make one pass over the
triples, grouped by subject, and write prefixed names only where Turtle allows them. RDF/XML
and JSON-LD still come from rdflib (they are asked for less and are not on a hot path).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

# PN_LOCAL restricted to the safe, common subset: letters, digits, '_' and '-' (not first).
_LOCAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_NEEDS_ESCAPE = re.compile(r'[\\"\n\r\t\b\f]')
_IRI_ESCAPE = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _escape_string(text: str) -> str:
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], text)


def _escape_iri(iri: str) -> str:
    return _IRI_ESCAPE.sub(lambda m: f"\\u{ord(m.group(0)):04X}", iri)


def _literal(term: Literal, iri: Callable[[URIRef], str]) -> str:
    lexical = '"' + _escape_string(str(term)) + '"'
    if term.language:
        return f"{lexical}@{term.language}"
    if term.datatype is not None and term.datatype != XSD.string:
        return f"{lexical}^^{iri(term.datatype)}"
    return lexical


class _Terms:
    """Writes terms: IRIs through ``iri`` (full or prefixed), blank nodes with stable labels."""

    def __init__(self, iri: Callable[[URIRef], str]) -> None:
        self.iri = iri
        self.labels: dict[BNode, str] = {}

    def __call__(self, node: Node) -> str:
        if isinstance(node, URIRef):
            return self.iri(node)
        if isinstance(node, BNode):
            label = self.labels.get(node)
            if label is None:
                label = self.labels[node] = f"_:b{len(self.labels)}"
            return label
        if isinstance(node, Literal):
            return _literal(node, self.iri)
        raise TypeError(f"cannot write {node!r}")


def _full_iri(value: URIRef) -> str:
    return "<" + _escape_iri(str(value)) + ">"


def ntriples(triples: Iterable[tuple[Node, Node, Node]]) -> Iterator[str]:
    """One line per triple (W3C N-Triples)."""
    term = _Terms(_full_iri)
    for s, p, o in triples:
        yield f"{term(s)} {term(p)} {term(o)} .\n"


def turtle(graph: Graph, prefixes: Mapping[str, str]) -> Iterator[str]:
    """Turtle, grouped by subject, prefixed names where safe."""
    by_namespace = sorted(prefixes.items(), key=lambda item: -len(item[1]))

    def iri(value: URIRef) -> str:
        text = str(value)
        for prefix, namespace in by_namespace:
            if text.startswith(namespace):
                local = text[len(namespace) :]
                if _LOCAL_NAME.match(local):
                    return f"{prefix}:{local}"
                break
        return _full_iri(value)

    term = _Terms(iri)
    yield "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in prefixes.items()) + "\n"
    subjects: dict[Node, dict[Node, list[Node]]] = defaultdict(lambda: defaultdict(list))
    for s, p, o in graph:
        subjects[s][p].append(o)
    for subject in sorted(subjects, key=str):
        predicates = subjects[subject]
        # rdf:type first, as "a", the way people read Turtle.
        order = sorted(predicates, key=lambda p: (p != RDF.type, str(p)))
        parts = []
        for predicate in order:
            name = "a" if predicate == RDF.type else iri(predicate)  # type: ignore[arg-type]
            objects = ", ".join(term(o) for o in predicates[predicate])
            parts.append(f"{name} {objects}")
        yield term(subject) + " " + " ;\n    ".join(parts) + " .\n\n"
