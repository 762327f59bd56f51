"""What an accessibility audit of the pages found beyond axe-core: wide tables reachable with
the keyboard, names of landmarks, titles and headings that say where the reader is."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

HTML = {"Accept": "text/html"}


@pytest.mark.parametrize(
    "path",
    [
        "/doc/indicator/population-density?in=44021",
        "/doc/dataset/population-2025",
        "/doc/municipality/44021",
        "/?lang=en",
    ],
)
def test_a_wide_table_scrolls_with_the_keyboard(client: TestClient, path: str) -> None:
    """At 320 px a table wider than the screen scrolls inside its wrapper: the wrapper takes
    the focus (so the arrow keys scroll it), is a region and has a name."""
    page = client.get(path, headers=HTML).text
    wrappers = re.findall(r'<div class="table-wrap"([^>]*)>', page)
    assert wrappers, path
    ids = set(re.findall(r' id="([^"]+)"', page))
    for attributes in wrappers:
        assert 'tabindex="0"' in attributes and 'role="region"' in attributes, attributes
        label = re.search(r'aria-label="([^"]+)"', attributes)
        labelled_by = re.search(r'aria-labelledby="([^"]+)"', attributes)
        assert label or labelled_by, attributes
        if label:
            assert unescape(label.group(1)).strip(), attributes
        if labelled_by:
            assert labelled_by.group(1) in ids, attributes
    css = client.get("/static/site/site.css").text
    assert re.search(r"\.table-wrap:focus[^{]*\{[^}]*outline: 3px solid", css)


def _title(page: str) -> str:
    found = re.search(r"<title>([^<]*)</title>", page)
    assert found, page[:200]
    return unescape(found.group(1))


def test_a_sector_page_names_its_municipality(client: TestClient) -> None:
    """17 sectors are called "Station": the title and heading say which one, as the wijken's
    names do ("Station (Gent)")."""
    unit = client.get("/api/v1/geo/units/sector/44021A00-").json()
    municipality = unit["parents"]["municipality"]["name"]
    named = f"{unit['name']} ({municipality}) in cijfers"
    page = client.get("/doc/sector/44021A00-", headers=HTML).text
    assert _title(page) == f"{named} — Datapedia"
    assert f"<h1>{escape_text(named)}</h1>" in page
    # A municipality is its own name.
    assert _title(client.get("/doc/municipality/44021", headers=HTML).text) == (
        "Gent in cijfers — Datapedia"
    )


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_a_place_in_another_geography_version_says_so_in_its_title(client: TestClient) -> None:
    older = client.get("/doc/municipality/44021?version=2024", headers=HTML).text
    assert _title(older) == "Gent in cijfers (geografische versie 2024) — Datapedia"
    english = client.get("/doc/municipality/44021?version=2024&lang=en", headers=HTML).text
    assert _title(english) == "Gent in numbers (geography version 2024) — Datapedia"
    assert "versie" not in _title(client.get("/doc/municipality/44021", headers=HTML).text)


def test_the_search_page_title_says_what_was_searched(client: TestClient) -> None:
    page = client.get("/search", params={"q": "bevolking"}, headers=HTML).text
    assert _title(page) == "“bevolking” — Zoeken — Datapedia"
    english = client.get("/search", params={"q": "<b>", "lang": "en"}, headers=HTML).text
    assert "<title>“&lt;b&gt;” — Search — Datapedia</title>" in english
    assert _title(client.get("/search", headers=HTML).text) == "Zoeken — Datapedia"
