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
