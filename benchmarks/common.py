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
            # The app writes each answer's Date itself, as `datapedia serve` has it.
            "--no-date-header",
        ],
        # Its own address as the base URL: the Link headers it sends are absolute.
        env={
            **os.environ,
            "DATAPEDIA_DATABASE_URL": database_url,
            "DATAPEDIA_BASE_URL": f"http://127.0.0.1:{port}",
        },
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


@contextmanager
def datapedia_workers(database_url: str, workers: int, **settings: str) -> Iterator[int]:
    """``datapedia serve --workers N`` as an operator runs it (logs discarded); yields the
    port once every worker answers."""
    with datapedia_process(database_url, workers, **settings) as (port, _):
        yield port


@contextmanager
def datapedia_process(
    database_url: str, workers: int, **settings: str
) -> Iterator[tuple[int, int]]:
    """Like ``datapedia_workers``; yields the port and the pid of the serving process (the
    workers are its children)."""
    port = free_port()
    env = {
        **os.environ,
        "DATAPEDIA_DATABASE_URL": database_url,
        **{f"DATAPEDIA_{k.upper()}": v for k, v in settings.items()},
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [str(PROJECT_ROOT / ".venv" / "bin" / "datapedia"), "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, "/ready", workers)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


@contextmanager
def trivial_server() -> Iterator[int]:
    """The reference: a trivial FastAPI endpoint on uvicorn, one worker, no access log."""
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "benchmarks.trivial_app:app"),
            *("--port", str(port), "--log-level", "warning", "--no-access-log"),
        ],
        cwd=PROJECT_ROOT,
    )
    try:
        _wait_for(port, "/ping", 1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for(port: int, path: str, workers: int) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200:
                # Workers start one after the other: give the last one time to import.
                time.sleep(2.0 * workers)
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no server answered on port {port}")
