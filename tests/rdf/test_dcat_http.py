"""The DCAT endpoints as a harvester sees them: formats, paging, caching, dereferencing."""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF
from sqlalchemy import delete

from app.config import get_settings
from app.db.session import transaction
from app.downloads.models import StoredDownload
from tests.factories import World

BASE = get_settings().base_url
HYDRA = "http://www.w3.org/ns/hydra/core#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
FORMATS = {
    "ttl": ("text/turtle", "turtle"),
    "rdf": ("application/rdf+xml", "xml"),
    "jsonld": ("application/ld+json", "json-ld"),
    "nt": ("application/n-triples", "nt"),
}
DATASETS = {
    "population-2025",
    "income",
    "age-census-2021",
    "cars-households-2019",
    "energy-fluvius",
    "land-use-open-space",
    "sector-area-2021",
    "climate-energy-monitor",
}


def path_of(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE) :]


def parse(response_text: str, rdf_format: str) -> Graph:
    return Graph().parse(data=response_text, format=rdf_format)


def dataset_ids(graph: Graph) -> list[str]:
    """The datasets the catalogue lists (a page also describes the sources its derived
    datasets cite, listed on their own page)."""
    return sorted(str(o).rsplit("/", 1)[-1] for o in graph.objects(None, DCAT.dataset))


def next_page(graph: Graph) -> str | None:
    for predicate in ("next", "nextPage"):
        for view_type in ("PartialCollectionView", "PagedCollection"):
            for view in graph.subjects(RDF.type, URIRef(HYDRA + view_type)):
                for target in graph.objects(view, URIRef(HYDRA + predicate)):
                    return str(target)
    return None


@pytest.mark.parametrize("extension", list(FORMATS))
def test_a_harvester_collects_every_dataset_exactly_once(
    client: TestClient, extension: str
) -> None:
    media_type, rdf_format = FORMATS[extension]
    url: str | None = f"{BASE}/catalog.{extension}?page_size=2"
    seen: list[str] = []
    pages = 0
    while url:
        head = client.head(path_of(url))
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"].startswith(media_type)
        response = client.get(path_of(url))
        assert response.status_code == 200
        # HEAD announces what GET sends (compressed, as this client accepts gzip).
        assert head.headers["content-length"] == response.headers["content-length"]
        assert head.headers.get("content-encoding") == response.headers.get("content-encoding")
        graph = parse(response.text, rdf_format)
        seen += dataset_ids(graph)
        url = next_page(graph)
        pages += 1
        assert pages <= 10
    assert pages == 4
    assert sorted(seen) == sorted(DATASETS)
    dump = client.get(f"/catalog/dump.{extension}")
    assert dump.status_code == 200
    assert dataset_ids(parse(dump.text, rdf_format)) == sorted(DATASETS)


def test_hydra_paging_node_and_link_headers(client: TestClient) -> None:
    response = client.get("/catalog.ttl", params={"page_size": 2, "page": 2})
    graph = parse(response.text, "turtle")
    views = set(graph.subjects(RDF.type, URIRef(HYDRA + "PartialCollectionView")))
    assert views == set(graph.subjects(RDF.type, URIRef(HYDRA + "PagedCollection")))
    (view,) = views
    (catalog,) = graph.subjects(RDF.type, DCAT.Catalog)
    assert list(graph.objects(catalog, URIRef(HYDRA + "view"))) == [view]
    values = {str(p).removeprefix(HYDRA): str(o) for p, o in graph.predicate_objects(view)}
    assert values["totalItems"] == "8"
    assert values["itemsPerPage"] == "2"
    assert "page=3" in values["next"] and values["next"] == values["nextPage"]
    assert "page=1" in values["previous"] and "page=1" in values["first"]
    assert "page=4" in values["last"]
    links = {
        rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])
    }
    assert links["next"] == values["next"]
    assert set(links) == {"first", "last", "prev", "next"}


def test_a_page_holds_the_records_of_its_own_datasets_only(client: TestClient) -> None:
    """The derived dataset's page described its sources in full (dct:source needs a
    dcat:Dataset) and their catalogue records too: five records on a page of one, four of
    them linked from nothing."""
    seen: set[URIRef] = set()
    for page in range(1, 9):
        graph = parse(
            client.get("/catalog.ttl", params={"page_size": 1, "page": page}).text, "turtle"
        )
        (catalog,) = graph.subjects(RDF.type, DCAT.Catalog)
        records = set(graph.subjects(RDF.type, DCAT.CatalogRecord))
        assert records == set(graph.objects(catalog, DCAT.record)) and len(records) == 1, page
        seen |= records
    assert len(seen) == 8


def test_content_negotiation_on_catalog(client: TestClient) -> None:
    for media_type, rdf_format in FORMATS.values():
        response = client.get("/catalog", headers={"Accept": media_type})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
        assert "Accept" in response.headers["vary"]
        assert dataset_ids(parse(response.text, rdf_format))
    html = client.get("/catalog", headers={"Accept": "text/html,application/xhtml+xml"})
    assert html.headers["content-type"].startswith("text/html")
    refused = client.get("/catalog", headers={"Accept": "application/pdf"})
    assert refused.status_code == 406
    assert refused.headers["content-type"] == "application/problem+json"
    assert "text/turtle" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        # Turtle was the answer to any wildcard, application/* included, and to a */* whose
        # client had said Turtle is not acceptable (q=0).
        ("application/*", "application/rdf+xml"),
        ("application/*;q=1, text/turtle;q=0.1", "application/rdf+xml"),
        ("text/turtle;q=0, */*", "application/rdf+xml"),
        ("text/turtle;q=0, application/rdf+xml;q=0, */*", "application/ld+json"),
        ("*/*", "text/turtle"),
        ("text/*", "text/turtle"),
        ("text/html;q=0.9, */*;q=0.8", "text/html"),
    ],
)
@pytest.mark.parametrize("path", ["/catalog", "/doc/dataset/population-2025"])
def test_a_wildcard_stands_for_what_it_matches_and_not_what_is_excluded(
    client: TestClient, path: str, accept: str, media_type: str
) -> None:
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    refused = client.get(path, headers={"Accept": "text/turtle;q=0, text/*"})
    assert refused.status_code == 406


def test_etag_and_last_modified_give_304(client: TestClient) -> None:
    first = client.get("/catalog.ttl", headers={"Accept-Encoding": "identity"})
    etag = first.headers["etag"]
    assert client.get("/catalog.ttl", headers={"If-None-Match": etag}).status_code == 304
    # Sent plain or compressed (two byte sequences), the document has one tag, a weak one.
    gzipped = client.get("/catalog.ttl", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.headers["etag"] == etag and etag.startswith("W/")
    weak = {"If-None-Match": f'"other", {etag.removeprefix("W/")}'}
    assert client.get("/catalog.ttl", headers=weak).status_code == 304
    since = first.headers["last-modified"]
    assert client.get("/catalog.ttl", headers={"If-Modified-Since": since}).status_code == 304
    # A 304 sends the Vary of its 200 (RFC 9110 §15.4.5): Accept-Encoding was missing.
    for encoding in ("gzip", "identity"):
        again = client.get(
            "/catalog.ttl", headers={"If-None-Match": etag, "Accept-Encoding": encoding}
        )
        assert again.status_code == 304
        assert "accept-encoding" in again.headers["vary"].lower()
        assert again.headers["vary"].lower().count("accept-encoding") == 1
    other = client.get("/catalog.nt")
    assert other.headers["etag"] != etag


def test_modified_since(client: TestClient) -> None:
    future = client.get("/catalog.ttl", params={"modified_since": "2999-01-01T00:00:00Z"})
    assert future.status_code == 200
    assert dataset_ids(parse(future.text, "turtle")) == []
    past = client.get("/catalog.ttl", params={"modified_since": "2000-01-01"})
    assert dataset_ids(parse(past.text, "turtle")) == sorted(DATASETS)
    bad = client.get("/catalog.ttl", params={"modified_since": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["parameter"] == "modified_since"


def test_page_beyond_the_last_is_empty_with_links(client: TestClient) -> None:
    response = client.get("/catalog.ttl", params={"page": 99, "page_size": 2})
    assert response.status_code == 200
    assert dataset_ids(parse(response.text, "turtle")) == []
    assert 'rel="prev"' in response.headers["link"]


@pytest.mark.parametrize(
    ("params", "status"),
    [({"page": 0}, 422), ({"page_size": 0}, 422), ({"page_size": 501}, 422)],
)
def test_bad_paging(client: TestClient, params: dict[str, int], status: int) -> None:
    assert client.get("/catalog.ttl", params=params).status_code == status


def test_unknown_format_is_404(client: TestClient) -> None:
    assert client.get("/catalog.pdf").status_code == 404


@pytest.mark.costly(8)
def test_every_download_and_access_url_answers(client: TestClient) -> None:
    graph = parse(client.get("/catalog/dump.ttl").text, "turtle")
    urls = {str(o) for o in graph.objects(None, DCAT.downloadURL)}
    urls |= {str(o) for o in graph.objects(None, DCAT.accessURL)}
    urls |= {str(o) for o in graph.objects(None, DCAT.endpointURL)}
    urls |= {str(o) for o in graph.objects(None, DCAT.endpointDescription)}
    assert len(urls) >= 3 * len(DATASETS)
    for url in sorted(urls):
        response = client.get(path_of(url))
        assert response.status_code == 200, url


@pytest.mark.parametrize(
    ("kind", "key", "rdf_type"),
    [
        ("dataset", "population-2025", DCAT.Dataset),
        ("organisation", "gent", None),
        ("indicator", "population-density", None),
    ],
)
def test_uris_dereference(client: TestClient, kind: str, key: str, rdf_type: URIRef | None) -> None:
    redirect = client.get(f"/id/{kind}/{key}", follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == f"{BASE}/doc/{kind}/{key}"
    html = client.get(f"/doc/{kind}/{key}", headers={"Accept": "text/html"})
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    for media_type, rdf_format in FORMATS.values():
        response = client.get(f"/doc/{kind}/{key}", headers={"Accept": media_type})
        assert response.status_code == 200
        graph = parse(response.text, rdf_format)
        subject = URIRef(f"{BASE}/id/{kind}/{key}")
        assert (subject, None, None) in graph
        if rdf_type is not None:
            assert (subject, RDF.type, rdf_type) in graph


def test_unknown_uri_is_404_for_both_audiences(client: TestClient) -> None:
    page = client.get("/doc/dataset/nothing", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    problem = client.get("/doc/dataset/nothing", headers={"Accept": "text/turtle"})
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"


def test_validate_command_reports_no_violation(real_db: str) -> None:
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "dcat", "validate"],
        env={**os.environ, "DATAPEDIA_DATABASE_URL": real_db},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dcat-ap-3.0.1: 0 Violation" in result.stdout
    assert "dcat-ap-vl-3: 0 Violation" in result.stdout
    # As Metadata Vlaanderen validates: without RDFS inference.
    assert "dcat-ap-vl-3-without-inference: 0 Violation" in result.stdout


def test_a_stored_file_written_moves_the_catalogues_last_modified(world: World) -> None:
    """The dump states each file's size and checksum once the file is written: a harvester
    asking If-Modified-Since must get that document, not a 304."""
    with transaction(world.factory) as session:  # a file not written yet (a new base URL)
        removed = session.execute(
            delete(StoredDownload).where(
                StoredDownload.dataset_id == "population-2025",
                StoredDownload.name == "observations.csv",
            )
        )
        assert removed.rowcount == 1  # type: ignore[attr-defined]
    before = world.client.get("/catalog/dump.ttl")
    since = before.headers["last-modified"]
    time.sleep(1.1)  # Last-Modified counts whole seconds
    written = world.client.get("/api/v1/datasets/population-2025/downloads/observations.csv")
    assert written.status_code == 200
    after = world.client.get("/catalog/dump.ttl", headers={"If-Modified-Since": since})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert parsedate_to_datetime(after.headers["last-modified"]) > parsedate_to_datetime(since)
    assert after.text.count("byteSize") > before.text.count("byteSize")


def test_each_catalogue_url_links_to_itself(client: TestClient) -> None:
    """/catalog and /catalog.ttl send the same Turtle, each with links to its own URL,
    whichever was asked first (they shared one cached document and its links)."""
    for first, second in (("/catalog", "/catalog.ttl"), ("/catalog.ttl", "/catalog")):
        for path in (first, second):
            response = client.get(path, params={"page_size": 3, "page": 2})
            assert response.status_code == 200
            links = re.findall(r"<([^>]+)>", response.headers["link"])
            assert links and all(path_of(link).startswith(f"{path}?") for link in links), (
                path,
                links,
            )


@pytest.mark.parametrize(
    ("level", "words"),
    [
        ("public", "Open data: free to reuse"),
        ("restricted", "Values only with an API key and a grant"),
        ("non_public", "no grant opens them"),
    ],
)
def test_the_rights_statement_says_what_the_access_level_allows(
    world: World, level: str, words: str
) -> None:
    """A non-public dataset said "with a key and a grant" while every grant on it is a 409:
    portals show this text to people deciding whether to ask for access."""
    changed = world.client.patch(
        "/api/v1/datasets/income", json={"access_level": level}, headers=world.auth("admin")
    )
    assert changed.status_code == 200, changed.text
    answer = world.client.get("/doc/dataset/income", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=answer.text, format="turtle")
    rights = URIRef(f"{BASE}/id/dataset/income#rights")
    labels = {str(o) for o in graph.objects(rights, URIRef(RDFS_LABEL)) if o.language == "en"}
    assert len(labels) == 1 and words in labels.pop()


def test_a_closed_dataset_states_no_size_or_checksum_of_its_files(world: World) -> None:
    """The size of a closed dataset's file counts the values its pages keep uncounted, and
    its checksum lets whoever held the file once test a guessed change against it."""
    downloaded = world.client.get("/api/v1/datasets/income/downloads/observations.csv")
    assert downloaded.status_code == 200  # written now: the catalogue knows its size
    csv = URIRef(f"{BASE}/id/distribution/income/csv")

    def stated() -> set[URIRef]:
        answer = world.client.get("/doc/dataset/income", headers={"Accept": "text/turtle"})
        graph = Graph().parse(data=answer.text, format="turtle")
        return {p for p in graph.predicates(csv) if "byteSize" in p or "checksum" in p}

    assert stated() == {DCAT.byteSize, URIRef("http://spdx.org/rdf/terms#checksum")}
    for level in ("restricted", "non_public"):
        world.set_access_level("income", level)
        assert stated() == set(), level
    world.set_access_level("income", "public")
    assert len(stated()) == 2
