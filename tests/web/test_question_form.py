"""The question form of a dataset page: a reader without a key opens a thread as the API
would, sees it on the page, and gets back what they typed with what to correct when it cannot
be taken — nothing stored then."""

from __future__ import annotations

import re
from html import unescape
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.feedback.models import FeedbackMessage, FeedbackThread
from tests.factories import Template, World, open_world

DATASET = "population-2025"
FORM = f"/datasets/{DATASET}/feedback"
HTML = {"Accept": "text/html"}


def question(**changes: str) -> dict[str, str]:
    return {
        "kind": "error_report",
        "title": "Sector 44021A00- lijkt leeg",
        "body": "Waarom staat hier geen waarde?\nIk woon er.",
        "name": "Els Burger",
        "email": "els@example.org",
        **changes,
    }


def stored(world: World) -> tuple[int, int]:
    with world.factory() as session:
        threads = session.scalar(select(func.count()).select_from(FeedbackThread))
        messages = session.scalar(select(func.count()).select_from(FeedbackMessage))
    return threads or 0, messages or 0


def test_a_question_from_the_page_is_a_thread_on_the_page_and_in_the_api(world: World) -> None:
    page = world.client.get(f"/doc/dataset/{DATASET}", headers=HTML).text
    assert f'action="{FORM}"' in page and 'name="email"' in page

    sent = world.client.post(FORM, data=question(), headers=HTML, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    target = sent.headers["location"]
    assert target.startswith(f"/doc/dataset/{DATASET}#thread-")
    thread_id = int(target.rsplit("-", 1)[1])

    api = world.client.get(f"/api/v1/feedback/{thread_id}").json()
    assert (api["kind"], api["state"], api["title"], api["author"]) == (
        "error_report",
        "open",
        "Sector 44021A00- lijkt leeg",
        "Els Burger",
    )
    assert [m["body"] for m in api["messages"]] == ["Waarom staat hier geen waarde?\nIk woon er."]
    with world.factory() as session:
        row = session.get(FeedbackThread, thread_id)
        assert row is not None and row.author_email == "els@example.org"

    shown = world.client.get(target.split("#")[0], headers=HTML).text
    assert f'id="thread-{thread_id}"' in shown and "Sector 44021A00- lijkt leeg" in shown
    # Never published: the address stays with the owners.
    assert "els@example.org" not in shown


def test_the_form_keeps_the_readers_language(world: World) -> None:
    page = world.client.get(f"/doc/dataset/{DATASET}?lang=en", headers=HTML).text
    action = f'action="{FORM}?lang=en"'
    assert action in page and "Ask a question" in page
    sent = world.client.post(
        f"{FORM}?lang=en", data=question(), headers=HTML, follow_redirects=False
    )
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(f"/doc/dataset/{DATASET}?lang=en#thread-")


def test_what_to_correct_comes_back_with_what_was_typed(world: World) -> None:
    before = stored(world)
    sent = world.client.post(
        FORM,
        data=question(title="", name="", email="not an address", kind="complaint"),
        headers=HTML,
    )
    assert sent.status_code == 422
    assert sent.headers["content-type"].startswith("text/html")
    page = unescape(sent.text)
    # Every field at once, each named and linked.
    for name in ("kind", "title", "name", "email"):
        assert f'href="#ask-{name}"' in page and f'id="ask-{name}-error"' in page
    assert 'href="#ask-body"' not in page
    assert "Geef een geldig e-mailadres." in page
    # What was typed is kept (escaped), so one correction is enough.
    assert "Waarom staat hier geen waarde?\nIk woon er.</textarea>" in page
    assert 'value="not an address"' in page
    assert stored(world) == before


def test_markup_typed_into_the_form_is_text(world: World) -> None:
    script = "<script>alert(1)</script>"
    refused = world.client.post(FORM, data=question(email=script, body=script), headers=HTML)
    assert refused.status_code == 422
    assert script not in refused.text and "&lt;script&gt;" in refused.text
    sent = world.client.post(FORM, data=question(body=script), follow_redirects=False)
    assert sent.status_code == 303
    page = world.client.get(f"/doc/dataset/{DATASET}", headers=HTML).text
    assert script not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_organisations_name_is_refused_without_a_key(world: World) -> None:
    before = stored(world)
    sent = world.client.post(FORM, data=question(name="Stad Gent"), headers=HTML)
    assert sent.status_code == 422
    assert "Een organisatie schrijft met haar API-sleutel" in unescape(sent.text)
    assert stored(world) == before


def test_an_unknown_dataset_is_a_page_not_found(world: World) -> None:
    before = stored(world)
    sent = world.client.post("/datasets/no-such-dataset/feedback", data=question(), headers=HTML)
    assert sent.status_code == 404
    assert sent.headers["content-type"].startswith("text/html")
    assert stored(world) == before


def test_the_form_counts_against_the_anonymous_limit(
    world_template: Template, tmp_path: Path
) -> None:
    answers: list[Any] = []
    for world in open_world(world_template, tmp_path, anonymous_feedback_per_minute=1):
        # A form to correct is not a post: it does not use up the one allowed.
        answers.append(world.client.post(FORM, data=question(email=""), headers=HTML))
        answers.append(world.client.post(FORM, data=question(), follow_redirects=False))
        answers.append(world.client.post(FORM, data=question(), headers=HTML))
        thread_id = int(answers[1].headers["location"].rsplit("-", 1)[1])
        reply = {"body": "Nog een vraag", "name": "Els Burger", "email": "els@example.org"}
        answers.append(
            world.client.post(f"/feedback/{thread_id}/replies", data=reply, headers=HTML)
        )
        counted = stored(world)
    assert [a.status_code for a in answers] == [422, 303, 429, 429]
    # The form comes back as typed, saying to wait (it said that a field was wrong, in
    # English, of an API key the reader has not got, and the message was gone).
    for refused, typed in ((answers[2], question()["body"]), (answers[3], "Nog een vraag")):
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["content-type"].startswith("text/html")
        assert "te veel berichten" in refused.text and "API key" not in refused.text
        assert "Verbeter wat hieronder staat" not in refused.text
        assert f"{typed}</textarea>" in refused.text
    assert counted == (1, 1)


def test_a_reply_from_the_page_continues_the_thread(world: World) -> None:
    sent = world.client.post(FORM, data=question(), follow_redirects=False)
    thread_id = int(sent.headers["location"].rsplit("-", 1)[1])
    page = world.client.get(f"/doc/dataset/{DATASET}", headers=HTML).text
    assert f'action="/feedback/{thread_id}/replies"' in page

    refused = world.client.post(
        f"/feedback/{thread_id}/replies", data={"body": "Nog iets", "name": ""}, headers=HTML
    )
    assert refused.status_code == 422
    assert f'id="reply-{thread_id}-name-error"' in refused.text
    assert "Nog iets</textarea>" in refused.text
    assert len(world.client.get(f"/api/v1/feedback/{thread_id}").json()["messages"]) == 1

    replied = world.client.post(
        f"/feedback/{thread_id}/replies",
        data={"body": "Nog iets", "name": "Els Burger", "email": "els@example.org"},
        follow_redirects=False,
    )
    assert replied.status_code == 303
    assert replied.headers["location"] == f"/doc/dataset/{DATASET}#thread-{thread_id}"
    messages = world.client.get(f"/api/v1/feedback/{thread_id}").json()["messages"]
    assert [m["body"] for m in messages][-1] == "Nog iets"

    closed = world.client.post(
        f"/api/v1/feedback/{thread_id}/close", headers=world.auth("publisher-editor")
    )
    assert closed.status_code == 200, closed.text
    page = world.client.get(f"/doc/dataset/{DATASET}", headers=HTML).text
    assert f'action="/feedback/{thread_id}/replies"' not in page
    late = world.client.post(
        f"/feedback/{thread_id}/replies",
        data={"body": "Nog", "name": "Els Burger", "email": "els@example.org"},
        headers=HTML,
    )
    assert late.status_code == 409 and late.headers["content-type"].startswith("text/html")
    unknown = world.client.post("/feedback/999999/replies", data={}, headers=HTML)
    assert unknown.status_code == 404


def _headings(page: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])[ >]", page)]


def test_a_form_with_errors_says_so_in_its_title_and_takes_the_focus(world: World) -> None:
    """The form that comes back says in its title that it did (the tab read "Stel een vraag"
    as before sending), its heading follows the h1 (it was an h3), and its error summary
    takes the focus when the page loads (a script of the site's own, no inline script)."""
    sent = world.client.post(FORM, data=question(email=""), headers=HTML)
    assert sent.status_code == 422
    page = sent.text
    assert "<title>Fout: Stel een vraag: " in page
    levels = _headings(page[page.index("<main") : page.index("</main>")])
    assert levels[0] == 1 and all(b - a <= 1 for a, b in pairwise(levels))
    assert '<h2 id="ask">' in page
    assert '<div class="problems" role="alert" tabindex="-1" data-autofocus>' in page
    assert '<script src="/static/site/focus.js" defer></script>' in page
    script = world.client.get("/static/site/focus.js").text
    assert "[data-autofocus]" in script and ".focus()" in script
    english = world.client.post(f"{FORM}?lang=en", data=question(email=""), headers=HTML).text
    assert "<title>Error: Ask a question: " in english
    # A reply that comes back too.
    thread = world.client.post(FORM, data=question(), headers=HTML, follow_redirects=False)
    thread_id = int(thread.headers["location"].rsplit("-", 1)[1])
    reply = world.client.post(
        f"/feedback/{thread_id}/replies", data={"body": "", "name": "", "email": ""}, headers=HTML
    )
    assert reply.status_code == 422 and "<title>Fout: Reageer: " in reply.text
    # The dataset page itself, with nothing to correct, neither.
    plain = world.client.get(f"/doc/dataset/{DATASET}", headers=HTML).text
    assert "focus.js" not in plain and "data-autofocus" not in plain


def test_a_question_of_invisible_characters_is_refused(world: World) -> None:
    """A subject, message and name of zero-width spaces were taken: an empty heading on the
    dataset page, from nobody, saying nothing. Only what shows nothing is refused."""
    before = stored(world)
    invisible = "\u200b\u2060\ufeff"
    sent = world.client.post(
        FORM, data=question(title=invisible, body="\u00ad\u200d", name="\u2800"), headers=HTML
    )
    assert sent.status_code == 422
    for name in ("title", "body", "name"):
        assert f'id="ask-{name}-error"' in sent.text
    assert stored(world) == before
    # A joiner inside words that show is text like any other.
    shown = world.client.post(FORM, data=question(title="Vraag\u200bover"), follow_redirects=False)
    assert shown.status_code == 303
