"""Several workers on PostgreSQL, as an operator runs them (real ``datapedia serve``
processes): a key's limit holds across workers, a metadata change is served by every worker
at once, and a PostgreSQL restart under a running worker gives 503 with ``Retry-After`` while
it is down and service again after, without touching the server."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import create_engine, text

from app.api.deps import AppState, get_session
from app.auth.keys import create_key
from app.config import SEEDS_DIR, Settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.seed import seed_all
from tests.dbutil import backend, create_database, drop_database
from tests.servers import PrivateCluster, Server, datapedia_server

# Real processes on PostgreSQL: run once, in the PostgreSQL pass of the suite.
pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="several workers share their state through PostgreSQL"
)
DATASET = "population-2025"
LIMIT = 3


def catalogue_only(url: str, tmp: Path, keys: int = 0) -> list[str]:
    """Migrate and load the authored catalogue (no geography: quick); return reader keys."""
    upgrade(url)
    engine = make_engine(url)
    empty = tmp / "no-sources"
    empty.mkdir(exist_ok=True)
    with transaction(make_session_factory(engine)) as session:
        seed_all(session, empty, SEEDS_DIR)
        made = [create_key(session, "gent", "reader") for _ in range(keys)]
        made.append(create_key(session, "kenniscentrum-vlaamse-steden", "admin"))
    engine.dispose()
    return made


def send_all(
    server: Server, requests: list[tuple[str, str, dict[str, object]]]
) -> list[tuple[httpx.Response, str]]:
    """Concurrent requests, each on a connection of its own (so the workers share them),
    each with a request id of its own (the logs say which worker answered it)."""

    def one(request: tuple[str, str, dict[str, object]]) -> tuple[httpx.Response, str]:
        method, path, options = request
        request_id = uuid.uuid4().hex
        headers = {**options.pop("headers", {}), "X-Request-ID": request_id}  # type: ignore[dict-item]
        with httpx.Client(base_url=server.base, timeout=30) as client:
            return client.request(method, path, headers=headers, **options), request_id  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, requests))


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, list[str]]]:
    tmp = tmp_path_factory.mktemp("workers")
    url = create_database(tmp)
    keys = catalogue_only(url, tmp, keys=4)
    try:
        with datapedia_server(url, tmp, "--workers", "2", feedback_per_minute=str(LIMIT)) as server:
            yield server, keys
    finally:
        drop_database(url)


def workers_that_answered(server: Server, answers: list[tuple[httpx.Response, str]]) -> set[int]:
    pids = server.pids_by_request_id()
    return {pids[request_id] for _, request_id in answers if request_id in pids}


def test_a_keys_limit_holds_across_workers(two_workers: tuple[Server, list[str]]) -> None:
    server, keys = two_workers
    body = {"kind": "question", "title": "Klopt dit?", "body": "Een vraag."}
    # Each round uses a fresh key; a round that one worker answered alone proves nothing.
    for key in keys[:-1]:
        post = (
            "POST",
            f"/api/v1/datasets/{DATASET}/feedback",
            {"json": body, "headers": {"Authorization": f"Bearer {key}"}},
        )
        answers = send_all(server, [dict_copy(post) for _ in range(LIMIT * 3)])
        statuses = sorted(response.status_code for response, _ in answers)
        assert statuses == [201] * LIMIT + [429] * (LIMIT * 2), statuses
        refused = next(r for r, _ in answers if r.status_code == 429)
        assert int(refused.headers["Retry-After"]) >= 1
        if len(workers_that_answered(server, answers)) == 2:
            return
    pytest.fail("every round was answered by one worker alone")


def dict_copy(
    request: tuple[str, str, dict[str, object]],
) -> tuple[str, str, dict[str, object]]:
    method, path, options = request
    return method, path, dict(options)


def test_a_metadata_change_is_served_by_every_worker_at_once(
    two_workers: tuple[Server, list[str]],
) -> None:
    server, keys = two_workers
    reads = [("GET", "/catalog.ttl", {}) for _ in range(8)]
    reads += [("GET", f"/api/v1/datasets/{DATASET}", {}) for _ in range(8)]
    # Both workers render and cache the catalogue and the dataset's description first.
    for _ in range(5):
        warm = send_all(server, [dict_copy(r) for r in reads])
        assert all(r.status_code == 200 for r, _ in warm)
        if len(workers_that_answered(server, warm)) == 2:
            break
    title = f"Bevolking {uuid.uuid4().hex[:8]}"
    patch = httpx.patch(
        f"{server.base}/api/v1/datasets/{DATASET}",
        json={"title": {"nl": title, "en": "Population"}},
        headers={"Authorization": f"Bearer {keys[-1]}"},
        timeout=30,
    )
    assert patch.status_code == 200, patch.text
    after = send_all(server, [dict_copy(r) for r in reads])
    assert len(workers_that_answered(server, after)) == 2
    for response, _ in after:
        assert response.status_code == 200
        assert title in response.text
    details = [r for r, _ in after if r.request.url.path.startswith("/api/")]
    assert len(details) == 8 and all(r.json()["title"]["nl"] == title for r in details)
    # /metrics sums every worker's figures, whichever worker answers.
    metrics = httpx.get(f"{server.base}/metrics", timeout=30).text
    served = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('datapedia_http_requests_total{method="GET",route="/catalog')
    )
    assert served >= 16


def test_no_document_is_dated_after_the_answer_that_sends_it(
    two_workers: tuple[Server, list[str]],
) -> None:
    """A document is dated when it is first sent, on the database's clock; the Date of the
    answer is written as it is sent, one per answer: never earlier than the Last-Modified
    (RFC 9110 §8.8.2.1). uvicorn's Date, renewed once a second, lagged it by a second or two
    on every document sent for the first time."""
    server, _ = two_workers
    for size in range(11, 31):  # each a document of its own, dated now
        answer = httpx.get(f"{server.base}/catalog.ttl?page_size={size}", timeout=30)
        assert answer.status_code == 200
        assert len(answer.headers.get_list("date")) == 1
        date = parsedate_to_datetime(answer.headers["date"])
        assert parsedate_to_datetime(answer.headers["last-modified"]) <= date, answer.headers


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_a_postgresql_restart_under_a_running_worker(
    private_cluster: PrivateCluster, tmp_path: Path
) -> None:
    server_engine = create_engine(private_cluster.url, isolation_level="AUTOCOMMIT")
    with server_engine.connect() as connection:
        connection.execute(text("CREATE DATABASE datapedia"))
    server_engine.dispose()
    url = private_cluster.url.rsplit("/", 1)[0] + "/datapedia"
    catalogue_only(url, tmp_path)
    with (
        datapedia_server(url, tmp_path) as server,
        httpx.Client(base_url=server.base, timeout=30) as client,
    ):
        before = client.get("/api/v1/datasets")
        assert before.status_code == 200

        private_cluster.stop()
        for path in ("/api/v1/datasets", f"/api/v1/datasets/{DATASET}", "/catalog.ttl"):
            down = client.get(path)
            assert down.status_code == 503, (path, down.text)
            assert down.headers["content-type"] == "application/problem+json"
            assert int(down.headers["Retry-After"]) >= 1
            assert "does not answer" in down.json()["detail"]

        private_cluster.start()
        after = client.get("/api/v1/datasets")
        assert after.status_code == 200, after.text
        assert after.json()["total"] == before.json()["total"]
    # SIGTERM: a graceful shutdown (uvicorn re-raises the signal once it is done).
    log = server.log.read_text()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log, log[log.find("Traceback") - 1500 :][:5000]


def test_a_request_session_closes_quietly_when_the_database_went_away_after_the_answer(
    private_cluster: PrivateCluster, caplog: pytest.LogCaptureFixture
) -> None:
    # A request's session is rolled back after its answer was sent; a restart in between
    # must cost a warning, not a traceback from the server (seen under load in CI).
    engine = make_engine(private_cluster.url)
    app = FastAPI()
    app.state.datapedia = AppState(
        settings=Settings(database_url=private_cluster.url),
        session_factory=make_session_factory(engine),
    )
    sessions = get_session(Request({"type": "http", "app": app}))
    session = next(sessions)
    assert session.execute(text("SELECT 1")).scalar_one() == 1

    private_cluster.stop()
    with caplog.at_level(logging.WARNING, logger="datapedia"):
        sessions.close()
    assert "database gone before the request's session was closed" in caplog.text
    engine.dispose()
