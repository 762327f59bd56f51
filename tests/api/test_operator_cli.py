"""The command line as an operator meets it: bad settings stop it in one line, ``db upgrade``
says what it did, ``seed`` on a database without a schema migrates it first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.migrate import upgrade
from app.main import create_app
from tests.dbutil import create_database, drop_database


def datapedia(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAPEDIA_")}
    env |= {f"DATAPEDIA_{k.upper()}": v for k, v in settings.items()}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


# Not the test database (the commands stop before they open one): once, in the SQLite suite.
@pytest.mark.only_on("sqlite")
def test_bad_settings_stop_every_command_in_one_line() -> None:
    bad_format = datapedia("db", "upgrade", log_format="xml")
    assert bad_format.returncode == 2
    assert bad_format.stderr.strip() == (
        "error: DATAPEDIA_LOG_FORMAT='xml' is invalid: Input should be 'text' or 'json'"
    )
    bad_url = datapedia("serve", base_url="data.example.be")
    assert bad_url.returncode == 2
    assert bad_url.stderr.count("\n") == 1
    assert bad_url.stderr.startswith("error: DATAPEDIA_BASE_URL='data.example.be' is invalid")
    no_workers = datapedia("serve", "--workers", "0")
    assert no_workers.returncode == 2
    assert (
        no_workers.stderr.strip() == "error: --workers must be a whole number of 1 or more, got 0"
    )
    bad_env_workers = datapedia("serve", workers="many")
    assert bad_env_workers.returncode == 2
    assert bad_env_workers.stderr.startswith("error: DATAPEDIA_WORKERS='many' is invalid")
    # Accepted before, and broken later (or never working at all):
    for setting, value, needle in [
        ("database_url", "notaurl", "expected sqlite:///PATH or postgresql://"),
        ("database_url", "mysql://x@y/z", "expected sqlite:///PATH or postgresql://"),
        ("base_url", "http://", "expected an absolute http(s) URL"),
        ("base_url", "http://exa mple.org/a?b#c", "expected an absolute http(s) URL"),
        ("cors_origins", "not an origin,*", "'not an origin' is not an origin"),
        # libpq would take the user's name for the database: the maintenance database.
        ("database_url", "postgresql://postgres@127.0.0.1:5432/", "database name is missing"),
        ("database_url", "postgresql://postgres@127.0.0.1:5432", "database name is missing"),
        ("database_url", "postgresql://u:secret@127.0.0.1:port/d", "port must be a number"),
        ("forwarded_allow_ips", "127.0.0.1,proxy", "'proxy' is not an IP address"),
    ]:
        done = datapedia("db", "upgrade", **{setting: value})
        assert done.returncode == 2, (setting, value, done.stderr)
        assert done.stderr.count("\n") == 1 and needle in done.stderr, done.stderr
        assert "secret" not in done.stderr and "Value error" not in done.stderr
    nowhere = datapedia("seed", "--source-dir", "/nonexistent")
    assert nowhere.returncode == 2
    assert nowhere.stderr.strip() == "error: --source-dir /nonexistent is not a folder"
    pages = datapedia("db", "upgrade", max_page_size="10")
    assert pages.returncode == 2
    assert pages.stderr.strip() == (
        "error: DATAPEDIA_DEFAULT_PAGE_SIZE (50) is larger than DATAPEDIA_MAX_PAGE_SIZE (10): "
        "every list without page_size would be refused"
    )


@pytest.mark.only_on("sqlite")
def test_a_source_dir_set_to_no_folder_stops_the_seed(tmp_path: Path) -> None:
    # Like --source-dir: a mistyped DATAPEDIA_SOURCE_DIR must not seed the catalogue alone
    # and report success. (Only the default folder may be missing.)
    url = f"sqlite:///{tmp_path / 'untouched.sqlite3'}"
    typo = datapedia("seed", database_url=url, source_dir=str(tmp_path / "nowhere"))
    assert typo.returncode == 2, typo.stderr
    assert (
        typo.stderr.strip() == f"error: DATAPEDIA_SOURCE_DIR {tmp_path / 'nowhere'} is not a folder"
    )
    assert not (tmp_path / "untouched.sqlite3").exists()
    # A label with a control character: the reason alone, as for the settings.
    label = datapedia("keys", "create", "--org", "gent", "--label", "a\x01b", database_url=url)
    assert label.returncode == 2
    assert label.stderr.strip() == "error: --label: control character U+0001 at position 1"


@pytest.mark.only_on("sqlite")
def test_a_file_that_is_no_sqlite_database_is_one_line(tmp_path: Path) -> None:
    # A URL naming the wrong file (a CSV, a pg_dump archive): one line, not a traceback.
    other = tmp_path / "not-a-database.sqlite3"
    other.write_text("sector,indicator,period,value,status\n" * 200)
    url = f"sqlite:///{other}"
    empty = tmp_path / "no-sources"
    empty.mkdir()
    for command in (
        ["db", "upgrade"],
        ["seed", "--source-dir", str(empty)],
        ["keys", "create", "--org", "gent"],
        ["publish", "--dataset", "income", "--all"],
    ):
        done = datapedia(*command, database_url=url)
        assert done.returncode == 1, (command, done.stderr)
        assert "Traceback" not in done.stderr, (command, done.stderr)
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("error: the database cannot be read: "), (command, last)
        assert "not a SQLite database (check the path)" in last


def test_a_misspelt_setting_is_named_and_the_database_shown(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shown.sqlite3'}"
    done = datapedia("db", "upgrade", database_url=url, database_uri="postgresql://x@y/z")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[:2] == [
        "warning: DATAPEDIA_DATABASE_URI is not a setting and is ignored (did you mean "
        "DATAPEDIA_DATABASE_URL?)",
        f"database {url}",
    ]


@pytest.mark.only_on("sqlite")
def test_a_password_in_the_query_is_not_shown_and_a_long_label_is_one_line() -> None:
    away = "postgresql+psycopg://nobody:secret1@127.0.0.1:1/none?password=secret2&sslmode=require"
    done = datapedia("db", "upgrade", database_url=away)
    assert done.returncode == 1
    assert "secret" not in done.stderr and "password=%2A%2A%2A" in done.stderr, done.stderr
    assert "sslmode=require" in done.stderr
    # A label the API would refuse is refused before the database is opened, in one line.
    long = datapedia("keys", "create", "--org", "gent", "--label", "x" * 5000, database_url=away)
    assert long.returncode == 2
    assert long.stderr.startswith("error: --label:") and len(long.stderr.splitlines()) == 1


def test_upgrade_says_what_it_did_and_seed_migrates_first(tmp_path: Path) -> None:
    url = create_database(tmp_path)
    try:
        empty = tmp_path / "no-sources"
        empty.mkdir()
        seeded = datapedia("seed", database_url=url, source_dir=str(empty))
        assert seeded.returncode == 0, seeded.stderr
        assert "the database had no schema yet: migrated to" in seeded.stderr
        assert "catalogue" in seeded.stdout
        again = datapedia("db", "upgrade", database_url=url)
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith("database already at the latest revision")
    finally:
        drop_database(url)
    fresh = create_database(tmp_path)
    try:
        created = datapedia("db", "upgrade", database_url=fresh)
        assert created.returncode == 0, created.stderr
        assert created.stdout.startswith("new database: created the schema at revision")
    finally:
        drop_database(fresh)


def test_commands_on_a_database_behind_the_code_send_to_db_upgrade(tmp_path: Path) -> None:
    """``keys create``, ``publish`` and ``dcat validate`` on a database never migrated, or
    at an older revision (a backup of an earlier release restored), stopped with a
    traceback of the first table or column missing; they say what to run, in one line."""
    url = create_database(tmp_path)
    try:
        for found in ("has no schema yet", "is at revision 0015"):
            if found != "has no schema yet":
                upgrade(url, "0015")
            for command in (
                ("keys", "create", "--org", "gent", "--role", "supplier"),
                ("publish", "--dataset", "income", "--all"),
                ("dcat", "validate"),
            ):
                done = datapedia(*command, database_url=url)
                assert done.returncode == 1, done.stderr
                assert "Traceback" not in done.stderr, done.stderr
                assert done.stderr.count("\n") == 1, done.stderr
                assert done.stderr.startswith(f"error: the database {found}; "), done.stderr
                assert "run 'datapedia db upgrade' first" in done.stderr
    finally:
        drop_database(url)


# A database URL of its own, the same in both suites: once, in the SQLite suite.
@pytest.mark.only_on("sqlite")
def test_unreachable_database_is_one_line() -> None:
    away = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    down = datapedia("db", "upgrade", database_url=away)
    assert down.returncode == 1
    assert down.stderr.splitlines()[1].startswith("error: the database does not answer")
    assert "Traceback" not in down.stderr
    # Every command that opens the database, not only the two that said so before.
    for command in (
        ("keys", "create", "--org", "gent", "--role", "supplier"),
        ("publish", "--dataset", "income", "--all"),
    ):
        done = datapedia(*command, database_url=away)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("error: the database does not answer"), done.stderr
        assert "Traceback" not in done.stderr


# A listener of its own, the same in both suites: once, in the SQLite suite.
@pytest.mark.only_on("sqlite")
def test_a_database_that_accepts_and_never_answers_is_given_up_on() -> None:
    """The commands a deployment runs first (``db upgrade``, ``seed``) waited forever on a
    server that took the connection and said nothing (a hung server, a half-open network)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        silent = f"postgresql+psycopg://nobody@127.0.0.1:{listener.getsockname()[1]}/none"
        for command in (("db", "upgrade"), ("seed",)):
            done = datapedia(*command, database_url=silent)
            assert done.returncode == 1, done.stderr
            last = done.stderr.strip().splitlines()[-1]
            assert last.startswith("error: the database does not answer"), done.stderr
            assert "timeout" in last and "Traceback" not in done.stderr


# A database file of its own: once, in the SQLite suite.
@pytest.mark.only_on("sqlite")
def test_a_database_of_a_newer_release_is_named_as_such_not_sent_to_upgrade(
    tmp_path: Path,
) -> None:
    """After a rollback of the code the database is at a revision this version does not know:
    the server and the commands say so, in one line, instead of sending the operator to
    `db upgrade` (which crashed with a traceback)."""
    url = create_database(tmp_path)
    try:
        upgrade(url)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
        engine.dispose()
        for command in (("db", "upgrade"), ("seed",)):
            done = datapedia(*command, database_url=url)
            assert done.returncode == 1, done.stderr
            last = done.stderr.strip().splitlines()[-1]
            assert last.startswith("error: the database is at revision 0999"), done.stderr
            assert "newer release" in done.stderr and "Traceback" not in done.stderr
        with TestClient(create_app(Settings(database_url=url))) as client:
            ready = client.get("/ready")
        assert ready.status_code == 503
        problem = ready.json()
        assert "newer release" in problem["detail"] and "command" not in problem
    finally:
        drop_database(url)


def test_a_running_server_notices_a_newer_release_migrated_its_database(
    tmp_path: Path,
) -> None:
    """In a rolling upgrade the newer release migrates the database under a running server
    of the older one: its readiness says so at once (a load balancer stops sending it
    requests), and so does every route, until the database is at its revision again."""
    url = create_database(tmp_path)
    try:
        upgrade(url)
        engine = create_engine(url)
        with TestClient(create_app(Settings(database_url=url))) as client:
            ready = client.get("/ready")
            assert ready.status_code == 200, ready.text
            head = ready.json()["schema_revision"]
            assert client.get("/api/v1/licences").status_code == 200
            with engine.begin() as connection:
                connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert "revision 0999" in ready.json()["detail"], ready.text
            refused = client.get("/api/v1/licences")
            assert refused.status_code == 503 and "newer release" in refused.json()["detail"]
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE alembic_version SET version_num = :head"), {"head": head}
                )
            assert client.get("/ready").status_code == 200
            assert client.get("/api/v1/licences").status_code == 200
        engine.dispose()
    finally:
        drop_database(url)


# A port of its own, the same in both suites: once, in the SQLite suite.
@pytest.mark.only_on("sqlite")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_line_with_any_number_of_workers(tmp_path: Path, workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = datapedia(
            "serve",
            "--port",
            port,
            "--workers",
            workers,
            database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr
