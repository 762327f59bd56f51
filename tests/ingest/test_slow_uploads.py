"""An upload's sender is checked before its body is read, and a body that arrives slowly, or
stops, holds no database connection and no lock (on the real server, ``datapedia serve``):
every other write goes on, a key without the right is answered at once, and a client that
stops sending is refused (408) with nothing stored."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.db.session import make_engine
from app.errors import PROBLEM_TYPE_BASE
from tests.dbutil import copy_database, drop_database
from tests.factories import Template
from tests.servers import Server, datapedia_server

DATASET = "population-2025"
# A pool of one connection (and PostgreSQL's burst of ten more): more uploads than that
# arriving at once took every connection while each waited for its body.
POOL_SIZE = "1"
SLOW_UPLOADS = 12


def upload_head(server: Server, key: str, length: int, dataset: str = DATASET) -> bytes:
    return (
        f"POST /api/v1/datasets/{dataset}/submissions HTTP/1.1\r\n"
        f"Host: {server.base.removeprefix('http://')}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: text/csv\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def answer_of(sock: socket.socket) -> tuple[str, dict[str, object]]:
    """The status line and the JSON body of the answer on ``sock``."""
    received = b""
    while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


def stored(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            submissions = connection.scalar(text("SELECT count(*) FROM submission"))
            observations = connection.scalar(text("SELECT count(*) FROM observation"))
            return int(submissions or 0), int(observations or 0)
    finally:
        engine.dispose()


@pytest.fixture
def idle_keys_db(world_template: Template, tmp_path: Path) -> Iterator[str]:
    """A copy of the world whose keys have not been used for long: the first use of each
    writes its ``last_used_at``."""
    url = copy_database(world_template.url, tmp_path)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE api_key SET last_used_at = NULL"))
    finally:
        engine.dispose()
    try:
        yield url
    finally:
        drop_database(url)


def test_uploads_that_wait_for_their_body_hold_up_no_other_write(
    world_template: Template, idle_keys_db: str, tmp_path: Path
) -> None:
    before = stored(idle_keys_db)
    keys = world_template.keys
    with (
        datapedia_server(idle_keys_db, tmp_path, db_pool_size=POOL_SIZE) as server,
        ExitStack() as uploads,
    ):
        for _ in range(SLOW_UPLOADS):
            port = int(server.base.rsplit(":", 1)[1])
            sock = uploads.enter_context(socket.create_connection(("127.0.0.1", port), 60))
            # The header line of the CSV, and then nothing: a slow (or stalled) client.
            sock.sendall(upload_head(server, keys["gent"], 100_000) + b"sector")
        with httpx.Client(base_url=server.base, timeout=60) as client:
            patched = client.patch(
                f"/api/v1/datasets/{DATASET}",
                json={"version": "v9"},
                headers={"Authorization": f"Bearer {keys['gent-editor']}"},
            )
            assert patched.status_code == 200, patched.text
            assert client.get(f"/api/v1/datasets/{DATASET}").json()["version"] == "v9"
            asked = client.post(
                f"/api/v1/datasets/{DATASET}/feedback",
                json={
                    "kind": "question",
                    "title": "t",
                    "body": "b",
                    "name": "Jan",
                    "email": "jan@example.com",
                },
            )
            assert asked.status_code == 201, asked.text
    assert stored(idle_keys_db) == before


def test_a_key_without_the_right_is_answered_before_its_body(
    world_template: Template, idle_keys_db: str, tmp_path: Path
) -> None:
    with datapedia_server(idle_keys_db, tmp_path) as server:
        port = int(server.base.rsplit(":", 1)[1])
        refusals = (
            ("gent-reader", DATASET, "403"),
            ("gent", "no-such-dataset", "404"),
            ("gent", "climate-energy-monitor", "409"),  # derived: nobody supplies it
        )
        for key, dataset, status in refusals:
            with socket.create_connection(("127.0.0.1", port), 60) as sock:
                # A body announced and never sent: the answer may not wait for it.
                sock.sendall(upload_head(server, world_template.keys[key], 100_000, dataset))
                status_line, problem = answer_of(sock)
            assert status_line.split(" ")[1] == status, (key, status_line, problem)
        with socket.create_connection(("127.0.0.1", port), 60) as sock:
            sock.sendall(upload_head(server, "not-a-key", 100_000))
            status_line, _ = answer_of(sock)
        assert status_line.split(" ")[1] == "401"


def test_an_upload_that_stops_sending_is_a_408_and_stores_nothing(
    world_template: Template, idle_keys_db: str, tmp_path: Path
) -> None:
    before = stored(idle_keys_db)
    body = b"sector,indicator,period,value,status\n44021A00-,population,2025,100,\n"
    with datapedia_server(idle_keys_db, tmp_path, upload_idle_seconds="1") as server:
        port = int(server.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), 60) as sock:
            sock.sendall(upload_head(server, world_template.keys["gent"], len(body)) + body[:20])
            status_line, problem = answer_of(sock)
        assert status_line.split(" ")[1] == "408", (status_line, problem)
        assert problem["type"] == PROBLEM_TYPE_BASE + "request-timeout"
        assert "after 20 bytes" in str(problem["detail"])
        log = server.log.read_text()
        assert "Traceback" not in log, log
    assert stored(idle_keys_db) == before
