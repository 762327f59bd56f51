"""Real server processes for the tests that need them: ``datapedia serve`` as an operator runs
it, and a private throw-away PostgreSQL cluster that a test may stop and start (never the
shared server, which other tests and engineers use)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATAPEDIA = Path(sys.executable).parent / "datapedia"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def log_records(self) -> list[dict[str, Any]]:
        """The server's JSON log lines (DATAPEDIA_LOG_FORMAT=json)."""
        records = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def pids_by_request_id(self) -> dict[str, int]:
        return {
            r["request_id"]: r["pid"]
            for r in self.log_records()
            if r.get("logger") == "datapedia.access"
        }


@contextmanager
def datapedia_server(database_url: str, tmp: Path, *args: str, **settings: str) -> Iterator[Server]:
    """``datapedia serve`` on a free port with JSON logs, ready when this yields; stopped
    with SIGTERM (a graceful shutdown) afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "DATAPEDIA_DATABASE_URL": database_url,
        "DATAPEDIA_LOG_FORMAT": "json",
        **{f"DATAPEDIA_{k.upper()}": v for k, v in settings.items()},
    }
    env.pop("DATAPEDIA_BASE_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(DATAPEDIA), "serve", "--port", str(port), *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server stopped: {server.log.read_text()[-3000:]}")
        try:
            if httpx.get(server.base + "/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not become ready: {server.log.read_text()[-3000:]}")


class PrivateCluster:
    """A PostgreSQL cluster of this test's own in a temporary folder (as root, run as the
    ``postgres`` OS user, which initdb requires), on a free port with its socket in that
    folder."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"no PostgreSQL binaries in {PG_BIN}")
        self.folder = Path(tempfile.mkdtemp(prefix="datapedia-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.folder, user="postgres", group="postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, str(PG_BIN / tool), *args],
            check=True,
            capture_output=True,
            cwd=self.folder,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
