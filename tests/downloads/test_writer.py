"""The stored-files writer: a write is answered without waiting for the files it made stale;
one background thread per app writes them, coalescing signals (the newest revision wins),
logging a failed pass and carrying on, and stopping cleanly with a pass running.

The worker itself is tested with work of the test's own (to hold a pass at a known point);
the app's writer in a world of its own database, with the writer on (the suite's default is
off), on SQLite or PostgreSQL. No test waits a fixed time: they wait for the writer to be idle,
or hold it with ``paused()``."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT
from sqlalchemy import select, text

from app.api.background import CoalescingWorker, Interrupted, PassControl
from app.config import get_settings
from app.db.session import transaction
from app.downloads import repository as downloads_repository
from app.downloads import service as downloads
from app.downloads.models import StoredDownload
from app.main import write_stale_files
from app.rdf import cubefiles
from app.rdf.dcat import Uris
from app.rdf.vocab import SPDX
from app.stats import repository as stats_repository
from app.stats import service as stats_service
from tests.dbutil import backend
from tests.factories import Template, World, app_state_of, open_world

BASE = get_settings().base_url
# Generous: a pass of a world's files takes well under a second; this bounds a hang only.
IDLE_TIMEOUT = 120
DATASET = "population-2025"
CSV_PATH = f"/api/v1/datasets/{DATASET}/downloads/observations.csv"
FILES = {
    "csv": CSV_PATH,
    "json": f"/api/v1/datasets/{DATASET}/downloads/observations.json",
    "cube-turtle": f"/catalog/datasets/{DATASET}/observations.ttl",
    "cube-ntriples": f"/catalog/datasets/{DATASET}/observations.nt",
}


# --- the worker ---------------------------------------------------------------------------


class Recorder:
    """Work that counts its passes and can be held inside a pass."""

    def __init__(self, hold_first: bool = False, fail_first: bool = False) -> None:
        self.calls = 0
        self.started: list[float] = []
        self.inside = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail_first = fail_first

    def __call__(self, control: PassControl) -> None:
        self.started.append(time.monotonic())
        self.calls += 1
        self.inside.set()
        self.release.wait()
        if self.fail_first and self.calls == 1:
            raise RuntimeError("the first pass fails")


@contextmanager
def running(worker: CoalescingWorker) -> Iterator[CoalescingWorker]:
    worker.start()
    try:
        yield worker
    finally:
        assert worker.stop(IDLE_TIMEOUT)


def test_signals_during_a_pass_cause_exactly_one_more_pass() -> None:
    work = Recorder(hold_first=True)
    with running(CoalescingWorker("test-writer", work)) as worker:
        worker.signal()
        assert work.inside.wait(IDLE_TIMEOUT)
        for _ in range(5):
            worker.signal()  # returns at once: the first pass is still held
        assert not worker.wait_idle(0)
        work.release.set()
        assert worker.wait_idle(IDLE_TIMEOUT)
        assert work.calls == 2
        assert worker.passes == 2


def test_with_quiet_a_pass_starts_once_the_signals_have_paused_that_long() -> None:
    work = Recorder()
    quiet = 0.3
    with running(CoalescingWorker("test-writer", work, quiet=quiet)) as worker:
        for _ in range(5):  # a burst: one pass after it
            worker.signal()
        last = time.monotonic()
        assert worker.wait_idle(IDLE_TIMEOUT)
        assert work.calls == 1
        assert work.started[0] >= last + quiet


def test_no_pass_starts_while_paused_and_the_signal_is_served_after() -> None:
    work = Recorder()
    with running(CoalescingWorker("test-writer", work)) as worker:
        with worker.paused():
            worker.signal()
            worker.signal()
            assert not worker.wait_idle(0)
            assert work.calls == 0
        assert worker.wait_idle(IDLE_TIMEOUT)
        assert work.calls == 1


@pytest.mark.server_error
def test_a_failed_pass_is_logged_and_the_next_signal_still_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = Recorder(fail_first=True)
    with (
        caplog.at_level(logging.ERROR, logger="datapedia"),
        running(CoalescingWorker("test-writer", work)) as worker,
    ):
        worker.signal()
        assert worker.wait_idle(IDLE_TIMEOUT)
        failed = [r for r in caplog.records if r.name == "datapedia.background"]
        assert len(failed) == 1
        assert failed[0].exc_info is not None
        assert "the first pass fails" in str(failed[0].exc_info[1])
        worker.signal()
        assert worker.wait_idle(IDLE_TIMEOUT)
        assert work.calls == 2
        assert worker.alive


def test_stop_with_a_pass_running_interrupts_it_and_ends_the_thread() -> None:
    inside = threading.Event()
    interrupted: list[bool] = []

    def work(control: PassControl) -> None:
        inside.set()
        control.stopping.wait()  # a long pass, between two of its checkpoints
        try:
            control.checkpoint()
        except Interrupted:
            interrupted.append(True)
            raise

    worker = CoalescingWorker("test-writer", work)
    worker.start()
    worker.signal()
    assert inside.wait(IDLE_TIMEOUT)
    assert worker.stop(IDLE_TIMEOUT)  # no error logged: the autouse guard would fail the test
    assert not worker.alive
    assert interrupted == [True]
    assert worker.passes == 1


def test_a_pass_waits_at_its_checkpoint_while_a_write_request_runs() -> None:
    inside, passed = threading.Event(), threading.Event()

    def work(control: PassControl) -> None:
        inside.set()
        control.checkpoint()
        passed.set()

    with running(CoalescingWorker("test-writer", work)) as worker:
        assert worker.begin_request()
        worker.signal()
        assert inside.wait(IDLE_TIMEOUT)
        assert not worker.wait_idle(0)
        assert not passed.is_set()  # held at the checkpoint until the request ends
        worker.end_request()
        assert worker.wait_idle(IDLE_TIMEOUT)
        assert passed.is_set()


def test_no_write_request_begins_while_a_file_is_replaced() -> None:
    replacing, committed = threading.Event(), threading.Event()

    def work(control: PassControl) -> None:
        control.before_replace()
        replacing.set()
        committed.wait()
        control.release()

    with running(CoalescingWorker("test-writer", work)) as worker:
        worker.signal()
        assert replacing.wait(IDLE_TIMEOUT)
        assert not worker.begin_request()
        began = threading.Event()
        waiting = threading.Thread(target=lambda: (worker.wait_to_begin_request(), began.set()))
        waiting.start()
        assert not began.is_set()  # it cannot begin before the release
        committed.set()
        assert began.wait(IDLE_TIMEOUT)
        waiting.join()
        worker.end_request()
        assert worker.begin_request()
        worker.end_request()
        assert worker.wait_idle(IDLE_TIMEOUT)


# --- the app's writer on a real database ----------------------------------------------------


@pytest.fixture
def writing_world(world_template: Template, tmp_path: Path) -> Iterator[World]:
    """A world in a database of its own (the writer's thread opens connections of its own)
    with the stored-files writer on, as in production."""
    yield from open_world(world_template, tmp_path, real_database=True, write_stored_files=True)


def writer_of(world: World) -> CoalescingWorker:
    writer = app_state_of(world.client).stored_files_writer
    assert writer is not None
    return writer


def submit(world: World, value: int) -> None:
    upload = f"sector,indicator,period,value,status\r\n44021A00-,population,2025,{value},\r\n"
    answer = world.client.post(
        f"/api/v1/datasets/{DATASET}/submissions",
        content=upload.encode(),
        headers=world.headers("gent"),
    )
    assert answer.status_code in (200, 201), answer.text


class StoredCopy(NamedTuple):
    """A stored file as read back: its row's stamp and checksum, and its gzip bytes."""

    stamp: str
    sha256: str
    content: bytes


def stored_rows(world: World) -> dict[str, StoredCopy]:
    with world.factory() as session:
        rows = session.scalars(select(StoredDownload).where(StoredDownload.dataset_id == DATASET))
        return {
            row.name: StoredCopy(
                row.stamp,
                row.sha256,
                b"".join(downloads_repository.content_pieces(session, row)),
            )
            for row in rows
        }


def latest_revision(world: World) -> int:
    with world.factory() as session:
        return stats_repository.latest_revision(session, DATASET)


def catalogue_sizes(world: World) -> dict[str, tuple[int, str] | None]:
    """(byteSize, SHA-256) the catalogue states per distribution; None where it states none."""
    answer = world.client.get(f"/doc/dataset/{DATASET}", headers={"Accept": "text/turtle"})
    assert answer.status_code == 200
    graph = Graph().parse(data=answer.text, format="turtle")
    sizes: dict[str, tuple[int, str] | None] = {}
    for fmt in FILES:
        distribution = URIRef(f"{BASE}/id/distribution/{DATASET}/{fmt}")
        size = graph.value(distribution, DCAT.byteSize)
        checksum = graph.value(graph.value(distribution, SPDX.checksum), SPDX.checksumValue)
        sizes[fmt] = None if size is None else (int(size), str(checksum))
    return sizes


def assert_catalogue_states_the_served_bytes(world: World) -> None:
    for fmt, (size, checksum) in _all_stated(catalogue_sizes(world)).items():
        served = world.client.get(FILES[fmt], headers={"Accept-Encoding": "identity"})
        assert served.status_code == 200, (fmt, served.text[:200])
        assert len(served.content) == size, fmt
        assert hashlib.sha256(served.content).hexdigest() == checksum, fmt


def _all_stated(sizes: dict[str, tuple[int, str] | None]) -> dict[str, tuple[int, str]]:
    stated = {fmt: size for fmt, size in sizes.items() if size is not None}
    assert stated.keys() == sizes.keys(), f"no size stated for {sizes.keys() - stated.keys()}"
    return stated


def test_the_answer_does_not_wait_for_the_files(writing_world: World) -> None:
    writer = writer_of(writing_world)
    with writer.paused():  # no pass can run: the answer cannot have waited for one
        submit(writing_world, 4321)
        revision = latest_revision(writing_world)
        rows = stored_rows(writing_world)
        assert "observations.csv" not in rows or rows["observations.csv"].stamp.split("|")[
            0
        ] != str(revision)
        assert catalogue_sizes(writing_world)["csv"] is None
        assert not writer.wait_idle(0)  # the pass is asked for
    assert writer.wait_idle(IDLE_TIMEOUT)
    assert stored_rows(writing_world)["observations.csv"].stamp.split("|")[0] == str(revision)


def test_after_the_pass_the_catalogue_states_the_new_sizes_of_the_served_bytes(
    writing_world: World,
) -> None:
    before = catalogue_sizes(writing_world)
    submit(writing_world, 4321)
    assert writer_of(writing_world).wait_idle(IDLE_TIMEOUT)
    after = catalogue_sizes(writing_world)
    assert after["csv"] != before["csv"]
    assert after["cube-turtle"] != before["cube-turtle"]
    assert_catalogue_states_the_served_bytes(writing_world)
    served = writing_world.client.get(CSV_PATH)
    assert "4321" in served.text


def test_two_submissions_in_quick_succession_leave_the_files_of_the_newest(
    writing_world: World,
) -> None:
    writer = writer_of(writing_world)
    with writer.paused():
        submit(writing_world, 1111)
        submit(writing_world, 2222)
        passes = writer.passes
    assert writer.wait_idle(IDLE_TIMEOUT)
    assert writer.passes == passes + 1  # two signals, one pass
    revision = latest_revision(writing_world)
    rows = stored_rows(writing_world)
    assert rows["observations.csv"].stamp.split("|")[0] == str(revision)
    assert rows["observations.ttl"].stamp.startswith(f"{revision}|")
    records = csv.DictReader(
        io.StringIO(gzip.decompress(rows["observations.csv"].content).decode())
    )
    sector = next(r for r in records if r["code"] == "44021A00-")
    assert sector["value"] == "2222"
    assert_catalogue_states_the_served_bytes(writing_world)


@pytest.mark.server_error
def test_a_failed_pass_is_logged_and_the_next_write_has_the_files_written(
    writing_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    writer = writer_of(writing_world)
    caplog.set_level(logging.ERROR, logger="datapedia")
    with writer.paused():
        submit(writing_world, 1111)
        # A real fault in the database: the table of the stored files is away.
        with writing_world.engine.begin() as connection:
            connection.execute(text("ALTER TABLE stored_download RENAME TO stored_download_away"))
    assert writer.wait_idle(IDLE_TIMEOUT)
    failed = [r for r in caplog.records if r.name == "datapedia.background"]
    assert len(failed) == 1 and failed[0].exc_info is not None
    with writing_world.engine.begin() as connection:
        connection.execute(text("ALTER TABLE stored_download_away RENAME TO stored_download"))
    submit(writing_world, 2222)
    assert writer.wait_idle(IDLE_TIMEOUT)
    assert writer.alive
    revision = latest_revision(writing_world)
    assert stored_rows(writing_world)["observations.csv"].stamp.split("|")[0] == str(revision)
    assert_catalogue_states_the_served_bytes(writing_world)


def test_a_file_interrupted_in_the_middle_keeps_its_old_row(writing_world: World) -> None:
    old = stored_rows(writing_world)["observations.csv"]
    worker = CoalescingWorker("test-writer", lambda control: None)  # never started
    control = PassControl(worker)

    def chunks() -> Iterator[bytes]:
        yield b"indicator,period\r\n"
        worker.stopping.set()  # the worker is stopping while this file is being written
        yield b"population,2025\r\n"

    with pytest.raises(Interrupted), transaction(writing_world.factory) as session:
        downloads.store(
            session, DATASET, "observations.csv", "new", "text/csv", chunks(), control=control
        )
    kept = stored_rows(writing_world)["observations.csv"]
    assert (kept.stamp, kept.sha256, kept.content) == (old.stamp, old.sha256, old.content)


class StopAfterChecks(PassControl):
    """A stop asked for at the ``checks``-th checkpoint: between two files, before a file,
    between two chunks of one or right before its row is replaced, depending on ``checks``."""

    def __init__(self, worker: CoalescingWorker, checks: int) -> None:
        super().__init__(worker)
        self.left = checks

    def checkpoint(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise Interrupted
        super().checkpoint()

    def before_replace(self) -> None:
        self.checkpoint()
        super().before_replace()


def version(row: StoredCopy | None) -> tuple[str, str] | None:
    return None if row is None else (row.stamp, row.sha256)


def all_stale(world: World) -> list[tuple[str, str]]:
    with world.factory() as session:
        return cubefiles.stale_files(session, Uris(BASE))


def test_a_pass_interrupted_anywhere_leaves_every_file_whole(writing_world: World) -> None:
    """Passes interrupted at every depth in turn: after each, every stored file is whole
    (its bytes have the SHA-256 stored with them) and the file it was writing keeps its old
    row; files finished before the stop stay written; a pass not interrupted ends the work."""
    writer = writer_of(writing_world)
    state = app_state_of(writing_world.client)
    with writer.paused():
        submit(writing_world, 4321)
        stale = all_stale(writing_world)
        assert (DATASET, "observations.csv") in stale
        interruptions = 0
        for checks in range(1000):
            before = stored_rows(writing_world)
            try:
                write_stale_files(state, StopAfterChecks(writer, checks))
            except Interrupted:
                interruptions += 1
            else:
                break
            left = all_stale(writing_world)
            assert left and set(left) <= set(stale)
            after = stored_rows(writing_world)
            for row in after.values():
                assert hashlib.sha256(gzip.decompress(row.content)).hexdigest() == row.sha256
            dataset_id, name = left[0]
            if dataset_id == DATASET:
                assert version(after.get(name)) == version(before.get(name))
            stale = left
        assert interruptions > 0
        assert all_stale(writing_world) == []
    assert_catalogue_states_the_served_bytes(writing_world)


def test_shutdown_right_after_a_write_ends_the_writer_cleanly(
    world_template: Template, tmp_path: Path
) -> None:
    """The app stops with the pass just asked for (running or about to run): the lifespan's
    shutdown ends the thread, nothing is logged as an error (the autouse guard), and the
    engine is disposed of after the thread ended."""
    with contextmanager(open_world)(
        world_template, tmp_path, real_database=True, write_stored_files=True
    ) as world:
        writer = writer_of(world)
        assert writer.alive
        submit(world, 4321)
    assert not writer.alive
    assert app_state_of(world.client).stored_files_writer is None


def test_without_write_stored_files_there_is_no_writer(world: World) -> None:
    assert app_state_of(world.client).stored_files_writer is None
    submit(world, 4321)
    # The file is written at its first download instead.
    assert "4321" in world.client.get(CSV_PATH).text


def test_parallel_submissions_with_the_writer_leave_the_files_of_the_newest(
    writing_world: World,
) -> None:
    """Eight submissions at once through a real server (the writer yields to each and
    replaces files between them): none fails because of the writer (SQLite may still turn
    one away with 409 when two submissions collide), and the files end at the newest
    revision."""
    import socket
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The test client's lifespan has started the app (and its writer): the server's own
    # lifespan stays off.
    server = uvicorn.Server(
        uvicorn.Config(
            writing_world.client.app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def send(value: int) -> httpx.Response:
        upload = f"sector,indicator,period,value,status\r\n44021A00-,population,2025,{value},\r\n"
        return httpx.post(
            f"http://127.0.0.1:{port}/api/v1/datasets/{DATASET}/submissions",
            content=upload.encode(),
            headers=writing_world.headers("gent"),
            timeout=120,
        )

    try:
        with httpx.Client() as probe:
            for _ in range(600):  # the server's start, not a timing assertion
                if server.started:
                    break
                time.sleep(0.05)
            assert server.started
            assert probe.get(f"http://127.0.0.1:{port}/health").status_code == 200
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(send, range(3000, 3008)))
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    assert any(a.status_code == 201 for a in answers)
    assert writer_of(writing_world).wait_idle(IDLE_TIMEOUT)
    revision = latest_revision(writing_world)
    rows = stored_rows(writing_world)
    assert rows["observations.csv"].stamp.split("|")[0] == str(revision)
    assert rows["observations.nt"].stamp.startswith(f"{revision}|")
    assert_catalogue_states_the_served_bytes(writing_world)


class SubmitBeforeReplace(PassControl):
    """A submission committed by another connection once the pass has read a file's rows,
    right before it replaces the stored file (the first time only)."""

    def __init__(self, worker: CoalescingWorker, world: World) -> None:
        super().__init__(worker)
        self.world = world
        self.submitted = False

    def before_replace(self) -> None:
        if not self.submitted:
            self.submitted = True
            submit(self.world, 5555)  # before the replace begins: it would wait for it
        super().before_replace()


def test_a_write_committed_while_a_file_is_read_leaves_it_to_the_next_pass(
    writing_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """On SQLite the pass's read snapshot can no longer write once another connection has
    committed ("database is locked"): the pass ends without an error and asks for another,
    which writes the files of the newest revision; on PostgreSQL the pass goes on and the
    submission's own signal brings the next one. Either way nothing is logged as an error."""
    writer = writer_of(writing_world)
    caplog.set_level(logging.INFO, logger="datapedia")
    with writer.paused():
        submit(writing_world, 4321)
        control = SubmitBeforeReplace(writer, writing_world)
        write_stale_files(app_state_of(writing_world.client), control)
        assert control.submitted
        assert not writer.wait_idle(0)  # another pass is wanted
    assert writer.wait_idle(IDLE_TIMEOUT)
    met = [r for r in caplog.records if "met a concurrent write" in r.getMessage()]
    assert len(met) == (1 if backend() == "sqlite" else 0)
    assert all_stale(writing_world) == []
    rows = stored_rows(writing_world)
    assert rows["observations.csv"].stamp.split("|")[0] == str(latest_revision(writing_world))
    assert b"5555" in gzip.decompress(rows["observations.csv"].content)
    assert_catalogue_states_the_served_bytes(writing_world)


class DatabaseGoneBeforeReplace(PassControl):
    """Every other backend of the database terminated (as a restart of PostgreSQL or
    ``pg_terminate_backend`` does) once the pass has read a file, right before it replaces
    the stored file (the first time only)."""

    def __init__(self, worker: CoalescingWorker, world: World) -> None:
        super().__init__(worker)
        self.world = world
        self.terminated = False

    def before_replace(self) -> None:
        if not self.terminated:
            self.terminated = True
            with self.world.engine.connect() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        super().before_replace()


@pytest.mark.skipif(backend() != "postgresql", reason="a backend terminated is PostgreSQL's")
def test_a_pass_the_database_cut_short_is_a_warning_and_tried_again(
    writing_world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart of PostgreSQL in the middle of a pass logged an error with two tracebacks
    (``stored-files-writer: pass failed``), and the files stayed stale until the next write
    or download; now it is one warning, and a pass a little later writes them."""
    monkeypatch.setattr("app.main.WRITER_RETRY_SECONDS", 0.05)
    writer = writer_of(writing_world)
    caplog.set_level(logging.INFO, logger="datapedia")
    with writer.paused():
        submit(writing_world, 6543)
        control = DatabaseGoneBeforeReplace(writer, writing_world)
        write_stale_files(app_state_of(writing_world.client), control)
        assert control.terminated
        assert not writer.wait_idle(0)  # another pass is wanted
    assert writer.wait_idle(IDLE_TIMEOUT)
    gone = [r for r in caplog.records if "the database went away" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelno == logging.WARNING
    assert gone[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert all_stale(writing_world) == []
    rows = stored_rows(writing_world)
    assert rows["observations.csv"].stamp.split("|")[0] == str(latest_revision(writing_world))
    assert b"6543" in gzip.decompress(rows["observations.csv"].content)


@pytest.mark.skipif(backend() != "postgresql", reason="exports in parts are PostgreSQL's")
def test_the_writer_formats_a_csv_on_one_backend(
    writing_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass leaves the second core to the requests: the stored CSV of a dataset of two
    periods is made by one backend, where a request's export of it is made in parts."""
    in_parts: list[int] = []
    real = stats_repository._lines_in_parts

    def counted(*args: object, **kwargs: object) -> Iterator[str]:
        in_parts.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stats_repository, "_lines_in_parts", counted)
    writer = writer_of(writing_world)
    with writer.paused():
        upload = "sector,indicator,period,value,status\r\n" + "".join(
            f"44021A0{n}-,population,{period},{100 + n},\r\n"
            for n in range(3)
            for period in ("2024", "2025")
        )
        answer = writing_world.client.post(
            f"/api/v1/datasets/{DATASET}/submissions",
            content=upload.encode(),
            headers=writing_world.headers("gent"),
        )
        assert answer.status_code == 201, answer.text
    assert writer.wait_idle(IDLE_TIMEOUT)
    assert in_parts == []
    stored = gzip.decompress(stored_rows(writing_world)["observations.csv"].content)
    assert b"\r\npopulation,2024," in stored and b"\r\npopulation,2025," in stored
    streamed = writing_world.client.get(
        f"/api/v1/datasets/{DATASET}/observations",
        params={"format": "csv", "level": "sector"},
        headers={"Accept": "text/csv"},
    )
    assert streamed.status_code == 200
    assert in_parts == [1]
    assert b"population,2024,sector" in streamed.content


def test_a_file_written_anew_before_its_first_piece_is_sent_as_it_is_now(
    writing_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request reads the stored file's row, its unit of work ends, and only then are
    the pieces read: a writer that replaced the file in between left the request without
    pieces (a 500 under concurrent submissions, and the connection reset). The file as it
    is now is sent instead, whole, with its own headers — also when a newer revision has
    been committed since, whose file is not written yet (that was a 503)."""
    writer = writer_of(writing_world)
    url = f"/api/v1/datasets/{DATASET}/downloads/observations.csv"
    with writer.paused():
        submit(writing_world, 4321)
        first = writing_world.client.get(url)  # writes the file
        assert first.status_code == 200, first.text
        real = downloads_repository.content_pieces
        opened: list[str] = []
        newer = first.content.replace(b"4321", b"8765")

        def replaced_first(
            session: object, stored: StoredDownload, start: int = 0
        ) -> Iterator[bytes]:
            opened.append(stored.file_id)
            if len(opened) == 1:
                # The writer's turn, between the request's row and its first piece; and a
                # revision committed after it.
                with transaction(writing_world.factory) as other:
                    downloads.store(
                        other, DATASET, stored.name, "written-for-a-later-revision",
                        stored.media_type, [newer],
                    )  # fmt: skip
            return real(session, stored, start)  # type: ignore[arg-type]

        monkeypatch.setattr(downloads_repository, "content_pieces", replaced_first)
        again = writing_world.client.get(url)
    assert again.status_code == 200, again.text
    assert again.content == newer
    assert again.headers["etag"] != first.headers["etag"]
    assert len(opened) == 2 and opened[0] != opened[1]


def test_a_jsonstat_document_holds_the_values_of_the_revision_whose_date_it_states(
    writing_world: World,
) -> None:
    """JSON-stat states when its values were made (``updated``). Read over several
    statements, a revision committed meanwhile gave the new values beside the old date:
    8 documents of a few thousand under concurrent submissions. The values are read at
    the revision the date is of."""
    submit(writing_world, 4321)
    with writing_world.factory() as session:
        query = stats_service.pinned(session, stats_service.whole_dataset_query(session, DATASET))
        session.commit()  # what follows reads in statements of their own
        submit(writing_world, 8765)  # committed between the date and the values
        updated = stats_service.updated_at(session, query)
        values = {
            r["value"]
            for r in stats_service.iter_records(session, query)
            if r["code"] == "44021A00-" and r["level"] == "sector"
        }
        made = stats_repository.revision_made_at(session, DATASET, int(query.revision or 0))
    assert values == {4321}
    assert updated == made
