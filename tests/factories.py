"""Shared factories: a *world* — a database with the real geography, the seeded catalogue and
one API key per organisation and role — and a client on it.

The world is built once per test run as a template shared by the xdist workers (see
``tests.dbutil.shared_database``); every test that asks for the ``world`` fixture gets a fresh
world of its own (a file copy on SQLite, a rolled-back transaction on PostgreSQL; ``world_db``
a real database copy on both), so HTTP write tests never see each other's writes and pass in
any order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select, table, text
from sqlalchemy.orm import Session, sessionmaker

from app.api.deps import AppState
from app.auth.keys import create_key
from app.config import SEEDS_DIR, Settings, get_settings
from app.db.migrate import upgrade
from app.db.session import (
    make_engine,
    make_session_factory,
    transaction,
    with_unit_of_work_events,
)
from app.ingest.seed import seed_all, store_downloads
from app.main import create_app
from app.rdf import cubefiles
from app.rdf.dcat import Uris
from tests.dbutil import (
    backend,
    copy_database,
    create_database,
    drop_database,
    shared_database,
)

# name -> (organisation, key role). On population-2025 Gent and Antwerpen are co-owners and
# suppliers (territory: their municipality), Statbel is the originator and the Kenniscentrum
# Vlaamse Steden the publisher (its editor key: "publisher-editor"; its admin key is a site
# admin's).
KEYS: dict[str, tuple[str, str]] = {
    "gent": ("gent", "supplier"),
    "gent-editor": ("gent", "editor"),
    "gent-reader": ("gent", "reader"),
    "antwerpen": ("antwerpen", "supplier"),
    "antwerpen-editor": ("antwerpen", "editor"),
    "statbel": ("statbel", "supplier"),
    "statbel-editor": ("statbel", "editor"),
    "analyst": ("digitaal-vlaanderen", "reader"),
    "analyst-editor": ("digitaal-vlaanderen", "editor"),
    "publisher-editor": ("kenniscentrum-vlaamse-steden", "editor"),
    "admin": ("kenniscentrum-vlaamse-steden", "admin"),
}

# Generous limits: tests of the limits set their own. No stored-files writer: a test that
# writes does not pay for the files its write made stale (written at their first download
# instead); tests of the writer turn it on (tests/downloads/test_writer.py).
TEST_SETTINGS: dict[str, Any] = {
    "submissions_per_minute": 10_000,
    "feedback_per_minute": 10_000,
    "anonymous_feedback_per_minute": 10_000,
    "write_stored_files": False,
}


@dataclass
class World:
    client: TestClient
    factory: sessionmaker[Session]
    keys: dict[str, str]
    url: str
    engine: Engine = field(repr=False)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def headers(self, who: str, content_type: str = "text/csv") -> dict[str, str]:
        return {**self.auth(who), "Content-Type": content_type}

    def set_access_level(self, dataset: str, level: str) -> None:
        """The dataset's access level, set by its publisher's editor (the level is the
        publisher's)."""
        changed = self.client.patch(
            f"/api/v1/datasets/{dataset}",
            json={"access_level": level},
            headers=self.auth("publisher-editor"),
        )
        assert changed.status_code == 200, changed.text

    def fingerprint(self) -> dict[str, int]:
        """Row counts of every table: a refused request must not change any."""
        with self.factory() as session:
            return row_counts(session)


# api_key: last_used_at is written on use; rate_limit_event: a limit counts every attempt,
# refused ones too (on PostgreSQL, where workers share it); document_date: a page answered
# for the first time as it is now is dated (on PostgreSQL).
UNCOUNTED_TABLES = frozenset({"api_key", "rate_limit_event", "document_date"})
# An upload refused for its content leaves a record of the refusal (a rejected submission)
# and its audit event: not data, so not counted (tests/ingest/test_refused_submissions.py
# counts them itself).
REFUSAL_TRACES = {
    "submission": "state = 'accepted'",
    "audit_event": "action <> 'submission.refused'",
}


def row_counts(session: Session) -> dict[str, int]:
    """Row counts of every table in the database (but ``UNCOUNTED_TABLES``, and of
    ``REFUSAL_TRACES`` the rows that are none), in one query: the names from the catalogue
    (no reflection of columns), one ``count(*)`` per table."""
    names = sorted(
        name
        for name in inspect(session.connection()).get_table_names()
        if name not in UNCOUNTED_TABLES
    )
    counts = []
    for i, name in enumerate(names):
        count = select(func.count()).select_from(table(name))
        if name in REFUSAL_TRACES:
            count = count.where(text(REFUSAL_TRACES[name]))
        counts.append(count.scalar_subquery().label(f"t{i}"))
    row = session.execute(select(*counts)).one()
    return dict(zip(names, (int(count) for count in row), strict=True))


@dataclass(frozen=True)
class Template:
    url: str
    keys: dict[str, str]


def seed(url: str, source: Path) -> None:
    """Seed the migrated database ``url`` as `datapedia seed` does: the sources in one
    transaction, then the stored files of what it published (downloads and Data Cube dumps)
    in another, once the first has committed."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        seed_all(session, source, SEEDS_DIR)
    with transaction(factory) as session:
        store_downloads(session)
        cubefiles.write_all(session, Uris(get_settings().base_url))
    engine.dispose()


def seed_world(url: str, source: Path) -> dict[str, str]:
    """Seed the migrated database ``url`` as a world; returns its API keys by name."""
    seed(url, source)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        keys = {name: create_key(session, org, role) for name, (org, role) in KEYS.items()}
    engine.dispose()
    return keys


def build_template(tmp: Path, source: Path) -> Template:
    url = create_database(tmp)
    upgrade(url)
    return Template(url, seed_world(url, source))


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    """The world, seeded once per run. On SQLite the tests copy the shared file itself; on
    PostgreSQL this worker takes a copy of its own, which ``world`` connects to."""
    from tests.conftest import geography_only

    tmp = tmp_path_factory.mktemp("world-template")
    url, keys = shared_database(
        tmp_path_factory, "world", lambda url: seed_world(url, geography_only(tmp))
    )
    if backend() == "sqlite":
        yield Template(url, keys)
        return
    own = copy_database(url, tmp)
    yield Template(own, keys)
    drop_database(own)


class AppPool:
    """The apps of this worker, built once per set of settings and started on a new database
    for each world: building the app (routes, schemas, middleware) costs more than a test's
    requests. An app serves one world at a time; while it is lent out, a second world with
    the same settings gets another app. Every start gets a fresh ``AppState`` (new database,
    limits, schema check), so a world sees nothing of the one before."""

    def __init__(self) -> None:
        self.idle: dict[str, list[FastAPI]] = {}

    @contextmanager
    def started(self, settings: Settings) -> Iterator[TestClient]:
        key = settings.model_dump_json(exclude={"database_url"})
        idle = self.idle.setdefault(key, [])
        app = idle.pop() if idle else create_app(settings)
        state: AppState = app.state.datapedia
        fresh = AppState(settings=settings)
        for slot in fields(AppState):
            setattr(state, slot.name, getattr(fresh, slot.name))
        try:
            # A new client per world: no cookie or header of an earlier test carries over.
            with TestClient(app, raise_server_exceptions=False) as client:
                yield client
        finally:
            idle.append(app)


APPS = AppPool()


def open_world(
    template: Template, tmp: Path, *, real_database: bool = False, **settings: Any
) -> Iterator[World]:
    """A world of its own. On SQLite a copy of the template file (cheap); on PostgreSQL one
    connection to the template inside a transaction that is rolled back afterwards (the
    app's commits become savepoints), which is 50× cheaper than creating a database.
    ``real_database`` asks for a copy on PostgreSQL too: for tests whose requests run
    concurrently or that open connections of their own. The app comes from ``APPS``."""
    if backend() == "sqlite" or real_database:
        url = copy_database(template.url, tmp)
        engine = make_engine(url)
        try:
            with APPS.started(
                Settings(database_url=url, **{**TEST_SETTINGS, **settings})
            ) as client:
                yield World(client, make_session_factory(engine), dict(template.keys), url, engine)
        finally:
            engine.dispose()
            drop_database(url)
        return
    # The stored-files writer's thread would share the one connection below with the requests.
    assert not settings.get("write_stored_files"), "the writer needs real_database=True"
    engine = make_engine(template.url)
    connection = engine.connect()
    outer = connection.begin()
    # The catalogue change counter is bumped by deferred triggers, at commit, which this
    # transaction never reaches: fire them at once instead, so that what is keyed on the
    # counter (the DCAT pages, the dataset descriptions) follows the test's writes as it does
    # in production, where every write commits.
    connection.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    # The app's unit-of-work events too: a revision is stamped at its commit here as well.
    factory = with_unit_of_work_events(
        sessionmaker(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        )
    )
    try:
        with APPS.started(
            Settings(database_url=template.url, **{**TEST_SETTINGS, **settings})
        ) as client:
            app_state_of(client).session_factory = factory
            yield World(client, factory, dict(template.keys), template.url, engine)
    finally:
        outer.rollback()
        connection.close()
        engine.dispose()


def app_state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.datapedia  # type: ignore[attr-defined]
    return state


def submit_rows(world: World, dataset: str, who: str, *rows: str) -> dict[str, object]:
    """A CSV upload of ``rows`` with the key ``who``, which must be accepted; its result."""
    body = ("sector,indicator,period,value,status\n" + "".join(r + "\n" for r in rows)).encode()
    response = world.client.post(
        f"/api/v1/datasets/{dataset}/submissions", content=body, headers=world.headers(who)
    )
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


@pytest.fixture
def world(world_template: Template, tmp_path: Path) -> Iterator[World]:
    """A fresh world for this test alone."""
    yield from open_world(world_template, tmp_path)


@pytest.fixture
def world_db(world_template: Template, tmp_path: Path) -> Iterator[World]:
    """A fresh world in a database of its own, for concurrent requests."""
    yield from open_world(world_template, tmp_path, real_database=True)
