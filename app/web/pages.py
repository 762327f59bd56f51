"""The HTML pages, rendered from Jinja2 templates (``templates/``, autoescaped) in the
reader's language. No page holds inline script or style (the Content-Security-Policy forbids
both): the stylesheet, the chart library and the page script are static files under
:data:`STATIC_URL`; charts and maps read their numbers from the page's own tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args
from urllib.parse import unquote, urlencode, urlsplit

from sqlalchemy.orm import Session

from app.catalogue import service as catalogue_service
from app.catalogue.schemas import DatasetOut, IndicatorOut
from app.feedback.schemas import ThreadKind, ThreadOut
from app.web import repository, service
from app.web.i18n import Translator
from app.web.render import STATIC_URL, render

STATIC_DIR = Path(__file__).parent / "static"
__all__ = ["STATIC_DIR", "STATIC_URL"]

Alternates = Sequence[tuple[str, str]]  # (media type, URL)


@dataclass(frozen=True)
class Reader:
    """Who reads a page: their language, the query they sent (kept when switching
    language; some pages take options from it) and the site's base URL."""

    t: Translator
    query: Sequence[tuple[str, str]]
    base_url: str

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None) or None


FACET_PARAMS = {"themes": "theme"}


def safe_url(url: str | None) -> bool:
    """Only http(s) URLs become links: a stored ``javascript:`` URL must not be clickable."""
    return bool(url) and urlsplit(url or "").scheme.lower() in ("http", "https")


def switch_url(path: str, query: Sequence[tuple[str, str]], t: Translator) -> str:
    """This page in the other language."""
    other = "en" if t.lang == "nl" else "nl"
    # Always said, Dutch too: without it the browser's preference would pick again.
    kept = [*((k, v) for k, v in query if k != "lang"), ("lang", other)]
    return f"{path}?{urlencode(kept)}"


def _pick(t: Translator, names: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {key: (nl or en) if t.lang == "nl" else (en or nl) for key, (nl, en) in names.items()}


def _titles(session: Session, t: Translator) -> dict[str, str]:
    return _pick(t, repository.dataset_titles(session))


def _all_datasets(session: Session) -> list[DatasetOut]:
    datasets, _, _ = catalogue_service.search_datasets(
        session, q=None, theme=None, organisation=None, role=None, licence=None,
        access_level=None, offset=0, limit=10_000,
    )  # fmt: skip
    return datasets


def _common(
    t: Translator,
    title: str,
    here: str,
    query: Sequence[tuple[str, str]],
    *,
    autofocus: bool = False,
) -> dict[str, object]:
    """What every page has; ``autofocus``: a form came back with an error summary that takes
    the focus (``static/focus.js``)."""
    return {
        "title": title,
        "switch_url": switch_url(here, query, t),
        "safe_url": safe_url,
        "autofocus": autofocus,
    }


def home_page(session: Session, t: Translator, query: Sequence[tuple[str, str]]) -> str:
    t.know_places(repository.place_names(session))
    page = service.home_page(session)
    return render(
        "home.html",
        t,
        page=page,
        alternates=[("text/turtle", "/catalog.ttl"), ("application/ld+json", "/catalog.jsonld")],
        api_links=[
            (t("datasets"), "/api/v1/datasets"),
            *[(t.text(i.label), c.api_url) for i, c in page.headline],
        ],
        charts=False,
        **_common(t, "Datapedia", "/", query),
    )


def search_page(
    session: Session,
    t: Translator,
    q: str,
    filters: dict[str, str],
    query: Sequence[tuple[str, str]],
) -> str:
    t.know_places(repository.place_names(session))
    page = service.search_page(session, q, filters)
    organisations = _pick(t, repository.organisation_names(session))
    licences = _pick(t, repository.licence_titles(session))

    def facet_label(name: str, value: str) -> str:
        if name == "themes":
            return t.code("theme", value)
        if name == "access_level":
            return t.code("access", value)
        if name == "organisation":
            return organisations.get(value, value)
        if name == "licence":
            return licences.get(value, value)
        if name == "level":
            return t.code("level", value)
        return value

    api = (
        "/api/v1/datasets?" + urlencode({"q": page.topic, **filters})
        if page.topic or filters
        else "/api/v1/datasets"
    )
    return render(
        "search.html",
        t,
        page=page,
        facet_params=FACET_PARAMS,
        facet_label=facet_label,
        alternates=[("application/json", api)],
        api_links=[
            (t("datasets"), api),
            *(
                [
                    (t("search.title"), "/api/v1/search?" + urlencode({"q": page.q})),
                ]
                if page.q
                else []
            ),
        ],
        charts=False,
        # The words looked for first: the reader knows the results of which search these are.
        **_common(t, _search_title(t, page.q), "/search", query),
    )


def _search_title(t: Translator, q: str) -> str:
    return f"“{q}” — {t('search.title')}" if q else t("search.title")


@dataclass(frozen=True)
class QuestionForm:
    """The question form of a dataset page: what the reader typed, and per field the message
    key of what was wrong with it."""

    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    kinds: tuple[str, ...] = get_args(ThreadKind)
    # Seconds to wait when the form was sent too often (nothing in it is wrong).
    retry_after: int | None = None


def question_kinds(access_level: str) -> tuple[str, ...]:
    """The kinds of message a dataset's form offers: an access request only where a grant
    opens the values (a restricted dataset; a public one needs none, a non-public one
    takes none)."""
    kinds: tuple[str, ...] = get_args(ThreadKind)
    return (
        kinds if access_level == "restricted" else tuple(k for k in kinds if k != "access_request")
    )


def question_page(
    t: Translator,
    dataset: DatasetOut,
    form: QuestionForm,
    query: Sequence[tuple[str, str]],
    thread: ThreadOut | None = None,
) -> str:
    """The question form alone (or the reply form of ``thread``), as it was sent, with what
    to correct."""
    wrong = bool(form.errors) or form.retry_after is not None
    return render(
        "question.html",
        t,
        dataset=dataset,
        thread=thread,
        question=form,
        alternates=[],
        api_links=[],
        charts=False,
        **_common(
            t,
            _with_errors(
                t,
                f"{t('ask.reply')}: {thread.title}"
                if thread
                else f"{t('ask.title')}: {t.text(dataset.title)}",
                wrong,
            ),
            f"/doc/dataset/{dataset.id}",
            query,
            autofocus=wrong,
        ),
    )


@dataclass(frozen=True)
class DownloadForm:
    """The download builder of a dataset page: the choices (municipalities by default), and
    per field the message key of what was wrong with what the reader chose or typed."""

    values: Mapping[str, str] = field(default_factory=lambda: {"level": "municipality"})
    errors: Mapping[str, str] = field(default_factory=dict)
    retry_after: int | None = None  # never: the builder is not counted


def dataset_page(
    session: Session,
    t: Translator,
    dataset_id: str,
    alternates: Alternates,
    threads: Sequence[ThreadOut],
    base_url: str,
    query: Sequence[tuple[str, str]],
    builder: DownloadForm | None = None,
    here: str | None = None,
) -> str:
    """The dataset page; ``builder``: its download builder as sent, with what to correct
    (the page then answers ``here``, the builder's address)."""
    builder = builder or DownloadForm()
    t.know_places(repository.place_names(session))
    page = service.dataset_page(session, dataset_id)
    first = (
        catalogue_service.get_indicator(session, page.dataset.indicators[0].id)
        if page.dataset.indicators
        else None
    )
    api_links = [("JSON", f"/api/v1/datasets/{dataset_id}")]
    if page.preview_url:
        api_links.append((t("dataset.preview"), page.preview_url))
    return render(
        "dataset.html",
        t,
        page=page,
        first=first,
        threads=threads,
        question=QuestionForm(kinds=question_kinds(page.dataset.access_level)),
        builder=builder,
        organisations=_pick(t, repository.organisation_names(session)),
        titles=_titles(session, t),
        base_url=base_url,
        alternates=[*alternates, ("application/json", f"/api/v1/datasets/{dataset_id}")],
        api_links=api_links,
        charts=False,
        **_common(
            t,
            _with_errors(t, t.text(page.dataset.title), bool(builder.errors)),
            here or f"/doc/dataset/{dataset_id}",
            query,
            autofocus=bool(builder.errors),
        ),
    )


def _with_errors(t: Translator, title: str, wrong: bool) -> str:
    """A page's title that says the form on it came back with something to correct."""
    return f"{t('page.error')}: {title}" if wrong else title


def indicator_page(
    session: Session,
    t: Translator,
    indicator: IndicatorOut,
    alternates: Alternates,
    chosen: str | None,
    query: Sequence[tuple[str, str]],
) -> str:
    """``indicator``: the indicator's detail (``stats.service.indicator_detail``)."""
    indicator_id = indicator.id
    t.know_places(repository.place_names(session))
    page = service.indicator_page(session, indicator, chosen)
    api_links = [("JSON", f"/api/v1/indicators/{indicator_id}")]
    if page.comparison and not page.comparison.unavailable:
        api_links.append((t("indicator.compare"), page.comparison.api_url))
    for m in (page.map, page.inside):
        if m is not None:
            api_links.append((t("indicator.map"), m.api_url))
    labels = _pick(t, repository.indicator_labels(session))
    return render(
        "indicator.html",
        t,
        page=page,
        formula=service.formula_terms(indicator.formula, labels),
        labels=labels,
        titles=_titles(session, t),
        alternates=[*alternates, ("application/json", f"/api/v1/indicators/{indicator_id}")],
        api_links=api_links,
        charts=True,
        **_common(t, t.text(page.indicator.label), f"/doc/indicator/{indicator_id}", query),
    )


def place_page(
    session: Session,
    t: Translator,
    level: str,
    code: str,
    version: str | None,
    alternates: Alternates,
    query: Sequence[tuple[str, str]],
) -> str:
    t.know_places(repository.place_names(session))
    page = service.place_page(session, level, code, version)
    unit = page.unit
    api = f"/api/v1/geo/units/{level}/{code}?version={unit.version}"
    title = f"{t.place(unit.level, unit.code, page.name)} {t('place.in_numbers')}"
    if not page.current:
        # Not the geography of now: the title says which one (in the tab, in the history).
        title += f" ({t('dataset.geo_version').lower()} {unit.version})"
    api_links = [("JSON", api), *[(t.text(f.indicator.label), f.api_url) for f in page.figures]]
    return render(
        "place.html",
        t,
        page=page,
        alternates=[*alternates, ("application/json", api)],
        api_links=api_links,
        charts=page.map is not None,
        **_common(t, title, f"/doc/{level}/{code}", query),
    )


def organisation_page(
    session: Session,
    t: Translator,
    organisation_id: str,
    alternates: Alternates,
    query: Sequence[tuple[str, str]],
) -> str:
    organisation = catalogue_service.get_organisation(session, organisation_id)
    return render(
        "organisation.html",
        t,
        organisation=organisation,
        homepage=organisation.homepage if safe_url(organisation.homepage) else None,
        titles=_titles(session, t),
        alternates=[*alternates, ("application/json", f"/api/v1/organisations/{organisation_id}")],
        api_links=[],
        charts=False,
        **_common(t, t.text(organisation.name), f"/doc/organisation/{organisation_id}", query),
    )


def catalog_page(session: Session, t: Translator, query: Sequence[tuple[str, str]]) -> str:
    return render(
        "catalog.html",
        t,
        datasets=_all_datasets(session),
        alternates=[("text/turtle", "/catalog.ttl"), ("application/rdf+xml", "/catalog.rdf")],
        api_links=[("JSON", "/api/v1/datasets")],
        charts=False,
        **_common(t, t("nav.catalog"), "/catalog", query),
    )


def problem_page(t: Translator, problem: Mapping[str, Any], path: str) -> str:
    """:func:`error_page` for a problem document: a sentence in the reader's language for
    its kind of error, and its English detail (with the reason given for each parameter)
    where that says more than the sentence."""
    reasons = [
        f"{e['parameter']}: {e['reason']}"
        for e in problem.get("errors", [])
        if isinstance(e, dict) and "parameter" in e and "reason" in e
    ]
    detail = "; ".join([str(problem["detail"]), *reasons])
    sentence, technical = _error_sentence(t, problem, path)
    return error_page(t, int(problem["status"]), sentence, detail if technical else None, path)


# What a 404 may name (the problem's member naming it): a page's own thing.
_NOT_FOUND_KINDS = ("dataset", "indicator", "organisation", "unit")


def _error_sentence(t: Translator, problem: Mapping[str, Any], path: str) -> tuple[str, bool]:
    """What went wrong, said to a reader in their language, and whether the problem's
    English detail adds to it: a 404 of the thing the address names (``/doc/dataset/x``:
    no dataset x) says all there is; anything else (an address that names nothing, an
    indicator not in a dataset, a value refused) says more in the detail."""
    status = int(problem["status"])
    if status == 404:
        for kind in _NOT_FOUND_KINDS:
            value = problem.get(kind)
            # A unit is named "level:code", in the address /doc/level/code.
            if value is None or not unquote(path).endswith("/" + str(value).replace(":", "/")):
                continue
            if kind == "unit":
                level, _, code = str(value).partition(":")
                return t.fill("error.404.unit", level=t.code("level", level), code=code), False
            return t.fill(f"error.404.{kind}", id=value), False
        return t("error.404"), True
    parameter = problem.get("parameter")
    if status in (400, 422) and isinstance(parameter, str):
        key = f"error.parameter.{parameter}"
        return t.fill(key if t.knows(key) else "error.parameter", parameter=parameter), True
    key = f"error.{status}"
    return t(key if t.knows(key) else "error.other"), True


def error_page(t: Translator, status: int, sentence: str, detail: str | None, path: str) -> str:
    """What a browser is shown instead of a problem document: a 404 or a refused request
    (4xx), said in the reader's language, with a search box; ``detail``: the technical
    reason, in English (the API's words), folded away."""
    key = "not_found" if status == 404 else "bad_request"
    return render(
        "not_found.html",
        t,
        heading=t(key),
        text=sentence,
        detail=detail,
        alternates=[],
        api_links=[],
        charts=False,
        **_common(t, t(key), path, []),
    )


def resource_page(
    reader: Reader,
    title: str,
    facts: Sequence[tuple[str, str]],
    links: Sequence[tuple[str, str]],
    alternates: Alternates,
) -> str:
    """A small page about a linked-data resource with no page of its own (a distribution,
    a catalogue record, the data service, a structure, a property): what it is, and links to
    what it points to (local paths, or http(s) URLs only)."""
    shown = [(url, text) for url, text in links if url.startswith("/") or safe_url(url)]
    return render(
        "resource.html",
        reader.t,
        heading=title,
        facts=facts,
        links=shown,
        alternates=alternates,
        api_links=[],
        charts=False,
        **_common(reader.t, title, "", reader.query),
    )
