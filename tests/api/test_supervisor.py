"""``datapedia serve --workers 2`` as an operator runs it: connections opened at once spread
over both workers (each listens on a socket of its own), a worker that dies is replaced
without the service going away, and a port already in use is one line, not a traceback."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.api import workers
from app.api.workers import RESTART_LIMIT, RESTART_WINDOW_SECONDS, Supervisor
from app.db.migrate import upgrade
from tests.dbutil import create_database, drop_database
from tests.servers import DATAPEDIA, Server, datapedia_server

CONNECTIONS = 16


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("supervisor")
    url = create_database(tmp)
    upgrade(url)
    try:
        with datapedia_server(url, tmp, "--workers", "2") as server:
            yield server
    finally:
        drop_database(url)


def port_of(server: Server) -> int:
    return int(server.base.rsplit(":", 1)[1])


def ask_on_open_connections(server: Server, count: int) -> list[str]:
    """Open ``count`` connections first, as a proxy or load generator does, then send one
    request on each and read the answers; the request ids sent."""
    port = port_of(server)
    connections = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(count)]
    request_ids = []
    try:
        for connection in connections:
            request_id = uuid.uuid4().hex
            request_ids.append(request_id)
            connection.sendall(
                f"GET /ready HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"X-Request-ID: {request_id}\r\n\r\n".encode()
            )
        for connection in connections:
            assert connection.recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        for connection in connections:
            connection.close()
    return request_ids


def answered_by(server: Server, request_ids: list[str]) -> set[int]:
    # The access log is written after the answer is sent: wait until every request is in it.
    deadline = time.monotonic() + 10
    while True:
        pids = server.pids_by_request_id()
        if all(r in pids for r in request_ids) or time.monotonic() > deadline:
            return {pids[r] for r in request_ids if r in pids}
        time.sleep(0.1)


def serve_and_fail(
    tmp_path: Path, *args: str, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    """``datapedia serve`` that is expected to stop at once (its exit status and stderr)."""
    env = {**os.environ, "DATAPEDIA_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    env.pop("DATAPEDIA_BASE_URL", None)
    return subprocess.run(
        [str(DATAPEDIA), "serve", *args],
        capture_output=True,
        text=True,
        env={**env, **env_extra},
        timeout=60,
    )


def worker_pids(server: Server) -> list[int]:
    return [
        int(r["message"].rsplit(" ", 1)[1])
        for r in server.log_records()
        if r.get("message", "").startswith("started worker process")
    ]


def test_connections_opened_at_once_spread_over_the_workers(two_workers: Server) -> None:
    request_ids = ask_on_open_connections(two_workers, CONNECTIONS)
    # The kernel hashes each connection to one of the two sockets: all 16 on one worker
    # happens once in 32,768 runs; with one shared socket it was the rule.
    assert len(answered_by(two_workers, request_ids)) == 2
    # With DATAPEDIA_LOG_FORMAT=json every line is a JSON object, the supervisor's own too,
    # stamped in ISO 8601 with its zone, without uvicorn's terminal colours.
    lines = two_workers.log.read_text().splitlines()
    records = two_workers.log_records()
    assert len(records) == len(lines) > 0
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", r["time"]) for r in records)
    assert not any("color_message" in r for r in records)
    assert any(r["message"].startswith("2 worker(s) on http://") for r in records)


def test_a_worker_that_dies_is_replaced(two_workers: Server) -> None:
    answered = answered_by(two_workers, ask_on_open_connections(two_workers, CONNECTIONS))
    victim = min(answered)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        try:
            request_ids = ask_on_open_connections(two_workers, CONNECTIONS)
        except ConnectionResetError:
            # Connections the kernel queued on the dead worker's socket are reset with it.
            request_ids = []
        now = answered_by(two_workers, request_ids)
        if len(now) == 2 and victim not in now:
            break
        assert time.monotonic() < deadline, f"no second worker after killing {victim}: {now}"
        time.sleep(0.5)
    assert two_workers.process.poll() is None
    assert "ended (exit status -9); starting another" in two_workers.log.read_text()


def test_a_second_server_on_the_port_is_refused(two_workers: Server, tmp_path: Path) -> None:
    # Every worker's socket allows port sharing: without the check, both servers' workers
    # would take turns answering, each with its own configuration.
    port = port_of(two_workers)
    done = serve_and_fail(tmp_path, "--port", str(port), "--workers", "2")
    assert done.returncode == 1, done.stderr
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr
    assert two_workers.process.poll() is None


def running(pid: int) -> bool:
    """Alive and not a zombie (a re-parented child may never be reaped in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    url = create_database(tmp_path)
    upgrade(url)
    try:
        with datapedia_server(url, tmp_path, "--workers", "2") as server:
            workers = worker_pids(server)
            assert len(workers) == 2 and all(running(w) for w in workers)
            server.process.kill()
            server.process.wait()
            deadline = time.monotonic() + 30
            while any(running(w) for w in workers):
                assert time.monotonic() < deadline, "workers serve on without their supervisor"
                time.sleep(0.2)
    finally:
        drop_database(url)


def test_the_metrics_folder_is_made_again_and_removed_at_the_end(tmp_path: Path) -> None:
    url = create_database(tmp_path)
    upgrade(url)
    try:
        with datapedia_server(url, tmp_path, "--workers", "2") as server:
            folder = metrics_folder(worker_pids(server)[0])
            assert folder.is_dir()
            shutil.rmtree(folder)  # as a cleaner of the temporary folder would
            deadline = time.monotonic() + 10
            while not folder.is_dir():
                assert time.monotonic() < deadline, "the metrics folder was not made again"
                time.sleep(0.1)
            # The workers are replaced to count into the new folder: requests are counted
            # again (they were not, for as long as the workers lived).
            deadline = time.monotonic() + 60
            while True:
                httpx.get(server.base + "/api/v1/licences", timeout=10)
                scraped = httpx.get(server.base + "/metrics", timeout=10)
                assert scraped.status_code == 200
                if 'route="/api/v1/licences"' in scraped.text:
                    break
                assert time.monotonic() < deadline, "requests are not counted again"
                time.sleep(0.5)
            assert len(worker_pids(server)) == 4  # two replaced by two
        assert not folder.exists(), "a clean stop leaves its metrics folder behind"
    finally:
        drop_database(url)


def test_renewed_workers_serve_until_their_replacements_do(tmp_path: Path) -> None:
    """The workers renewed after their metrics folder was removed were stopped 10 s after
    their replacements started, serving or not: on a loaded machine the replacements were
    still starting, and for a moment no worker listened (connections refused). Each now
    serves until its replacement does."""
    url = create_database(tmp_path)
    upgrade(url)
    try:
        with datapedia_server(url, tmp_path, "--workers", "2") as server:
            old = set(worker_pids(server))
            shutil.rmtree(metrics_folder(old.copy().pop()))
            deadline = time.monotonic() + 30
            while len(new := set(worker_pids(server)) - old) < 2:
                assert time.monotonic() < deadline, "the workers were not renewed"
                time.sleep(0.01)
            # The replacements held as they start (before they listen: a spawned worker
            # imports the app first), as a loaded machine holds them.
            for pid in new:
                os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(workers.RENEWAL_OVERLAP_SECONDS + 3)
                assert all(running(pid) for pid in old)
                for _ in range(8):
                    answer = httpx.get(server.base + "/api/v1/licences", timeout=10)
                    assert answer.status_code == 200
            finally:
                for pid in new:
                    os.kill(pid, signal.SIGCONT)
            deadline = time.monotonic() + 60
            while any(running(pid) for pid in old):
                assert time.monotonic() < deadline, "the renewed workers were not stopped"
                time.sleep(0.2)
            for _ in range(8):
                assert httpx.get(server.base + "/api/v1/licences", timeout=10).status_code == 200
    finally:
        drop_database(url)


def metrics_folder(worker: int) -> Path:
    environment = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    return Path(
        next(e for e in environment if e.startswith(b"PROMETHEUS_MULTIPROC_DIR="))
        .split(b"=", 1)[1]
        .decode()
    )


def test_a_metrics_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    folder = str(tmp_path / "a-file" / "metrics")
    done = serve_and_fail(tmp_path, "--workers", "2", PROMETHEUS_MULTIPROC_DIR=folder)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: PROMETHEUS_MULTIPROC_DIR={folder}: Not a directory"


# A SQLite URL of its own, whatever the suite's database: once, in the SQLite suite.
@pytest.mark.only_on("sqlite")
def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve_and_fail(tmp_path, "--port", str(port), "--workers", "2")
    assert done.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr
    assert "Traceback" not in done.stderr


class DeadWorker:
    """A worker process that has ended with status 1 (as one that fails after starting)."""

    pid = 4242
    exitcode = 1

    def is_alive(self) -> bool:
        return False


@pytest.mark.server_error  # the supervisor logs the stop as an error, as it should
def test_workers_that_keep_dying_stop_the_supervisor(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = Supervisor(config={}, count=1, stop_seconds=1)
    monkeypatch.setattr(supervisor, "_start_worker", DeadWorker)
    supervisor.workers = [DeadWorker()]  # type: ignore[list-item]
    clock = [1000.0]
    monkeypatch.setattr(workers.time, "monotonic", lambda: clock[0])
    # Restarted while the deaths are spread out: a minute apart, any number of them.
    for _ in range(2 * RESTART_LIMIT):
        clock[0] += RESTART_WINDOW_SECONDS
        supervisor._replace_dead_workers()
    assert not supervisor.failed
    # Then ten restarts within a minute, and the eleventh death stops it (status 1).
    for _ in range(RESTART_LIMIT - 1):
        clock[0] += 1
        supervisor._replace_dead_workers()
        assert not supervisor.failed
    clock[0] += 1
    supervisor._replace_dead_workers()
    assert supervisor.failed and supervisor.stopping
    assert caplog.records[-1].getMessage() == (
        f"worker process 4242 ended (exit status 1) after {RESTART_LIMIT} restarts within "
        f"{RESTART_WINDOW_SECONDS:.0f} s; stopping"
    )
