"""``Last-Modified`` of the documents about things (``/doc/…``: the pages and the RDF) and of
the catalogue (``/catalog…``): a harvester that keeps dates asks ``If-Modified-Since`` and is
answered 304 while nothing on the document changed, and the document as soon as anything did
— a question on a dataset's page, a stored file whose size the description states, an
organisation renamed — never a 304 for a document that changed."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from app.catalogue.models import Organisation
from app.db.session import transaction
from app.downloads.models import StoredDownload
from tests.factories import World

DATASET_PAGE = "/doc/dataset/population-2025"
DOCUMENTS = [
    DATASET_PAGE,
    "/doc/indicator/population",
    "/doc/organisation/gent",
    "/doc/municipality/44021",
    "/doc/distribution/population-2025/csv",
    "/catalog",
]
HTML = {"Accept": "text/html"}
TURTLE = {"Accept": "text/turtle"}
OLD = "Mon, 01 Jan 2001 00:00:00 GMT"


@pytest.mark.parametrize("accept", ["text/html", "text/turtle"])
@pytest.mark.parametrize("path", DOCUMENTS)
def test_a_document_has_a_last_modified_that_gives_304(
    client: TestClient, path: str, accept: str
) -> None:
    headers = {"Accept": accept}
    first = client.get(path, headers=headers)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith(accept)
    since = first.headers["last-modified"]
    assert parsedate_to_datetime(since) <= datetime.now(UTC)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    unchanged = client.get(path, headers={**headers, "If-Modified-Since": since})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["last-modified"] == since
    assert unchanged.headers["etag"] == etag
    assert client.get(path, headers={**headers, "If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={**headers, "If-Modified-Since": OLD}).status_code == 200
    # The tag wins over the date (RFC 9110 §13.2.2): another tag is a 200 whatever the date.
    other = {**headers, "If-None-Match": '"other"', "If-Modified-Since": since}
    assert client.get(path, headers=other).status_code == 200


def test_a_page_is_revalidated_and_each_language_has_its_own(client: TestClient) -> None:
    dutch = client.get(DATASET_PAGE, headers=HTML)
    english = client.get(DATASET_PAGE, params={"lang": "en"}, headers=HTML)
    # A cache must ask again each time (a page changes with many things), not keep the page
    # for a while guessed from its Last-Modified.
    assert dutch.headers["cache-control"] == "no-cache"
    assert english.headers["etag"] != dutch.headers["etag"]
    assert "Accept-Language" in dutch.headers["vary"]
    again = client.get(
        DATASET_PAGE,
        params={"lang": "en"},
        headers={**HTML, "If-None-Match": english.headers["etag"]},
    )
    assert again.status_code == 304


def test_a_question_on_a_dataset_moves_its_pages_last_modified(world: World) -> None:
    """The page lists the dataset's questions: one asked since is a 200 with it, while a
    page that does not show it (the indicator's) stays 304."""
    before = world.client.get(DATASET_PAGE, headers=HTML)
    indicator = world.client.get("/doc/indicator/population", headers=HTML)
    since = before.headers["last-modified"]
    time.sleep(1.1)  # Last-Modified counts whole seconds
    asked = world.client.post(
        "/api/v1/datasets/population-2025/feedback",
        json={
            "kind": "question",
            "title": "Waarom daalt Gent in 2025?",
            "body": "Klopt dit getal?",
            "name": "An Analist",
            "email": "an@example.org",
        },
    )
    assert asked.status_code == 201, asked.text
    after = world.client.get(DATASET_PAGE, headers={**HTML, "If-Modified-Since": since})
    assert after.status_code == 200
    assert "Waarom daalt Gent in 2025?" in after.text
    assert parsedate_to_datetime(after.headers["last-modified"]) > parsedate_to_datetime(since)
    tagged = world.client.get(
        DATASET_PAGE, headers={**HTML, "If-None-Match": before.headers["etag"]}
    )
    assert tagged.status_code == 200
    same = world.client.get(
        "/doc/indicator/population",
        headers={**HTML, "If-Modified-Since": indicator.headers["last-modified"]},
    )
    assert same.status_code == 304


def test_a_stored_file_written_changes_the_datasets_description(world: World) -> None:
    """The dataset's graph states the size of each stored file once it is written: its tag
    and its date move then too (the tag followed the dataset's modification alone, and a
    harvester holding the description without the size was told it had it)."""
    with transaction(world.factory) as session:
        session.execute(
            delete(StoredDownload).where(
                StoredDownload.dataset_id == "population-2025",
                StoredDownload.name == "observations.csv",
            )
        )
    before = world.client.get(DATASET_PAGE, headers=TURTLE)
    since = before.headers["last-modified"]
    time.sleep(1.1)
    written = world.client.get("/api/v1/datasets/population-2025/downloads/observations.csv")
    assert written.status_code == 200
    tagged = world.client.get(
        DATASET_PAGE, headers={**TURTLE, "If-None-Match": before.headers["etag"]}
    )
    assert tagged.status_code == 200
    assert tagged.text.count("byteSize") > before.text.count("byteSize")
    dated = world.client.get(DATASET_PAGE, headers={**TURTLE, "If-Modified-Since": since})
    assert dated.status_code == 200


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/catalog.ttl", TURTLE),
        ("/catalog/dump.ttl", TURTLE),
        (DATASET_PAGE, HTML),
        ("/doc/organisation/statbel", TURTLE),
    ],
)
def test_an_organisation_renamed_moves_the_last_modified_of_what_names_it(
    world: World, path: str, accept: dict[str, str]
) -> None:
    """An organisation's name changes no dataset's modification date (the seed renames it):
    the catalogue's date, the latest of its datasets' changes, stayed where it was and a
    harvester asking If-Modified-Since kept the old name."""
    english = {"lang": "en"} if accept is HTML else {}
    before = world.client.get(path, params=english, headers=accept)
    assert before.status_code == 200
    assert "Statistics Belgium" in before.text or "Statbel" in before.text
    since = before.headers["last-modified"]
    time.sleep(1.1)
    with transaction(world.factory) as session:
        session.execute(
            update(Organisation)
            .where(Organisation.id == "statbel")
            .values(name_en="Statbel, renamed", name_nl="Statbel, hernoemd")
        )
    after = world.client.get(path, params=english, headers={**accept, "If-Modified-Since": since})
    assert after.status_code == 200
    assert "Statbel, renamed" in after.text or "Statbel, hernoemd" in after.text
    assert parsedate_to_datetime(after.headers["last-modified"]) > parsedate_to_datetime(since)
