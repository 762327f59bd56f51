"""Statistics as RDF Data Cube: the cube of every seeded dataset passes the W3C integrity
constraints IC-1 … IC-21 (after the recommendation's normalisation), the checker catches
broken cubes, Turtle and N-Triples say the same, values follow the statistics API (no value
where it publishes none), the new URIs dereference, and bad requests get problems."""

from __future__ import annotations

import gzip
import io
from urllib.parse import urldefrag

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT
from sqlalchemy.orm import Session

from app.config import SEEDS_DIR, get_settings
from app.rdf import cube, cubefiles
from app.rdf.dcat import Uris
from app.stats import service as stats_service
from tests.contract import contract_violations
from tests.factories import World
from tests.rdf import datacube

BASE = get_settings().base_url
QB = "http://purl.org/linked-data/cube#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROP = f"{BASE}/id/property/"
ACCEPTS = {"text/turtle": "turtle", "application/ld+json": "json-ld", "text/html": None}


def dataset_ids(client: TestClient) -> list[str]:
    response = client.get("/api/v1/datasets", params={"page_size": 100})
    assert response.status_code == 200
    return [d["id"] for d in response.json()["items"]]


def triples(store: ox.Store) -> set[tuple[str, str, str]]:
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in store}


# --- the integrity constraints ----------------------------------------------------------------


def test_the_constraints_are_the_recommendations_with_their_source() -> None:
    for ic in datacube.ICS:
        text = (datacube.QUERIES / f"{ic}.rq").read_text()
        assert "https://www.w3.org/TR/vocab-data-cube/#wf-rules" in text, ic
        assert f"# IC-{ic.removeprefix('ic-')}." in text, ic
        assert "ASK" in text
    for phase in ("normalize-phase-1.ru", "normalize-phase-2.ru"):
        assert "#normalize-algorithm" in (datacube.QUERIES / phase).read_text()


# The datasets the seed creates, one test each: the whole check is most of a minute of CPU,
# and as one test it was the last thing one worker ran while the other sat idle. The test
# below proves that these are every dataset the seeded database has.
SEEDED_DATASETS = sorted(path.stem for path in (SEEDS_DIR / "datasets").glob("*.yaml"))
# CPU seconds of each check on a quiet machine (about its triples: energy-fluvius 3.2 million,
# land-use 1.4 million, the rest 0.1-0.4 million), so that the longest start first.
CUBE_COST = {"energy-fluvius": 30, "land-use-open-space": 14}


@pytest.mark.only_on("sqlite")
def test_the_cube_check_covers_every_seeded_dataset(client: TestClient) -> None:
    ids = dataset_ids(client)
    assert len(ids) >= 6
    assert sorted(ids) == SEEDED_DATASETS


# Minutes of CPU, and the same answer on both databases: the PostgreSQL suite proves that the
# same seed gives the same cube on both (tests/ingest/test_seed_backends.py).
@pytest.mark.only_on("sqlite")
@pytest.mark.parametrize(
    "dataset_id",
    [pytest.param(d, marks=pytest.mark.costly(CUBE_COST.get(d, 4))) for d in SEEDED_DATASETS],
)
def test_the_whole_cube_of_every_seeded_dataset_passes_ic_1_to_21(
    real_session: Session, dataset_id: str
) -> None:
    """Every observation of the dataset: its stored N-Triples dump (written by the seed, and
    served as it is) in Oxigraph, checked with the recommendation's SPARQL (IC-12 in its
    linear form, ic-12-keys.rq, above a few thousand observations)."""
    dataset = cube.dataset_of(real_session, dataset_id)
    stored = cubefiles.get_file(real_session, Uris(BASE), dataset, cube.FORMATS["nt"])
    with gzip.GzipFile(fileobj=io.BytesIO(b"".join(stored.pieces()))) as data:
        store = datacube.load(data, ox.RdfFormat.N_TRIPLES, lenient=True)
    datacube.normalise(store)
    assert datacube.observation_count(store) >= 1000, dataset_id
    assert datacube.violations(store) == [], dataset_id


def _small_cube(world: World) -> bytes:
    """A small real cube: one supplied value and every aggregate publication makes of it."""
    submitted = world.client.post(
        "/api/v1/datasets/population-2025/submissions",
        content="sector,indicator,period,value\n44021A00-,population,2025,1000\n"
        "44021A01-,population,2025,2\n",
        headers=world.headers("gent"),
    )
    assert submitted.status_code == 201, submitted.text
    response = world.client.get("/catalog/datasets/population-2025/observations.ttl")
    assert response.status_code == 200
    return response.content


def _broken(data: bytes, update: str) -> ox.Store:
    store = datacube.load(data, ox.RdfFormat.TURTLE)
    store.update(f"PREFIX qb: <{QB}> PREFIX skos: <{SKOS}> PREFIX p: <{PROP}> {update}")
    datacube.normalise(store)
    return store


ONE = "SELECT ?o WHERE { ?o a qb:Observation } ORDER BY ?o LIMIT 1"


@pytest.mark.parametrize(
    ("ic", "update"),
    [
        # An observation without a data set (the type stays: it is stated).
        ("ic-1", f"DELETE {{ ?o qb:dataSet ?d }} WHERE {{ {{ {ONE} }} ?o qb:dataSet ?d }}"),
        # A second structure on the data set.
        ("ic-2", f"INSERT {{ ?d qb:structure <{BASE}/id/dataset/other/structure> }} "
         "WHERE { ?d a qb:DataSet }"),
        # A structure without its measure.
        ("ic-3", "DELETE { ?dsd qb:component ?c } WHERE { ?dsd qb:component ?c . "
         "?c qb:measure ?m }"),
        # A dimension without a range.
        ("ic-4", "DELETE { p:period rdfs:range ?r } WHERE { p:period rdfs:range ?r }"),
        # A concept dimension without its code list.
        ("ic-5", "DELETE { p:geography qb:codeList ?l } WHERE { p:geography qb:codeList ?l }"),
        # A dimension marked optional.
        ("ic-6", "INSERT { ?c qb:componentRequired false } WHERE { ?c qb:dimension p:period }"),
        # An observation without a dimension value.
        ("ic-11", f"DELETE {{ ?o p:period ?v }} WHERE {{ {{ {ONE} }} ?o p:period ?v }}"),
        # Two observations with the same key.
        ("ic-12", f"INSERT {{ ?copy ?p ?v }} WHERE {{ {{ {ONE} }} ?o ?p ?v "
         "BIND (IRI(CONCAT(STR(?o), '-copy')) AS ?copy) }"),
        # An observation without its required status.
        ("ic-13", f"DELETE {{ ?o p:status ?v }} WHERE {{ {{ {ONE} }} ?o p:status ?v }}"),
        # An observation without its measure.
        ("ic-14", f"DELETE {{ ?o p:value ?v }} WHERE {{ {{ {ONE} }} ?o p:value ?v }}"),
        # A geography code that is not in the code list.
        ("ic-19", f"DELETE {{ ?u skos:inScheme ?s }} WHERE {{ {{ {ONE} }} ?o p:geography ?u . "
         "?u skos:inScheme ?s }"),
    ],
)  # fmt: skip
def test_a_broken_cube_is_caught_by_its_constraint(world: World, ic: str, update: str) -> None:
    data = _small_cube(world)
    valid = datacube.load(data, ox.RdfFormat.TURTLE)
    datacube.normalise(valid)
    assert datacube.violations(valid) == []
    broken = _broken(data, f"PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> {update}")
    assert ic in datacube.violations(broken)


def test_both_forms_of_ic_12_agree(world: World) -> None:
    data = _small_cube(world)
    valid = datacube.load(data, ox.RdfFormat.TURTLE)
    datacube.normalise(valid)
    assert datacube.observation_count(valid) > 5
    assert not datacube.ic12(valid, pairwise=True)
    assert not datacube.ic12(valid, pairwise=False)
    # Same key, different observation URI.
    duplicated = _broken(
        data,
        f"INSERT {{ ?copy ?p ?v }} WHERE {{ {{ {ONE} }} ?o ?p ?v "
        "BIND (IRI(CONCAT(STR(?o), '-copy')) AS ?copy) }",
    )
    assert datacube.ic12(duplicated, pairwise=True)
    assert datacube.ic12(duplicated, pairwise=False)
    # Another period: no longer a duplicate.
    moved = _broken(
        data,
        f"INSERT {{ ?copy ?p ?v . ?copy p:period '1999' }} WHERE {{ {{ {ONE} }} ?o ?p ?v "
        "FILTER (?p != p:period) BIND (IRI(CONCAT(STR(?o), '-copy')) AS ?copy) }",
    )
    assert not datacube.ic12(moved, pairwise=True)
    assert not datacube.ic12(moved, pairwise=False)


# --- what the cube says -----------------------------------------------------------------------


def test_turtle_and_n_triples_hold_the_same_triples(world: World) -> None:
    data = _small_cube(world)
    nt = world.client.get("/catalog/datasets/population-2025/observations.nt")
    assert nt.headers["content-type"].startswith("application/n-triples")
    assert triples(datacube.load(data, ox.RdfFormat.TURTLE)) == triples(
        datacube.load(nt.content, ox.RdfFormat.N_TRIPLES)
    )


def test_observations_are_the_published_values(client: TestClient, real_session: Session) -> None:
    dataset_id = "cars-households-2019"  # values withheld at sector level
    response = client.get(f"/catalog/datasets/{dataset_id}/observations.ttl")
    assert response.headers["content-type"].startswith("text/turtle")
    store = datacube.load(response.content, ox.RdfFormat.TURTLE)
    query = stats_service.build_query(
        real_session, dataset_id, indicators=[], periods=[], level=None, version=None,
        within=None, units=[], area=[],
    )  # fmt: skip
    records = list(stats_service.iter_records(real_session, query))
    published = [r for r in records if r["value"] is not None]
    withheld = [r for r in records if r["value"] is None]
    assert datacube.observation_count(store) == len(published)
    document = cube.document_url(BASE, dataset_id)
    for record in published[:: max(1, len(published) // 50)]:
        node = ox.NamedNode(cube.observation_uri(document, record))
        value = next(iter(store.quads_for_pattern(node, ox.NamedNode(PROP + "value"), None)))
        assert float(value.object.value) == pytest.approx(record["value"])
        status = next(iter(store.quads_for_pattern(node, ox.NamedNode(PROP + "status"), None)))
        assert status.object.value == f"{BASE}/id/observation-status/{record['status']}"
        unit = next(iter(store.quads_for_pattern(node, ox.NamedNode(PROP + "geography"), None)))
        assert unit.object.value == f"{BASE}/id/{record['level']}/{record['code']}"
    # No value where the API publishes none: such a cell is no observation.
    for record in withheld[:50]:
        node = ox.NamedNode(cube.observation_uri(document, record))
        assert not list(store.quads_for_pattern(node, None, None)), record
    # A Flemish municipality is linked to the Flemish registry's URI.
    gent = ox.NamedNode(f"{BASE}/id/municipality/44021")
    same = ox.NamedNode("http://www.w3.org/2002/07/owl#sameAs")
    assert ox.NamedNode("https://data.vlaanderen.be/id/gemeente/44021") in {
        q.object for q in store.quads_for_pattern(gent, same, None)
    }


def test_the_dcat_dataset_has_cube_distributions(client: TestClient) -> None:
    response = client.get("/id/dataset/income", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=response.text, format="turtle")
    downloads = {
        str(url): str(graph.value(distribution, DCAT.mediaType))
        for distribution in graph.objects(URIRef(f"{BASE}/id/dataset/income"), DCAT.distribution)
        for url in graph.objects(distribution, DCAT.downloadURL)
    }
    media = "https://www.iana.org/assignments/media-types/"
    ttl = f"{BASE}/catalog/datasets/income/observations.ttl"
    nt = f"{BASE}/catalog/datasets/income/observations.nt"
    assert downloads[ttl] == media + "text/turtle"
    assert downloads[nt] == media + "application/n-triples"


# --- every new URI answers ------------------------------------------------------------------


def test_every_uri_of_a_cube_answers(world: World) -> None:
    """Structure, component properties, code lists and their concepts, the data set: HEAD
    and GET in Turtle, JSON-LD and HTML; the observations' document by GET."""
    client = world.client
    store = datacube.load(_small_cube(world), ox.RdfFormat.TURTLE)
    uris = {
        urldefrag(term.value).url
        for quad in store
        for term in (quad.subject, quad.predicate, quad.object)
        if isinstance(term, ox.NamedNode) and term.value.startswith(BASE + "/")
    }
    kinds = {u[len(BASE) :].split("/")[2] for u in uris if "/id/" in u}
    assert {"dataset", "property", "conceptscheme", "indicator", "observation-status",
            "municipality", "sector"} <= kinds  # fmt: skip
    assert f"{BASE}/id/conceptscheme/geography" in uris
    for uri in sorted(uris):
        path = uri[len(BASE) :]
        head = client.head(path, follow_redirects=True)
        assert head.status_code == 200, (uri, head.status_code)
        if not path.startswith("/id/"):
            assert client.get(path).status_code == 200, uri
            continue
        for accept, rdf_format in ACCEPTS.items():
            response = client.get(path, headers={"Accept": accept})
            assert response.status_code == 200, (uri, accept, response.text[:200])
            if rdf_format is None:
                assert "<h1>" in response.text
                continue
            graph = Graph().parse(data=response.text, format=rdf_format)
            assert (URIRef(uri), None, None) in graph or (None, None, URIRef(uri)) in graph


def test_a_unit_document_names_its_code_list(client: TestClient) -> None:
    response = client.get("/id/municipality/44021", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=response.text, format="turtle")
    scheme = URIRef(f"{BASE}/id/conceptscheme/geography")
    assert (URIRef(f"{BASE}/id/municipality/44021"), URIRef(SKOS + "inScheme"), scheme) in graph
    prop = client.get("/id/property/geography", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=prop.text, format="turtle")
    assert (URIRef(PROP + "geography"), URIRef(QB + "codeList"), scheme) in graph


# --- bad requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/datasets/nothing/observations.ttl",
        "/catalog/datasets/nothing/observations.nt",
        "/catalog/datasets/nothing/observations",
        "/catalog/datasets/income/observations.pdf",
        "/id/observation-status/bogus",
        "/id/conceptscheme/colours",
    ],
)
def test_unknown_is_404_problem(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert client.head(path).status_code == 404


def test_content_negotiation(world: World) -> None:
    _small_cube(world)
    client = world.client
    path = "/catalog/datasets/population-2025/observations"
    refused = client.get(path, headers={"Accept": "application/pdf"})
    assert refused.status_code == 406
    assert refused.headers["content-type"] == "application/problem+json"
    assert "text/turtle" in refused.json()["detail"]
    for accept, media_type in [
        ("application/n-triples", "application/n-triples"),
        ("text/turtle;q=0.5, application/n-triples", "application/n-triples"),
        ("*/*", "text/turtle"),
        ("", "text/turtle"),
        # A wildcard stands for what it matches, and q=0 excludes a type from it too.
        ("application/*", "application/n-triples"),
        ("text/turtle;q=0, */*", "application/n-triples"),
        ("text/n3", "text/turtle"),  # as on the catalogue: Turtle is N3
    ]:
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 200, accept
        assert response.headers["content-type"].startswith(media_type), accept
        assert "Accept" in response.headers["vary"].split(", ")
    head = client.head(path + ".ttl", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/turtle")
    whole = client.get(path + ".ttl", headers={"Accept-Encoding": "identity"})
    assert int(head.headers["content-length"]) == len(whole.content) > 0
    negotiated = client.head(path, headers={"Accept": "application/n-triples"})
    assert negotiated.headers["content-type"].startswith("application/n-triples")
    assert client.head(path, headers={"Accept": "application/pdf"}).status_code == 406
    # A harvester that has the file gets 304, as the OpenAPI document now says.
    for template, url in ((path, path), (path + ".{extension}", path + ".ttl")):
        etag = client.get(url).headers["etag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert (
            contract_violations(client, template.replace("population-2025", "{dataset_id}"), again)
            == []
        )


def test_restricted_values_follow_the_access_rules(world: World) -> None:
    _small_cube(world)
    client = world.client
    restricted = client.patch(
        "/api/v1/datasets/population-2025",
        json={"access_level": "restricted"},
        headers=world.auth("publisher-editor"),
    )
    assert restricted.status_code == 200, restricted.text
    path = "/catalog/datasets/population-2025/observations.ttl"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=world.auth("analyst")).status_code == 403
    own = client.get(path, headers=world.auth("gent"))
    assert own.status_code == 200
    assert b"qb:Observation" in own.content


def test_a_metadata_change_has_the_stored_dump_written_anew(world: World) -> None:
    """The dump is stored per revision and metadata: a new title is in the next GET, and the
    distribution's byteSize follows."""
    client = world.client
    path = "/catalog/datasets/population-2025/observations.ttl"
    plain = {"Accept-Encoding": "identity"}
    before = client.get(path, headers=plain)
    assert before.status_code == 200
    patch = {"title": {"nl": "Bevolking, herzien", "en": "Population, revised"}}
    changed = client.patch(
        "/api/v1/datasets/population-2025", json=patch, headers=world.auth("admin")
    )
    assert changed.status_code == 200, changed.text
    after = client.get(path, headers=plain)
    assert b"Population, revised" in after.content
    assert b"Population, revised" not in before.content
    assert after.headers["etag"] != before.headers["etag"]
    graph = Graph().parse(
        data=client.get("/id/dataset/population-2025", headers={"Accept": "text/turtle"}).text,
        format="turtle",
    )
    distribution = URIRef(f"{BASE}/id/distribution/population-2025/cube-turtle")
    assert int(graph.value(distribution, DCAT.byteSize)) == len(after.content)
