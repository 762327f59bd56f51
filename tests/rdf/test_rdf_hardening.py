"""The DCAT catalogue and the dereferenceable URIs under bad and hostile input, and the
OpenAPI document telling the truth about their media types."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api.deps import MAX_PAGE
from app.api.params import MAX_TEXT
from app.config import get_settings
from tests.contract import PROBLEM, Route, contract_violations, openapi, parameters_named, sweep

BASE = get_settings().base_url
RDF_TYPES = {"text/turtle", "application/rdf+xml", "application/ld+json", "application/n-triples"}
ACCEPTS = [*sorted(RDF_TYPES), "text/html", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"]
DOCUMENTS = ["dataset/population-2025", "organisation/gent", "indicator/population-density"]

ROUTES = [
    *(
        Route("/catalog", query=("page", "page_size", "modified_since"), headers={"Accept": a})
        for a in ("text/turtle", "text/html")
    ),
    Route(
        "/catalog.{extension}",
        path={"extension": "nt"},
        query=("page", "page_size", "modified_since"),
    ),
    Route("/catalog/dump.{extension}", path={"extension": "nt"}),
    Route("/id/{kind}/{key:path}", path={"kind": "dataset", "key": "population-2025"}),
    *(
        Route("/doc/{kind}/{key}", path={"kind": "dataset", "key": "income"}, headers={"Accept": a})
        for a in ("text/turtle", "text/html")
    ),
]


def test_openapi_documents_the_media_types(client: TestClient) -> None:
    paths = openapi(client)["paths"]

    def answers(path: str, status: str) -> set[str]:
        return set(paths[path]["get"]["responses"][status].get("content", {}))

    for path in ("/catalog", "/doc/{kind}/{key}"):
        assert answers(path, "200") == RDF_TYPES | {"text/html"}
        assert answers(path, "304") == set()
        assert answers(path, "406") == {PROBLEM}
    for path in ("/catalog.{extension}", "/catalog/dump.{extension}"):
        assert answers(path, "200") == RDF_TYPES
        assert answers(path, "404") == {PROBLEM}
    assert answers("/doc/{kind}/{key}", "404") == {PROBLEM, "text/html"}
    assert answers("/catalog", "422") == {PROBLEM, "text/html"}  # a page for a browser
    for path in ("/id/{kind}/{key}", "/id/catalog"):
        assert "303" in paths[path]["get"]["responses"]
        assert "200" not in paths[path]["get"]["responses"]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("path", ["catalog", *(f"doc/{d}" for d in DOCUMENTS)])
def test_every_answer_is_documented(client: TestClient, path: str, accept: str) -> None:
    template = "/catalog" if path == "catalog" else "/doc/{kind}/{key}"
    response = client.get(f"/{path}", headers={"Accept": accept})
    assert response.status_code == 200
    assert contract_violations(client, template, response) == []
    again = client.get(
        f"/{path}", headers={"Accept": accept, "If-None-Match": response.headers.get("etag", "")}
    )
    assert contract_violations(client, template, again) == []


@pytest.mark.parametrize("extension", ["ttl", "rdf", "jsonld", "nt"])
def test_catalogue_in_each_format_is_documented(client: TestClient, extension: str) -> None:
    for template in ("/catalog.{extension}", "/catalog/dump.{extension}"):
        response = client.get(template.replace("{extension}", extension))
        assert response.status_code == 200
        assert contract_violations(client, template, response) == []


@pytest.mark.parametrize("accept", ["image/png", "application/pdf;q=1, text/csv", "text/html;q=0"])
def test_an_unservable_accept_is_406(client: TestClient, accept: str) -> None:
    for path, template in (("/catalog", "/catalog"), ("/doc/dataset/income", "/doc/{kind}/{key}")):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 406
        assert response.headers["content-type"] == PROBLEM
        assert contract_violations(client, template, response) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": "text/turtle;q=abc"},
        {"Accept": "text/turtle;q=nan, text/html;q=inf"},
        {"Accept": ",".join(["x/y"] * 500) + ",text/turtle"},
        {"Accept": ";;;,,,"},
        {"If-None-Match": '"' + "x" * 5000 + '"'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 -0000"},  # parses without a zone
        {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 -0000"},
        {"If-Modified-Since": "Mon, 99 Jan 2000 00:00:00 GMT"},
        {"If-Modified-Since": "yesterday"},
    ],
)
def test_odd_headers_never_break_the_contract(client: TestClient, headers: dict[str, str]) -> None:
    for path, template in (("/catalog", "/catalog"), ("/doc/dataset/income", "/doc/{kind}/{key}")):
        response = client.get(path, headers=headers)
        assert response.status_code in (200, 304, 406), (path, headers, response.text[:200])
        assert contract_violations(client, template, response) == []


def test_a_date_without_zone_in_if_modified_since_counts_as_utc(client: TestClient) -> None:
    first = client.get("/catalog.ttl")
    since = first.headers["last-modified"].replace("GMT", "-0000")
    assert client.get("/catalog.ttl", headers={"If-Modified-Since": since}).status_code == 304
    old = "Sat, 01 Jan 2000 00:00:00 -0000"
    assert client.get("/catalog.ttl", headers={"If-Modified-Since": old}).status_code == 200


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": str(10**30)}, "page"),
        ({"page": str(MAX_PAGE + 1)}, "page"),
        ({"page": "-1"}, "page"),
        ({"page_size": str(2**64)}, "page_size"),
        ({"page_size": "501"}, "page_size"),
        ({"modified_since": "2025-01-01" + "0" * MAX_TEXT}, "modified_since"),
        ({"modified_since": "2025-01-01\x00"}, "modified_since"),
        ({"modified_since": "10000-01-01"}, "modified_since"),
    ],
)
def test_catalogue_parameters_are_bounded(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    for path in ("/catalog", "/catalog.ttl"):
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, params)
        assert response.headers["content-type"] == PROBLEM
        assert parameters_named(response.json()) == [parameter]


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/id/dataset/a%20b", f"{BASE}/doc/dataset/a%20b"),
        ("/id/dataset/a%3Fb%23c", f"{BASE}/doc/dataset/a%3Fb%23c"),
        ("/id/dataset/%C3%A9t%C3%A9", f"{BASE}/doc/dataset/%C3%A9t%C3%A9"),
        ("/id/dataset/x/y", f"{BASE}/doc/dataset/x/y"),
    ],
)
def test_odd_uris_of_nothing_are_404_at_once(client: TestClient, path: str, location: str) -> None:
    # No such dataset: 404 before any redirect (the Location would have been ``location``).
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers, location
    assert contract_violations(client, "/id/{kind}/{key}", response) == []


@pytest.mark.parametrize(
    "path",
    [
        "/id/dataset/a%0D%0ALocation:%20https://evil.example",
        "/id/dataset/" + "k" * (MAX_TEXT + 1),
        "/doc/dataset/%00",
        "/doc/dataset/%FF",
        "/doc/" + "d" * (MAX_TEXT + 1) + "/x",
        "/catalog.%00",
        "/catalog/dump.%0A",
    ],
)
def test_a_path_that_names_nothing_is_404(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert "location" not in response.headers


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.template} {r.headers}")
def test_hostile_values_never_break_the_contract(client: TestClient, route: Route) -> None:
    assert sweep(client, route) == []


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/catalog.ttl", "*/*"),
        ("/catalog", "text/html"),
        ("/catalog/dump.nt", "*/*"),
        ("/doc/dataset/income", "text/html"),
        ("/doc/dataset/income", "application/ld+json"),
        ("/doc/dataset/nothing", "text/html"),
        ("/id/dataset/income", "*/*"),
    ],
)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str, accept: str) -> None:
    get = client.get(path, headers={"Accept": accept}, follow_redirects=False)
    head = client.head(path, headers={"Accept": accept}, follow_redirects=False)
    assert head.status_code == get.status_code
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "last-modified", "link", "location"):
        assert head.headers.get(name) == get.headers.get(name), name
