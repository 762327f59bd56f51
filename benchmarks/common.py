"""What the benchmarks share: a real uvicorn server on a free local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from app.config import PROJECT_ROOT

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(database_url: str) -> Iterator[tuple[httpx.Client, int]]:
    """A client of a Datapedia server (its own process) on ``database_url``, and its pid."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app_factory",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "DATAPEDIA_DATABASE_URL": database_url},
        cwd=PROJECT_ROOT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            # Up to two minutes: on a loaded machine the server takes a while to start.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield client, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)
