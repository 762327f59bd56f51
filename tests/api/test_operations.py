"""What an operator relies on, in process: the schema gate (503 naming the command until the
database is migrated, then serving without a restart), request ids, metrics, compression,
cached static assets, and the catalogue change counter that keys every worker's caches."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.db.migrate import upgrade
from app.main import create_app
from tests.factories import World


def test_an_unmigrated_database_answers_503_with_the_command_until_it_is_migrated(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    with TestClient(create_app(Settings(database_url=url))) as client:
        for path in ("/api/v1/datasets", "/catalog.ttl", "/ready", "/api/v1", "/docs"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["command"] == "datapedia db upgrade"
            assert "has no schema yet" in problem["detail"]
        assert client.head("/api/v1/datasets").status_code == 503
        # Liveness and metrics answer whatever state the database is in.
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/metrics").status_code == 200

        upgrade(url)
        assert client.get("/api/v1/datasets").status_code == 200


def test_a_file_that_is_no_sqlite_database_is_named_not_sent_to_db_upgrade(
    tmp_path: Path,
) -> None:
    other = tmp_path / "observations.csv"
    other.write_text("sector,indicator,period,value,status\n" * 200)
    with TestClient(create_app(Settings(database_url=f"sqlite:///{other}"))) as client:
        for path in ("/ready", "/api/v1/datasets"):
            response = client.get(path)
            assert response.status_code == 503, path
            problem = response.json()
            assert "command" not in problem, problem
            assert problem["detail"].startswith("the database cannot be read: "), problem
            assert "not a SQLite database (check the path)" in problem["detail"]
        assert client.get("/health").status_code == 200


def test_request_id_is_taken_or_made_and_returned(client: TestClient) -> None:
    given = client.get("/api/v1/geo/levels", headers={"X-Request-ID": "trace-42"})
    assert given.headers["X-Request-ID"] == "trace-42"
    made = client.get("/api/v1/geo/levels")
    other = client.get("/api/v1/geo/levels")
    assert len(made.headers["X-Request-ID"]) == 32
    assert made.headers["X-Request-ID"] != other.headers["X-Request-ID"]
    # An id that cannot be logged safely (too long) is replaced, not echoed.
    long = client.get("/api/v1/geo/levels", headers={"X-Request-ID": "x" * 200})
    assert long.headers["X-Request-ID"] != "x" * 200
    # Nor one that would write a line of its own into the text access log.
    forged = "x] GET /api/v1/audit 200 1.0 ms"
    replaced = client.get("/api/v1/geo/levels", headers={"X-Request-ID": forged})
    assert re.fullmatch("[0-9a-f]{32}", replaced.headers["X-Request-ID"])
    problem = client.get("/api/v1/nothing", headers={"X-Request-ID": "trace-43"})
    assert problem.status_code == 404
    assert problem.headers["X-Request-ID"] == "trace-43"


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/api/v1/datasets/population-2025")
    client.head("/api/v1/licences")
    body = client.get("/metrics").text
    assert "# TYPE datapedia_http_requests_total counter" in body
    assert 'route="/api/v1/datasets/{dataset_id}"' in body
    # HEAD is answered by its GET route, and counted under it.
    assert re.search(r'method="HEAD",route="/api/v1/licences",status="200"', body), body
    assert "datapedia_http_request_duration_seconds_bucket" in body
    # A method of the client's making is counted as "other": no series of its own.
    client.request("MADEUP" + "X" * 300, "/api/v1/licences")
    body = client.get("/metrics").text
    assert "MADEUP" not in body
    assert re.search(r'method="other",route="/api/v1/licences",status="405"', body), body
    assert "datapedia_publication_duration_seconds" in body
    assert "datapedia_submissions_total" in body or "datapedia_submissions_created" in body


def test_large_answers_are_compressed_and_head_says_so(client: TestClient) -> None:
    for path in ("/openapi.json", "/catalog.ttl", "/static/swagger-ui/swagger-ui-bundle.js"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, path
        assert response.headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in response.headers["Vary"]
        head = client.head(path, headers={"Accept-Encoding": "gzip"})
        assert head.headers["Content-Encoding"] == "gzip"
        assert head.content == b""
    small = client.get("/api/v1/datasets/nothing", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers
    plain = client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.json()["info"]["title"] == "Datapedia"


def test_streamed_csv_is_compressed_whole(client: TestClient) -> None:
    query = "indicator=population&level=municipality&format=csv"
    url = f"/api/v1/datasets/population-2025/observations?{query}"
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["Vary"]
        raw = b"".join(response.iter_raw())
    lines = gzip.decompress(raw).decode().splitlines()
    assert lines[0].startswith("indicator,")
    assert len(lines) > 250  # every Flemish municipality
    # The same bytes uncompressed; a cache keeps the two answers apart.
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert plain.content == gzip.decompress(raw)
    head = client.head(url, headers={"Accept-Encoding": "gzip"})
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.content == b""


def test_static_assets_carry_cache_control_and_etag(client: TestClient) -> None:
    asset = "/static/swagger-ui/swagger-ui.css"
    first = client.get(asset)
    assert first.headers["Cache-Control"] == "public, max-age=86400"
    etag = first.headers["ETag"]
    again = client.get(asset, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_every_catalogue_change_moves_the_counter_and_the_dcat_answer(world_db: World) -> None:
    # A database of its own: on PostgreSQL the counter moves at commit (a deferred trigger),
    # which the rolled-back transaction of the cheaper ``world`` never reaches.
    world = world_db

    def counter() -> int:
        with world.factory() as session:
            value = session.execute(
                text("SELECT value FROM change_counter WHERE name = 'catalogue'")
            ).scalar_one()
        return int(value)

    before_counter = counter()
    before = world.client.get("/catalog.ttl")
    assert "Een nieuwe titel" not in before.text
    patch = {"title": {"nl": "Een nieuwe titel", "en": "A new title"}}
    response = world.client.patch(
        "/api/v1/datasets/population-2025", json=patch, headers=world.auth("admin")
    )
    assert response.status_code == 200, response.text
    assert counter() > before_counter
    after = world.client.get("/catalog.ttl")
    assert "Een nieuwe titel" in after.text
    assert after.headers["ETag"] != before.headers["ETag"]


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_head_on_service_routes(client: TestClient, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/datasets/population-2025", "GET, HEAD, PATCH, OPTIONS"),
        ("PUT", "/api/v1/datasets/population-2025/submissions", "GET, HEAD, POST, OPTIONS"),
        ("PUT", "/api/v1/organisations/gent/keys", "GET, HEAD, POST, OPTIONS"),
        ("DELETE", "/api/v1/licences", "GET, HEAD, OPTIONS"),
    ],
)
def test_a_405_lists_every_method_of_its_path(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    """Allow names what the resource takes (RFC 9110, 15.5.6), not only the methods of the
    first route with that path: a client reads it to learn what it may do."""
    response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allowed


def test_options_says_what_a_path_takes(client: TestClient) -> None:
    """A plain OPTIONS (no CORS preflight) is a 204 with Allow, not a 405."""
    response = client.options("/api/v1/datasets/population-2025")
    assert response.status_code == 204, response.text
    assert response.headers["allow"] == "GET, HEAD, PATCH, OPTIONS"
    assert response.content == b""
    assert client.options("/api/v1/nothing-here").status_code == 404
