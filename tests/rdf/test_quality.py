"""The MQA score (data.europa.eu's Metadata Quality Assessment): recomputed here from the dump
with a small implementation of its own (SPARQL ASKs with Oxigraph, URLs requested through the
app), it agrees with `/api/v1/datasets/{id}/quality` and with the DQV measurements in the
graph; points lost are explained; every distribution states its byteSize before anyone
downloaded it.

The shared real database is read only; the byteSize test submits in a world of its own."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD

from app.config import get_settings
from app.rdf import quality
from app.rdf.vocab import DQV, SPDX
from tests.factories import Template, World, app_state_of, open_world

BASE = get_settings().base_url
EU = "http://publications.europa.eu/resource/authority/"
PREFIXES = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
"""
# Open formats of the EU file-type table that are machine-readable (our own short list).
OPEN_FORMATS = {"CSV", "JSON", "XML", "JSON_LD", "RDF_TURTLE", "GEOJSON"}

# (weight, pattern) per indicator; ?x is the dataset or the distribution.
DATASET_LEVEL = {
    "keyword": (30, "?x dcat:keyword ?v"),
    "theme": (30, "?x dcat:theme ?v"),
    "spatial": (20, "?x dct:spatial ?v"),
    "temporal": (20, "?x dct:temporal ?v"),
    "dcat-ap-compliance": (
        30,
        "?x a dcat:Dataset ; dct:title ?t ; dct:description ?d . "
        "FILTER NOT EXISTS { ?x dcat:distribution ?n FILTER NOT EXISTS { ?n dcat:accessURL ?a } }",
    ),
    "access-rights": (10, "?x dct:accessRights ?v"),
    "access-rights-vocabulary": (
        5,
        f'?x dct:accessRights ?v FILTER STRSTARTS(STR(?v), "{EU}access-right/")',
    ),
    "contact-point": (20, "?x dcat:contactPoint ?v"),
    "publisher": (10, "?x dct:publisher ?v"),
}
DISTRIBUTION_LEVEL = {
    "download-url": (20, "?x dcat:downloadURL ?v"),
    "licence": (20, "?x dct:license ?v"),
    # Each branch binds ?l itself: a group holding only a FILTER sees no ?l from outside it
    # (SPARQL's scoping, which Oxigraph follows and rdflib did not).
    "licence-vocabulary": (
        10,
        f"{{ ?x dct:license ?l FILTER STRSTARTS(STR(?l), '{EU}licence/') }} UNION "
        f"{{ ?x dct:license ?l . ?l skos:exactMatch ?e FILTER STRSTARTS(STR(?e), '{EU}licence/') }}",
    ),
    "rights": (5, "?x dct:rights ?v"),
    "byte-size": (5, "?x dcat:byteSize ?v"),
    "issued": (5, "?x dct:issued ?v"),
    "modified": (5, "?x dct:modified ?v"),
}
FORMAT = f'?x dct:format ?f FILTER STRSTARTS(STR(?f), "{EU}file-type/")'
INTEROPERABILITY = {  # counted on the best distribution
    "format": (20, "?x dct:format ?v"),
    "media-type": (10, "?x dcat:mediaType ?v"),
    "format-media-type-vocabulary": (
        10,
        f'{FORMAT} . ?x dcat:mediaType ?m FILTER STRSTARTS(STR(?m), "https://www.iana.org/")',
    ),
    "non-proprietary": (20, FORMAT),
    "machine-readable": (20, FORMAT),
}


class Dump:
    """The dump twice: an rdflib graph for reading values, and an Oxigraph store for the
    ASKs (rdflib parsed each of the ~650 queries anew: two thirds of the test's CPU)."""

    def __init__(self, turtle: str) -> None:
        self.graph = Graph().parse(data=turtle, format="turtle")
        self.store = ox.Store()
        self.store.load(turtle.encode(), format=ox.RdfFormat.TURTLE)


def ask(dump: Dump, node: URIRef, pattern: str) -> bool:
    # ?x substituted before evaluation, as rdflib's initBindings did.
    answer = dump.store.query(
        f"{PREFIXES} ASK {{ {pattern} }}", substitutions={ox.Variable("x"): ox.NamedNode(node)}
    )
    assert isinstance(answer, ox.QueryBoolean)
    return bool(answer)


def answers(client: TestClient, url: str) -> bool:
    """Whether a GET answers 200. The body is not decoded here: the distributions include the
    Data Cube dumps (hundreds of megabytes once decompressed, a third of this test's CPU), and
    test_dcat_http.py's test_every_download_and_access_url_answers GETs and decodes every
    download and access URL of the dump."""
    assert url.startswith(BASE), url
    with client.stream("GET", url[len(BASE) :]) as response:
        return response.status_code == 200


def recompute(dump: Dump, dataset: URIRef, client: TestClient) -> dict[str, float]:
    """The points of every indicator, independently of app.rdf.quality."""
    graph = dump.graph
    points: dict[str, float] = {}
    for key, (weight, pattern) in DATASET_LEVEL.items():
        points[key] = weight if ask(dump, dataset, pattern) else 0
    distributions = list(graph.objects(dataset, DCAT.distribution))
    assert distributions, dataset

    def share(weight: int, met: int) -> float:
        return round(weight * met / len(distributions), 2)

    for key, (weight, pattern) in DISTRIBUTION_LEVEL.items():
        points[key] = share(weight, sum(ask(dump, d, pattern) for d in distributions))  # type: ignore[arg-type]
    points["access-url-status"] = share(
        50, sum(answers(client, str(graph.value(d, DCAT.accessURL))) for d in distributions)
    )
    points["download-url-status"] = share(
        30, sum(answers(client, str(graph.value(d, DCAT.downloadURL))) for d in distributions)
    )
    best: dict[str, float] = {}
    for distribution in distributions:
        earned = {
            k: w if ask(dump, distribution, p) else 0 for k, (w, p) in INTEROPERABILITY.items()
        }  # type: ignore[arg-type]
        code = str(graph.value(distribution, DCTERMS.format)).rsplit("/", 1)[-1]
        for key in ("non-proprietary", "machine-readable"):
            if code not in OPEN_FORMATS:
                earned[key] = 0
        if sum(earned.values()) > sum(best.values()):
            best = earned
    points.update(best)
    return points


@pytest.fixture(scope="module")
def dump(client: TestClient) -> Dump:
    response = client.get("/catalog/dump.ttl")
    assert response.status_code == 200
    return Dump(response.text)


@pytest.mark.costly(5)
def test_every_dataset_scores_full_marks_recomputed_from_the_dump(
    client: TestClient, dump: Dump
) -> None:
    graph = dump.graph
    datasets = sorted(graph.subjects(RDF.type, DCAT.Dataset), key=str)
    assert len(datasets) >= 6
    for dataset in datasets:
        dataset_id = str(dataset).rsplit("/", 1)[-1]
        mine = recompute(dump, dataset, client)  # type: ignore[arg-type]
        assert set(mine) == {m.key for m in quality.METRICS}
        served = client.get(f"/api/v1/datasets/{dataset_id}/quality")
        assert served.status_code == 200, served.text
        body = served.json()
        theirs = {i["metric"]: i["points"] for d in body["dimensions"] for i in d["indicators"]}
        assert theirs == mine, dataset_id
        assert body["maximum"] == 405
        assert body["total"] == round(sum(mine.values()), 2)
        # The graph states the same figures as DQV measurements.
        measured = {
            str(graph.value(m, DQV.isMeasurementOf)).rsplit("/", 1)[-1]: Decimal(
                str(graph.value(m, DQV.value))
            )
            for m in graph.objects(dataset, DQV.hasQualityMeasurement)
        }
        assert measured.pop("score") == Decimal(str(body["total"]))
        assert {k: float(v) for k, v in measured.items()} == mine
        # Full marks, except the licence vocabulary where a licence has no EU URI: the
        # Flemish model licence is in no EU vocabulary (see README). Every distribution,
        # the two Data Cube dumps included, states its byteSize.
        lost = {k for k, v in mine.items() if v < dict(_maxima())[k]}
        eu_licence = ask(dump, dataset, DISTRIBUTION_LEVEL["licence-vocabulary"][1].replace(
            "?x dct:license", "?x dcat:distribution ?dist . ?dist dct:license"
        ))  # fmt: skip
        assert lost == (set() if eu_licence else {"licence-vocabulary"}), (dataset_id, body)
        distributions = list(graph.objects(dataset, DCAT.distribution))
        assert {"cube-turtle", "cube-ntriples"} <= {
            str(d).rsplit("/", 1)[-1] for d in distributions
        }
        assert all(graph.value(d, DCAT.byteSize) is not None for d in distributions), dataset_id
        assert mine["byte-size"] == 5
        if not eu_licence:
            indicator = next(
                i
                for d in body["dimensions"]
                for i in d["indicators"]
                if i["metric"] == "licence-vocabulary"
            )
            assert "not in the EU licence vocabulary" in indicator["lost"]
        expected = 405 - (0 if eu_licence else 10)
        assert body["total"] == pytest.approx(expected, abs=0.01)


def _maxima() -> list[tuple[str, int]]:
    return [(m.key, m.maximum) for m in quality.METRICS]


def test_metrics_dereference_as_dqv(client: TestClient) -> None:
    response = client.get("/id/metric/byte-size", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    metric = URIRef(f"{BASE}/id/metric/byte-size")
    assert (metric, RDF.type, DQV.Metric) in graph
    assert graph.value(metric, DQV.inDimension) == URIRef(f"{BASE}/id/metric/contextuality")
    assert client.get("/id/metric/nothing").status_code == 404


def test_unknown_dataset_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/datasets/nothing-here/quality")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "nothing-here" in response.json()["detail"]


def test_points_lost_are_explained() -> None:
    """On a hand-made graph: what is missing costs its points, and says why."""
    graph = Graph()
    dataset = URIRef("http://example.test/id/dataset/d")
    good = URIRef("http://example.test/id/distribution/d/csv")
    bare = URIRef("http://example.test/id/distribution/d/json")
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.title, Literal("D", lang="en")))
    graph.add((dataset, DCAT.keyword, Literal("k", lang="en")))
    for distribution in (good, bare):
        graph.add((dataset, DCAT.distribution, distribution))
        graph.add((distribution, DCAT.accessURL, URIRef(f"{distribution}/access")))
    graph.add((good, DCAT.downloadURL, URIRef(f"{good}/file")))
    graph.add((good, DCAT.byteSize, Literal(10, datatype=XSD.nonNegativeInteger)))
    graph.add((good, DCTERMS.format, URIRef(f"{EU}file-type/CSV")))

    def status(url: str) -> int | None:
        return 200 if url.endswith("/access") and "csv" in url else 404

    score = quality.assess(graph, dataset, status, lambda key: f"urn:metric:{key}")
    indicators = {i.metric: i for d in score.dimensions for i in d.indicators}
    assert indicators["keyword"].points == 30 and indicators["keyword"].lost is None
    assert indicators["theme"].points == 0 and indicators["theme"].lost == "no dcat:theme"
    assert indicators["byte-size"].points == 2.5
    assert indicators["byte-size"].lost == "d/json: no dcat:byteSize"
    assert indicators["access-url-status"].points == 25
    assert "answers 404" in str(indicators["access-url-status"].lost)
    # Interoperability counts the best distribution (the CSV one).
    assert indicators["format"].points == 20 and indicators["machine-readable"].points == 20
    assert indicators["media-type"].points == 0
    assert "no dct:description" in str(indicators["dcat-ap-compliance"].lost)
    assert score.total == sum(i.points for i in indicators.values())
    assert score.maximum == 405 and score.rating == "sufficient"


@pytest.fixture
def writing_world(world_template: Template, tmp_path: Path) -> Iterator[World]:
    """A world with the stored-files writer on, as in production (a database of its own:
    the writer's thread opens connections of its own)."""
    yield from open_world(world_template, tmp_path, real_database=True, write_stored_files=True)


def test_byte_size_is_stated_before_the_first_download(writing_world: World) -> None:
    world = writing_world
    upload = "sector,indicator,period,value,status\r\n44021A00-,population,2025,4321,\r\n"
    submitted = world.client.post(
        "/api/v1/datasets/population-2025/submissions",
        content=upload.encode(),
        headers=world.headers("gent"),
    )
    assert submitted.status_code in (200, 201), submitted.text
    # Nobody has downloaded the new revision; once the writer has written the files the
    # write made stale, the catalogue states their sizes, the sizes of the files served.
    writer = app_state_of(world.client).stored_files_writer
    assert writer is not None and writer.wait_idle(120)
    response = world.client.get("/doc/dataset/population-2025", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=response.text, format="turtle")
    files = {
        "csv": "/api/v1/datasets/population-2025/downloads/observations.csv",
        "json": "/api/v1/datasets/population-2025/downloads/observations.json",
        "cube-turtle": "/catalog/datasets/population-2025/observations.ttl",
        "cube-ntriples": "/catalog/datasets/population-2025/observations.nt",
    }
    for fmt, path in files.items():
        distribution = URIRef(f"{BASE}/id/distribution/population-2025/{fmt}")
        size = graph.value(distribution, DCAT.byteSize)
        assert size is not None, fmt
        checksum = graph.value(graph.value(distribution, SPDX.checksum), SPDX.checksumValue)
        assert str(graph.value(distribution, DCAT.downloadURL)) == BASE + path
        # The same bytes whether the client takes them gzip-compressed or not.
        for encoding in ("identity", "gzip"):
            served = world.client.get(path, headers={"Accept-Encoding": encoding})
            assert served.status_code == 200, (fmt, served.text[:200])
            assert int(size) == len(served.content), (fmt, encoding)
            assert str(checksum) == hashlib.sha256(served.content).hexdigest(), (fmt, encoding)
            head = world.client.head(path, headers={"Accept-Encoding": "identity"})
            assert int(head.headers["content-length"]) == int(size), fmt
        assert "4321" in served.text, fmt
