"""The language of every text on a page: a Dutch page says everything in Dutch and an English
page in English, and the text left in another language (the API's English detail on a Dutch
error page, a Dutch source title on an English page) is marked with its own ``lang``
(WCAG 3.1.2). What a language auditor and a citizen found on the pages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

HTML = {"Accept": "text/html"}
ENGLISH = {"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}


class Languages(HTMLParser):
    """A page's text by the language it is marked in (the nearest ``lang`` around it)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.open: list[tuple[str, str]] = []  # (tag, its language)
        self.texts: dict[str, list[str]] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        inherited = self.open[-1][1] if self.open else ""
        self.open.append((tag, dict(attrs).get("lang") or inherited))

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        # A <title> cannot mark part of itself: it is the page's own text, not checked here.
        if self.open and self.open[-1][0] not in ("script", "style", "title"):
            self.texts.setdefault(self.open[-1][1], []).append(data)

    def text(self, lang: str) -> str:
        return " ".join(" ".join(self.texts.get(lang, [])).split())


def languages(html: str) -> Languages:
    return Languages(html)


@pytest.mark.parametrize(
    ("path", "dutch", "english", "detail"),
    [
        (
            "/doc/dataset/nope",
            "Er is geen dataset met de code “nope”.",
            "There is no dataset with the code “nope”.",
            None,  # the sentence says all the detail says
        ),
        (
            "/doc/indicator/nope",
            "Er is geen indicator met de code “nope”.",
            "There is no indicator with the code “nope”.",
            None,
        ),
        (
            "/doc/municipality/99998",
            "Er is geen gemeente met de code “99998”.",
            "There is no municipality with the code “99998”.",
            None,
        ),
        (
            "/datasets/nope",
            "Op dit adres staat geen pagina.",
            "There is no page at this address.",
            "no resource at /datasets/nope",
        ),
        (
            "/search?q=a%00b",
            "Een zoekopdracht mag hoogstens 200 tekens lang zijn",
            "A search can be at most 200 characters long",
            "invalid value for: 'q' (a control character)",
        ),
        (
            "/catalog?page=0",
            "Het paginanummer in het adres moet een geheel getal vanaf 1 zijn.",
            "The page number in the address must be a whole number from 1.",
            "page: Input should be greater than or equal to 1",
        ),
        (
            "/doc/municipality/44021?version=1999",
            "Deze geografische versie bestaat niet.",
            "This geography version does not exist.",
            "unknown geography version '1999'; known: 2024, 2025",
        ),
    ],
)
def test_an_error_page_says_what_went_wrong_in_the_readers_language(
    client: TestClient, path: str, dutch: str, english: str, detail: str | None
) -> None:
    """A Dutch error page showed the API's English detail ("dataset 'nope' not found") as its
    message. Now a sentence in the reader's language; the English detail only where it says
    more, folded away and marked as English on the Dutch page."""
    nl_page = client.get(path, headers=HTML)
    en_page = client.get(path, headers=ENGLISH)
    assert nl_page.status_code == en_page.status_code and nl_page.status_code in (404, 422)
    nl, en = languages(nl_page.text), languages(en_page.text)
    assert dutch in nl.text("nl") and english in en.text("en")
    assert "not found" not in nl.text("nl") and "invalid value" not in nl.text("nl")
    if detail is None:
        assert "not found" not in nl.text("en") + en.text("en")
    else:
        assert detail in nl.text("en") and detail in en.text("en")
        assert '<details class="technical">' in nl_page.text


# Dutch words that an English page may only hold marked as Dutch: names with an English form
# ("Vlaams Gewest"), Dutch names of regions and city-regions, the catalogue's Dutch-only texts
# (a source's title and citation, a contact's name).
DUTCH = (
    "Vlaams Gewest",
    "Stadsregio",
    "Regio Gent",
    "Kenniscentrum Vlaamse",
    "statistische sector",
    "Afgeleid door",
    "berekend uit",
    "Algemene Directie",
    "niet te lokaliseren",
)


@pytest.mark.parametrize(
    "path",
    [
        "/doc/dataset/population-2025",
        "/doc/dataset/climate-energy-monitor",
        "/doc/region/02000",
        "/doc/municipality/44021",
        "/doc/cityregion/stadsregio-gent",
        "/doc/indicator/population-density",
        "/search?q=gent",
    ],
)
def test_an_english_page_marks_what_it_says_in_dutch(client: TestClient, path: str) -> None:
    """The English page of a dataset showed its Dutch source title, and "Vlaams Gewest",
    "Stadsregio Gent" and the contact's name, as English text (a screen reader read them
    with English sounds)."""
    page = client.get(path, headers=ENGLISH)
    assert page.status_code == 200
    english = languages(page.text).text("en")
    assert [d for d in DUTCH if d in english] == []  # codes ("stadsregio-gent") may stay


def test_a_region_has_its_english_name_on_english_pages(client: TestClient) -> None:
    english = languages(client.get("/doc/region/02000", headers=ENGLISH).text).text("en")
    assert "Flemish Region in numbers" in english
    place = client.get("/doc/municipality/44021", headers=ENGLISH).text
    assert '<a href="/doc/region/02000?lang=en">Flemish Region</a>' in place
    assert '<a href="/doc/cityregion/stadsregio-gent?lang=en">Ghent city-region</a>' in place
    # The Dutch page keeps the Dutch names, unmarked.
    dutch = client.get("/doc/municipality/44021", headers=HTML).text
    assert '<a href="/doc/region/02000">Vlaams Gewest</a>' in dutch
    assert 'lang="nl"' not in dutch.split("<body>", 1)[1]


def test_a_city_region_has_its_english_name_on_english_pages(client: TestClient) -> None:
    """The seed names each city-region in both languages; only the Dutch name was kept, so
    the English pages (the tab's title too) said "Stadsregio Gent", marked as Dutch."""
    english = client.get("/doc/cityregion/stadsregio-gent", headers=ENGLISH).text
    assert "<title>Ghent city-region in numbers" in english
    assert "<h1>Ghent city-region in numbers</h1>" in english
    assert "Stadsregio Gent" not in english
    # The indicator's comparison of the centre cities names their city-regions in English,
    # those of one extent too (Genk and Hasselt share Limburg).
    indicator = client.get("/doc/indicator/population-density", headers=ENGLISH).text
    assert 'data-name="Ghent city-region"' in indicator
    assert "Genk city-region = Hasselt city-region" in languages(indicator).text("en")
    dutch = client.get("/doc/cityregion/stadsregio-gent", headers=HTML).text
    assert "<h1>Stadsregio Gent in cijfers</h1>" in dutch
    assert (
        "Stadsregio Genk = Stadsregio Hasselt"
        in client.get("/doc/indicator/population-density", headers=HTML).text
    )


def test_a_derived_dataset_names_its_sources_in_the_readers_language(client: TestClient) -> None:
    """Its source was one Dutch sentence naming the source datasets by id."""
    page = client.get("/doc/dataset/climate-energy-monitor", headers=ENGLISH).text
    source = page.split("<dt>Source</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert source.startswith("Computed by Datapedia from ")
    assert (
        '<a href="/doc/dataset/age-census-2021?lang=en">'
        "Residents aged 65 and over by statistical sector, 2021 Census</a>" in source
    )
    assert "energy-fluvius, age-census-2021" not in page
    dutch = client.get("/doc/dataset/climate-energy-monitor", headers=HTML).text
    assert "<dt>Bron</dt><dd>Berekend door Datapedia uit " in dutch
    # A source's own title, Dutch on the English page, is marked as such.
    statbel = client.get("/doc/dataset/population-2025", headers=ENGLISH).text
    assert '<span lang="nl">Statbel – Bevolking per statistische sector 2025' in statbel


def _formula(html: str, dt: str) -> str:
    return html.split(f"<dt>{dt}</dt><dd>", 1)[1].split("</dd>", 1)[0]


def test_a_formula_reads_in_the_indicators_labels(client: TestClient) -> None:
    """The formula showed the indicators' ids ("population-65plus / (…) * 100"): now their
    labels in the reader's language, each linked to its page, the ids kept below."""
    english = _formula(client.get("/doc/indicator/share-65plus", headers=ENGLISH).text, "Formula")
    readable = english.split("<br>", 1)[0]
    assert readable == (
        '<span class="formula"><a href="/doc/indicator/population-65plus?lang=en">'
        "Population aged 65 and over</a> / (<a "
        'href="/doc/indicator/population-65plus?lang=en">Population aged 65 and over</a> + '
        '<a href="/doc/indicator/population-under-65?lang=en">Population under 65</a>) × 100'
        "</span>"
    )
    assert "<code>population-65plus / (population-65plus + population-under-65) * 100</code>" in (
        english
    )
    dutch = _formula(client.get("/doc/indicator/population-density", headers=HTML).text, "Formule")
    assert dutch.startswith(
        '<span class="formula"><a href="/doc/indicator/population">Bevolking</a> / '
        '<a href="/doc/indicator/area">Oppervlakte</a></span>'
    )
    assert "<code>population / area</code>" in dutch


def test_a_derived_formula_reads_in_the_indicators_labels(client: TestClient) -> None:
    """A derived formula named its parts as dataset:indicator ids and datasets by id."""
    page = client.get("/doc/indicator/population-density-2021", headers=HTML).text
    readable = _formula(page, "Formule").split("<br>", 1)[0]
    assert '<a href="/doc/indicator/sector-area">Oppervlakte (sectorkaart 2021)</a>' in readable
    assert "age-census-2021" not in readable and "sector-area-2021" not in readable
    assert "(versie 2024)" in readable


@pytest.mark.parametrize(
    ("headers", "columns", "no_shape"),
    [
        (HTML, ["Gebied", "Code", "Waarde", "Status"], "zonder kaartvlak (1 gebied)"),
        (ENGLISH, ["Area", "Code", "Value", "Status"], "without a map area (1 area)"),
    ],
)
def test_the_maps_table_names_every_column(
    client: TestClient, headers: dict[str, str], columns: list[str], no_shape: str
) -> None:
    """The table beside the map (what a screen reader reads instead of it) headed its code
    column with the level's name ("gemeente"); the legend counted the areas without a shape
    as a bare "1:"."""
    page = client.get("/doc/indicator/population-density", headers=headers).text
    table = page.split('<table class="data" data-map-values>', 1)[1].split("</thead>", 1)[0]
    assert table.count("<th ") == len(columns)
    assert re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', table) == columns
    assert f'data-no-geometry-one="{no_shape}"' in page
