"""A client that takes no byte of an answer is cut off after ``DATAPEDIA_SEND_IDLE_SECONDS``:
a streamed answer (a stored download, an export) holds a database connection and its
snapshot until its last byte has been taken, and sockets that read nothing (64 of them from
one address) took every connection of both workers' pools: every other request got 503,
for as long as the sockets stayed open."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import Message, Receive, Scope, Send

from app.api.http import JsonValidator
from app.api.observe import RequestContext
from app.downloads import repository as downloads_repository
from app.downloads import service as downloads
from tests.factories import World
from tests.servers import datapedia_server

DATASET = "population-2025"
URL = f"/api/v1/datasets/{DATASET}/downloads/observations.csv"
# More than a loopback connection buffers (the server's send buffer, the client's window).
SIZE = 16 * downloads_repository.PIECE_BYTES


def _store_large_file(world: World) -> bytes:
    """The dataset's CSV download replaced (under its current stamp) by random bytes, which
    do not compress: the gzip bytes are as large."""
    assert world.client.get(URL).status_code == 200  # written
    plain = random.Random(20261207).randbytes(SIZE)
    with world.factory() as session:
        row = downloads_repository.get(session, DATASET, "observations.csv")
        assert row is not None
        chunks = [plain[i : i + 1_000_003] for i in range(0, SIZE, 1_000_003)]
        downloads.store(session, DATASET, row.name, row.stamp, row.media_type, chunks)
        session.commit()
    return plain


def _read_all(connection: socket.socket) -> bytes:
    connection.settimeout(60)
    received = bytearray()
    while chunk := connection.recv(1 << 20):
        received += chunk
    return bytes(received)


def test_a_client_that_reads_nothing_is_cut_off(world_db: World, tmp_path: Path) -> None:
    plain = _store_large_file(world_db)
    with datapedia_server(world_db.url, tmp_path, send_idle_seconds="1") as server:
        # A client that reads as it goes gets the whole file.
        whole = httpx.get(server.base + URL, headers={"Accept-Encoding": "identity"}, timeout=60)
        assert whole.status_code == 200 and whole.content == plain
        port = int(server.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as stalled:
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
            stalled.sendall(
                f"GET {URL} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n"
                "X-Request-ID: stalled-client\r\n\r\n".encode()
            )
            time.sleep(4)  # reads nothing
            received = _read_all(stalled)  # what was in the buffers, then the close
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert f"content-length: {SIZE}".encode() in head.lower()
        assert len(body) < SIZE  # cut off: the connection was closed
        assert plain.startswith(body)
        # Said once, with the request's id, in its access line; no error of the app.
        records = server.log_records()
        access = [
            r
            for r in records
            if r.get("logger") == "datapedia.access" and r.get("request_id") == "stalled-client"
        ]
        assert len(access) == 1 and access[0]["cut_off"] is True
        assert not [r for r in records if r.get("level") == "ERROR"], records
        # The server answers the next request at once.
        assert httpx.get(server.base + "/api/v1/licences", timeout=10).status_code == 200


def test_a_slow_client_that_reads_is_not_cut_off() -> None:
    """A send waits until the client has taken nearly all it was given: a megabyte at once
    took a slow but live client longer than the time allowed for no byte at all, and it was
    cut off while it read. The server's send is modelled by its wait: the bytes it was given
    over the client's rate."""
    idle = 0.2
    rate = 2_000_000  # bytes per second: a 1 MB body takes 0.5 s, a piece 0.03 s
    body = bytes(1 << 20)
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"end", "more_body": False})

    async def slow_send(message: Message) -> None:
        await asyncio.sleep(len(message.get("body", b"")) / rate)
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope: Scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    asyncio.run(RequestContext(app, send_idle_seconds=idle)(scope, receive, slow_send))
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert b"".join(m["body"] for m in bodies) == body + b"end"
    assert [m["more_body"] for m in bodies] == [True] * (len(bodies) - 1) + [False]


def test_a_client_gone_before_the_answer_began_is_no_server_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Starlette's streamed answer listens for the client's departure and, when it comes
    before the first byte, stops and returns without a word: the access line and the metrics
    said 500 for every export whose client left early, an error the server never made."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> Message:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent to a client that went away")

    scope: Scope = {"type": "http", "method": "GET", "path": "/left-early", "headers": []}
    with caplog.at_level(logging.INFO, logger="datapedia.access"):
        asyncio.run(RequestContext(app)(scope, receive, send))
    [line] = [r for r in caplog.records if r.name == "datapedia.access"]
    assert line.status == 499, line.getMessage()  # type: ignore[attr-defined]
    assert "went away" in line.getMessage()


def test_a_stream_that_finds_no_database_before_its_first_bytes_is_a_503(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An export's first chunk waited for a connection of a pool that had none to spare (or
    found the database gone): the JSON validator still held the answer's start, so nothing
    was sent — the client got a 500 and the log an "unhandled error" with a traceback.
    Starlette re-raises the handled database error as a RuntimeError; it is the 503 with
    ``Retry-After`` every other request gets when the database is away."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/csv; charset=utf-8")],
            }
        )
        try:
            raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")
        except PoolTimeout as exc:
            raise RuntimeError("Caught handled exception, but response already started.") from exc

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope: Scope = {"type": "http", "method": "GET", "path": "/api/v1/x", "headers": []}
    with caplog.at_level(logging.INFO):
        asyncio.run(RequestContext(JsonValidator(app))(scope, receive, send))
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    assert start["status"] == 503
    assert (b"retry-after", b"5") in start["headers"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
