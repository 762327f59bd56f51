"""The W3C Data Cube integrity constraints (schemas/datacube/), run with pyoxigraph: the
recommendation's normalisation (phase 1 and 2 SPARQL UPDATEs) first, then each IC's ASK;
a true answer is a violation."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pyoxigraph as ox

from app.config import PROJECT_ROOT

QUERIES = PROJECT_ROOT / "schemas" / "datacube"
ICS = tuple(f"ic-{n}" for n in range(1, 22))
# The recommendation's IC-12 compares every pair of observations of a data set; above this
# many observations the checker uses the equivalent linear form (ic-12-keys.rq).
PAIRWISE_LIMIT = 3000
QB = "http://purl.org/linked-data/cube#"


def _text(name: str) -> str:
    return (QUERIES / name).read_text(encoding="utf-8")


def load(data: bytes | IO[bytes], fmt: ox.RdfFormat, *, lenient: bool = False) -> ox.Store:
    """The data in an in-memory store. ``lenient`` skips Oxigraph's validation of IRIs and
    language tags while parsing (a quarter of the loading time of a whole cube, whose terms
    Oxigraph already validated when it wrote them)."""
    store = ox.Store()
    store.load(data, format=fmt, lenient=lenient)
    return store


def normalise(store: ox.Store) -> None:
    store.update(_text("normalize-phase-1.ru"))
    store.update(_text("normalize-phase-2.ru"))


def _ask(store: ox.Store, query: str) -> bool:
    answer = store.query(query)
    assert isinstance(answer, ox.QueryBoolean)
    return bool(answer)


def _templated(store: ox.Store, ic: str) -> bool:
    """IC-20 and IC-21: the ASK once per parent-child property found (none: no violation)."""
    template = _text(f"{ic}.rq")
    found = store.query(_text(f"{ic}-instances.rq"))
    assert isinstance(found, ox.QuerySolutions)
    for solution in found:
        prop = solution["p"]
        assert isinstance(prop, ox.NamedNode)
        if _ask(store, template.replace("$p", prop.value)):
            return True
    return False


def observation_count(store: ox.Store) -> int:
    solutions = store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?o a <http://purl.org/linked-data/cube#Observation> }"
    )
    assert isinstance(solutions, ox.QuerySolutions)
    count = next(iter(solutions))["n"]
    assert isinstance(count, ox.Literal)
    return int(count.value)


def _select(store: ox.Store, query: str) -> list[tuple[ox.NamedNode, ...]]:
    found = store.query(query)
    assert isinstance(found, ox.QuerySolutions)
    rows = []
    for solution in found:
        terms = tuple(solution[i] for i in range(len(found.variables)))
        assert all(isinstance(term, ox.NamedNode) for term in terms)
        rows.append(terms)
    return rows  # type: ignore[return-value]


def ic12_keys_queries(store: ox.Store) -> list[str]:
    """ic-12-keys.rq filled in for each data set that has observations, with the dimensions
    of its structure."""
    template = _text("ic-12-keys.rq")
    datasets = _select(store, f"SELECT DISTINCT ?d WHERE {{ ?o <{QB}dataSet> ?d }}")
    queries = []
    for (dataset,) in datasets:
        dimensions = sorted(
            dim.value
            for (dim,) in _select(
                store,
                f"SELECT DISTINCT ?dim WHERE {{ {dataset} <{QB}structure>/<{QB}component>/"
                f"<{QB}componentProperty> ?dim . ?dim a <{QB}DimensionProperty> }}",
            )
        )
        values = " ".join(f"?v{n}" for n in range(1, len(dimensions) + 1))
        patterns = " ".join(f"?obs <{dim}> ?v{n} ." for n, dim in enumerate(dimensions, 1))
        queries.append(
            # No dimensions: no GROUP BY (one group, as in ic-12.rq every pair is a duplicate).
            template.replace("GROUP BY $values", f"GROUP BY {values}" if values else "")
            .replace("$dataset", str(dataset))
            .replace("$patterns", patterns)
            .replace("$values", values)
        )
    return queries


def ic12(store: ox.Store, *, pairwise: bool | None = None) -> bool:
    if pairwise is None:
        pairwise = observation_count(store) <= PAIRWISE_LIMIT
    if pairwise:
        return _ask(store, _text("ic-12.rq"))
    assert not _ask(store, _text("ic-12-single.rq")), "a dimension with two values"
    return any(_ask(store, query) for query in ic12_keys_queries(store))


def violations(store: ox.Store) -> list[str]:
    """The ICs the (normalised) store violates."""
    failed = []
    for ic in ICS:
        if ic in ("ic-20", "ic-21"):
            violated = _templated(store, ic)
        elif ic == "ic-12":
            violated = ic12(store)
        else:
            violated = _ask(store, _text(f"{ic}.rq"))
        if violated:
            failed.append(ic)
    return failed


def check(data: bytes, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> list[str]:
    store = load(data, fmt)
    normalise(store)
    return violations(store)


def files() -> list[Path]:
    return sorted(QUERIES.glob("*.r[qu]"))
