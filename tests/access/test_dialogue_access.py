"""Feedback threads, restricted data with grants, and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.auth.keys import create_key
from app.db.session import transaction
from tests.factories import Template, World, open_world

DATASET = "population-2025"
OBS = f"/api/v1/datasets/{DATASET}/observations"


@pytest.fixture
def world(world: World) -> World:
    """The shared fresh world, with a value supplied by Gent and the dataset made restricted."""
    submitted = world.client.post(
        f"/api/v1/datasets/{DATASET}/submissions",
        content="sector,indicator,period,value\n44021A00-,population,2025,1000\n",
        headers=world.headers("gent"),
    )
    assert submitted.status_code == 201, submitted.text
    world.set_access_level(DATASET, "restricted")
    return world


NEXT_YEAR = (datetime.now(UTC).date() + timedelta(days=365)).isoformat()


def in_a_month() -> str:
    return (datetime.now(UTC).date() + timedelta(days=30)).isoformat()


def test_restricted_data_needs_a_grant(world: World) -> None:
    client = world.client
    anonymous = client.get(OBS)
    assert anonymous.status_code == 401
    assert "access_request" in anonymous.json()["detail"]
    refused = client.get(OBS, headers=world.auth("analyst"))
    assert refused.status_code == 403
    assert refused.json()["missing_right"] == f"grant:{DATASET}"
    assert "access_request" in refused.json()["detail"]
    aggregate = client.get(OBS, params={"level": "province"}, headers=world.auth("analyst"))
    assert aggregate.status_code == 403
    area = client.get(OBS, params={"area": "municipality:44021"}, headers=world.auth("analyst"))
    assert area.status_code == 403
    # Metadata stays public; owners and suppliers read their own data.
    assert client.get(f"/api/v1/datasets/{DATASET}").json()["access_level"] == "restricted"
    assert client.get(OBS, headers=world.auth("gent")).status_code == 200

    granted = client.post(
        f"/api/v1/datasets/{DATASET}/grants",
        json={
            "organisation": "digitaal-vlaanderen",
            "purpose": "mobiliteitsplan",
            "valid_until": in_a_month(),
        },
        headers=world.auth("gent-editor"),
    )
    assert granted.status_code == 201, granted.text
    allowed = client.get(OBS, params={"level": "municipality"}, headers=world.auth("analyst"))
    assert allowed.status_code == 200
    assert allowed.json()["items"][0]["value"] == 1000

    log = client.get(f"/api/v1/datasets/{DATASET}/audit", headers=world.auth("gent-editor"))
    reads = [e for e in log.json()["items"] if e["action"] == "read.restricted"]
    assert reads[0]["organisation"] == "digitaal-vlaanderen"
    assert reads[0]["purpose"] == "mobiliteitsplan"
    # And what was read: an owner sees what a grant holder took.
    assert reads[0]["details"] == {
        "read": f"GET /api/v1/datasets/{DATASET}/observations?level=municipality"
    }
    # In which capacity each read: an owner its own data, a supplier only as a supplier.
    assert {(e["organisation"], e["purpose"]) for e in reads[1:]} == {("gent", "own data")}
    invited = client.post(
        f"/api/v1/datasets/{DATASET}/roles",
        json={"organisation": "statbel", "role": "supplier", "territory": ["sector:44021A00-"]},
        headers=world.auth("publisher-editor"),
    )
    assert invited.status_code == 201, invited.text
    with transaction(world.factory) as session:
        statbel = {"Authorization": f"Bearer {create_key(session, 'statbel', 'supplier')}"}
    assert client.get(OBS, headers=statbel).status_code == 200
    log = client.get(f"/api/v1/datasets/{DATASET}/audit", headers=world.auth("gent-editor"))
    newest = next(e for e in log.json()["items"] if e["action"] == "read.restricted")
    assert (newest["organisation"], newest["purpose"]) == ("statbel", "supplier of the dataset")

    revoked = client.delete(
        f"/api/v1/grants/{granted.json()['id']}", headers=world.auth("gent-editor")
    )
    assert revoked.status_code == 200
    assert client.get(OBS, headers=world.auth("analyst")).status_code == 403
    again = client.delete(
        f"/api/v1/grants/{granted.json()['id']}", headers=world.auth("gent-editor")
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("who", "body", "status", "needle"),
    [
        (
            "statbel-editor",
            {"organisation": "digitaal-vlaanderen", "purpose": "x", "valid_until": NEXT_YEAR},
            403,
            "owner",
        ),
        (
            "gent-editor",
            {"organisation": "digitaal-vlaanderen", "purpose": "x", "valid_until": "2020-01-01"},
            422,
            "future",
        ),
        (
            "gent-editor",
            {"organisation": "nobody", "purpose": "x", "valid_until": NEXT_YEAR},
            404,
            "nobody",
        ),
        (
            "gent-editor",
            {"organisation": "digitaal-vlaanderen", "purpose": "", "valid_until": NEXT_YEAR},
            422,
            "purpose",
        ),
        (
            "analyst",
            {"organisation": "digitaal-vlaanderen", "purpose": "x", "valid_until": NEXT_YEAR},
            403,
            "editor",
        ),
    ],
)
def test_bad_grants(world: World, who: str, body: dict[str, str], status: int, needle: str) -> None:
    response = world.client.post(
        f"/api/v1/datasets/{DATASET}/grants", json=body, headers=world.auth(who)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in response.text


def test_non_public_shows_metadata_only(world: World) -> None:
    url = "/api/v1/datasets/land-use-open-space"
    changed = world.client.patch(
        url, json={"access_level": "non_public"}, headers=world.auth("publisher-editor")
    )
    assert changed.status_code == 200
    assert world.client.get(url).status_code == 200
    response = world.client.get(f"{url}/observations", headers=world.auth("analyst"))
    assert response.status_code == 403
    assert "metadata" in response.json()["detail"]
    graph = world.client.get("/catalog.ttl").text
    assert "access-right/NON_PUBLIC" in graph
    assert "access-right/RESTRICTED" in graph


def test_a_question_reaches_the_owners_and_suppliers(world: World) -> None:
    client = world.client
    created = client.post(
        f"/api/v1/datasets/{DATASET}/feedback",
        json={
            "kind": "question",
            "title": "Waarom 1000?",
            "body": "Klopt dit getal?",
            "name": "An Analist",
            "email": "an@example.org",
        },
    )
    assert created.status_code == 201, created.text
    thread = created.json()
    assert thread["state"] == "open"
    for organisation in ("gent", "antwerpen", "vgc"):
        inbox = client.get(f"/api/v1/organisations/{organisation}/inbox").json()
        assert thread["id"] in {t["id"] for t in inbox["items"]}, organisation
    statbel_inbox = client.get("/api/v1/organisations/statbel/inbox").json()
    assert thread["id"] not in {t["id"] for t in statbel_inbox["items"]}

    stranger = client.post(
        f"/api/v1/feedback/{thread['id']}/answers",
        json={"body": "Geen idee"},
        headers=world.auth("statbel-editor"),
    )
    assert stranger.status_code == 403
    assert (
        client.post(
            f"/api/v1/feedback/{thread['id']}/close", headers=world.auth("statbel-editor")
        ).status_code
        == 403
    )
    answered = client.post(
        f"/api/v1/feedback/{thread['id']}/answers",
        json={"body": "Ja, toestand 1/1/2025."},
        headers=world.auth("gent"),
    )
    assert answered.status_code == 201
    assert answered.json()["state"] == "answered"
    assert answered.json()["messages"][-1]["answer"] is True
    inbox = client.get("/api/v1/organisations/gent/inbox").json()
    assert thread["id"] not in {t["id"] for t in inbox["items"]}
    listed = client.get(f"/api/v1/datasets/{DATASET}/feedback", params={"state": "answered"}).json()
    assert thread["id"] in {t["id"] for t in listed["items"]}
    closed = client.post(f"/api/v1/feedback/{thread['id']}/close", headers=world.auth("gent"))
    assert closed.json()["state"] == "closed"
    late = client.post(
        f"/api/v1/feedback/{thread['id']}/replies",
        json={"body": "nog iets"},
        headers=world.auth("analyst"),
    )
    assert late.status_code == 409


def test_markup_is_stored_as_given_and_never_executes(world: World) -> None:
    script = "<script>alert('x')</script> & <b>vet</b>"
    created = world.client.post(
        f"/api/v1/datasets/{DATASET}/feedback",
        json={"kind": "error_report", "title": script, "body": script},
        headers=world.auth("analyst"),
    )
    assert created.status_code == 201
    thread = world.client.get(f"/api/v1/feedback/{created.json()['id']}").json()
    assert thread["title"] == script
    assert thread["messages"][0]["body"] == script
    page = world.client.get(f"/doc/dataset/{DATASET}", headers={"Accept": "text/html"}).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page  # markupsafe's escaping


@pytest.mark.parametrize(
    ("dataset", "body", "status"),
    [
        (
            "no-such-dataset",
            {"kind": "question", "title": "t", "body": "b", "name": "n", "email": "n@x.org"},
            404,
        ),
        (
            DATASET,
            {"kind": "question", "title": "t", "body": "", "name": "n", "email": "n@x.org"},
            422,
        ),
        (
            DATASET,
            {"kind": "question", "title": "t", "body": "x" * 5001, "name": "n", "email": "n@x.org"},
            422,
        ),
        (
            DATASET,
            {"kind": "question", "title": "t" * 201, "body": "b", "name": "n", "email": "n@x.org"},
            422,
        ),
        (DATASET, {"kind": "question", "title": "t", "body": "b", "name": "n"}, 422),
        (
            DATASET,
            {"kind": "rant", "title": "t", "body": "b", "name": "n", "email": "n@x.org"},
            422,
        ),
    ],
)
def test_bad_feedback(world: World, dataset: str, body: dict[str, str], status: int) -> None:
    response = world.client.post(f"/api/v1/datasets/{dataset}/feedback", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_anonymous_posting_has_a_stricter_limit(world_template: Template, tmp_path: Path) -> None:
    body = {"kind": "question", "title": "t", "body": "b", "name": "n", "email": "n@x.org"}
    limits = {"anonymous_feedback_per_minute": 1, "feedback_per_minute": 100}
    for world in open_world(world_template, tmp_path, **limits):
        client = world.client
        first = client.post(f"/api/v1/datasets/{DATASET}/feedback", json=body)
        second = client.post(f"/api/v1/datasets/{DATASET}/feedback", json=body)
        keyed = client.post(
            f"/api/v1/datasets/{DATASET}/feedback", json=body, headers=world.auth("analyst")
        )
    assert first.status_code == 201
    assert second.status_code == 429
    assert second.headers["retry-after"]
    # The limit it names is the one that refused it: no key was sent.
    assert second.json()["detail"].startswith(
        "at most 1 feedback posts per minute per client address without an API key;"
    )
    assert keyed.status_code == 201


def test_the_audit_log(world: World) -> None:
    question = {"kind": "question", "title": "t", "body": "b", "name": "n", "email": "n@x.org"}
    asked = world.client.post(f"/api/v1/datasets/{DATASET}/feedback", json=question)
    assert asked.status_code == 201
    everything = world.client.get(
        "/api/v1/audit", params={"page_size": 1000}, headers=world.auth("admin")
    )
    assert everything.status_code == 200
    actions = {e["action"] for e in everything.json()["items"]}
    assert {"submission", "dataset.metadata", "feedback.create"} <= actions
    assert world.client.get("/api/v1/audit", headers=world.auth("gent-editor")).status_code == 403
    assert (
        world.client.get(
            f"/api/v1/datasets/{DATASET}/audit", headers=world.auth("analyst")
        ).status_code
        == 403
    )
    # Append-only: the API has no way to change or remove an event.
    removed = world.client.delete("/api/v1/audit", headers=world.auth("admin"))
    assert removed.status_code == 405
    assert (
        removed.headers["allow"] == "GET, HEAD, OPTIONS"
    )  # what the path takes (RFC 9110 §15.5.6)


@pytest.mark.parametrize("access_level", ["restricted", "non_public"])
def test_the_home_page_shows_public_values_only(world: World, access_level: str) -> None:
    """The home page's headline tables leave out a dataset that is not public, as the
    indicator page does (population-2025 holds the population and its density)."""

    def headline_after(level: str) -> str:
        changed = world.client.patch(
            f"/api/v1/datasets/{DATASET}",
            json={"access_level": level},
            headers=world.auth("publisher-editor"),
        )
        assert changed.status_code == 200, changed.text
        page = world.client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 200
        return page.text.split('id="headline"', 1)[1]

    shown = headline_after("public")
    assert '/doc/indicator/population"' in shown and "Gent" in shown
    hidden = headline_after(access_level)
    assert '/doc/indicator/population"' not in hidden and "Gent" not in hidden
    assert "/doc/indicator/population-density" not in hidden
    # The indicator page says why it shows no values (it said "no values yet").
    page = world.client.get("/doc/indicator/population", headers={"Accept": "text/html"}).text
    assert "zijn niet openbaar" in page and "nog geen waarden" not in page
    assert "enkel gepubliceerd op het niveau" not in page


def test_the_table_schema_of_a_closed_dataset_is_public(world: World) -> None:
    """Its CSV distribution conforms to it in the public DCAT catalogue: a harvester
    following the link met a 401 for column definitions the repository publishes anyway."""
    downloads = f"/api/v1/datasets/{DATASET}/downloads"
    for level in ("restricted", "non_public"):
        world.set_access_level(DATASET, level)
        schema = world.client.get(f"{downloads}/schema.json")
        assert schema.status_code == 200, schema.text
        assert [f["name"] for f in schema.json()["fields"]][:2] == ["indicator", "period"]
        assert world.client.get(f"{downloads}/observations.csv").status_code == 401
        assert world.client.get(f"{downloads}/datapackage.json").status_code == 401


def test_restricted_values_are_never_kept_by_a_cache(world: World) -> None:
    """A stored file of restricted values read with a key is ``private, no-store``: a shared
    cache that kept it would hand it on, unlogged, to the next client without a key."""
    owner = world.auth("gent")
    files = (
        f"/api/v1/datasets/{DATASET}/downloads/observations.csv",
        f"/catalog/datasets/{DATASET}/observations.ttl",
    )
    # Filtered reads too, in every format, and whatever else answers a request with a key
    # (who the key is, the comparison of a restricted indicator).
    keyed = (
        *files,
        *(
            f"/api/v1/datasets/{DATASET}/observations?unit=municipality:44021{fmt}"
            for fmt in ("", "&format=csv", "&format=jsonstat")
        ),
        "/api/v1/compare?indicator=population&unit=municipality:44021",
        "/api/v1/me",
    )
    for path in keyed:
        response = world.client.get(path, headers=owner)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["cache-control"] == "private, no-store", path
    made_public = world.client.patch(
        f"/api/v1/datasets/{DATASET}",
        json={"access_level": "public"},
        headers=world.auth("publisher-editor"),
    )
    assert made_public.status_code == 200
    for path in files:
        response = world.client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "public, max-age=60", path


def test_a_non_public_dataset_is_not_opened_by_a_grant(world: World) -> None:
    """The 401 of a non-public dataset does not send people to ask for a grant that cannot
    open it (a restricted one does)."""
    made = world.client.patch(
        f"/api/v1/datasets/{DATASET}",
        json={"access_level": "non_public"},
        headers=world.auth("publisher-editor"),
    )
    assert made.status_code == 200
    refused = world.client.get(OBS)
    assert refused.status_code == 401
    detail = refused.json()["detail"]
    assert "only its metadata is published" in detail
    assert "grant" not in detail and "access_request" not in detail
    # Nor is a grant stored that would open nothing.
    before = world.fingerprint()
    granted = world.client.post(
        f"/api/v1/datasets/{DATASET}/grants",
        json={
            "organisation": "statbel",
            "purpose": "validatie",
            "valid_until": (date.today() + timedelta(days=90)).isoformat(),
        },
        headers=world.auth("gent-editor"),
    )
    assert granted.status_code == 409, granted.text
    assert "no grant opens it" in granted.json()["detail"]
    assert world.fingerprint() == before


def test_closed_values_are_not_counted_and_non_public_takes_no_access_request(
    world: World,
) -> None:
    """A restricted dataset's page said "Number of values 0" (a wrong number, not a hidden
    one); a non-public one offered an access request, which no grant can answer."""
    page = world.client.get(f"/doc/dataset/{DATASET}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "data-values" not in page.text and 'value="access_request"' in page.text
    world.set_access_level(DATASET, "non_public")
    page = world.client.get(f"/doc/dataset/{DATASET}", headers={"accept": "text/html"})
    assert 'value="access_request"' not in page.text and 'value="data_request"' in page.text
    before = world.fingerprint()
    asked = world.client.post(
        f"/api/v1/datasets/{DATASET}/feedback",
        json={"kind": "access_request", "title": "Toegang", "body": "Voor een studie."},
        headers=world.auth("analyst"),
    )
    assert asked.status_code == 409, asked.text
    assert "data_request" in asked.json()["detail"]
    form = world.client.post(
        f"/datasets/{DATASET}/feedback",
        data={"kind": "access_request", "title": "Toegang", "body": "Voor een studie.",
              "name": "Onderzoeker", "email": "onderzoeker@example.org"},
    )  # fmt: skip
    assert form.status_code == 422 and "niet openbaar" in form.text
    assert world.fingerprint() == before
    # The public dataset beside it is counted as before, and needs no access request.
    public = world.client.get("/doc/dataset/income", headers={"accept": "text/html"})
    assert "data-values=" in public.text
    assert 'value="access_request"' not in public.text and 'value="question"' in public.text
    asked = world.client.post(
        "/api/v1/datasets/income/feedback",
        json={"kind": "access_request", "title": "Toegang", "body": "Voor een studie."},
        headers=world.auth("analyst"),
    )
    assert asked.status_code == 409, asked.text
    assert "public" in asked.json()["detail"] and "question" in asked.json()["detail"]
    form = world.client.post(
        "/datasets/income/feedback",
        data={"kind": "access_request", "title": "Toegang", "body": "Voor een studie.",
              "name": "Onderzoeker", "email": "onderzoeker@example.org"},
    )  # fmt: skip
    assert form.status_code == 422 and "is openbaar" in form.text
    assert world.fingerprint() == before
