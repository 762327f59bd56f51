"""A database that took the connection and went silent (a stalled network, a stopped proxy):
``/ready`` answers 503 within its wait instead of hanging with the probe, and asks again in
one thread only; once the database answers again, so does ``/ready``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.api import observe
from app.config import Settings
from app.main import create_app
from tests.dbutil import backend

pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="a network connection to stall: PostgreSQL's"
)
WAIT = 1.0


class StallingProxy:
    """Forwards TCP connections to the database server; while ``stalled`` is set it keeps
    what either side sends (the kernel still acknowledges it: the driver cannot tell)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.stalled = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(1 << 16):
                while self.stalled.is_set():
                    time.sleep(0.02)
                sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.stalled.clear()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def proxied(empty_db: str) -> Iterator[tuple[StallingProxy, str]]:
    url = make_url(empty_db)
    proxy = StallingProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    finally:
        proxy.close()


def test_ready_answers_503_in_bounded_time_while_the_database_is_silent(
    proxied: tuple[StallingProxy, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, url = proxied
    monkeypatch.setattr(observe, "READY_WAIT_SECONDS", WAIT)
    with TestClient(create_app(Settings(database_url=url, write_stored_files=False))) as client:
        assert client.get("/ready").status_code == 200
        proxy.stalled.set()
        threads_before = threading.active_count()
        start = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: client.get("/ready"), range(4)))
        took = time.monotonic() - start
        assert [a.status_code for a in answers] == [503] * 4
        assert took < WAIT + 3, took
        problem = answers[0].json()
        assert "has not answered within 1 s" in problem["detail"]
        assert answers[0].headers["retry-after"] == "5"
        assert answers[0].headers["content-type"] == "application/problem+json"
        # Four probes, one question: one thread waits on the database, not four.
        assert threading.active_count() - threads_before <= 1
        assert client.get("/health").status_code == 200  # liveness never asks the database
        proxy.stalled.clear()
        deadline = time.monotonic() + 10
        while (answer := client.get("/ready")).status_code != 200:
            assert time.monotonic() < deadline, answer.text
        assert answer.json()["database"] == "ok"
