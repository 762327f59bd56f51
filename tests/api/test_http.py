"""HTTP conventions of every answer: HEAD, CORS, security headers, bounds on paging, and an
OpenAPI document that lists error responses as problem+json."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.api.deps import MAX_PAGE
from app.api.http import (
    CONTENT_SECURITY_POLICY,
    MAX_BODY_BYTES,
    DateHeader,
    HeadAsGet,
    accepts_gzip,
    origin_of,
)
from app.config import get_settings
from app.errors import PROBLEM_MEDIA_TYPE
from tests.factories import Template, World, open_world

APP_ORIGIN = "https://stadsmonitor.example"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/datasets",
        "/api/v1/datasets/population-2025",
        "/api/v1/geo/units?level=province",
        "/api/v1/indicators/population",
        "/health",
        "/openapi.json",
    ],
)
def test_head_answers_like_get_without_body(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert get.status_code == 200
    assert head.status_code == 200, head.text
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers.get("content-length") == get.headers.get("content-length")


def test_head_of_a_missing_resource_is_404_without_body(client: TestClient) -> None:
    head = client.head("/api/v1/datasets/no-such-dataset")
    assert head.status_code == 404
    assert head.content == b""


def test_reads_are_open_to_every_origin(client: TestClient) -> None:
    answer = client.get("/api/v1/datasets", headers={"Origin": "https://journalist.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "Link" in answer.headers["access-control-expose-headers"]
    preflight = client.options(
        "/api/v1/datasets/population-2025/observations",
        headers={
            "Origin": "https://journalist.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["access-control-allow-methods"]


def test_writes_from_an_unknown_origin_are_refused(world: World) -> None:
    before = world.fingerprint()
    preflight = world.client.options(
        "/api/v1/datasets/population-2025/feedback",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400  # the browser will not send the write
    assert "POST" not in preflight.headers.get("access-control-allow-methods", "")
    answer = world.client.post(
        "/api/v1/datasets/population-2025/feedback",
        json={"kind": "question", "title": "Hello", "body": "A question", "author": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert answer.json()["missing_right"] == "cors:https://evil.example"
    assert world.fingerprint() == before


def test_reads_take_the_headers_browser_apps_send(world: World) -> None:
    """A public read carries no credentials: whatever header an app adds (a request id to
    quote in a report, ``Cache-Control: no-cache``, jQuery's ``X-Requested-With``) must not
    make the browser's preflight fail, and the request id the answer carries is readable."""
    requested = "Authorization, Cache-Control, X-Requested-With, X-Request-ID, If-Match"
    preflight = world.client.options(
        "/api/v1/datasets/population-2025/observations",
        headers={
            "Origin": "https://journalist.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": requested,
        },
    )
    assert preflight.status_code == 200, preflight.text
    allowed = {
        h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
    }
    assert {h.strip().lower() for h in requested.split(",")} <= allowed
    answer = world.client.get(
        "/api/v1/datasets",
        headers={"Origin": "https://journalist.example", "X-Request-ID": "app-report-1"},
    )
    assert answer.headers["x-request-id"] == "app-report-1"
    exposed = {
        h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")
    }
    assert "x-request-id" in exposed


@pytest.fixture
def app_world(world_template: Template, tmp_path: Path) -> Iterator[World]:
    yield from open_world(world_template, tmp_path, cors_origins=[APP_ORIGIN])


def test_writes_from_a_configured_origin_pass(app_world: World) -> None:
    preflight = app_world.client.options(
        "/api/v1/datasets/population-2025",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    answer = app_world.client.patch(
        "/api/v1/datasets/population-2025",
        json={"contact_name": "Team CORS"},
        headers={**app_world.auth("admin"), "Origin": APP_ORIGIN},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    stored = app_world.client.get("/api/v1/datasets/population-2025").json()
    assert stored["contact"]["name"] == "Team CORS"


def test_a_write_origin_reads_as_every_origin_does(app_world: World) -> None:
    """The origin allowed to write is not less able to read: its conditional and ranged
    reads pass the preflight as those of any other origin do."""
    requested = "If-Modified-Since, Range, If-Range, If-None-Match, Cache-Control"
    for origin in (APP_ORIGIN, "https://journalist.example"):
        preflight = app_world.client.options(
            "/api/v1/datasets/population-2025/observations",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": requested,
            },
        )
        assert preflight.status_code == 200, (origin, preflight.text)
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert all(h.strip().lower() in allowed for h in requested.split(","))
        answer = app_world.client.get("/api/v1/datasets", headers={"Origin": origin})
        assert "Link" in answer.headers["access-control-expose-headers"]


def test_security_headers_on_json_and_html(client: TestClient) -> None:
    answer = client.get("/api/v1/datasets")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "content-security-policy" not in answer.headers
    page = client.get("/doc/dataset/population-2025", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    # The liveness probe, answered before every other layer, carries them too.
    health = client.get("/health", headers={"Origin": "https://journalist.example"})
    assert health.headers["x-content-type-options"] == "nosniff"
    assert health.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert health.headers["access-control-allow-origin"] == "*"


def test_docs_policy_allows_only_its_own_inline_script(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "default-src 'self'" in policy


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=10000000000000000000000000", "page"),
        (f"page={MAX_PAGE + 1}", "page"),
        ("page=0", "page"),
        ("page_size=10000000000000000000000000", "page_size"),
    ],
)
def test_paging_is_bounded(client: TestClient, query: str, parameter: str) -> None:
    answer = client.get(f"/api/v1/datasets?{query}")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert parameter in answer.json()["detail"]


def test_openapi_lists_errors_as_problems(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    # Problem documents; besides them only the HTML error page that
                    # /id/… and /doc/… show a browser.
                    media_types = list(response.get("content", {}))
                    expected = [PROBLEM_MEDIA_TYPE]
                    if (status, path) in (
                        ("404", "/id/{kind}/{key}"),
                        ("404", "/doc/{kind}/{key}"),
                        ("422", "/doc/{kind}/{key}"),  # a page's own parameter
                        ("422", "/catalog"),  # a browser's page number out of range
                    ):
                        expected.append("text/html")
                    assert media_types == expected, (method, path, status)
            if operation.get("security"):
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/datasets/a%00b", 404),
        ("/api/v1/organisations/gent%0A", 404),
        ("/doc/dataset/population-2025%7F", 404),
        ("/api/v1/datasets?q=a%00b", 422),
        ("/api/v1/geo/units?level=sector&q=%1B", 422),
        ("/api/v1/datasets/population-2025/observations?period=2025%0A", 422),
    ],
)
def test_control_characters_name_nothing(client: TestClient, url: str, status: int) -> None:
    answer = client.get(url)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
    if status == 422:
        assert answer.json()["parameter"] in url


def test_a_path_cannot_write_a_line_of_its_own_into_the_access_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "2026-12-05 22:05:00,000 INFO datapedia.access [1 abc] DELETE /api/v1/keys/4 200"
    with caplog.at_level(logging.INFO, logger="datapedia.access"):
        client.get("/api/v1/datasets/x%0A" + forged.replace(" ", "%20") + "%00")
    lines = [r.getMessage() for r in caplog.records if r.name == "datapedia.access"]
    assert len(lines) == 1
    assert "\n" not in lines[0] and "\x00" not in lines[0]
    assert lines[0].startswith("GET /api/v1/datasets/x\\n2026-12-05") and "\\x00" in lines[0]


FEEDBACK = "/api/v1/datasets/population-2025/feedback"


def _question(body: str) -> bytes:
    return (
        '{"kind": "question", "title": "Big", "name": "An", "email": "an@example.org", '
        f'"body": "{body}"}}'
    ).encode()


def test_a_body_above_the_limit_is_refused_before_it_is_read(world: World) -> None:
    """Any body but a submission's is at most MAX_BODY_BYTES: declared larger, or sent in
    chunks that add up to more, it is a 413 problem and nothing is stored."""
    before = world.fingerprint()
    big = _question("a" * MAX_BODY_BYTES)
    declared = world.client.post(
        FEEDBACK, content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413, declared.text
    assert declared.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert str(MAX_BODY_BYTES) in declared.json()["detail"]

    def in_chunks(body: bytes) -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    chunked = world.client.post(
        FEEDBACK, content=in_chunks(big), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413, chunked.text
    assert world.fingerprint() == before
    # Under the limit, in chunks, the body reaches the route whole.
    small = world.client.post(
        FEEDBACK,
        content=in_chunks(_question("b" * 4000)),
        headers={"Content-Type": "application/json"},
    )
    assert small.status_code == 201, small.text
    assert small.json()["messages"][0]["body"] == "b" * 4000


def test_a_submission_has_its_own_limit(world: World) -> None:
    """A submission above MAX_BODY_BYTES (within DATAPEDIA_MAX_UPLOAD_BYTES) is read and
    judged: here the same row again and again, a 422 naming the duplicates, not a 413."""
    row = "44021A00-,population,2025,1,\n"
    body = "sector,indicator,period,value,status\n" + row * (MAX_BODY_BYTES // len(row) + 1)
    assert len(body) > MAX_BODY_BYTES
    answer = world.client.post(
        "/api/v1/datasets/population-2025/submissions", content=body, headers=world.headers("gent")
    )
    assert answer.status_code == 422, answer.text
    assert "duplicate of row 1" in answer.text


def test_openapi_documents_the_body_limit(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][
        FEEDBACK.replace("population-2025", "{dataset_id}")
    ]["post"]
    assert PROBLEM_MEDIA_TYPE in operation["responses"]["413"]["content"]


def test_writes_from_the_service_own_pages_pass(world: World) -> None:
    """The API explorer at /docs writes from the service's own origin, which a browser
    sends as Origin: it is always a write origin."""
    own = origin_of(get_settings().base_url)
    answer = world.client.patch(
        "/api/v1/datasets/population-2025",
        json={"contact_name": "Team Docs"},
        headers={**world.auth("admin"), "Origin": own},
    )
    assert answer.status_code == 200, answer.text
    assert world.client.get("/api/v1/datasets/population-2025").json()["contact"]["name"] == (
        "Team Docs"
    )


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("https://datapedia.be:443/base", "https://datapedia.be"),
        ("http://datapedia.be:80", "http://datapedia.be"),
        ("https://datapedia.be:8443", "https://datapedia.be:8443"),
    ],
)
def test_the_origin_of_a_base_url(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("GZIP", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("br, identity", False),
        ("x-gzip", True),
        ("gzip;q=nonsense", False),
    ],
)
def test_gzip_is_sent_only_to_who_accepts_it(header: str | None, gzip: bool) -> None:
    assert accepts_gzip(header) is gzip


def test_a_client_refusing_gzip_gets_the_plain_bytes(client: TestClient) -> None:
    """`gzip;q=0` says "not gzip"; the answers came compressed all the same."""
    for path in (
        "/api/v1/datasets?page_size=50",
        "/api/v1/datasets/population-2025/downloads/observations.csv",
        "/api/v1/geo/boundaries?level=municipality&version=2025",
    ):
        refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert refused.status_code == 200, (path, refused.text[:200])
        assert "content-encoding" not in refused.headers, path
        taken = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert taken.headers.get("content-encoding") == "gzip", path
        assert taken.content == refused.content, path


def test_head_of_a_streamed_answer_stops_after_its_headers() -> None:
    """HEAD is answered by the GET route without the body: a streamed answer (an export of a
    million rows) was formatted to its end and thrown away. It stops at its first piece."""
    made: list[int] = []

    def pieces() -> Iterator[bytes]:
        for n in range(1000):
            made.append(n)
            yield b"x" * 100

    def export(request: Request) -> StreamingResponse:
        return StreamingResponse(pieces(), media_type="text/csv")

    app = HeadAsGet(Starlette(routes=[Route("/export", export)]))
    with TestClient(app) as client:
        head = client.head("/export")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"].startswith("text/csv")
        assert len(made) < 5
        made.clear()
        whole = client.get("/export")
        assert len(whole.content) == 100_000 and len(made) == 1000


def test_the_date_is_the_moment_of_the_answer_and_no_last_modified_is_later() -> None:
    """RFC 9110 §8.8.2.1: a Last-Modified later than the answer's Date must be replaced by
    that Date. A document is dated when it is first sent (on PostgreSQL by the database's
    clock), and uvicorn's own Date, renewed once a second, lagged it by a second or two: a
    harvester's conditional request keyed on the Date, or a cache's heuristics, read a
    document modified in the future. The app writes the Date as it answers."""
    moments = {
        "/future": format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True),
        "/past": "Mon, 01 Jan 2001 00:00:00 GMT",
    }

    def dated(request: Request) -> Response:
        return Response(b"x", headers={"Last-Modified": moments[request.url.path]})

    app = DateHeader(Starlette(routes=[Route(path, dated) for path in moments]))
    with TestClient(app) as client:
        before = datetime.now(UTC).replace(microsecond=0)
        future = client.get("/future")
        past = client.get("/past")
        after = datetime.now(UTC)
    for answer in (future, past):
        assert len(answer.headers.get_list("date")) == 1
        assert before <= parsedate_to_datetime(answer.headers["date"]) <= after
    assert future.headers["last-modified"] == future.headers["date"]
    assert past.headers["last-modified"] == moments["/past"]


def test_a_json_answer_is_tagged_and_revalidated_until_it_changes(world: World) -> None:
    """A dashboard polling a dataset paid for the whole answer every time: no JSON read of
    the API had a validator. Tagged by its bytes, an unchanged answer is a 304."""
    detail = "/api/v1/datasets/population-2025"
    first = world.client.get(detail, headers={"Origin": APP_ORIGIN})
    tag = first.headers["etag"]
    assert tag.startswith('W/"')
    assert "etag" in first.headers["access-control-expose-headers"].lower()
    for encoding in ("gzip", "identity"):
        again = world.client.get(
            detail, headers={"If-None-Match": tag, "Accept-Encoding": encoding}
        )
        assert again.status_code == 304, encoding
        assert again.content == b"" and again.headers["etag"] == tag
        assert "content-type" not in again.headers
        assert "Accept-Encoding" in again.headers["vary"]
    # A strong comparison's form of the same tag, and HEAD, revalidate as well.
    assert world.client.get(detail, headers={"If-None-Match": tag[2:]}).status_code == 304
    assert world.client.head(detail, headers={"If-None-Match": tag}).status_code == 304
    other = world.client.get(detail, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.json() == first.json()
    # Another answer has another tag; a change of the dataset changes the answer's.
    listed = world.client.get("/api/v1/datasets?page_size=2")
    assert listed.headers["etag"] != tag
    title = {"nl": "Bevolking, herzien", "en": "Population, revised"}
    changed = world.client.patch(detail, json={"title": title}, headers=world.auth("admin"))
    assert changed.status_code == 200, changed.text
    after = world.client.get(detail, headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.json()["title"] == title
    assert after.headers["etag"] != tag


def test_only_whole_json_answers_of_reads_are_tagged(world: World) -> None:
    missing = world.client.get("/api/v1/datasets/nothing", headers={"If-None-Match": "*"})
    assert missing.status_code == 404 and "etag" not in missing.headers
    csv = world.client.get(
        "/api/v1/datasets/population-2025/observations?format=csv&level=municipality"
    )
    assert csv.status_code == 200 and "etag" not in csv.headers
    page = world.client.get("/doc/dataset/population-2025", headers={"Accept": "text/html"})
    tag = page.headers["etag"]  # the pages' own validator, not this one's
    assert world.client.get("/api/v1/datasets/population-2025").headers["etag"] != tag


def test_openapi_documents_the_304_of_json_reads(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "304" in paths["/api/v1/datasets/{dataset_id}"]["get"]["responses"]
    assert "304" in paths["/api/v1/geo/units"]["get"]["responses"]
    assert "304" not in paths["/health"]["get"]["responses"]
