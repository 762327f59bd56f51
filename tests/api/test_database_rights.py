"""A database user that may read but not write (a role given SELECT alone, rights taken away
while the server runs): Datapedia writes as it serves reads (key use, document dates), so
such a user cannot serve. ``/ready`` says so and every route answers 503 naming the rights to
give, instead of ``/ready`` answering 200 over routes that answered 500; the commands stop in
one line instead of a traceback."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from tests.api.test_operator_cli import datapedia
from tests.factories import World

pytestmark = pytest.mark.only_on("postgresql")


@pytest.fixture
def reader_url(world_db: World) -> Iterator[str]:
    """A role of its own (roles are the server's, not the database's) that may read every
    table of ``world_db``'s database and write none; dropped afterwards."""
    role = f"datapedia_test_reader_{uuid.uuid4().hex[:8]}"
    owner = create_engine(world_db.url, isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    try:
        yield make_url(world_db.url).set(username=role, password=None).render_as_string(False)
    finally:
        with owner.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role"
                ),
                {"role": role},
            )
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        owner.dispose()


def grant(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


@pytest.mark.server_error  # the refused statement is logged as an error, in one line
def test_a_user_that_may_not_write_is_not_ready_and_answers_503(
    world_db: World, reader_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    role = make_url(reader_url).username
    settings = Settings(database_url=reader_url, write_stored_files=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503, ready.text
        assert "may not write" in ready.json()["detail"]
        assert "INSERT, UPDATE and DELETE" in ready.json()["detail"]
        licences = client.get("/api/v1/licences")
        assert licences.status_code == 503 and "may not write" in licences.json()["detail"]
        # Given the rights, it is ready at once.
        grant(
            world_db.url, f'GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'
        )
        grant(world_db.url, f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        assert client.get("/ready").status_code == 200
        assert client.get("/api/v1/licences").status_code == 200
        # A right taken away while it serves: the statement refused is a 503, not a 500.
        grant(world_db.url, f'REVOKE INSERT, UPDATE ON api_key, document_date FROM "{role}"')
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="datapedia"):
            me = client.get("/api/v1/me", headers=world_db.auth("gent"))
            dcat = client.get("/catalog.ttl")
        for refused in (me, dcat):
            assert refused.status_code == 503, refused.text
            assert "refused this service's write" in refused.json()["detail"]
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors and all(r.exc_info is None for r in errors)
        assert "permission denied" in errors[0].getMessage()
        assert client.get("/ready").status_code == 503


def test_commands_of_a_user_that_may_not_write_stop_in_one_line(
    world_db: World, reader_url: str
) -> None:
    before = world_db.fingerprint()
    for command in (
        ("keys", "create", "--org", "gent", "--role", "supplier"),
        ("publish", "--dataset", "population-2025", "--all"),
    ):
        done = datapedia(*command, database_url=reader_url)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("error: the database refused the command's work"), done.stderr
        assert "permission denied" in last
    assert world_db.fingerprint() == before
