"""SIGTERM with a request in flight, on the real server (``datapedia serve``, with one worker
and with a supervisor of two): a submission whose body is still being uploaded when the
signal comes completes and is stored as a revision, new connections are refused from the
signal on, and the process exits 0 within the graceful timeout
(``DATAPEDIA_GRACEFUL_SHUTDOWN_SECONDS``)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.types import Message, Receive, Scope, Send

from app.api.observe import RequestContext, RequestIdFilter
from app.db.session import make_engine
from tests.dbutil import copy_database, drop_database
from tests.factories import Template
from tests.servers import datapedia_server

DATASET = "population-2025"
GRACE = 20


def refuses_connections(port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass
        except (ConnectionRefusedError, ConnectionResetError):
            # Reset: the probe was in the listen queue when the server closed its socket.
            return True
        time.sleep(0.05)
    return False


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def submissions(url: str) -> list[tuple[int, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT revision, rows_total FROM submission ORDER BY revision")
            ).all()
            return [(revision, total) for revision, total in rows]
    finally:
        engine.dispose()


def upload_head(port: int, key: str, length: int) -> bytes:
    """The request line and headers of a CSV submission whose body follows."""
    return (
        f"POST /api/v1/datasets/{DATASET}/submissions HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: text/csv\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_lets_an_upload_in_flight_finish(
    world_template: Template, tmp_path: Path, workers: str
) -> None:
    url = copy_database(world_template.url, tmp_path)
    try:
        before = submissions(url)
        rows = "".join(
            f"{sector},population,2025,{100 + i},\n"
            for i, sector in enumerate(("44021A00-", "44021A01-", "44021ZZZZ"))
        )
        body = ("sector,indicator,period,value,status\n" + rows).encode()
        with datapedia_server(
            url, tmp_path, "--workers", workers, graceful_shutdown_seconds=str(GRACE)
        ) as server:
            port = int(server.base.rsplit(":", 1)[1])
            head = upload_head(port, world_template.keys["gent"], len(body))
            with socket.create_connection(("127.0.0.1", port), timeout=60) as upload:
                # Headers and half the body: the request is in flight, the rest not yet sent.
                upload.sendall(head + body[: len(body) // 2])
                time.sleep(1.0)
                signalled = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                assert refuses_connections(port, within=10), "new connections still accepted"
                assert server.process.poll() is None, "the server did not wait for the upload"
                upload.sendall(body[len(body) // 2 :])
                answer = read_until_closed(upload)
            exit_status = server.process.wait(timeout=GRACE + 30)
            stopped_after = time.monotonic() - signalled
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 201"), answer[:2000]
        result = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert result["rows_added"] == 3
        assert exit_status == 0, server.log.read_text()[-3000:]
        assert stopped_after < GRACE
        log = server.log.read_text()
        assert "Traceback" not in log
        assert "Application shutdown complete" in log
        # The revision is stored whole: one submission more, with all its rows.
        assert submissions(url) == [*before, (result["revision"], 3)]
    finally:
        drop_database(url)


def test_an_upload_still_arriving_when_the_grace_runs_out_is_a_503(
    world_template: Template, tmp_path: Path
) -> None:
    url = copy_database(world_template.url, tmp_path)
    try:
        before = submissions(url)
        body = b"sector,indicator,period,value,status\n44021A00-,population,2025,100,\n"
        with datapedia_server(url, tmp_path, graceful_shutdown_seconds="1") as server:
            port = int(server.base.rsplit(":", 1)[1])
            head = upload_head(port, world_template.keys["gent"], len(body))
            with socket.create_connection(("127.0.0.1", port), timeout=60) as upload:
                # The rest of the body never comes: the shutdown's grace runs out first.
                upload.sendall(head + body[:20])
                time.sleep(1.0)
                server.process.send_signal(signal.SIGTERM)
                answer = read_until_closed(upload)
            exit_status = server.process.wait(timeout=30)
        head_lines, _, payload = answer.partition(b"\r\n\r\n")
        assert head_lines.startswith(b"HTTP/1.1 503"), answer[:2000]
        assert b"content-type: application/problem+json" in head_lines.lower()
        assert b"retry-after: 5" in head_lines.lower()
        assert "was not stored" in json.loads(payload)["detail"]
        assert exit_status == 0
        log = server.log.read_text()
        assert "Traceback" not in log and "Exception in ASGI application" not in log, log
        assert submissions(url) == before
    finally:
        drop_database(url)


def test_an_answer_the_shutdown_cuts_off_is_one_warning_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A long download still being sent when the graceful time is over is cancelled by the
    server: its access line says it was cut off (it said 200, as if complete), and uvicorn's
    "Exception in ASGI application" with two tracebacks becomes one warning."""

    async def download(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise asyncio.CancelledError  # what the server does when the grace is over

    async def discard(message: Message) -> None:
        return None

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    scope: Scope = {"type": "http", "method": "GET", "path": "/file.csv", "headers": []}
    with (
        caplog.at_level(logging.INFO),
        pytest.raises(asyncio.CancelledError),
    ):
        asyncio.run(RequestContext(download)(scope, nothing, discard))
    access = [r for r in caplog.records if r.name == "datapedia.access"]
    assert len(access) == 1 and "GET /file.csv 200" in access[0].getMessage()
    assert "cut off: the shutdown's" in access[0].getMessage() and access[0].cut_off is True
    (warning,) = [r for r in caplog.records if r.name == "datapedia"]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        "answer cut off: the shutdown's graceful time was over before the answer's end"
    )

    try:
        raise asyncio.CancelledError
    except asyncio.CancelledError:
        record = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application\n",
            (), sys.exc_info(),
        )  # fmt: skip
    # uvicorn's "Exception in ASGI application" with its traceback: said already, dropped.
    assert not RequestIdFilter().filter(record)
    # And its line when the grace ran out, an ERROR that paged operators at every deploy with
    # a download running: what the setting is for, so a warning.
    ran_out = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1,
        "Cancel %s running task(s), timeout graceful shutdown exceeded", (1,), None,
    )  # fmt: skip
    assert RequestIdFilter().filter(ran_out)
    assert (ran_out.levelno, ran_out.levelname) == (logging.WARNING, "WARNING")
    assert ran_out.getMessage() == "Cancel 1 running task(s), timeout graceful shutdown exceeded"


def test_an_export_the_database_leaves_is_one_warning_with_its_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database went away while a streamed export was being sent: the client's answer is
    cut off (all the server can do), the access line says so, and the log holds one warning
    with the request's id — not two tracebacks without one and an access line saying 200."""

    async def export(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"rows", "more_body": True})
        raise OperationalError(
            "SELECT ...", {}, Exception("terminating connection due to administrator command")
        )

    async def discard(message: Message) -> None:
        return None

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/observations",
        "headers": [(b"x-request-id", b"export-1")],
    }
    handler = logging.Handler()
    handler.addFilter(RequestIdFilter())
    seen: list[logging.LogRecord] = []
    handler.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        with caplog.at_level(logging.INFO), pytest.raises(asyncio.CancelledError):
            asyncio.run(RequestContext(export)(scope, nothing, discard))
    finally:
        logging.getLogger().removeHandler(handler)
    mine = [r for r in seen if r.name.startswith("datapedia")]
    assert [(r.name, r.levelno) for r in mine] == [
        ("datapedia", logging.WARNING),
        ("datapedia.access", logging.INFO),
    ], [r.getMessage() for r in mine]
    warning, access = mine
    assert warning.getMessage().startswith("answer cut off: the database went away")
    assert "terminating connection" in warning.getMessage() and warning.exc_info is None
    assert all(r.request_id == "export-1" for r in mine)  # type: ignore[attr-defined]
    assert access.cut_off is True and "cut off: the database went away" in access.getMessage()


def test_an_answer_made_around_the_app_is_readable_from_another_origin() -> None:
    """The 503 of a request the shutdown cancelled before it began (and the 500 of an
    unexpected error) is made outside the CORS layer: without its headers a browser app on
    another origin saw only a CORS error, not the problem, its Retry-After or request id."""

    async def cancelled(scope: Scope, receive: Receive, send: Send) -> None:
        raise asyncio.CancelledError  # the grace was over before the answer began

    sent: list[Message] = []

    async def keep(message: Message) -> None:
        sent.append(message)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/datasets",
        "headers": [(b"origin", b"https://journalist.example")],
    }
    asyncio.run(RequestContext(cancelled)(scope, nothing, keep))
    start = sent[0]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert start["status"] == 503
    assert headers["content-type"] == "application/problem+json"
    assert headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "x-request-id"} <= exposed
