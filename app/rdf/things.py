"""What each ``/id/{kind}/{key}`` names, resolved once for both sides of dereferencing: the
``/id/`` route asks only whether the thing exists (so an unknown id is 404 at once, not after
a redirect), the ``/doc/`` route asks for its graph or its HTML page.

Every base-prefixed URI the graph mints (see :class:`app.rdf.dcat.Uris`) has a kind here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdflib import Graph, Literal
from sqlalchemy.orm import Session

from app.catalogue import repository as catalogue_repository
from app.catalogue import service as catalogue_service
from app.catalogue.models import Dataset, Indicator
from app.errors import NotFound
from app.feedback import service as feedback_service
from app.geo import repository as geo_repository
from app.geo import service as geo_service
from app.geo.levels import LEVELS
from app.rdf import cube, dcat, quality
from app.rdf.dcat import Uris
from app.rdf.vocab import SKOS
from app.stats import service as stats_service
from app.web import pages
from app.web.i18n import Translator

Alternates = dict[str, str]
GEO_LEVELS = frozenset(info.level.value for info in LEVELS)
SERVICE_KEY = "api"
SCHEME_KEY = "datapedia"
STRUCTURE_SUFFIX = "/structure"


@dataclass(frozen=True)
class Thing:
    """A resolved URI: ``graph`` and ``html`` build its two forms only when asked (their
    ``ETag`` names their bytes: no key of the thing's own follows all it shows)."""

    graph: Callable[[], Graph]
    html: Callable[[Alternates, pages.Reader], str]


class Respelled(Exception):
    """No thing has this key, but one has it in another case (a sector code typed in lower
    case, a dataset id in capitals): its ``key`` as written."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def resolve(session: Session, uris: Uris, kind: str, key: str) -> Thing:
    """The thing ``/id/{kind}/{key}`` names; Respelled when its key is written in another
    case, NotFound when there is none."""
    try:
        return _resolve(session, uris, kind, key)
    except NotFound:
        spelled = _in_other_case(session, kind, key)
        if spelled is None or spelled == key:
            raise
        raise Respelled(spelled) from None


def _in_other_case(session: Session, kind: str, key: str) -> str | None:
    if kind == "dataset":
        dataset, structure, _ = key.partition(STRUCTURE_SUFFIX)
        spelled = catalogue_repository.id_in_other_case(session, Dataset, dataset)
        return None if spelled is None else spelled + structure
    if kind == "indicator":
        return catalogue_repository.id_in_other_case(session, Indicator, key)
    if kind in GEO_LEVELS:
        return geo_repository.code_in_other_case(session, kind, key)
    return None


def _resolve(session: Session, uris: Uris, kind: str, key: str) -> Thing:
    if kind == "dataset":
        if key.endswith(STRUCTURE_SUFFIX):
            return _structure(session, uris, key.removesuffix(STRUCTURE_SUFFIX))
        return _dataset(session, uris, key)
    if kind == "record":
        return _record(session, uris, key)
    if kind == "distribution":
        return _distribution(session, uris, key)
    if kind == "organisation":
        return _organisation(session, uris, key)
    if kind == "indicator":
        return _indicator(session, uris, key)
    if kind == "service" and key == SERVICE_KEY:
        return _service(session, uris)
    if kind == "conceptscheme" and key == SCHEME_KEY:
        return _scheme(session, uris)
    if kind == "conceptscheme" and key in cube.SCHEME_KEYS:
        return _cube_scheme(uris, key)
    if kind == cube.STATUS_KIND:
        return _status(uris, key)
    if kind == "property" and key in dcat.COMPONENT_NAMES:
        return _property(session, uris, key)
    if kind == "metric" and key in quality.METRIC_KEYS:
        return _metric(session, uris, key)
    if kind in GEO_LEVELS:
        return _geo_unit(session, uris, kind, key)
    raise NotFound(f"no {kind!r} named {key!r} here")


def _existing_dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    return dataset


def _dataset(session: Session, uris: Uris, dataset_id: str) -> Thing:
    _existing_dataset(session, dataset_id)  # NotFound for an unknown one, before any page

    def html(alternates: Alternates, reader: pages.Reader) -> str:
        threads, _ = feedback_service.list_threads(session, dataset_id, None, None, 0, 50)
        return pages.dataset_page(
            session, reader.t, dataset_id, _pairs(alternates), threads, reader.base_url,
            reader.query,
        )  # fmt: skip

    return Thing(
        lambda: dcat.dataset_graph(session, uris, dataset_id),
        html,
    )


# What a resource page says, in the reader's language: its title and its facts.
Words = Callable[[Translator], tuple[str, list[tuple[str, str]]]]


def _title(t: Translator, dataset: Dataset) -> str:
    return (dataset.title_en if t.lang == "en" else None) or dataset.title_nl


def _dataset_part(session: Session, uris: Uris, dataset: Dataset, words: Words) -> Thing:
    """A node described inside its dataset's graph (record, distribution, structure): its
    document is the dataset's graph, which holds the node and everything it links to."""

    def html(alternates: Alternates, reader: pages.Reader) -> str:
        title, facts = words(reader.t)
        links = [(f"/doc/dataset/{dataset.id}", _title(reader.t, dataset))]
        return pages.resource_page(reader, title, facts, links, _pairs(alternates))

    return Thing(
        lambda: dcat.dataset_graph(session, uris, dataset.id),
        html,
    )


def _record(session: Session, uris: Uris, dataset_id: str) -> Thing:
    dataset = _existing_dataset(session, dataset_id)
    return _dataset_part(
        session,
        uris,
        dataset,
        lambda t: (
            f"{t('resource.record_of')} {_title(t, dataset)}",
            [
                (t("resource.issued"), t.date(dataset.issued)),
                (t("resource.modified"), t.date(dataset.modified)),
            ],
        ),
    )


def _distribution(session: Session, uris: Uris, key: str) -> Thing:
    dataset_id, slash, fmt = key.rpartition("/")
    if not slash:  # /id/distribution/income: a dataset's id, not yet its distribution's
        dataset_id, fmt = key, ""
    dataset = _existing_dataset(session, dataset_id)
    if fmt not in dcat.DISTRIBUTION_KEYS:
        raise NotFound(
            f"dataset {dataset_id!r} has no distribution {fmt!r}; "
            f"available: {', '.join(dcat.DISTRIBUTION_KEYS)}"
        )
    return _dataset_part(
        session,
        uris,
        dataset,
        lambda t: (f"{_title(t, dataset)} ({fmt})", [(t("resource.format"), fmt)]),
    )


def _structure(session: Session, uris: Uris, dataset_id: str) -> Thing:
    dataset = _existing_dataset(session, dataset_id)
    part = _dataset_part(
        session,
        uris,
        dataset,
        lambda t: (
            f"{t('resource.structure_of')} {_title(t, dataset)}",
            [(t("resource.components"), ", ".join(dcat.COMPONENT_NAMES))],
        ),
    )
    # The dataset's graph, with the ranges and code lists the Data Cube gives the components.
    return Thing(
        lambda: cube.with_component_details(dcat.dataset_graph(session, uris, dataset_id), uris),
        part.html,
    )


def _organisation(session: Session, uris: Uris, organisation_id: str) -> Thing:
    catalogue_service.get_organisation(session, organisation_id)  # NotFound for an unknown one
    return Thing(
        lambda: dcat.organisation_graph(session, uris, organisation_id),
        lambda alternates, reader: pages.organisation_page(
            session, reader.t, organisation_id, _pairs(alternates), reader.query
        ),
    )


def _indicator(session: Session, uris: Uris, indicator_id: str) -> Thing:
    indicator = stats_service.indicator_detail(session, indicator_id)
    return Thing(
        lambda: dcat.indicator_graph(session, uris, indicator_id),
        lambda alternates, reader: pages.indicator_page(
            session, reader.t, indicator, _pairs(alternates), reader.param("in"), reader.query
        ),
    )


def _service(session: Session, uris: Uris) -> Thing:
    def html(alternates: Alternates, reader: pages.Reader) -> str:
        t = reader.t
        facts = [(t("resource.endpoint"), f"{uris.base}/api/v1")]
        links = [("/docs", t("resource.api_docs")), ("/openapi.json", "OpenAPI")]
        title = dcat.SERVICE_TITLE[t.lang]
        return pages.resource_page(reader, title, facts, links, _pairs(alternates))

    return Thing(
        lambda: dcat.service_graph(session, uris),
        html,
    )


def _scheme(session: Session, uris: Uris) -> Thing:
    def html(alternates: Alternates, reader: pages.Reader) -> str:
        english = reader.t.lang == "en"
        links = [
            (f"/doc/indicator/{i.id}", (i.label_en if english else None) or i.label_nl)
            for i in session.scalars(catalogue_repository.indicators_query())
        ]
        title = dcat.INDICATOR_SCHEME_TITLE[reader.t.lang]
        return pages.resource_page(reader, title, [], links, _pairs(alternates))

    return Thing(
        lambda: dcat.indicator_scheme_graph(session, uris),
        html,
    )


def _property(session: Session, uris: Uris, name: str) -> Thing:
    return Thing(
        lambda: cube.with_component_details(
            dcat.component_property_graph(session, uris, name), uris
        ),
        lambda alternates, reader: pages.resource_page(
            reader,
            name,
            [(reader.t("resource.kind"), reader.t("resource.component"))],
            [],
            _pairs(alternates),
        ),
    )


def _metric(session: Session, uris: Uris, key: str) -> Thing:
    return Thing(
        lambda: dcat.metric_graph(session, uris, key),
        lambda alternates, reader: pages.resource_page(
            reader,
            f"MQA: {key}",
            [(reader.t("resource.method"), quality.METHOD)],
            [],
            _pairs(alternates),
        ),
    )


def _geo_unit(session: Session, uris: Uris, level: str, code: str) -> Thing:
    versions = geo_repository.versions_of_unit(session, level, code)
    if not versions:
        raise NotFound(f"no {level} with code {code!r}", unit=f"{level}:{code}")
    # The latest version holding the code; versions sort by their ids (years).
    unit = geo_service.describe_unit(session, level, code, versions[-1])

    def html(alternates: Alternates, reader: pages.Reader) -> str:
        # "Gent in cijfers": the place page, in the version asked for or the latest.
        version = reader.param("version") or unit.version
        return pages.place_page(
            session, reader.t, level, code, version, _pairs(alternates), reader.query
        )

    return Thing(
        lambda: cube.in_geography_scheme(
            dcat.geo_unit_graph(session, uris, unit), uris, uris.geo_unit(level, code)
        ),
        html,
    )


def _cube_scheme(uris: Uris, key: str) -> Thing:
    """A code list of the Data Cube (geography, observation status)."""
    graph = cube.scheme_graph(uris, key)
    titles = {
        label.language: str(label)
        for label in graph.objects(cube.scheme_uri(uris, key), SKOS.prefLabel)
        if isinstance(label, Literal)
    }
    return Thing(
        lambda: cube.scheme_graph(uris, key),
        lambda alternates, reader: pages.resource_page(
            reader,
            # The title in the reader's language (the graph holds both).
            titles.get(reader.t.lang) or titles.get("nl") or key,
            [(reader.t("resource.kind"), reader.t("resource.code_list"))],
            [],
            _pairs(alternates),
        ),
    )


def _status(uris: Uris, status: str) -> Thing:
    cube.status_graph(uris, status)  # NotFound for an unknown status
    en, nl = cube.STATUS_LABELS[status]

    def html(alternates: Alternates, reader: pages.Reader) -> str:
        t = reader.t
        # Its name in the reader's language as the title, in the other one among the facts.
        title, other = (en, ("Nederlands", nl)) if t.lang == "en" else (nl, ("English", en))
        facts = [(t("resource.kind"), t("resource.status")), other]
        links = [(f"/doc/conceptscheme/{cube.STATUS_SCHEME}", t("resource.scheme"))]
        return pages.resource_page(reader, title, facts, links, _pairs(alternates))

    return Thing(
        lambda: cube.status_graph(uris, status),
        html,
    )


def _pairs(alternates: Alternates) -> list[tuple[str, str]]:
    return list(alternates.items())
