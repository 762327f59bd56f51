"""Feedback threads: typed bodies, who may answer and close, ids out of range, and text with
markup stored verbatim and shown escaped."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.feedback.models import FeedbackMessage, FeedbackThread
from tests.factories import World

DATASET = "population-2025"
FEEDBACK = f"/api/v1/datasets/{DATASET}/feedback"
BIG = 9223372036854775808  # one beyond int64


def thread_body(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "question",
        "title": "Waarom 1000?",
        "body": "Klopt dit getal?",
        "name": "An Analist",
        "email": "an@example.org",
        **changes,
    }


def open_thread(world: World) -> int:
    created = world.client.post(FEEDBACK, json=thread_body())
    assert created.status_code == 201, created.text
    thread_id: int = created.json()["id"]
    return thread_id


def stored(world: World) -> list[tuple[Any, ...]]:
    """Every thread and message as stored: a refused request must leave them as they were."""
    with world.factory() as session:
        threads = [
            (t.id, t.kind, t.state, t.title, t.author_name, t.author_email)
            for t in session.scalars(select(FeedbackThread).order_by(FeedbackThread.id))
        ]
        messages = [
            (m.id, m.thread_id, m.body, m.is_answer, m.author_name)
            for m in session.scalars(select(FeedbackMessage).order_by(FeedbackMessage.id))
        ]
    return [*threads, *messages]


def test_a_thread_from_question_to_closing(world: World) -> None:
    client = world.client
    created = client.post(FEEDBACK, json=thread_body(email="An@Example.org"))
    assert created.status_code == 201
    thread = created.json()
    assert (thread["kind"], thread["state"], thread["author"]) == ("question", "open", "An Analist")
    assert thread["created_at"].endswith("Z") and thread["updated_at"].endswith("Z")
    assert [m["body"] for m in thread["messages"]] == ["Klopt dit getal?"]
    with world.factory() as session:
        row = session.get(FeedbackThread, thread["id"])
        assert row is not None
        assert row.author_email == "An@example.org"  # the domain normalised, never published
    assert "example.org" not in client.get(f"/api/v1/feedback/{thread['id']}").text.lower()

    inbox = client.get("/api/v1/organisations/gent/inbox")
    assert inbox.status_code == 200
    assert set(inbox.json()) == {"items", "total", "page", "page_size"}
    assert "link" in inbox.headers
    assert thread["id"] in {t["id"] for t in inbox.json()["items"]}

    replied = client.post(
        f"/api/v1/feedback/{thread['id']}/replies",
        json={"body": "Nog iets", "name": "An Analist", "email": "an@example.org"},
    )
    assert replied.status_code == 201
    assert replied.json()["state"] == "open"
    answered = client.post(
        f"/api/v1/feedback/{thread['id']}/answers",
        json={"body": "Ja.\nToestand 1/1/2025."},
        headers=world.auth("gent"),
    )
    assert answered.status_code == 201
    messages = answered.json()["messages"]
    assert [(m["author"], m["answer"]) for m in messages] == [
        ("An Analist", False),
        ("An Analist", False),
        ("gent", True),
    ]
    assert messages[-1]["body"] == "Ja.\nToestand 1/1/2025."
    assert all(m["created_at"].endswith("Z") for m in messages)
    listed = client.get(FEEDBACK, params={"state": "answered", "kind": "question"}).json()
    assert [t["id"] for t in listed["items"]] == [thread["id"]]
    assert client.get(FEEDBACK, params={"state": "open"}).json()["total"] == 0
    # The asker answers the answer: the thread is open again, for the owners to see.
    again = client.post(
        f"/api/v1/feedback/{thread['id']}/replies",
        json={"body": "En voor 2024?", "name": "An Analist", "email": "an@example.org"},
    )
    assert again.status_code == 201 and again.json()["state"] == "open"
    reopened = client.get(FEEDBACK, params={"state": "open"}).json()
    assert [t["id"] for t in reopened["items"]] == [thread["id"]]

    closed = client.post(f"/api/v1/feedback/{thread['id']}/close", headers=world.auth("gent"))
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed"
    before = stored(world)
    late = client.post(
        f"/api/v1/feedback/{thread['id']}/replies",
        json={"body": "x"},
        headers=world.auth("analyst"),
    )
    assert late.status_code == 409
    assert stored(world) == before


# Owners, the publisher and suppliers of population-2025 answer and close with a key that
# writes (supplier, editor) and site admins; a reader key of Gent, Statbel (its originator)
# and Digitaal Vlaanderen (no role) may not.
RESPONDERS = {"gent", "gent-editor", "antwerpen", "antwerpen-editor", "publisher-editor", "admin"}
CALLERS = [
    "gent-reader",
    "gent",
    "gent-editor",
    "antwerpen",
    "antwerpen-editor",
    "statbel",
    "statbel-editor",
    "analyst",
    "analyst-editor",
    "publisher-editor",
    "admin",
]


def assert_refused(response: Any, who: str) -> None:
    assert response.status_code == 403, (who, response.text)
    right = response.json()["missing_right"]
    if who == "gent-reader" or who == "analyst":
        assert right.startswith("role:"), right
    else:
        assert right == f"owner|publisher|supplier:{DATASET}", right


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize("action", ["answers", "close"])
def test_who_may_answer_and_close(world: World, who: str, action: str) -> None:
    thread_id = open_thread(world)
    before, rows = world.fingerprint(), stored(world)
    response = world.client.post(
        f"/api/v1/feedback/{thread_id}/{action}",
        json={"body": "Antwoord"} if action == "answers" else None,
        headers=world.auth(who),
    )
    if who in RESPONDERS:
        assert response.status_code == (201 if action == "answers" else 200)
        assert response.json()["state"] == ("answered" if action == "answers" else "closed")
    else:
        assert_refused(response, who)
        assert world.fingerprint() == before
        assert stored(world) == rows


@pytest.mark.parametrize("who", ["gent-reader", "statbel", "analyst"])
def test_a_reply_from_others_does_not_answer(world: World, who: str) -> None:
    thread_id = open_thread(world)
    response = world.client.post(
        f"/api/v1/feedback/{thread_id}/replies", json={"body": "Ik ook"}, headers=world.auth(who)
    )
    assert response.status_code == 201
    assert response.json()["state"] == "open"
    assert response.json()["messages"][-1]["answer"] is False


def test_the_askers_own_reply_asks_again_though_it_supplies_the_dataset(world: World) -> None:
    """Gent supplies population-2025: its follow-up to its own question was stored as an
    answer, the thread left every inbox, and nobody had answered."""
    asked = world.client.post(
        FEEDBACK,
        json={"kind": "question", "title": "Waar is 2026?", "body": "Wanneer komt 2026?"},
        headers=world.auth("gent"),
    )
    assert asked.status_code == 201, asked.text
    replies = f"/api/v1/feedback/{asked.json()['id']}/replies"
    follow_up = world.client.post(
        replies, json={"body": "Ik bedoel Gent."}, headers=world.auth("gent-editor")
    )
    assert follow_up.status_code == 201
    assert follow_up.json()["state"] == "open"
    assert follow_up.json()["messages"][-1]["answer"] is False
    inbox = world.client.get(
        "/api/v1/organisations/kenniscentrum-vlaamse-steden/inbox",
        headers=world.auth("publisher-editor"),
    )
    assert asked.json()["id"] in [t["id"] for t in inbox.json()["items"]]
    # Another supplier's reply answers it, and the asker's next one asks again.
    answered = world.client.post(
        replies, json={"body": "In maart."}, headers=world.auth("antwerpen")
    )
    assert answered.json()["state"] == "answered"
    assert answered.json()["messages"][-1]["answer"] is True
    again = world.client.post(replies, json={"body": "Dank, maar?"}, headers=world.auth("gent"))
    assert again.json()["state"] == "open"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": 1}, "kind"),
        ({"kind": "rant"}, "kind"),
        ({"kind": None}, "kind"),
        ({"title": 5}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"title": ["a"]}, "title"),
        ({"body": 5}, "body"),
        ({"body": ""}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": "a\x00b"}, "body"),
        ({"body": {"text": "b"}}, "body"),
        ({"name": 5}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": "\x1b[31mred"}, "name"),
        ({"email": "<script>@x"}, "email"),
        ({"email": "no-address"}, "email"),
        ({"email": "a b@example.org"}, "email"),
        ({"email": 5}, "email"),
        ({"state": "closed"}, "state"),
        ({"dataset": "income"}, "dataset"),
    ],
)
def test_bad_threads_are_refused(world: World, changes: dict[str, Any], field: str) -> None:
    before, rows = world.fingerprint(), stored(world)
    response = world.client.post(FEEDBACK, json=thread_body(**changes))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["parameter"] for e in response.json()["errors"]}
    assert world.fingerprint() == before
    assert stored(world) == rows


@pytest.mark.parametrize("missing", ["kind", "title", "body", "name", "email"])
def test_a_thread_without_a_field_is_refused(world: World, missing: str) -> None:
    before = world.fingerprint()
    body = thread_body()
    del body[missing]
    response = world.client.post(FEEDBACK, json=body)
    assert response.status_code == 422
    errors = response.json().get("errors") or [{"parameter": response.json().get("parameter")}]
    assert missing in {e["parameter"] for e in errors}
    assert world.fingerprint() == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("replies", {"body": 5}, "body"),
        ("replies", {"body": "b", "name": "n", "email": "<script>@x"}, "email"),
        ("replies", {"body": "b", "answer": True}, "answer"),
        ("replies", {"body": "b"}, "name"),  # without a key: who writes?
        ("answers", {"body": ""}, "body"),
        ("answers", {"body": "b", "name": "n"}, "name"),
        ("answers", {"body": ["b"]}, "body"),
    ],
)
def test_bad_messages_are_refused(
    world: World, path: str, body: dict[str, Any], field: str
) -> None:
    thread_id = open_thread(world)
    before, rows = world.fingerprint(), stored(world)
    headers = world.auth("gent") if path == "answers" else {}
    response = world.client.post(f"/api/v1/feedback/{thread_id}/{path}", json=body, headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    named = {e["parameter"] for e in problem.get("errors") or []} | {problem.get("parameter")}
    assert field in named
    assert world.fingerprint() == before
    assert stored(world) == rows


@pytest.mark.parametrize("thread_id", [BIG, 2**63 - 1, 2**31, 0, "abc"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("POST", "/replies", {"body": "b"}),
        ("POST", "/answers", {"body": "b"}),
        ("POST", "/close", None),
    ],
)
def test_threads_that_cannot_exist_are_404(
    world: World, thread_id: object, method: str, path: str, body: dict[str, str] | None
) -> None:
    response = world.client.request(
        method, f"/api/v1/feedback/{thread_id}{path}", json=body, headers=world.auth("admin")
    )
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("name", "value"), [("kind", "rant"), ("state", "gone")])
def test_bad_filters_name_the_parameter(world: World, name: str, value: str) -> None:
    response = world.client.get(FEEDBACK, params={name: value})
    assert response.status_code == 422
    assert [e["parameter"] for e in response.json()["errors"]] == [name]


def test_unknown_dataset_and_organisation_are_404(world: World) -> None:
    assert world.client.get("/api/v1/datasets/nothing/feedback").status_code == 404
    assert (
        world.client.post("/api/v1/datasets/nothing/feedback", json=thread_body()).status_code
        == 404
    )
    assert world.client.get("/api/v1/organisations/nobody/inbox").status_code == 404


MARKUP = "<script>alert(1)</script>"


def test_markup_is_stored_verbatim_and_shown_escaped(world: World) -> None:
    client = world.client
    created = client.post(
        FEEDBACK,
        json=thread_body(
            title=f"{MARKUP} titel",
            body=f"{MARKUP} <img src=x onerror=alert(2)> & body",
            name=f"{MARKUP} naam",
        ),
    )
    assert created.status_code == 201, created.text
    thread_id = created.json()["id"]
    reply = client.post(
        f"/api/v1/feedback/{thread_id}/replies",
        json={"body": f"{MARKUP} antwoord", "name": f"<b>{MARKUP}</b>", "email": "x@example.org"},
    )
    assert reply.status_code == 201

    # JSON gives the text back exactly as written.
    thread = client.get(f"/api/v1/feedback/{thread_id}").json()
    assert thread["title"] == f"{MARKUP} titel"
    assert thread["author"] == f"{MARKUP} naam"
    assert [m["body"] for m in thread["messages"]] == [
        f"{MARKUP} <img src=x onerror=alert(2)> & body",
        f"{MARKUP} antwoord",
    ]
    assert thread["messages"][1]["author"] == f"<b>{MARKUP}</b>"

    # The dataset's HTML page shows every piece escaped and none of it as markup.
    page = client.get(f"/doc/dataset/{DATASET}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "<b>&lt;" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"{escaped} titel" in html
    assert f"{escaped} naam" in html
    assert f"{escaped} &lt;img src=x onerror=alert(2)&gt; &amp; body" in html
    assert f"{escaped} antwoord" in html
    assert f"&lt;b&gt;{escaped}&lt;/b&gt;" in html


@pytest.mark.parametrize("name", ["a%00b", "a%7Fb", "x" * 101])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/datasets/{}/feedback"),
        ("POST", "/api/v1/datasets/{}/feedback"),
        ("GET", "/api/v1/organisations/{}/inbox"),
    ],
)
def test_text_ids_that_cannot_exist_are_404(
    world: World, name: str, method: str, path: str
) -> None:
    before = world.fingerprint()
    response = world.client.request(
        method, path.format(name), json=thread_body() if method == "POST" else None
    )
    assert response.status_code == 404
    assert world.fingerprint() == before


@pytest.mark.parametrize(
    "name",
    [
        "gent",
        "GENT",
        "Stad Gent",
        "gent (antwoord)",
        "kenniscentrum-vlaamse-steden",
        "Ｇｅｎｔ",
        "Ｓｔａｄ Gent",
        # Look-alikes an outsider got through: a zero-width space, a hyphen, an accent.
        "Stad\u200bGent",
        "Stad-Gent",
        "Stad Gént",
        "StadGent",
        # Letters of other scripts that look like Latin ones (Unicode TR39 confusables): a
        # Cyrillic Ѕ, a Cyrillic е, a Cherokee Ꮪ; a Greek Κ; a Cyrillic А and е.
        "\u0405tad Gent (antwoord)",
        "Stad G\u0435nt",
        "\u13datad Gent",
        "\u039aenniscentrum Vlaamse Steden",
        "\u0410ntw\u0435rp\u0435n",
        # A sequence that looks like one letter: rn for m.
        "Kenniscentrurn Vlaamse Steden",
        # Hangul fillers: letters by category, shown as nothing or a blank.
        "Stad\u3164Gent",
        "Stad\u115fGent",
        "\uffa0Stad Gent",
        "Ge\u1160nt",
    ],
)
def test_nobody_posts_as_an_organisation_without_its_key(world: World, name: str) -> None:
    """An organisation speaks with its key: its id or name given without one is a 422, and
    nothing is stored (it was shown exactly like the organisation's own post)."""
    before = stored(world)
    response = world.client.post(FEEDBACK, json=thread_body(name=name))
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == "name"
    assert stored(world) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "\u200b"},  # a zero-width space
        {"title": "\u2060\ufeff \u200e"},  # a word joiner, a BOM, a blank, a mark
        {"body": "\u00ad\n\u200d"},  # a soft hyphen, a line break, a joiner
        {"name": "\u3164"},  # a Hangul filler: a letter by category, shown as nothing
        {"name": "\u2800\u2800"},  # Braille blanks
    ],
)
def test_text_that_shows_nothing_is_blank(world: World, changes: dict[str, str]) -> None:
    """A title, message or name of characters that show nothing was taken: a thread
    without a visible title, from nobody."""
    before = stored(world)
    response = world.client.post(FEEDBACK, json=thread_body(**changes))
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == next(iter(changes))
    assert stored(world) == before


@pytest.mark.parametrize(
    "name",
    ["Олена Коваленко", "Γιώργος Παπαδόπουλος", "Ahmed El Amrani", "Zoë Gentil", "Ѕофія Гент"],
)
def test_names_in_any_script_that_name_no_organisation_pass(world: World, name: str) -> None:
    """Look-alike letters are compared as the letters they look like, not refused: a name in
    Cyrillic or Greek that looks like no organisation's is a name like any other."""
    response = world.client.post(FEEDBACK, json=thread_body(name=name))
    assert response.status_code == 201, response.text
    assert response.json()["author"] == name


def test_a_name_without_a_key_is_marked_as_such(world: World) -> None:
    """Names that merely begin like an organisation pass; every post says whether an
    organisation wrote it with its key."""
    anonymous = world.client.post(FEEDBACK, json=thread_body(name="Gentiel Janssens"))
    assert anonymous.status_code == 201, anonymous.text
    thread = anonymous.json()
    assert (thread["author"], thread["organisation"]) == ("Gentiel Janssens", None)
    answered = world.client.post(
        f"/api/v1/feedback/{thread['id']}/answers", json={"body": "Dag"}, headers=world.auth("gent")
    )
    assert answered.status_code == 201, answered.text
    messages = answered.json()["messages"]
    assert [(m["author"], m["organisation"]) for m in messages] == [
        ("Gentiel Janssens", None),
        ("gent", "gent"),
    ]
    page = world.client.get(f"/doc/dataset/{DATASET}", headers={"Accept": "text/html"}).text
    assert 'Gentiel Janssens</strong> <span class="muted">(zonder sleutel' in page


def test_the_publisher_reads_its_inbox(world: World) -> None:
    thread_id = open_thread(world)
    inbox = world.client.get("/api/v1/organisations/kenniscentrum-vlaamse-steden/inbox").json()
    assert thread_id in {t["id"] for t in inbox["items"]}
