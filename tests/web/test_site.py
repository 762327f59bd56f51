"""The site for people, without a browser: languages, translated labels, numbers in the
reader's locale equal to the API's, search and facets, and HTML 404 pages."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from app.web.i18n import LABELS, Translator, choose_language
from app.web.service import class_breaks

HTML = {"Accept": "text/html"}
ENGLISH = {"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9"}


def _api_link(html: str, marker: str) -> str:
    """The first API link in the page after ``marker``."""
    start = html.index(marker)
    found = re.search(r'href="(/api/v1/[^"]+)"', html[start:])
    assert found, marker
    return unescape(found.group(1))


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        (None, None, "nl"),
        ("en", None, "en"),
        ("nl", "en", "nl"),
        (None, "en-GB,en;q=0.9,nl;q=0.8", "en"),
        (None, "fr-BE,fr;q=0.9,nl;q=0.5,en;q=0.4", "nl"),
        (None, "de, en;q=0", "nl"),
        ("xx", "en;q=bad", "nl"),
    ],
)
def test_language_choice(requested: str | None, accept: str | None, expected: str) -> None:
    assert choose_language(requested, accept) == expected


def test_numbers_follow_the_locale_and_the_decimals() -> None:
    assert Translator("nl").number(272657) == "272.657"
    assert Translator("en").number(272657) == "272,657"
    assert Translator("nl").number(1234.567, 2) == "1.234,57"
    assert Translator("en").number(0.456, 1) == "0.5"
    assert Translator("nl").number(None) == "—"
    assert Translator("nl")("role.owner") == "mede-eigenaar"
    assert Translator("en").code("access", "non_public") == "non-public"


def test_home_compares_gent_and_antwerpen_as_the_api_does(client: TestClient) -> None:
    dutch = client.get("/", headers=HTML)
    english = client.get("/", headers=ENGLISH)
    assert dutch.status_code == english.status_code == 200
    assert '<html lang="nl">' in dutch.text and '<html lang="en">' in english.text
    assert "De centrumsteden vergeleken" in dutch.text
    assert "The centre cities compared" in english.text
    api = client.get(_api_link(dutch.text, 'id="headline"')).json()
    by_code = {r["code"]: r["value"] for r in api["items"]}
    for code in ("44021", "11002"):
        value = by_code[code]
        assert f"{value:,.0f}".replace(",", ".") in dutch.text
        assert f"{value:,.0f}" in english.text
    # The search box is there, and the language switch keeps the page.
    assert 'role="search"' in dutch.text and 'href="/?lang=en"' in dutch.text


def test_dataset_page_translates_codes_and_builds_downloads(client: TestClient) -> None:
    page = client.get("/doc/dataset/population-2025", headers=HTML).text
    assert "mede-eigenaar" in page and "leverancier" in page and "openbaar" in page
    assert ">owner<" not in page and ">public<" not in page
    assert 'action="/download/population-2025"' in page
    chosen = client.get(
        "/download/population-2025",
        params={"indicator": "population", "level": "", "period": "", "format": "csv"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == (
        "/api/v1/datasets/population-2025/observations?indicator=population&format=csv"
    )
    english = client.get("/doc/dataset/population-2025?lang=en", headers=HTML).text
    assert "co-owner" in english and "How to cite" in english
    # An attribution ending in a full stop is not followed by ".," before the publisher.
    derived = client.get("/doc/dataset/climate-energy-monitor", headers=HTML).text
    cite = derived[derived.index('class="cite">') :].split("</dd>")[0]
    assert "2016, " in cite and ".," not in cite
    preview = client.get(_api_link(page, 'id="preview"')).json()
    first = preview["items"][0]
    assert f'data-code="{first["code"]}" data-value="{float(first["value"])!r}"' in page


@pytest.mark.parametrize("typed", ["Gent", "gent", "Ghent", "44021", "municipality:44021"])
def test_the_download_builder_takes_a_place_as_people_name_it(
    client: TestClient, typed: str
) -> None:
    """A citizen typed "Gent" in the area field and met the API's "level:code" error."""
    chosen = client.get(
        "/download/population-2025",
        params={"indicator": "population", "level": "sector", "within": typed, "format": "csv"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303, chosen.text
    assert "within=municipality%3A44021" in chosen.headers["location"]


def test_the_download_builder_offers_what_answers_whole(client: TestClient) -> None:
    """Levels of the dataset's own version only (a 2024 dataset has no wijken or
    city-regions, and the builder cannot change the version), and complete files: the JSON
    link is the stored download, not the API's first page."""
    page = client.get("/doc/dataset/cars-households-2019", headers=HTML).text
    builder = page[page.index('id="dl-level"') :]
    levels = re.findall(r'<option value="([^"]+)"', builder[: builder.index("</select>")])
    assert "municipality" in levels and "sector" in levels
    assert "wijk" not in levels and "cityregion" not in levels
    for level in levels:
        answer = client.get(
            "/download/cars-households-2019",
            params={"level": level, "indicator": "cars", "format": "csv"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, (level, answer.text)
    assert '<option value="json">' not in page
    json_link = re.search(r'<a href="([^"]+)">JSON</a>', page).group(1)  # type: ignore[union-attr]
    whole = client.get(json_link)
    assert whole.status_code == 200
    total = client.get("/api/v1/datasets/cars-households-2019/observations").json()["total"]
    assert len(whole.json()) == total  # one array of every record


def test_indicator_page_shows_the_comparison_and_the_map_values(client: TestClient) -> None:
    page = client.get("/doc/indicator/population-density?in=44021", headers=HTML).text
    comparison = client.get(_api_link(page, 'figure class="comparison"')).json()
    assert comparison["total"] == 27  # 13 cities, 13 city-regions, the Flemish Region
    for record in comparison["items"]:
        assert f'data-value="{float(record["value"])!r}"' in page
    flemish = client.get(_api_link(page, "data-map-values")).json()
    first_map = page[page.index("data-map-values") :]
    assert flemish["total"] == first_map[: first_map.index("</table>")].count("<tr data-code=")
    assert 'data-geometry="/api/v1/geo/boundaries?level=municipality' in page
    assert "zonder kaartvlak" in page and "Legende" in page
    assert '<h3 id="inside">Binnen de gemeente Gent</h3>' in page
    # Genk's and Hasselt's city-regions are both Limburg: the page says why their values match.
    (note,) = re.findall(r"<p [^>]*data-same-area>([^<]*)</p>", page)
    assert note.endswith(": Stadsregio Genk = Stadsregio Hasselt.")
    genk, hasselt = (
        [r["value"] for r in comparison["items"] if r["code"] == f"stadsregio-{city}"]
        for city in ("genk", "hasselt")
    )
    assert genk == hasselt != []


def test_place_page_gives_key_figures_with_their_comparison(client: TestClient) -> None:
    page = client.get("/doc/municipality/44021", headers=HTML).text
    assert "<h1>Gent in cijfers</h1>" in page
    assert "Stadsregio Gent" in page and "Vlaams Gewest" in page
    row = page[page.index('data-indicator="population"') :]
    api = client.get(_api_link(row, "<td")).json()
    value = next(r["value"] for r in api["items"] if r["code"] == "44021")
    assert f"{value:,.0f}".replace(",", ".") in row[: row.index("</tr>")]
    # A share changes by percentage points, not by a percentage of itself.
    genk = client.get("/doc/cityregion/stadsregio-genk?lang=en", headers=HTML).text
    forest = genk[genk.index('data-indicator="share-forest-in-open-space"') :]
    forest = forest[: forest.index("</tr>")]
    change = float(re.search(r'data-change="([^"]+)"', forest).group(1))  # type: ignore[union-attr]
    assert f"{change:+.1f} percentage points" in forest and " % " not in forest
    # Across versions: Hasselt's 2024 code leads to its successor.
    hasselt = client.get("/doc/municipality/71022", headers=HTML).text
    assert "/doc/municipality/71072" in hasselt


def test_search_finds_places_first_and_counts_facets_like_the_api(client: TestClient) -> None:
    page = client.get("/search?q=Gent", headers=HTML).text
    places = page[page.index('data-results="places"') :]
    assert re.search(r'<a href="(/doc/[^"]+)">', places).group(1) == "/doc/municipality/44021"
    everything = client.get("/search", headers=HTML).text
    api = client.get("/api/v1/datasets").json()
    for facet in api["facets"]["themes"]:
        assert re.search(
            rf'theme={facet["value"]}">[^<]+</a> <span class="count" data-count="{facet["count"]}"',
            everything,
        ), facet


def test_a_statistical_sectors_name_finds_its_page(client: TestClient) -> None:
    """A reader who types the name of their neighbourhood's sector ("Papenakkers",
    "Sint-Niklaas-Markt") found nothing, though the sector has its page; each sector is named
    with its municipality, as on that page (two sectors are called Klaverblad)."""
    for q, target in (
        ("Papenakkers", "/doc/sector/46021A01K"),
        ("sint niklaas markt", "/doc/sector/46021A001"),
    ):
        page = client.get("/search", params={"q": q}, headers=HTML).text
        assert 'data-results="places"' in page, q
        assert f'href="{target}"' in page, q
    page = client.get("/search", params={"q": "Klaverblad"}, headers=HTML).text
    assert '<a href="/doc/sector/4602122MK">Klaverblad (Sint-Niklaas)</a>' in page
    assert '<a href="/doc/sector/11002U69-">Klaverblad (Antwerpen)</a>' in page
    # A sector named with its municipality already is not named with it twice.
    page = client.get("/search", params={"q": "Heiken"}, headers=HTML).text
    assert '<a href="/doc/sector/11009A01K">Heiken (Brecht)</a>' in page
    title = client.get("/doc/sector/11009A01K", headers=HTML).text
    assert "<h1>Heiken (Brecht) in cijfers</h1>" in title


def test_a_place_page_lists_what_it_lies_in_from_small_to_large(client: TestClient) -> None:
    """A sector's page listed the units it lies in alphabetically by their levels' codes:
    arrondissement, city-region, municipality, province, …, wijk last."""
    page = client.get("/doc/sector/46021A001", headers=HTML).text
    section = page[
        page.index('<h2 id="relations">') : page.index("</ul>", page.index('<h2 id="relations">'))
    ]
    levels = re.findall(r'<li>([^:<]+): <a href="/doc/([a-z]+)/', section)
    assert [level for _, level in levels] == [
        "wijk",
        "municipality",
        "arrondissement",
        "province",
        "region",
        "referentieregio",
        "vervoerregio",
        "cityregion",
    ], levels


def test_a_search_without_datasets_has_no_empty_refine_heading(client: TestClient) -> None:
    """A search that found places only showed "Verfijnen" over nothing, above the results
    on a phone."""
    page = client.get("/search", params={"q": "Klaverblad"}, headers=HTML).text
    assert 'id="facets"' not in page
    assert 'data-results="places"' in page
    found = client.get("/search", params={"q": "bevolking"}, headers=HTML).text
    assert '<h2 id="facets">' in found and 'data-facet="themes"' in found


def test_a_topic_and_a_place_find_the_topics_datasets(client: TestClient) -> None:
    """The places and indicators of "bevolking gent" were listed above "Datasets 0"."""
    page = client.get("/search", params={"q": "bevolking gent"}, headers=HTML).text
    assert 'href="/doc/dataset/population-2025"' in page
    assert 'href="/doc/municipality/44021"' in page
    api = client.get("/api/v1/datasets", params={"q": "bevolking"}).json()
    assert api["total"] > 0
    heading = page[page.index('<h2 id="datasets">') :].split("</h2>")[0]
    assert f'<span class="count">{api["total"]}</span>' in heading
    assert 'href="/api/v1/datasets?q=bevolking"' in page


@pytest.mark.parametrize("q", ["", "%", "'\"<>;--", "ééé", "a" * 200])
def test_odd_searches_give_a_normal_page(client: TestClient, q: str) -> None:
    response = client.get("/search", params={"q": q}, headers=HTML)
    assert response.status_code == 200
    assert "<script>" not in response.text.split("</head>")[1]


@pytest.mark.parametrize(
    "path",
    ["/doc/dataset/nope", "/doc/indicator/nope", "/doc/municipality/99998", "/doc/sector/x"],
)
def test_unknown_things_are_html_404_pages_for_browsers(client: TestClient, path: str) -> None:
    dutch = client.get(path, headers=HTML)
    assert dutch.status_code == 404 and dutch.headers["content-type"].startswith("text/html")
    assert "<h1>Niet gevonden</h1>" in dutch.text
    english = client.get(path, headers=ENGLISH)
    assert english.status_code == 404 and "<h1>Not found</h1>" in english.text
    machine = client.get(path, headers={"Accept": "text/turtle"})
    assert machine.status_code == 404
    assert machine.headers["content-type"] == "application/problem+json"
    # One search landmark (the page's own form), not a second of the same name in the header.
    assert dutch.text.count('role="search"') == 1


@pytest.mark.parametrize("path", ["/doc/dataset/population-2025", "/doc/municipality/44021"])
def test_the_footer_names_each_data_link_once(client: TestClient, path: str) -> None:
    """The same resource in several RDF formats has a link per format; the JSON of the API
    was listed twice (as application/json and as "JSON")."""
    footer = client.get(path, headers=HTML).text.split('<footer class="site">')[1]
    links = re.findall(r'<a href="([^"]+)"', footer.split("</ul>")[0])
    api = [link for link in links if link.startswith("/api/v1/")]
    assert api and len(api) == len(set(api)), api


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page_size=5000"])
def test_a_catalogue_page_parameter_out_of_range_is_a_page_for_a_browser(
    client: TestClient, query: str
) -> None:
    """A browser on /catalog?page=0 was shown the raw problem+json."""
    page = client.get(f"/catalog?{query}", headers=HTML)
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Dit verzoek kan niet</h1>" in page.text
    harvester = client.get(f"/catalog?{query}", headers={"Accept": "text/turtle"})
    assert harvester.status_code == 422
    assert harvester.headers["content-type"] == "application/problem+json"


def test_place_page_shows_the_profile_of_the_api(client: TestClient) -> None:
    page = client.get("/doc/municipality/44021", headers=HTML).text
    table = page[page.index('<table class="data" data-figures') :]
    table = table[: table.index("</table>")]
    profile_url = unescape(re.search(r'data-profile="([^"]+)"', table).group(1))  # type: ignore[union-attr]
    profile = client.get(profile_url).json()
    assert profile["unit"]["id"] == "municipality:44021"
    shown = re.findall(r'<tr data-indicator="([^"]+)"', table)
    assert shown == [row["indicator"] for row in profile["indicators"]]
    for row in profile["indicators"]:
        cells = table[table.index(f'data-indicator="{row["indicator"]}"') :]
        cells = cells[: cells.index("</tr>")]
        assert row["period"] in cells
        # A percentage's change in percentage points, any other's in per cent.
        unit = client.get(f"/api/v1/indicators/{row['indicator']}").json()["unit_of_measure"]
        change = row["value"]["change" if unit == "percent" else "change_pct"]
        if change is not None:
            assert f'data-change="{change}"' in cells
    assert profile_url in page  # the link under the table


def test_a_brussels_place_is_compared_with_its_own_region(client: TestClient) -> None:
    profile = client.get("/api/v1/geo/units/municipality/21004/profile").json()
    page = client.get("/doc/municipality/21004", headers=HTML).text
    header = page[page.index("data-figures") :]
    header = header[: header.index("</thead>")]
    assert profile["region"]["name"] in header
    assert "Vlaams Gewest" not in header


def test_the_region_page_has_no_column_comparing_it_with_itself(client: TestClient) -> None:
    """The region's profile has no region beside it: no column of "missing" cells."""
    page = client.get("/doc/region/02000?lang=en", headers=HTML).text
    table = page[page.index("data-figures") :]
    table = table[: table.index("</table>")]
    header = table[: table.index("</thead>")]
    assert header.count('<th scope="col"') == 5  # indicator, period, the region, change, API
    assert "missing" not in table


def test_a_reader_whose_browser_prefers_english_can_stay_on_dutch_pages(
    client: TestClient,
) -> None:
    english_browser = {**HTML, "Accept-Language": "en-US,en;q=0.9"}
    english = client.get("/doc/dataset/population-2025", headers=english_browser).text
    assert '<html lang="en">' in english
    # The switch says Dutch in its link: the browser's preference does not pick again.
    assert 'href="/doc/dataset/population-2025?lang=nl"' in english
    dutch = client.get("/doc/dataset/population-2025?lang=nl", headers=english_browser).text
    assert '<html lang="nl">' in dutch
    # Its links keep the choice, so the next page is Dutch too.
    assert 'href="/doc/indicator/population?lang=nl"' in dutch
    assert '<input type="hidden" name="lang" value="nl">' in dutch
    # Without a choice, a Dutch page's links stay as they were.
    plain = client.get("/doc/dataset/population-2025", headers=HTML).text
    assert 'href="/doc/indicator/population"' in plain


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"within": "Nergenshuizen"}, 422, "within"),
        ({"within": "Gentt"}, 422, "within"),
        ({"within": "municipality:99999"}, 404, "within"),
        ({"within": "<script>"}, 422, "within"),
        ({"period": "1999"}, 404, "period"),
        ({"indicator": "nope"}, 404, "indicator"),
        ({"format": "xlsx"}, 422, "format"),
    ],
)
def test_the_download_builder_explains_a_bad_choice_in_its_form(
    client: TestClient, fields: dict[str, str], status: int, field: str
) -> None:
    """A wrong choice comes back as the dataset page's builder (it was the bare error page,
    in English, with what was typed gone): the message in the reader's language, tied to its
    field, above the form a summary that links to it, and what was chosen kept."""
    chosen = {"indicator": "population", "level": "sector", "format": "csv", **fields}
    for lang, message in (
        ("nl", LABELS[f"download.error.{field}"][0]),
        ("en", LABELS[f"download.error.{field}"][1]),
    ):
        response = client.get(
            "/download/population-2025",
            params={**chosen, "lang": lang},
            headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
            follow_redirects=False,
        )
        assert response.status_code == status
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert f'<html lang="{lang}">' in page and "<script>" not in page
        form = page[page.index('<form class="download"') :]
        form = form[: form.index("</form>")]
        summary = form[form.index('<div class="problems" role="alert"') :]
        assert f'<a href="#dl-{field}">{escape(message)}</a>' in summary
        tag = re.search(rf'<(?:input|select) id="dl-{field}"[^>]*>', form).group(0)  # type: ignore[union-attr]
        assert 'aria-invalid="true"' in tag
        assert f'aria-describedby="dl-{field}-error"' in tag
        assert f'<span class="error" id="dl-{field}-error">{escape(message)}</span>' in form
        assert form.count('aria-invalid="true"') == 1
        # What was chosen and typed is still there, and the language stays with the form.
        assert '<option value="sector" selected>' in form
        if field != "indicator":
            assert '<option value="population" selected>' in form
        if "within" in fields:
            assert f'value="{escape(fields["within"])}"' in form
        assert f'<input type="hidden" name="lang" value="{lang}">' in form
        assert "<title>" + ("Fout" if lang == "nl" else "Error") + ": " in page


def test_the_download_builder_keeps_the_language(client: TestClient) -> None:
    """The builder's form carries the reader's language, as the other forms of the site do
    (its errors came back in Dutch on an English page)."""
    page = client.get("/doc/dataset/population-2025?lang=en", headers=HTML).text
    form = page[page.index('<form class="download"') :]
    form = form[: form.index("</form>")]
    assert '<input type="hidden" name="lang" value="en">' in form
    # The language is the page's, not a choice for the API.
    chosen = client.get(
        "/download/population-2025",
        params={"indicator": "population", "format": "csv", "lang": "en"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert "lang" not in chosen.headers["location"]


def test_a_bad_parameter_of_a_page_is_a_page_for_a_browser(client: TestClient) -> None:
    path = "/doc/municipality/44021"
    page = client.get(path, params={"version": "1999", "lang": "en"}, headers=HTML)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "unknown geography version &#39;1999&#39;" in page.text
    assert '<html lang="en">' in page.text


def test_the_map_inside_a_municipality_credits_its_boundaries(client: TestClient) -> None:
    # A median has no map of Flanders (it is not aggregated), only the one inside Gent.
    page = client.get("/doc/indicator/income-median-declaration?in=44021", headers=HTML).text
    assert '<h3 id="inside">' in page
    assert 'class="credit"' in page and "Statbel" in page[page.index('class="credit"') :]


@pytest.mark.parametrize(
    ("lang", "said", "not_said"),
    [("en", "collected by", "verzameld door"), ("nl", "verzameld door", "collected by")],
)
def test_the_map_credit_is_in_the_pages_language(
    client: TestClient, lang: str, said: str, not_said: str
) -> None:
    page = client.get("/doc/indicator/population", params={"lang": lang}, headers=HTML).text
    credit = page[page.index('class="credit"') :]
    credit = credit[: credit.index("</p>")]
    assert said in credit and not_said not in credit


def test_a_place_page_links_its_other_versions(client: TestClient) -> None:
    # The 2025 sector page shows a few indicators; the 2024 version holds most of the data.
    page = client.get("/doc/sector/44021A00-", headers=HTML).text
    assert 'href="/doc/sector/44021A00-?version=2024"' in page
    assert '<strong aria-current="page">2025</strong>' in page
    older = client.get("/doc/sector/44021A00-?version=2024", headers=HTML).text
    assert 'href="/doc/sector/44021A00-?version=2025"' in older


@pytest.mark.parametrize(
    ("path", "english", "dutch"),
    [
        ("/doc/record/population-2025", "Catalogue record of", "Catalogusrecord van"),
        ("/doc/distribution/population-2025/csv", "Format", "Formaat"),
        ("/doc/service/api", "API documentation", "API-documentatie"),
    ],
)
def test_resource_pages_speak_the_readers_language(
    client: TestClient, path: str, english: str, dutch: str
) -> None:
    en = client.get(path, params={"lang": "en"}, headers=HTML)
    nl = client.get(path, headers=HTML)
    assert en.status_code == nl.status_code == 200, (path, en.text[:200])
    assert english in en.text and dutch not in en.text
    assert dutch in nl.text and english not in nl.text
    # Dates as a reader writes them, not time stamps.
    assert not re.search(r"\\d{4}-\\d{2}-\\d{2}T\\d{2}:", en.text)


def test_the_preview_says_its_level(client: TestClient) -> None:
    """Income is published per sector: its preview says so (it said "per gemeente")."""
    for dataset, level in (("income", "statistische sector"), ("population-2025", "gemeente")):
        page = client.get(f"/doc/dataset/{dataset}", headers=HTML).text
        caption = page[page.index('<caption id="preview-caption">De eerste waarden per') :]
        assert caption.startswith(
            f'<caption id="preview-caption">De eerste waarden per {level} —'
        ), caption[:80]


def test_map_classes_are_those_of_the_units_drawn(client: TestClient) -> None:
    """A not-localisable unit (…ZZZZ) is listed beside the map, not drawn: it does not set
    the classes (it set Gent's lowest bound)."""
    page = client.get("/doc/indicator/cars?in=44021", headers=HTML).text
    inside = page[page.rindex("data-map-values") :]
    inside = inside[: inside.index("</table>")]
    rows = re.findall(
        r'data-code="([^"]+)"[^>]*data-value="([^"]*)"[^>]*data-class="([^"]+)"', inside
    )
    assert any(code.endswith("ZZZZ") and value for code, value, _ in rows)
    drawn = [(float(value), k) for code, value, k in rows if value and not code.endswith("ZZZZ")]
    breaks = class_breaks([value for value, _ in drawn])
    for value, k in drawn:
        assert k == str(next(i for i, bound in enumerate(breaks) if value <= bound)), value


@pytest.mark.parametrize(
    ("path", "link"),
    [
        ("/doc/conceptscheme/datapedia", "/doc/indicator/area"),
        ("/doc/record/population-2025", "/doc/dataset/population-2025"),
        ("/doc/distribution/population-2025/csv", "/doc/dataset/population-2025"),
        ("/doc/observation-status/normal", "/doc/conceptscheme/observation-status"),
    ],
)
def test_resource_pages_keep_the_chosen_language_on_their_links(
    client: TestClient, path: str, link: str
) -> None:
    """Every page of the site the page links to opens in the language the reader chose (the
    resource pages linked bare ``/doc/…`` paths: the next page was Dutch again)."""
    page = client.get(path, params={"lang": "en"}, headers=HTML)
    assert page.status_code == 200, path
    assert f'href="{link}?lang=en"' in page.text
    main = page.text[page.text.index("<main") : page.text.index("</main>")]
    for href in re.findall(r'<a href="(/doc/[^"]*)"', main):
        assert "lang=en" in unescape(href), (path, href)


def test_an_english_indicator_page_names_its_suppliers_in_english(client: TestClient) -> None:
    """An English indicator page listed its suppliers by their Dutch names ("Stad Aalst")."""
    dataset = client.get("/api/v1/datasets/population-2025").json()
    suppliers = [r["organisation"] for r in dataset["roles"] if r["role"] == "supplier"]
    # Cities with an English name of their own ("City of Aalst").
    assert any(o["name"]["en"] not in (None, o["name"]["nl"]) for o in suppliers)
    page = client.get("/doc/indicator/population?lang=en", headers=HTML).text
    shown = page[page.index("<dt>Supplier</dt>") :]
    shown = unescape(shown[: shown.index("</dd>")])
    for organisation in suppliers:
        english = organisation["name"]["en"] or organisation["name"]["nl"]
        assert f">{english}</a>" in shown, organisation
        if organisation["name"]["en"] and organisation["name"]["en"] != organisation["name"]["nl"]:
            assert f">{organisation['name']['nl']}</a>" not in shown


def test_a_municipality_code_that_is_none_is_said_on_the_indicator_page(
    client: TestClient,
) -> None:
    """``?in=99999`` (a code typed or cut off in a link) showed the page without its map
    inside a municipality, and without a word why."""
    page = client.get("/doc/indicator/population?in=99999", headers=HTML).text
    assert '<h3 id="inside">' not in page
    assert "Er is geen Vlaamse gemeente met code 99999" in page
    english = client.get("/doc/indicator/population?in=<b>x</b>", headers=ENGLISH).text
    assert "There is no Flemish municipality with code &lt;b&gt;x&lt;/b&gt;" in english
    shown = client.get("/doc/indicator/population?in=44021", headers=HTML).text
    assert '<h3 id="inside">' in shown and "Er is geen Vlaamse gemeente" not in shown


def test_a_map_caption_names_the_year_once(client: TestClient) -> None:
    """ "Bevolkingsdichtheid 2021, 2021": the label names its year itself."""
    page = client.get("/doc/indicator/population-density-2021", headers=HTML).text
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    map_caption = next(c for c in captions if "Bevolkingsdichtheid 2021" in c)
    assert "2021, 2021" not in map_caption
    assert "Bevolkingsdichtheid 2021 (" in map_caption
    other = client.get("/doc/indicator/population", headers=HTML).text
    assert re.search(r"<figcaption>[^<]*— Bevolking, \d{4} \(", other)


def test_a_place_pages_lead_begins_with_a_capital(client: TestClient) -> None:
    page = client.get("/doc/municipality/46021", headers=HTML).text
    assert '<p class="lead">Gemeente 46021 ·' in page
    english = client.get("/doc/municipality/46021", headers=ENGLISH).text
    assert '<p class="lead">Municipality 46021 ·' in english
