"""The ``Last-Modified`` of documents without a date of their own, shared by the workers of
one database: a document changed from A to B and back to A is dated after B by every worker,
also by one that never answered B (with dates in each worker's memory, that one dated A from
before B and answered 304 to a client holding B)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.api.lastmodified import FirstSeen, SharedFirstSeen
from app.api.models import DocumentDate
from app.catalogue.models import Organisation
from app.config import Settings
from app.db.session import transaction
from app.main import create_app
from tests.conftest import session_factory_for
from tests.dbutil import backend
from tests.factories import World

PAGE = "/doc/organisation/statbel"
HTML = {"Accept": "text/html"}


@pytest.fixture
def factory(empty_db: str) -> Iterator[sessionmaker[Session]]:
    engine, made = session_factory_for(empty_db)
    yield made
    engine.dispose()


def since(dates: SharedFirstSeen, factory: sessionmaker[Session], key: str, tag: str) -> datetime:
    with transaction(factory) as session:
        return dates.since(session, key, tag)


def test_two_workers_date_a_document_back_as_it_was_after_its_change(
    factory: sessionmaker[Session],
) -> None:
    first, second = SharedFirstSeen(), SharedFirstSeen()
    a = since(first, factory, "/doc/x text/html", '"a"')
    assert since(second, factory, "/doc/x text/html", '"a"') == a  # one date for both
    b = since(second, factory, "/doc/x text/html", '"b"')
    assert b > a
    # The first worker never answered B; A again is still dated after it.
    assert since(first, factory, "/doc/x text/html", '"a"') > b
    # In memory, the first worker's A would have kept its date from before B.
    memory_first, memory_second = FirstSeen(), FirstSeen()
    with factory() as session:
        old = memory_first.since(session, "/doc/x text/html", '"a"')
        assert memory_second.since(session, "/doc/x text/html", '"b"') > old
        assert memory_first.since(session, "/doc/x text/html", '"a"') == old


def test_a_date_outlives_the_worker_and_forms_are_dated_apart(
    factory: sessionmaker[Session],
) -> None:
    html = since(SharedFirstSeen(), factory, "/doc/x text/html", '"a"')
    turtle = since(SharedFirstSeen(), factory, "/doc/x text/turtle", '"a"')
    assert turtle > html
    # A restarted worker (a release that writes the document as before) keeps the date.
    assert since(SharedFirstSeen(), factory, "/doc/x text/html", '"a"') == html


def test_the_oldest_dates_are_forgotten_beyond_the_limit(factory: sessionmaker[Session]) -> None:
    dates = SharedFirstSeen(size=3, prune_every=1)
    first = since(dates, factory, "/doc/0", '"a"')
    for n in range(1, 5):
        since(dates, factory, f"/doc/{n}", '"a"')
    with factory() as session:
        assert session.execute(select(func.count()).select_from(DocumentDate)).scalar_one() == 3
    # One forgotten is dated anew: later, never wrong.
    assert since(dates, factory, "/doc/0", '"a"') > first


@pytest.mark.skipif(
    backend() != "postgresql", reason="several workers serve one database on PostgreSQL"
)
def test_a_renamed_organisation_renamed_back_is_not_304_at_a_worker_that_missed_it(
    world_db: World,
) -> None:
    world = world_db  # a database of its own: two apps (two workers) connect to it
    worker_b = create_app(Settings(database_url=world.url, write_stored_files=False))
    with TestClient(worker_b) as other:

        def rename(name: str) -> None:
            with transaction(world.factory) as session:
                session.execute(
                    update(Organisation).where(Organisation.id == "statbel").values(name_nl=name)
                )

        with world.factory() as session:
            name = session.execute(
                select(Organisation.name_nl).where(Organisation.id == "statbel")
            ).scalar_one()
        original = world.client.get(PAGE, headers=HTML)
        assert original.status_code == 200
        time.sleep(1.1)  # Last-Modified counts whole seconds
        rename("Statbel, even anders")
        renamed = other.get(PAGE, headers=HTML)
        assert "Statbel, even anders" in renamed.text
        held = renamed.headers["last-modified"]
        assert parsedate_to_datetime(held) > parsedate_to_datetime(
            original.headers["last-modified"]
        )
        time.sleep(1.1)
        rename(name)
        # The first worker answered the original only; a client holding the renamed page
        # asks it with the renamed page's date.
        back = world.client.get(PAGE, headers={**HTML, "If-Modified-Since": held})
        assert back.status_code == 200
        assert "Statbel, even anders" not in back.text
        assert parsedate_to_datetime(back.headers["last-modified"]) > parsedate_to_datetime(held)
