"""The catalogue graph on the real catalogue: valid against the official DCAT-AP 3.0.1 and
DCAT-AP-VL 3 shapes (../shared/shacl), and carrying what harvesters and users look for."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, QB, RDF, RDFS, SKOS, XSD
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.rdf.dcat import Uris, catalog_graph, dataset_graph, indicator_graph, organisation_graph
from app.rdf.validate import ValidationOutcome, default_shacl_dir, shacl_report
from app.rdf.vocab import GEODCATAP, INSPIRE_ROLES, STAT

URIS = Uris("http://datapedia.test")
REAL_DATASETS = {
    "population-2025",
    "income",
    "age-census-2021",
    "cars-households-2019",
    "energy-fluvius",
    "land-use-open-space",
    "sector-area-2021",
    "climate-energy-monitor",
}
INSPIRE = INSPIRE_ROLES + "/"
GENT = URIRef("https://data.vlaanderen.be/id/organisatie/OVO002067")


@pytest.fixture(scope="module")
def shacl_dir() -> Path:
    directory = default_shacl_dir()
    if not (directory / "dcat-ap-3.0.1" / "shapes.ttl").is_file():
        pytest.fail(f"the official SHACL shapes are missing: {directory}")
    return directory


def describe(outcome: ValidationOutcome) -> str:
    lines = [outcome.summary()]
    lines += [str(r) for r in outcome.results]
    return "\n".join(lines)


def validate(graph: Graph, shacl_dir: Path) -> ValidationOutcome:
    return shacl_report(graph, shacl_dir)


def test_the_whole_catalogue_has_no_violations(real_session: Session, shacl_dir: Path) -> None:
    started = time.perf_counter()
    graph = catalog_graph(real_session, URIS)
    built = time.perf_counter() - started
    outcome = validate(graph, shacl_dir)
    report = f"graph built in {built:.3f} s\n{describe(outcome)}"
    assert {s.name for s in outcome.shape_sets} == {
        "dcat-ap-3.0.1",
        "dcat-ap-vl-3",
        "dcat-ap-vl-3-without-inference",
    }
    for shape_set in outcome.shape_sets:
        assert shape_set.counts["Violation"] == 0, report
    assert outcome.violations == 0, report
    # Every dataset of the real catalogue is in the graph, typed.
    assert {
        str(s).rsplit("/", 1)[-1] for s in graph.subjects(RDF.type, DCAT.Dataset)
    } == REAL_DATASETS
    # The warnings that remain come from the controlled-vocabulary shapes and cannot be
    # avoided with our data: the publisher is not in the EU corporate-bodies table, and the
    # regions are NUTS URIs, which those shapes do not list for dct:spatial.
    paths = {r.path for r in outcome.of("Warning")}
    assert paths <= {str(DCTERMS.publisher), str(DCTERMS.spatial)}, report


def test_population_dataset_content(real_session: Session) -> None:
    graph = catalog_graph(real_session, URIS)
    dataset = URIS.dataset("population-2025")

    assert (dataset, DCTERMS.identifier, Literal("population-2025")) in graph
    titles = {o.language for o in graph.objects(dataset, DCTERMS.title) if isinstance(o, Literal)}
    assert titles == {"nl", "en"}
    assert len(set(graph.objects(dataset, DCTERMS.rightsHolder))) == 14
    publishers = list(graph.objects(dataset, DCTERMS.publisher))
    assert publishers == [URIS.organisation("kenniscentrum-vlaamse-steden")]
    for agent in graph.objects(dataset, DCTERMS.rightsHolder):
        assert (agent, RDF.type, FOAF.Agent) in graph
        assert (agent, RDF.type, DCTERMS.Agent) in graph

    roles: dict[str, set[str]] = {}
    for attribution in graph.objects(dataset, PROV.qualifiedAttribution):
        assert (attribution, RDF.type, PROV.Attribution) in graph
        role = graph.value(attribution, DCAT.hadRole)
        who = graph.value(attribution, PROV.agent)
        assert role is not None and who is not None
        assert (role, RDF.type, DCAT.Role) in graph
        assert graph.value(role, SKOS.prefLabel) is not None
        own = graph.value(who, OWL.sameAs) or who  # a register URI is the same as ours
        roles.setdefault(str(role).removeprefix(INSPIRE), set()).add(str(own).rsplit("/", 1)[-1])
    assert roles["originator"] == {"statbel"}
    assert roles["publisher"] == {"kenniscentrum-vlaamse-steden"}
    assert len(roles["owner"]) == 14
    assert len(roles["resourceProvider"]) == 13 and "gent" in roles["resourceProvider"]
    assert (dataset, GEODCATAP.originator, URIS.organisation("statbel")) in graph
    # Gent under its URI in the Flemish organisation register (its OVO code is known).
    assert (dataset, GEODCATAP.resourceProvider, GENT) in graph
    assert (GENT, OWL.sameAs, URIS.organisation("gent")) in graph

    distributions = set(graph.objects(dataset, DCAT.distribution))
    assert distributions == {
        URIS.distribution("population-2025", f)
        for f in ("csv", "json", "jsonstat", "datapackage", "cube-turtle", "cube-ntriples")
    }
    api = "http://datapedia.test/api/v1/datasets/population-2025"
    for distribution in distributions:
        # Downloads are the stored whole-dataset files; access is the API that also selects.
        (download,) = graph.objects(distribution, DCAT.downloadURL)
        if str(distribution).endswith(("/cube-turtle", "/cube-ntriples")):
            # The Data Cube dumps are streamed from the catalogue, not stored files.
            cube = "http://datapedia.test/catalog/datasets/population-2025/observations."
            assert str(download) in {f"{cube}ttl", f"{cube}nt"}
        else:
            assert str(download).startswith(f"{api}/downloads/")
        assert graph.value(distribution, DCAT.accessURL) == URIRef(f"{api}/observations")
        media_type = graph.value(distribution, DCAT.mediaType)
        assert str(media_type).startswith("https://www.iana.org/assignments/media-types/")
        file_type = graph.value(distribution, DCTERMS.format)
        assert (file_type, RDF.type, SKOS.Concept) in graph
        assert (file_type, RDF.type, DCTERMS.MediaTypeOrExtent) in graph
        licence = graph.value(distribution, DCTERMS.license)
        assert (licence, RDF.type, DCTERMS.LicenseDocument) in graph
    jsonstat = URIS.distribution("population-2025", "jsonstat")
    assert (jsonstat, DCTERMS.conformsTo, URIRef("https://json-stat.org/format/")) in graph
    # The CSV conforms to the download's Table Schema; the upload schema is linked from the
    # dataset as how to supply it.
    csv_distribution = URIS.distribution("population-2025", "csv")
    assert (csv_distribution, DCTERMS.conformsTo, URIRef(f"{api}/downloads/schema.json")) in graph
    assert (csv_distribution, DCTERMS.conformsTo, URIRef(f"{api}/schema")) not in graph
    assert (dataset, RDFS.seeAlso, URIRef(f"{api}/schema")) in graph

    structure = graph.value(dataset, DCTERMS.conformsTo)
    assert structure == URIS.structure("population-2025")
    assert (structure, RDF.type, QB.DataStructureDefinition) in graph
    assert (structure, RDF.type, DCTERMS.Standard) in graph
    kinds = {
        p
        for spec in graph.objects(structure, QB.component)
        for p in graph.predicates(spec)
        if p in (QB.dimension, QB.measure, QB.attribute)
    }
    assert kinds == {QB.dimension, QB.measure, QB.attribute}
    assert len(set(graph.objects(dataset, STAT.dimension))) == 3
    assert len(set(graph.objects(dataset, STAT.attribute))) == 3
    for component in graph.objects(dataset, STAT.dimension):
        assert (component, RDF.type, QB.DimensionProperty) in graph
    assert graph.value(dataset, STAT.numSeries) == Literal(3, datatype=XSD.integer)

    access = graph.value(dataset, DCTERMS.accessRights)
    assert access == URIRef("http://publications.europa.eu/resource/authority/access-right/PUBLIC")
    assert (access, RDF.type, DCTERMS.RightsStatement) in graph
    assert (access, RDF.type, SKOS.Concept) in graph
    period = graph.value(dataset, DCTERMS.temporal)
    # With its time zone, as the Flemish portal asks of every date.
    assert graph.value(period, DCAT.startDate) == Literal(
        "2025-01-01T00:00:00+01:00", datatype=XSD.dateTime
    )
    assert set(graph.objects(dataset, DCTERMS.spatial)) == {
        URIRef("http://data.europa.eu/nuts/code/BE1"),
        URIRef("http://data.europa.eu/nuts/code/BE2"),
    }

    density = URIS.indicator("population-density")
    assert (dataset, DCTERMS.subject, density) in graph
    assert (density, RDF.type, SKOS.Concept) in graph
    assert (density, SKOS.inScheme, URIS.indicator_scheme()) in graph
    assert (URIS.indicator_scheme(), RDF.type, SKOS.ConceptScheme) in graph
    definitions = {
        o.language for o in graph.objects(density, SKOS.definition) if isinstance(o, Literal)
    }
    assert definitions == {"nl", "en"}

    service = URIS.data_service()
    assert (service, RDF.type, DCAT.DataService) in graph
    assert graph.value(service, DCAT.endpointDescription) == URIRef(
        "http://datapedia.test/openapi.json"
    )
    assert graph.value(service, DCAT.endpointURL) == URIRef("http://datapedia.test/api/v1")
    assert (service, DCAT.servesDataset, dataset) in graph

    record = URIS.record("population-2025")
    assert (URIS.catalog(), DCAT.record, record) in graph
    assert (record, FOAF.primaryTopic, dataset) in graph
    modified = graph.value(record, DCTERMS.modified)
    assert isinstance(modified, Literal) and modified.datatype == XSD.dateTime


def test_a_page_lists_only_its_datasets(real_session: Session, shacl_dir: Path) -> None:
    graph = catalog_graph(real_session, URIS, ["income", "no-such-dataset"])
    catalog = URIS.catalog()
    assert set(graph.objects(catalog, DCAT.dataset)) == {URIS.dataset("income")}
    assert set(graph.objects(catalog, DCAT.record)) == {URIS.record("income")}
    assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {URIS.dataset("income")}
    assert set(graph.objects(URIS.data_service(), DCAT.servesDataset)) == {URIS.dataset("income")}
    # The catalogue's dates are the whole catalogue's, so pages agree with each other.
    whole = catalog_graph(real_session, URIS)
    assert graph.value(catalog, DCTERMS.modified) == whole.value(catalog, DCTERMS.modified)
    outcome = validate(graph, shacl_dir)
    assert outcome.violations == 0, describe(outcome)


def test_a_page_describes_the_sources_of_its_derived_datasets(
    real_session: Session, shacl_dir: Path
) -> None:
    """A page with a derived dataset but not its sources (a page of 1, or an incremental
    harvest) conforms on its own: dct:source's range is dcat:Dataset, so the sources are
    described, though the catalogue lists only the page's dataset."""
    derived = "climate-energy-monitor"
    graph = catalog_graph(real_session, URIS, [derived])
    sources = set(graph.objects(URIS.dataset(derived), DCTERMS.source))
    assert len(sources) >= 2
    for source in sources:
        assert (source, RDF.type, DCAT.Dataset) in graph
        assert graph.value(source, DCTERMS.title) is not None
    assert set(graph.objects(URIS.catalog(), DCAT.dataset)) == {URIS.dataset(derived)}
    outcome = validate(graph, shacl_dir)
    assert outcome.violations == 0, describe(outcome)


def test_an_empty_page_is_still_a_valid_catalogue(real_session: Session, shacl_dir: Path) -> None:
    graph = catalog_graph(real_session, URIS, [])
    assert list(graph.subjects(RDF.type, DCAT.Dataset)) == []
    assert (URIS.catalog(), RDF.type, DCAT.Catalog) in graph
    outcome = validate(graph, shacl_dir)
    assert outcome.violations == 0, describe(outcome)


def test_the_validator_catches_a_missing_title(real_session: Session, shacl_dir: Path) -> None:
    graph = catalog_graph(real_session, URIS)
    dataset = URIS.dataset("income")
    graph.remove((dataset, DCTERMS.title, None))
    outcome = validate(graph, shacl_dir)
    assert outcome.violations >= 2, describe(outcome)
    for name in ("dcat-ap-3.0.1", "dcat-ap-vl-3"):
        found = [
            r
            for r in outcome.by_name[name].results
            if r.severity == "Violation" and r.focus_node == str(dataset)
        ]
        assert found, describe(outcome)
        assert any(r.path == str(DCTERMS.title) for r in found)


def test_dereferenced_graphs(real_session: Session, shacl_dir: Path) -> None:
    dataset = dataset_graph(real_session, URIS, "population-2025")
    assert (URIS.dataset("population-2025"), RDF.type, DCAT.Dataset) in dataset
    assert (URIS.record("population-2025"), RDF.type, DCAT.CatalogRecord) in dataset
    assert (URIS.catalog(), None, None) not in dataset
    assert validate(dataset, shacl_dir).violations == 0

    gent = GENT
    organisation = organisation_graph(real_session, URIS, "gent")
    assert (gent, OWL.sameAs, URIS.organisation("gent")) in organisation
    assert (gent, RDF.type, FOAF.Agent) in organisation
    assert (gent, RDF.type, DCTERMS.Agent) in organisation
    assert (URIS.dataset("population-2025"), DCTERMS.rightsHolder, gent) in organisation

    density = URIS.indicator("population-density")
    indicator = indicator_graph(real_session, URIS, "population-density")
    assert (density, RDF.type, SKOS.Concept) in indicator
    assert (density, SKOS.inScheme, URIS.indicator_scheme()) in indicator
    assert indicator.value(density, SKOS.definition) is not None
    assert (URIS.dataset("population-2025"), DCTERMS.subject, density) in indicator

    for build, key in (
        (dataset_graph, "nothing"),
        (organisation_graph, "nothing"),
        (indicator_graph, "nothing"),
    ):
        with pytest.raises(NotFound):
            build(real_session, URIS, key)


def test_uris() -> None:
    uris = Uris("http://example.org/")
    assert uris.base == "http://example.org"
    assert uris.catalog() == URIRef("http://example.org/id/catalog")
    assert uris.distribution("x", "csv") == URIRef("http://example.org/id/distribution/x/csv")
    assert uris.structure("x") == URIRef("http://example.org/id/dataset/x/structure")
    assert uris.geo_unit("municipality", "44021") == URIRef(
        "http://example.org/id/municipality/44021"
    )
    assert uris.indicator_scheme() == URIRef("http://example.org/id/conceptscheme/datapedia")


def test_licences_for_the_flemish_and_european_portals(real_session: Session) -> None:
    graph = catalog_graph(real_session, URIS)
    cc0 = URIRef("https://data.vlaanderen.be/id/licentie/creative-commons-zero-verklaring/v1.0")
    assert graph.value(URIS.catalog(), DCTERMS.license) == cc0
    eu = "http://publications.europa.eu/resource/authority/licence/"
    assert (cc0, SKOS.exactMatch, URIRef(eu + "CC0")) in graph
    cc_by = graph.value(URIS.distribution("cars-households-2019", "csv"), DCTERMS.license)
    assert cc_by == URIRef(eu + "CC_BY_4_0")
    assert (cc_by, SKOS.exactMatch, URIRef("https://creativecommons.org/licenses/by/4.0/")) in graph
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        for predicate in (DCTERMS.issued, DCTERMS.modified, DCTERMS.rights):
            assert graph.value(distribution, predicate) is not None, (distribution, predicate)


def test_the_derived_dataset_cites_its_sources_and_validates(
    real_session: Session, shacl_dir: Path
) -> None:
    graph = dataset_graph(real_session, URIS, "climate-energy-monitor")
    node = URIS.dataset("climate-energy-monitor")
    sources = {
        URIS.dataset(d)
        for d in ("energy-fluvius", "age-census-2021", "sector-area-2021", "land-use-open-space")
    }
    assert set(graph.objects(node, DCTERMS.source)) == sources
    assert sources <= set(graph.objects(node, PROV.wasDerivedFrom))
    # dct:source ranges over dcat:Dataset: the sources are described in the same graph.
    assert all((s, RDF.type, DCAT.Dataset) in graph for s in sources)
    outcome = validate(graph, shacl_dir)
    assert outcome.violations == 0, describe(outcome)
    # A source dataset cites none; the derived indicator's concept gives its formula in words
    # and its parts.
    assert not set(graph.objects(URIS.dataset("energy-fluvius"), DCTERMS.source))
    concept = URIS.indicator("electricity-residential-per-inhabitant")
    notes = {str(n) for n in graph.objects(concept, SKOS.note)}
    assert any(
        n.startswith("Sum of Residential electricity consumption (energy-fluvius)") for n in notes
    )
    assert any(n.startswith("Som van ") for n in notes)
    assert URIS.indicator("population-65plus") in set(graph.objects(concept, SKOS.related))
