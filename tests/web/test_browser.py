"""The pages in a real browser: the system Chromium driven by Playwright (no browser
download), against the app served by uvicorn on the real data. Each page is checked as a
citizen would use it — the numbers shown equal the API's, the chart and the map are drawn
(marks counted against the data), no console error, no request leaves the server — and
axe-core finds no serious or critical accessibility violation.

Set ``DATAPEDIA_SCREENSHOTS=docs`` to also save screenshots of the main pages there."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from axe_playwright_python import sync_playwright as axe_sync
from playwright import sync_api as playwright_sync
from sqlalchemy import delete, func, select

from app.config import SEEDS_DIR, Settings
from app.db.session import make_engine, make_session_factory, transaction
from app.geo.boundaries import (
    BOUNDARIES_DIR,
    BOUNDARIES_FILE,
    import_boundaries,
    load_boundary_files,
)
from app.geo.models import GeoGeometry
from app.main import create_app
from tests.conftest import real_source_dir

# The system Chromium (.ci/run installs it): Playwright downloads no browser of its own.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


MAP_FILES = ("municipalities_2025.geojson", "wijken_ggw7_2025.geojson")
# The 2021 sector map (2024 codes), cut down to Gent's sectors: the map inside Gent of data in
# the 2024 version (population density 2021).
SECTOR_FILE = "sectors_2021_flanders_brussels.geojson"


@pytest.fixture(scope="module")
def boundaries(real_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The shapes the pages draw, in the shared real database for this module only (the
    session's seed leaves geometry out; other tests expect none)."""
    engine = make_engine(real_db)
    factory = make_session_factory(engine)
    source = real_source_dir() / BOUNDARIES_DIR
    folder = tmp_path_factory.mktemp("boundaries")
    for name in MAP_FILES:
        (folder / name).symlink_to(source / name)
    sectors = json.loads((source / SECTOR_FILE).read_text(encoding="utf-8"))
    sectors["features"] = [
        f for f in sectors["features"] if f["properties"]["code"].startswith("44021")
    ]
    (folder / SECTOR_FILE).write_text(json.dumps(sectors), encoding="utf-8")
    files = [
        f
        for f in load_boundary_files(SEEDS_DIR / BOUNDARIES_FILE)
        if f.file in (*MAP_FILES, SECTOR_FILE)
    ]
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(GeoGeometry)) == 0
        import_boundaries(session, folder, files)
    yield
    with transaction(factory) as session:
        session.execute(delete(GeoGeometry))
    engine.dispose()


@pytest.fixture(scope="module")
def server(real_db: str, boundaries: None) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(Settings(database_url=real_db, base_url=base))
    # The app writes each answer's Date itself (app.api.http.DateHeader), as `datapedia serve`.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", date_header=False
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield base
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """A page with what it logged and asked for."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")

    def check_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.outside == [], self.outside

    def check_accessible(self) -> None:
        results = axe_sync.Axe().run(self.page)
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], bad

    def screenshot(self, name: str) -> None:
        target = os.environ.get("DATAPEDIA_SCREENSHOTS")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


@pytest.fixture
def visit(browser: Any, server: str) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
    page = context.new_page()
    seen = Visit(page, server)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(f"{e}\n{e.stack}"))

    def guard(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            seen.outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    yield seen
    context.close()


def _api(server: str, path: str) -> Any:
    response = httpx.get(server + path, timeout=60)
    assert response.status_code == 200, (path, response.text[:300])
    return response.json()


def _api_values(
    server: str, url: str, whole: bool = True
) -> dict[tuple[str, str, str], float | None]:
    body = _api(server, url)
    assert not whole or body["total"] == len(body["items"]), "one page holds them all"
    return {(r["level"], r["code"], r["period"]): r["value"] for r in body["items"]}


def test_home_search_reaches_gent_and_compares_the_cities(visit: Visit) -> None:
    visit.open("/")
    assert visit.page.locator("html").get_attribute("lang") == "nl"
    # Gent's and Antwerpen's population 2025 on one screen, as the API gives them.
    table = visit.page.locator("table[data-series]").first
    api = table.locator("xpath=ancestor::figure//p[@class='api']/a").get_attribute("href")
    values = _api_values(visit.base, api)
    for code, name in (("44021", "Gent"), ("11002", "Antwerpen")):
        cell = table.locator(f'tr[data-ref="municipality:{code}"] td[data-period="2025"]')
        assert float(cell.get_attribute("data-value")) == values[("municipality", code, "2025")]
        assert name in table.locator(f'tr[data-ref="municipality:{code}"] th').inner_text()
    shown = table.locator('tr[data-ref="municipality:44021"] td').inner_text().strip()
    assert shown == f"{values[('municipality', '44021', '2025')]:,.0f}".replace(",", ".")
    visit.check_accessible()
    visit.screenshot("home")
    visit.page.fill("#q", "Gent")
    visit.page.locator("form.big button").click()
    visit.page.wait_for_load_state("networkidle")
    first = visit.page.locator('ul[data-results="places"] li a').first
    assert first.inner_text() == "Gent"
    first.click()
    visit.page.wait_for_load_state("networkidle")
    assert visit.page.url.endswith("/doc/municipality/44021")
    assert visit.page.locator("h1").inner_text() == "Gent in cijfers"
    visit.check_clean()


def test_indicator_page_chart_and_map_show_the_api_numbers(visit: Visit) -> None:
    visit.open("/doc/indicator/population-density?lang=en")
    assert visit.page.locator("html").get_attribute("lang") == "en"
    # The supplier and the source are one click away.
    assert visit.page.locator("dl.facts a[href='/doc/organisation/statbel?lang=en']").count() >= 1
    figure = visit.page.locator("figure.comparison")
    api = figure.locator("p.api a").get_attribute("href")
    values = _api_values(visit.base, api)
    cells = figure.locator("td[data-period]")
    shown = {}
    for i in range(cells.count()):
        cell = cells.nth(i)
        ref = cell.locator("xpath=..").get_attribute("data-ref")
        level, code = ref.split(":")
        raw = cell.get_attribute("data-value")
        shown[(level, code, cell.get_attribute("data-period"))] = float(raw) if raw else None
    assert shown == values
    # Bars: one per city and city-region value and one for the Flemish Region (a ratio),
    # plus one legend mark per series.
    chart = figure.locator("[data-chart]")
    colours = chart.get_attribute("data-colours").split()
    marks = visit.page.evaluate(
        "([el, colours]) => Array.from(el.querySelectorAll('path'))"
        ".filter(p => colours.includes(p.getAttribute('fill'))).length",
        [chart.element_handle(), colours],
    )
    present = sum(v is not None for v in values.values())
    assert marks == present + len(colours)
    # The Flemish Region in its own colour and legend entry (it was filed under the cities).
    region_bars = visit.page.evaluate(
        "el => Array.from(el.querySelectorAll('path'))"
        ".filter(p => p.getAttribute('fill') === '#b2182b').length",
        chart.element_handle(),
    )
    region_values = sum(v is not None for (level, _, _), v in values.items() if level == "region")
    periods = {period for (_, _, period) in values}
    assert region_values > 0 and region_bars == region_values + len(periods)
    assert chart.locator("text", has_text="Flemish Region").count() >= len(periods)
    # The map: one coloured area per municipality with a value and a geometry.
    geometry = visit.page.locator("figure[data-map]").first
    features = _api(visit.base, geometry.get_attribute("data-geometry"))["features"]
    codes = {f["properties"]["code"] for f in features if f.get("geometry")}
    rows = geometry.locator("table[data-map-values] tbody tr")
    with_area = [
        rows.nth(i).get_attribute("data-code")
        for i in range(rows.count())
        if rows.nth(i).get_attribute("data-code") in codes
    ]
    drawn = visit.page.evaluate(
        "el => el.querySelectorAll('[data-map-canvas] path').length",
        geometry.element_handle(),
    )
    assert drawn >= len(with_area) > 250
    visit.check_accessible()
    visit.check_clean()
    visit.screenshot("indicator")  # last: a full-page shot resizes the page


def test_gents_densest_sectors_on_the_density_2021_map(visit: Visit) -> None:
    # A derived indicator across datasets (Census 2021 ÷ the 2021 sector map), in the 2024
    # sector version, whose sectors have shapes: the map inside Gent draws its sectors.
    visit.open("/doc/indicator/population-density-2021?in=44021")
    parts = visit.page.locator("section[aria-labelledby=derived]")
    assert parts.locator("a[href*='/doc/dataset/age-census-2021']").count() == 2
    assert parts.locator("a[href*='/doc/dataset/sector-area-2021']").count() == 1
    figure = visit.page.locator("figure[data-map]").nth(1)
    api = figure.locator("p.api a").first.get_attribute("href")
    assert "level=sector" in api and "within=municipality%3A44021" in api
    values = _api_values(visit.base, api)
    rows = figure.locator("table[data-map-values] tbody tr")
    shown = {rows.nth(i).get_attribute("data-code") for i in range(rows.count())}
    assert {code for (_, code, _) in values} == shown
    features = _api(visit.base, figure.get_attribute("data-geometry"))["features"]
    codes = {f["properties"]["code"] for f in features if f.get("geometry")}
    drawn = visit.page.evaluate(
        "el => el.querySelectorAll('[data-map-canvas] path').length", figure.element_handle()
    )
    assert drawn >= len(shown & codes) > 150
    # The densest sector is among those drawn.
    densest = max((v, code) for (_, code, _), v in values.items() if v is not None)[1]
    assert densest in codes
    visit.check_clean()


def test_place_page_shows_the_sectors_and_key_figures(visit: Visit) -> None:
    visit.open("/doc/municipality/44021")
    row = visit.page.locator('table[data-figures] tr[data-indicator="population"]')
    api = row.locator("a", has_text="API").get_attribute("href")
    values = _api_values(visit.base, api)
    assert float(row.get_attribute("data-value")) == values[("municipality", "44021", "2025")]
    # Gent's neighbourhoods (the 2025 sectors have no shapes; its wijken have): every one
    # with a shape drawn, the others listed as "geen kaartvlak".
    figure = visit.page.locator("figure[data-map]")
    units = figure.locator("table[data-map-values] tbody tr")
    features = _api(visit.base, figure.get_attribute("data-geometry"))["features"]
    codes = {f["properties"]["code"] for f in features if f.get("geometry")}
    shown = [units.nth(i).get_attribute("data-code") for i in range(units.count())]
    assert len(set(shown) & codes) > 10
    drawn = visit.page.evaluate("document.querySelectorAll('[data-map-canvas] path').length")
    assert drawn >= len(set(shown) & codes)
    # The areas without a shape are counted in words ("zonder kaartvlak (1 gebied)"), not
    # as a bare "1:" before their names.
    gone = len(set(shown) - codes)
    without = figure.locator('li[data-class="nogeometry"]')
    if gone == 0:
        assert without.is_hidden()
    else:
        counted = "(1 gebied)" if gone == 1 else f"({gone} gebieden)"
        assert without.inner_text().strip().startswith(f"zonder kaartvlak {counted}: ")
        assert not figure.locator("[data-no-geometry-list]").inner_text().startswith(str(gone))
    visit.check_accessible()
    visit.check_clean()
    visit.screenshot("place")


def test_dataset_page_preview_and_download_builder(visit: Visit) -> None:
    visit.open("/doc/dataset/population-2025")
    preview = visit.page.locator("table[data-preview]")
    api = visit.page.locator("section", has=preview).locator("p.api a").get_attribute("href")
    values = _api_values(visit.base, api, whole=False)
    rows = preview.locator("tbody tr")
    assert rows.count() == len(values) > 0
    for i in range(rows.count()):
        code = rows.nth(i).get_attribute("data-code")
        value = next(v for (_, c, _), v in values.items() if c == code)
        assert float(rows.nth(i).get_attribute("data-value")) == value
    visit.check_accessible()
    visit.screenshot("dataset")
    visit.page.select_option("#dl-indicator", "population")
    visit.page.select_option("#dl-format", "jsonstat")
    visit.page.fill("#dl-within", "municipality:44021")
    visit.page.select_option("#dl-level", "sector")
    with visit.page.expect_navigation():
        visit.page.locator("form.download button").click()
    assert "/api/v1/datasets/population-2025/observations?" in visit.page.url
    assert "format=jsonstat" in visit.page.url
    body = visit.page.locator("body").inner_text().replace(" ", "")
    assert '"version":"2.0"' in body and "44021A00-" in body
    visit.check_clean()


def test_a_question_asked_on_the_dataset_page(visit: Visit) -> None:
    """The form works in a browser as served (its own origin, the page's CSP): a mistake comes
    back marked and focusable, the question then lands on the page under its own anchor."""
    visit.open("/doc/dataset/income")
    form = visit.page.locator("form.question")
    form.locator("#ask-kind").select_option("question")
    form.locator("#ask-title").fill("Mediaan of gemiddelde?")
    form.locator("#ask-body").fill("Is dit het mediaan inkomen?")
    form.locator("#ask-name").fill("Joris Lezer")
    with visit.page.expect_navigation():
        form.locator("button").click()
    assert visit.page.locator("#ask-email").get_attribute("aria-invalid") == "true"
    # The error summary has the focus: the keyboard and the screen reader start there.
    focused = visit.page.evaluate("[document.activeElement.className, document.title]")
    assert focused[0] == "problems" and focused[1].startswith("Fout: "), focused
    assert visit.page.locator("#ask-body").input_value() == "Is dit het mediaan inkomen?"
    visit.check_accessible()
    visit.screenshot("question")
    # The browser logs the form's 422 as an error; that is the answer expected here.
    assert [e for e in visit.errors if "422" not in e] == []
    visit.errors.clear()
    visit.page.locator("a[href='#ask-email']").click()
    visit.page.locator("#ask-email").fill("joris@example.org")
    with visit.page.expect_navigation():
        visit.page.locator("form.question button").click()
    assert "/doc/dataset/income#thread-" in visit.page.url
    thread = visit.page.locator(f"#{visit.page.url.rsplit('#', 1)[1]}")
    assert "Mediaan of gemiddelde?" in thread.inner_text()
    assert "Joris Lezer" in thread.inner_text()
    visit.check_clean()


def test_unknown_pages_are_html_for_browsers(visit: Visit) -> None:
    response = visit.page.goto(visit.base + "/doc/indicator/no-such-thing")
    assert response is not None and response.status == 404
    assert visit.page.locator("h1").inner_text() == "Niet gevonden"
    visit.check_accessible()
    visit.errors.clear()  # the browser logs the 404 of the page itself
    visit.open("/search?q=%25%22%3C%3E%27%3B")
    assert visit.page.locator("h1").inner_text() == "Zoeken"
    visit.check_clean()


@pytest.mark.parametrize(
    "path",
    [
        "/",  # the headline tables' columns were 21rem wide at least
        "/doc/municipality/44021",
        "/doc/sector/44021A00-",
        "/doc/dataset/population-2025",
        # Long Dutch words: a heading, an organisation's name, a file name; the filters.
        "/doc/indicator/electricity-connections-residential",
        "/doc/organisation/provincies-data-analyse",
        "/doc/dataset/sector-area-2021",
        "/search?q=gent",
    ],
)
def test_pages_fit_a_phone_without_scrolling_sideways(visit: Visit, path: str) -> None:
    # 320 CSS px: WCAG 2.1's reflow criterion (1.4.10), the narrowest phones in use.
    visit.page.set_viewport_size({"width": 320, "height": 640})
    visit.open(path)
    width = visit.page.evaluate("document.documentElement.scrollWidth")
    wide = visit.page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > 321)"
        ".map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))"
    )
    assert width <= 320, f"{path} is {width} px wide on a 320 px phone: {wide[:5]}"
    visit.check_clean()


def test_chart_labels_do_not_overlap_on_a_phone(visit: Visit) -> None:
    visit.page.set_viewport_size({"width": 390, "height": 844})
    visit.open("/doc/indicator/population")
    boxes = visit.page.evaluate(
        "() => [...document.querySelectorAll('figure.comparison [data-chart] svg text')]"
        ".map(t => [t.textContent, t.getBoundingClientRect()])"
        ".filter(([, r]) => r.width > 0)"
        ".map(([s, r]) => [s, r.left, r.top, r.right, r.bottom])"
    )
    assert len(boxes) > 10
    overlapping = [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5 and a[2] < b[4] - 0.5 and b[2] < a[4] - 0.5
    ]
    assert not overlapping, overlapping
    visit.check_clean()


def test_a_mistyped_address_and_a_long_search_are_pages_for_a_browser(visit: Visit) -> None:
    response = visit.page.goto(visit.base + "/datasets/does-not-exist")
    assert response is not None and response.status == 404
    assert visit.page.locator("h1").inner_text() == "Niet gevonden"
    # The search box holds 200 characters at most, as the search accepts.
    visit.page.fill("#q", "gent " * 100)
    assert len(visit.page.input_value("#q")) == 200
    visit.errors.clear()  # the browser logs the 404 of the page itself
    response = visit.page.goto(visit.base + "/search?q=" + "gent+" * 60)
    assert response is not None and response.status == 422
    assert visit.page.locator("h1").inner_text() == "Dit verzoek kan niet"
    assert "200" in visit.page.locator("main").inner_text()
    visit.check_accessible()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/?lang=en", 200),
        ("/doc/municipality/44021?lang=en", 200),
        ("/doc/cityregion/stadsregio-gent?lang=en", 200),
        ("/doc/dataset/income?lang=en", 200),
        ("/doc/indicator/share-65plus?lang=en", 200),
        ("/doc/dataset/population-2025/nope?lang=en", 404),
    ],
)
def test_english_pages_are_accessible_too(visit: Visit, path: str, status: int) -> None:
    """axe-core on the English pages, where Dutch names and texts are marked as Dutch."""
    response = visit.page.goto(visit.base + path)
    visit.page.wait_for_load_state("networkidle")
    assert response.status == status
    assert visit.page.evaluate("document.documentElement.lang") == "en"
    visit.check_accessible()
    if status == 200:  # an error page's own status is logged as a failed load
        visit.check_clean()


def test_api_docs_meet_wcag_21_aa(visit: Visit) -> None:
    """axe-core on Swagger UI at /docs with an operation opened: every WCAG 2.1 A and AA
    violation, whatever its impact (Swagger UI's own colours fail contrast; docs.css fixes
    them)."""
    visit.open("/docs")
    visit.page.locator(".opblock-summary").first.click()
    visit.page.locator(".opblock.is-open .opblock-body").first.wait_for()
    visit.page.wait_for_load_state("networkidle")
    results = axe_sync.Axe().run(
        visit.page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            # nested-interactive: Swagger UI puts each operation's deep link (<a>) inside the
            # button that opens the operation; markup, not something a stylesheet can change.
            "rules": {"nested-interactive": {"enabled": False}},
        },
    )
    bad = [
        (v["id"], v["impact"], len(v["nodes"]), [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
    ]
    assert bad == [], bad
    visit.check_clean()


def test_tooltips_show_names_as_text_within_the_pages_policy(visit: Visit) -> None:
    """ECharts' HTML tooltips wrote style attributes, which the Content-Security-Policy
    refuses (an error in the console at every hover), and showed what a formatter returns as
    markup, where a name is text. The page is changed on its way to the browser, so that one
    wijk's name in the map's table is markup; the tooltips of the map and of the chart are
    shown."""
    marked = "<b data-injected>Heuvelpoort</b>"

    def with_marked_name(route: Any) -> None:
        response = route.fetch()
        html = response.text()
        row = html.index('data-name="', html.index("<tr data-code=", html.index("data-map-values")))
        end = html.index('"', row + len('data-name="'))
        escaped = marked.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        html = html[: row + len('data-name="')] + escaped + html[end:]
        route.fulfill(response=response, body=html)

    visit.page.route("**/doc/municipality/44021", with_marked_name)
    visit.open("/doc/municipality/44021")
    figure = visit.page.locator("figure[data-map]")
    code = figure.locator("table[data-map-values] tbody tr").first.get_attribute("data-code")
    show_tip = """([holder, name]) => {
        const chart = echarts.getInstanceByDom(holder);
        chart.dispatchAction({ type: 'showTip', seriesIndex: 0, name: name, dataIndex: 0 });
        return new Promise(resolve => setTimeout(() => resolve({
            text: holder.textContent,
            injected: holder.querySelectorAll('[data-injected]').length,
        }), 300));
    }"""
    canvas = figure.locator("[data-map-canvas]").element_handle()
    shown = visit.page.evaluate(show_tip, [canvas, code])
    assert marked in shown["text"], shown
    assert shown["injected"] == 0
    visit.open("/doc/indicator/population")
    chart = visit.page.locator("[data-chart]").first.element_handle()
    before = visit.page.evaluate("holder => holder.textContent", chart)
    shown = visit.page.evaluate(show_tip, [chart, None])
    assert len(shown["text"]) > len(before)  # the tooltip's text is in the chart
    visit.check_clean()  # and no style attribute was refused


def test_the_charts_legend_stays_above_its_bars_on_a_phone(visit: Visit) -> None:
    """Four periods make eight legend entries, on a phone several rows of them: the plot
    began 40 px below the top whatever the legend's height, so the legend's lower rows were
    drawn over the first city's bars and name."""
    visit.page.set_viewport_size({"width": 360, "height": 740})
    visit.open("/doc/indicator/gas-consumption-residential")
    layout = visit.page.evaluate(
        """() => {
        const holder = document.querySelector('figure.comparison [data-chart]');
        const top = holder.getBoundingClientRect().top;
        const names = echarts.getInstanceByDom(holder).getOption().series.map(s => s.name);
        const colours = holder.getAttribute('data-colours').split(' ');
        const first = document.querySelector('tr[data-kind="city"]').getAttribute('data-name');
        const texts = [...holder.querySelectorAll('svg text')];
        const legend = texts.filter(t => names.includes(t.textContent))
            .map(t => t.getBoundingClientRect());
        // Legend icons are 25 × 14 px; every other path in a series' colour is a bar.
        const bars = [...holder.querySelectorAll('path')]
            .filter(p => colours.includes(p.getAttribute('fill')))
            .map(p => p.getBoundingClientRect())
            .filter(r => r.height > 0 && !(Math.abs(r.width - 25) < 1 && Math.abs(r.height - 14) < 1));
        const label = texts.find(t => t.textContent === first).getBoundingClientRect();
        return {
            rows: new Set(legend.map(r => Math.round(r.top))).size,
            legendBottom: Math.max(...legend.map(r => r.bottom)) - top,
            barsTop: Math.min(...bars.map(r => r.top)) - top,
            labelTop: label.top - top,
        };
    }"""
    )
    assert layout["rows"] > 1, layout  # the case in question: a legend of several rows
    assert layout["legendBottom"] <= layout["barsTop"], layout
    assert layout["legendBottom"] <= layout["labelTop"], layout
    visit.check_clean()


@pytest.mark.parametrize(
    "path", ["/doc/dataset/population-2025", "/doc/indicator/population?in=46021"]
)
def test_form_controls_are_big_enough_to_read_and_hit_on_a_phone(visit: Visit, path: str) -> None:
    """The download builder's fields and the municipality chooser kept the browser's own
    controls: 13 px text in boxes 19 px high, under WCAG 2.2's 24 px targets (2.5.8) and
    small enough for a phone's browser to zoom the page at every tap."""
    visit.page.set_viewport_size({"width": 360, "height": 740})
    visit.open(path)
    small = visit.page.evaluate(
        """() => [...document.querySelectorAll('main select, main input, main button')]
        .filter(e => e.type !== 'hidden' && e.getBoundingClientRect().width > 0)
        .map(e => [e.id || e.name, e.getBoundingClientRect().height,
                   parseFloat(getComputedStyle(e).fontSize)])
        .filter(([, height, size]) => height < 24 || size < 16)"""
    )
    assert small == [], small
    visit.check_clean()


@pytest.mark.parametrize("path", ["/doc/municipality/46021", "/doc/sector/46021A001?lang=en"])
def test_a_place_pages_landmarks_have_names_of_their_own(visit: Visit, path: str) -> None:
    """The key figures' section and the scroll box of their table were two regions named
    "Kerncijfers": a screen reader's list of landmarks could not tell them apart."""
    visit.open(path)
    results = axe_sync.Axe().run(
        visit.page, options={"runOnly": {"type": "rule", "values": ["landmark-unique"]}}
    )
    assert results.response["violations"] == [], results.response["violations"]
    visit.check_clean()
