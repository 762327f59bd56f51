"""Linked data without loose ends: every base-prefixed URI of the dump answers, for HEAD and
for GET in Turtle, JSON-LD and HTML; unknown ids answer 404 at once. Reads the session's
shared real database (read-only)."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urldefrag

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS

from app.config import get_settings

BASE = get_settings().base_url
ACCEPTS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "text/html": None,
}


def subjects_and_objects(data: bytes, rdf_format: ox.RdfFormat) -> set[str]:
    """The IRIs a document names as subject or object. Parsed with Oxigraph: rdflib's Turtle
    and JSON-LD parsers took a third of the walk's CPU for the same answer."""
    named: set[str] = set()
    for triple in ox.parse(data, format=rdf_format):
        for term in (triple.subject, triple.object):
            if isinstance(term, ox.NamedNode):
                named.add(term.value)
    return named


def path_of(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE) :]


# Session scope: the shards below run on both workers in any order, and each worker parses the
# dump once (the database is read-only).
@pytest.fixture(scope="session")
def dump(client: TestClient) -> Graph:
    response = client.get("/catalog/dump.ttl")
    assert response.status_code == 200
    return Graph().parse(data=response.text, format="turtle")


def base_uris(graph: Graph) -> set[str]:
    found: set[str] = set()
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef) and str(term).startswith(BASE + "/"):
                found.add(str(term))
    return found


def test_the_dump_has_uris_of_every_kind(dump: Graph) -> None:
    kinds = {path_of(urldefrag(u).url).split("/")[2] for u in base_uris(dump) if "/id/" in u}
    assert {
        "catalog",
        "dataset",
        "record",
        "distribution",
        "service",
        "conceptscheme",
        "property",
        "organisation",
        "indicator",
        "metric",
    } <= kinds


# The walk below is split into shards (every n-th document of the sorted list, so together
# they take every one): as one test it was the longest of the suite, a minute that one worker
# spent alone at the end of the run.
SHARDS = 6


@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.costly(10)
def test_every_uri_of_the_dump_answers(client: TestClient, dump: Graph, shard: int) -> None:
    # Each document with the URIs that name it or a fragment of it: those must be in it.
    fragments: dict[str, set[str]] = defaultdict(set)
    for uri in base_uris(dump):
        fragments[urldefrag(uri).url].add(uri)
    documents = sorted(fragments)[shard::SHARDS]
    assert documents
    for uri in documents:
        path = path_of(uri)
        head = client.head(path, follow_redirects=True)
        assert head.status_code == 200, (uri, head.status_code)
        assert head.content == b""
        if path.startswith("/catalog/datasets/"):
            # The Data Cube dumps (millions of triples): HEAD above; their GET and their own
            # URIs are walked in test_datacube.py on a small cube.
            continue
        if not path.startswith("/id/") or path == "/id/catalog":
            # Downloads, landing pages, the API: one GET each (they do not negotiate RDF).
            assert client.get(path).status_code == 200, uri
            continue
        redirect = client.get(path, follow_redirects=False)
        assert redirect.status_code == 303, uri
        assert redirect.headers["location"] == BASE + path.replace("/id/", "/doc/", 1)
        for accept, rdf_format in ACCEPTS.items():
            response = client.get(path, headers={"Accept": accept})
            assert response.status_code == 200, (uri, accept, response.text[:200])
            assert response.headers["content-type"].startswith(accept), uri
            if rdf_format is None:
                assert "<h1>" in response.text
                continue
            named = subjects_and_objects(response.content, rdf_format)
            for node in fragments[uri]:
                assert node in named, (uri, accept, node)


def test_a_municipality_dereferences_with_the_flemish_registry_uri(client: TestClient) -> None:
    redirect = client.get("/id/municipality/44021", follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == f"{BASE}/doc/municipality/44021"
    response = client.get("/id/municipality/44021", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    gent = URIRef(f"{BASE}/id/municipality/44021")
    assert (gent, OWL.sameAs, URIRef("https://data.vlaanderen.be/id/gemeente/44021")) in graph
    assert (gent, SKOS.notation, Literal("44021")) in graph
    assert (gent, SKOS.broader, URIRef(f"{BASE}/id/province/40000")) in graph
    assert (gent, RDF.type, SKOS.Concept) in graph
    html = client.get("/doc/municipality/44021", headers={"Accept": "text/html"})
    assert html.status_code == 200 and "Gent" in html.text
    # Each place linked from the description dereferences too.
    for broader in graph.objects(gent, SKOS.broader):
        assert client.head(path_of(str(broader))).status_code == 200, broader
    # Gent kept its code in 2025: it does not replace itself. Antwerpen replaces Borsbeek.
    assert (gent, DCTERMS.replaces, gent) not in graph
    assert (gent, DCTERMS.isReplacedBy, gent) not in graph
    antwerpen = client.get("/id/municipality/11002", headers={"Accept": "text/turtle"}).text
    merged = Graph().parse(data=antwerpen, format="turtle")
    node = URIRef(f"{BASE}/id/municipality/11002")
    assert set(merged.objects(node, DCTERMS.replaces)) == {URIRef(f"{BASE}/id/municipality/11007")}


@pytest.mark.parametrize(
    "path",
    [
        "/id/dataset/nothing",
        "/id/distribution/population-2025/pdf",
        "/id/distribution/nothing/csv",
        "/id/record/nothing",
        "/id/service/other",
        "/id/property/colour",
        "/id/municipality/99999",
        "/id/planet/earth",
        "/id/dataset/nothing/structure",
    ],
)
def test_unknown_ids_are_404_at_once(client: TestClient, path: str) -> None:
    problem = client.get(path, follow_redirects=False)
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"
    page = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert client.head(path, follow_redirects=False).status_code == 404
    document = client.get(path.replace("/id/", "/doc/", 1), headers={"Accept": "text/turtle"})
    assert document.status_code == 404


def test_a_distribution_without_its_key_names_the_available_ones(client: TestClient) -> None:
    # It said "dataset '' not found" of a dataset that exists.
    for path in ("/id/distribution/population-2025", "/doc/distribution/population-2025"):
        problem = client.get(path, follow_redirects=False)
        assert problem.status_code == 404
        detail = problem.json()["detail"]
        assert "'population-2025' has no distribution ''" in detail and "csv" in detail, detail


def test_unsupported_accept_is_406_listing_the_types(client: TestClient) -> None:
    response = client.get("/doc/record/population-2025", headers={"Accept": "application/pdf"})
    assert response.status_code == 406
    assert "text/turtle" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/doc/dataset/nope", "/id/dataset/nope"])
def test_a_not_found_that_is_a_page_for_browsers_varies_by_accept(
    client: TestClient, path: str
) -> None:
    """The problem document had no ``Vary: Accept``: a shared cache could give the JSON 404
    to a browser, which gets a page at the same address."""
    problem = client.get(path, headers={"Accept": "application/json"})
    page = client.get(path, headers={"Accept": "text/html"})
    assert (problem.status_code, page.status_code) == (404, 404)
    assert problem.headers["content-type"] == "application/problem+json"
    assert page.headers["content-type"].startswith("text/html")
    for answer in (problem, page):
        assert "Accept" in [v.strip() for v in answer.headers["vary"].split(",")], answer.headers


def test_modified_since_with_an_unencoded_plus_is_understood(client: TestClient) -> None:
    # "+02:00" unencoded arrives as " 02:00".
    response = client.get("/catalog.ttl?modified_since=2000-01-01T00:00:00+02:00")
    assert response.status_code == 200
    bad = client.get("/catalog.ttl", params={"modified_since": "2000-01-01T00:00 bad"})
    assert bad.status_code == 422
    assert "%2B" in bad.json()["detail"]


@pytest.mark.parametrize("scheme", ["geography", "observation-status"])
def test_a_code_list_page_is_titled_in_the_readers_language(
    client: TestClient, scheme: str
) -> None:
    turtle = client.get(f"/id/conceptscheme/{scheme}", headers={"Accept": "text/turtle"}).text
    graph = Graph().parse(data=turtle, format="turtle")
    (node,) = graph.subjects(RDF.type, SKOS.ConceptScheme)
    labels = {
        label.language: str(label)
        for label in graph.objects(node, SKOS.prefLabel)
        if isinstance(label, Literal)
    }
    assert labels["nl"] != labels["en"]
    for lang in ("nl", "en"):
        page = client.get(
            f"/doc/conceptscheme/{scheme}?lang={lang}", headers={"Accept": "text/html"}
        )
        assert page.status_code == 200
        heading = page.text[page.text.index("<h1") :]
        assert labels[lang] in heading[: heading.index("</h1>")], lang


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/doc/sector/46021a001", "/doc/sector/46021A001"),
        ("/doc/wijk/44021w12?version=2025", "/doc/wijk/44021W12?version=2025"),
        ("/id/referentieregio/refreg01", "/id/referentieregio/REFREG01"),
        ("/doc/dataset/Population-2025", "/doc/dataset/population-2025"),
        ("/doc/dataset/POPULATION-2025/structure", "/doc/dataset/population-2025/structure"),
        ("/id/indicator/Population", "/id/indicator/population"),
    ],
)
def test_a_key_in_another_case_is_moved_to_the_key_as_written(
    client: TestClient, path: str, canonical: str
) -> None:
    # /doc/sector/46021a001 was a 404, though the sector codes are printed in capitals.
    for accept in ("text/html", "text/turtle"):
        moved = client.get(path, headers={"Accept": accept}, follow_redirects=False)
        assert moved.status_code == 301, (path, accept, moved.status_code)
        assert moved.headers["location"] == BASE + canonical
    assert client.get(canonical.split("?")[0], headers={"Accept": "text/turtle"}).status_code in (
        200,
        303,
    )


def test_a_key_of_nothing_in_any_case_is_still_404(client: TestClient) -> None:
    assert client.get("/doc/sector/46021q999", follow_redirects=False).status_code == 404
    assert client.get("/doc/region/46021a001", follow_redirects=False).status_code == 404
