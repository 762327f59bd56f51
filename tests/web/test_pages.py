"""The HTML pages: they work under a strict Content-Security-Policy (no inline script or
style, only the app's own stylesheet) and show stored markup as text."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from app.catalogue.models import Dataset, Indicator, Licence, Organisation
from app.feedback.models import FeedbackMessage, FeedbackThread
from tests.factories import World

HTML = {"Accept": "text/html"}
PAGES = [
    "/catalog",
    "/doc/dataset/population-2025",
    "/doc/dataset/income",
    "/doc/organisation/gent",
    "/doc/indicator/population-density",
]
NOT_FOUND = "/doc/dataset/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """What a browser would load and run from a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, name, value)
        self.text: list[str] = []
        self.script_text = ""
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text += data.strip()
        self.text.append(data)

    def stylesheets(self) -> list[str]:
        links = [v for t, n, v in self.attributes if t == "link" and n == "href"]
        rels = [v for t, n, v in self.attributes if t == "link" and n == "rel"]
        return [href for href, rel in zip(links, rels, strict=True) if rel == "stylesheet"]


def assert_allowed_by_csp(page: Page) -> None:
    """``default-src 'self'; style-src 'self'; script-src 'self'``: no inline script or style,
    no event handlers, no javascript: URLs, nothing loaded from elsewhere."""
    assert not {"style", "iframe", "object", "embed", "base"} & set(page.tags)
    # Scripts only as the app's own files, none inline.
    scripts = [v for t, n, v in page.attributes if t == "script" and n == "src"]
    assert len(scripts) == page.tags.count("script") and not page.script_text
    assert all(src.startswith("/static/site/") for src in scripts), scripts
    for tag, name, value in page.attributes:
        assert name != "style" and not name.startswith("on"), (tag, name, value)
        if name in ("href", "src", "action"):
            assert not value.strip().lower().startswith(("javascript:", "data:")), (tag, value)
        if name == "src":
            assert value.startswith("/") and not value.startswith("//"), (tag, value)
    for href in page.stylesheets():
        assert href.startswith("/") and not href.startswith("//"), href


@pytest.mark.parametrize("path", [*PAGES, NOT_FOUND])
def test_pages_work_under_a_strict_csp(client: TestClient, path: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == (404 if path == NOT_FOUND else 200)
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    page = Page(response.text)
    assert_allowed_by_csp(page)
    assert page.stylesheets() == ["/static/site/site.css"]


def test_the_stylesheet_is_served_by_the_app(client: TestClient) -> None:
    response = client.get("/static/site/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "font-family" in response.text
    assert client.get("/static/site/nothing.css").status_code == 404


def test_stored_markup_is_shown_as_text(world: World) -> None:
    now = datetime.now(UTC)
    with world.factory.begin() as session:
        dataset = session.get(Dataset, "income")
        organisation = session.get(Organisation, "gent")
        indicator = session.get(Indicator, "population-density")
        assert dataset is not None and organisation is not None and indicator is not None
        licence = session.get(Licence, dataset.licence_id)
        assert licence is not None
        dataset.title_nl = dataset.title_en = "T" + MARKUP
        dataset.description_nl = "D" + MARKUP
        dataset.source = {"attribution": "A" + MARKUP, "url": "javascript:alert(1)"}
        organisation.name_nl = "O" + MARKUP
        organisation.kind = "K<b>"
        organisation.ovo_code = "<i>OVO</i>"
        licence.title_nl = "L" + MARKUP
        licence.uri = "javascript:alert(1)"
        indicator.label_nl = "I" + MARKUP
        indicator.definition_nl = "Def" + MARKUP
        indicator.formula = "F" + MARKUP
        indicator.caveats_nl = "C" + MARKUP
        indicator.unit_of_measure = "<u>km²</u>"
        thread = FeedbackThread(
            dataset_id="income",
            kind="question",
            state="open",
            title="Q" + MARKUP,
            created_at=now,
            updated_at=now,
            author_name="N" + MARKUP,
        )
        session.add(thread)
        session.flush()
        session.add(
            FeedbackMessage(
                thread_id=thread.id, body="B" + MARKUP, created_at=now, author_name="M" + MARKUP
            )
        )
    expected = {
        "/doc/dataset/income": ["T", "D", "A", "L", "Q", "B", "M"],
        "/doc/organisation/gent": ["O"],
        "/doc/indicator/population-density": ["I", "Def", "F", "C"],
        "/catalog": ["T"],
        "/doc/dataset/population-2025": ["O"],  # Gent is a co-owner
    }
    for path, prefixes in expected.items():
        response = world.client.get(path, headers=HTML)
        assert response.status_code == 200, path
        page = Page(response.text)
        assert_allowed_by_csp(page)
        shown = "".join(page.text)
        for prefix in prefixes:
            assert prefix + MARKUP in shown, (path, prefix)
        assert "<b>" not in response.text and "<i>OVO" not in response.text
        assert "<u>" not in response.text
    # The licence's javascript: URI is shown, not linked.
    dataset_page = world.client.get("/doc/dataset/income", headers=HTML).text
    assert "javascript:alert(1)" not in [v for _, n, v in Page(dataset_page).attributes]
    # The JSON API keeps the text exactly as stored.
    assert world.client.get("/api/v1/datasets/income").json()["title"]["nl"] == "T" + MARKUP


def test_the_not_found_page_escapes_the_path(client: TestClient) -> None:
    response = client.get(NOT_FOUND, headers=HTML)
    assert response.status_code == 404
    assert "<img src=x onerror=alert(1)>" in "".join(Page(response.text).text)
    assert "img" not in Page(response.text).tags


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/datasets/does-not-exist", 404, "no resource at /datasets/does-not-exist"),
        ("/doc/", 404, "no resource at /doc/"),
        ("/search?q=" + "gent " * 50, 422, "at most 200 characters"),
        ("/search?q=a%00b", 422, "a control character"),
        ("/search?level=nope", 422, "nope"),
        # A link pasted from an e-mail with a line break, a name too long for any place.
        ("/doc/municipality/44021%0a", 404, "a control character in its path"),
        ("/doc/municipality/" + "x" * 201, 404, "out of range"),
    ],
)
def test_a_browser_is_shown_a_page_not_a_problem_document(
    client: TestClient, path: str, status: int, reason: str
) -> None:
    page = client.get(path, headers={**BROWSER, "Accept-Language": "en"})
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    text = " ".join(Page(page.text).text)
    heading = "Not found" if status == 404 else "This request cannot be answered"
    assert heading in text and reason in text
    assert 'maxlength="200"' in page.text  # the search box on it says the limit
    # A program asking the same gets the problem document.
    problem = client.get(path)
    assert problem.status_code == status
    assert problem.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/datasets?page_size=0"])
def test_the_api_answers_problems_to_browsers_too(client: TestClient, path: str) -> None:
    response = client.get(path, headers=BROWSER)
    assert response.status_code in (404, 422)
    assert response.headers["content-type"] == "application/problem+json"


def test_small_things_a_browser_asks_for(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert '<html lang="en">' in client.get("/docs").text
    home = client.get("/", headers=HTML).text
    assert "<title>Datapedia</title>" in home  # not "Datapedia — Datapedia"


def test_a_thread_shows_its_kind_state_date_and_the_organisation_by_name(world: World) -> None:
    """A question on the dataset page says what it is, whether it was answered and when; an
    answer is signed with the organisation's name (it showed its id, "gent"), and a message
    keeps its line breaks."""
    url = "/api/v1/datasets/income/feedback"
    asked = world.client.post(
        url,
        json={
            "kind": "error_report",
            "title": "Fout in cijfer",
            "body": "Beste,\n\nHet cijfer klopt niet.",
            "name": "Marie",
            "email": "marie@example.org",
        },
    )
    assert asked.status_code == 201, asked.text
    thread = asked.json()["id"]
    answered = world.client.post(
        f"/api/v1/feedback/{thread}/answers",
        json={"body": "Dank u, we kijken het na."},
        headers=world.auth("gent"),
    )
    assert answered.status_code == 201, answered.text
    html = world.client.get("/doc/dataset/income", headers=HTML).text
    article = html.split('<article class="thread"', 1)[1].split("</article>", 1)[0]
    assert "foutmelding · beantwoord · " in article
    assert "<strong>Stad Gent</strong>" in article and "<strong>gent</strong>" not in article
    assert '<span class="message" dir="auto">Beste,\n\nHet cijfer klopt niet.</span>' in article
