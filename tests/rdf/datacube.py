"""The W3C Data Cube integrity constraints (schemas/datacube/), run with pyoxigraph: the
recommendation's normalisation (phase 1 and 2 SPARQL UPDATEs) first, then each IC's ASK;
a true answer is a violation."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from app.config import PROJECT_ROOT

QUERIES = PROJECT_ROOT / "schemas" / "datacube"
ICS = tuple(f"ic-{n}" for n in range(1, 22))
# The recommendation's IC-12 compares every pair of observations of a data set; above this
# many observations the checker uses the equivalent linear form (ic-12-grouped.rq).
PAIRWISE_LIMIT = 3000


def _text(name: str) -> str:
    return (QUERIES / name).read_text(encoding="utf-8")


def load(data: bytes, fmt: ox.RdfFormat) -> ox.Store:
    store = ox.Store()
    store.bulk_load(data, format=fmt)
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


def ic12(store: ox.Store, *, pairwise: bool | None = None) -> bool:
    if pairwise is None:
        pairwise = observation_count(store) <= PAIRWISE_LIMIT
    if pairwise:
        return _ask(store, _text("ic-12.rq"))
    assert not _ask(store, _text("ic-12-single.rq")), "a dimension with two values"
    return _ask(store, _text("ic-12-grouped.rq"))


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
