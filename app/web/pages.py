"""Small server-rendered HTML pages. Every value from the database is escaped; no page holds
inline script or style (the Content-Security-Policy forbids both): the one stylesheet is a
static file, :data:`STATIC_DIR`, served at :data:`STATIC_URL`."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from urllib.parse import quote, urlsplit

from app.catalogue.schemas import DatasetOut, IndicatorOut, OrganisationOut
from app.feedback.schemas import ThreadOut

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/static/site"


def _link(url: str, text: str) -> str:
    """A link to a stored URL, or the text alone when the URL is not http(s): a stored
    ``javascript:`` URL must not become clickable."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return escape(text)
    return f'<a href="{escape(url)}">{escape(text)}</a>'


def _path(value: str) -> str:
    """One path segment built from a stored id, percent-encoded then escaped."""
    return escape(quote(value, safe=""))


def _page(title: str, body: str, alternates: dict[str, str] | None = None) -> str:
    links = "".join(
        f'<link rel="alternate" type="{escape(t)}" href="{escape(h)}">'
        for t, h in (alternates or {}).items()
    )
    return (
        f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} — Datapedia</title>{links}"
        f'<link rel="stylesheet" href="{STATIC_URL}/site.css"></head>'
        f'<body><nav><a href="/">Datapedia</a> · <a href="/catalog">catalogus</a> · '
        f'<a href="/docs">API</a></nav><main>{body}</main></body></html>'
    )


def dataset_page(
    dataset: DatasetOut, alternates: dict[str, str], threads: Sequence[ThreadOut] = ()
) -> str:
    owners = ", ".join(escape(o.name.nl or o.id) for o in dataset.owners)
    indicators = "".join(
        f'<li><a href="/doc/indicator/{_path(i.id)}">{escape(i.label.nl or i.id)}</a> '
        f"({escape(i.unit_of_measure)})</li>"
        for i in dataset.indicators
    )
    roles = "".join(
        f"<tr><td>{escape(r.organisation.name.nl or r.organisation.id)}</td>"
        f"<td>{escape(r.role)}</td>"
        f"<td>{escape(', '.join(u.id for u in r.territory))}</td></tr>"
        for r in dataset.roles
    )
    downloads = "".join(
        f'<li><a href="/api/v1/datasets/{_path(dataset.id)}/observations?format={f}">'
        f"{label}</a></li>"
        for f, label in (("csv", "CSV"), ("json", "JSON"), ("jsonstat", "JSON-stat"))
    )
    body = (
        f"<h1>{escape(dataset.title.nl or dataset.id)}</h1>"
        f"<p><em>{escape(dataset.title.en or '')}</em></p>"
        f"<p>{escape(dataset.description.nl or '')}</p>"
        f"<dl><dt>Licentie</dt><dd>"
        f"{_link(dataset.licence.uri, dataset.licence.title.nl or dataset.licence.id)}</dd>"
        f"<dt>Toegang</dt><dd>{escape(dataset.access_level)}</dd>"
        f"<dt>Mede-eigenaars</dt><dd>{owners}</dd>"
        f"<dt>Bron</dt><dd>{escape(dataset.source.attribution or '')}</dd></dl>"
        f"<h2>Indicatoren</h2><ul>{indicators}</ul>"
        f"<h2>Downloads</h2><ul>{downloads}</ul>"
        f"<h2>Rollen</h2><table><tr><th>organisatie</th><th>rol</th><th>gebied</th></tr>"
        f"{roles}</table>"
        f"<h2>Vragen en antwoorden</h2>{_threads(threads)}"
    )
    return _page(dataset.title.nl or dataset.id, body, alternates)


def _threads(threads: Sequence[ThreadOut]) -> str:
    if not threads:
        return "<p>Nog geen vragen.</p>"
    parts = []
    for thread in threads:
        messages = "".join(
            f"<li><strong>{escape(m.author or 'anoniem')}</strong>"
            f"{' (antwoord)' if m.answer else ''}: {escape(m.body)}</li>"
            for m in thread.messages
        )
        parts.append(
            f"<article><h3>{escape(thread.title)}</h3>"
            f"<p>{escape(thread.kind)} · {escape(thread.state)}</p>"
            f"<ul>{messages}</ul></article>"
        )
    return "".join(parts)


def organisation_page(organisation: OrganisationOut, alternates: dict[str, str]) -> str:
    roles = "".join(
        f'<li><a href="/doc/dataset/{_path(r.dataset)}">{escape(r.dataset)}</a>: '
        f"{escape(r.role)}</li>"
        for r in organisation.roles
    )
    body = (
        f"<h1>{escape(organisation.name.nl or organisation.id)}</h1>"
        f"<dl><dt>Soort</dt><dd>{escape(organisation.kind)}</dd>"
        f"<dt>NIS</dt><dd>{escape(organisation.nis_code or '—')}</dd>"
        f"<dt>OVO</dt><dd>{escape(organisation.ovo_code or '—')}</dd></dl>"
        f"<h2>Rollen</h2><ul>{roles}</ul>"
    )
    return _page(organisation.name.nl or organisation.id, body, alternates)


def indicator_page(indicator: IndicatorOut, alternates: dict[str, str]) -> str:
    body = (
        f"<h1>{escape(indicator.label.nl or indicator.id)}</h1>"
        f"<p>{escape(indicator.definition.nl or '')}</p>"
        f"<dl><dt>Eenheid</dt><dd>{escape(indicator.unit_of_measure)}</dd>"
        f"<dt>Formule</dt><dd>{escape(indicator.formula or '—')}</dd>"
        f"<dt>Aggregatie</dt><dd>{escape(indicator.aggregation.rule)}</dd>"
        f"<dt>Kanttekeningen</dt><dd>{escape(indicator.caveats.nl or '—')}</dd></dl>"
    )
    return _page(indicator.label.nl or indicator.id, body, alternates)


def catalog_page(datasets: list[DatasetOut]) -> str:
    items = "".join(
        f'<li><a href="/doc/dataset/{_path(d.id)}">{escape(d.title.nl or d.id)}</a></li>'
        for d in datasets
    )
    body = (
        "<h1>Datapedia</h1><p>Open data over de Vlaamse centrumsteden, van statistische sector "
        "tot stadsregio.</p>"
        f"<h2>Datasets</h2><ul>{items}</ul>"
        '<p>DCAT: <a href="/catalog.ttl">Turtle</a> · <a href="/catalog.rdf">RDF/XML</a> · '
        '<a href="/catalog.jsonld">JSON-LD</a> · <a href="/catalog.nt">N-Triples</a> · '
        '<a href="/catalog/dump.ttl">volledige dump</a></p>'
    )
    return _page("Catalogus", body)


def not_found_page(what: str) -> str:
    return _page("Niet gevonden", f"<h1>Niet gevonden</h1><p>{escape(what)}</p>")


def resource_page(
    title: str,
    facts: Sequence[tuple[str, str]],
    links: Sequence[tuple[str, str]],
    alternates: dict[str, str],
) -> str:
    """A minimal page about a linked-data resource with no page of its own (a distribution,
    a catalogue record, the data service, a structure, a property, a place): what it is,
    and links to what it points to (local paths or http(s) URLs)."""
    rows = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)
    items = "".join(f"<li>{_local_or_external(url, text)}</li>" for url, text in links)
    body = f"<h1>{escape(title)}</h1><dl>{rows}</dl>" + (f"<ul>{items}</ul>" if items else "")
    return _page(title, body, alternates)


def _local_or_external(url: str, text: str) -> str:
    if url.startswith("/"):
        return f'<a href="{escape(url)}">{escape(text)}</a>'
    return _link(url, text)
